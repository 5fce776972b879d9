import {
  CandleStyle,
  ColorStrategy,
  PanelBuilder as Candlestick,
  VizDisplayMode,
} from '@grafana/grafana-foundation-sdk/candlestick';
import { GraphDrawStyle, StackingConfigBuilder, StackingMode } from '@grafana/grafana-foundation-sdk/common';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as TimeSeries } from '@grafana/grafana-foundation-sdk/timeseries';
import { finish, frame, legend, tooltip } from './panels';
import { QUESTDB, QuestdbFormat, questdb, questdbVariable } from './queries';

/*
 * Market data per instrument and bar interval, from QuestDB (connectors/questdb/tables.ts). Prices and sizes are
 * DECIMAL columns; the panels cast them to double, which is display only (no money math happens here).
 */

const INSTRUMENT = `instrument_id = '$instrument'`;

function candles(): Candlestick {
  return new Candlestick()
    .title('Candles, volume and VWAP: $instrument $interval')
    .description('One candle per bar of the `bars` table (latest revision); VWAP drawn over the candles.')
    .datasource(QUESTDB)
    .withTarget(
      questdb(`
        SELECT ts AS time, open::double AS open, high::double AS high, low::double AS low, close::double AS close,
          volume::double AS volume, vwap::double AS vwap
        FROM bars
        WHERE ${INSTRUMENT} AND interval = '$interval' AND $__timeFilter(ts)
        ORDER BY ts`),
    )
    .mode(VizDisplayMode.CandlesVolume)
    .candleStyle(CandleStyle.Candles)
    .colorStrategy(ColorStrategy.OpenClose)
    .includeAllFields(true)
    .legend(legend())
    .tooltip(tooltip())
    .height(12)
    .span(24);
}

function volumePerBar(): TimeSeries {
  return new TimeSeries()
    .title('Volume and trades per bar')
    .datasource(QUESTDB)
    .withTarget(
      questdb(`
        SELECT ts AS time, volume::double AS volume, trade_count
        FROM bars
        WHERE ${INSTRUMENT} AND interval = '$interval' AND $__timeFilter(ts)
        ORDER BY ts`),
    )
    .drawStyle(GraphDrawStyle.Bars)
    .fillOpacity(60)
    .overrideByName('trade_count', [{ id: 'custom.axisPlacement', value: 'right' }])
    .legend(legend())
    .tooltip(tooltip())
    .height(8)
    .span(12);
}

/** One feature family of the `features` table (long format), averaged per sample bucket, one series per key. */
function feature(title: string, description: string, series: string, where: string, unit: string): TimeSeries {
  return new TimeSeries()
    .title(title)
    .description(description)
    .datasource(QUESTDB)
    .withTarget(
      questdb(
        `
        SELECT ts AS time, ${series} AS series, avg(value) AS value
        FROM features
        WHERE ${INSTRUMENT} AND ${where} AND $__timeFilter(ts)
        SAMPLE BY $__sampleByInterval`,
        QuestdbFormat.TimeSeries,
      ),
    )
    .unit(unit)
    .legend(legend())
    .tooltip(tooltip())
    .height(8)
    .span(8);
}

function tradesSampled(): TimeSeries {
  return new TimeSeries()
    .title('Trades and traded volume')
    .description('From the `trades` table, per sample bucket of the picked range (SAMPLE BY).')
    .datasource(QUESTDB)
    .withTarget(
      questdb(`
        SELECT ts AS time, count() AS trades, sum(size)::double AS volume
        FROM trades
        WHERE ${INSTRUMENT} AND $__timeFilter(ts)
        SAMPLE BY $__sampleByInterval`),
    )
    .drawStyle(GraphDrawStyle.Bars)
    .fillOpacity(60)
    .overrideByName('volume', [{ id: 'custom.axisPlacement', value: 'right' }])
    .legend(legend())
    .tooltip(tooltip())
    .height(8)
    .span(12);
}

export function marketsDashboard(): Dashboard {
  const builder = frame(new DashboardBuilder('tickflow: markets').uid('tickflow-markets'), 'now-6h')
    .description('Bars, microstructure features and trades per instrument, from QuestDB.')
    .withVariable(
      questdbVariable(
        'instrument',
        'Instrument',
        `SELECT DISTINCT instrument_id FROM bars WHERE $__timeFilter(ts) ORDER BY instrument_id`,
      ),
    )
    .withVariable(
      questdbVariable(
        'interval',
        'Bar interval',
        `SELECT DISTINCT interval FROM bars WHERE ${INSTRUMENT} AND $__timeFilter(ts) ORDER BY interval`,
      ),
    )
    .withPanel(candles())
    .withPanel(
      new TimeSeries()
        .title('Close and VWAP')
        .datasource(QUESTDB)
        .withTarget(
          questdb(`
            SELECT ts AS time, close::double AS close, vwap::double AS vwap
            FROM bars
            WHERE ${INSTRUMENT} AND interval = '$interval' AND $__timeFilter(ts)
            ORDER BY ts`),
        )
        .legend(legend())
        .tooltip(tooltip())
        .height(8)
        .span(12),
    )
    .withPanel(volumePerBar())
    .withPanel(
      feature(
        'Spread',
        'Best ask minus best bid, per basis (quote: top of book from quotes; book: from depth snapshots).',
        `concat(feature, ' ', basis)`,
        `feature = 'spread'`,
        'none',
      ),
    )
    .withPanel(
      feature(
        'Order-book imbalance',
        '(bid size - ask size) / (bid size + ask size) at the top level (l1) and over five levels (depth5); -1 to 1.',
        `concat(feature, ' ', basis)`,
        `feature IN ('imbalance_l1', 'imbalance_depth5')`,
        'none',
      ),
    )
    .withPanel(
      feature(
        'VPIN',
        'Volume-synchronized probability of informed trading (vpin_<buckets>_<bucket volume>), 0 to 1.',
        'feature',
        `feature LIKE 'vpin%'`,
        'percentunit',
      ),
    )
    .withPanel(tradesSampled())
    .withPanel(
      new TimeSeries()
        .title('Mid and microprice')
        .datasource(QUESTDB)
        .withTarget(
          questdb(
            `
            SELECT ts AS time, concat(feature, ' ', basis) AS series, avg(value) AS value
            FROM features
            WHERE ${INSTRUMENT} AND feature IN ('mid', 'microprice') AND $__timeFilter(ts)
            SAMPLE BY $__sampleByInterval`,
            QuestdbFormat.TimeSeries,
          ),
        )
        .legend(legend())
        .tooltip(tooltip())
        .stacking(new StackingConfigBuilder().mode(StackingMode.None))
        .height(8)
        .span(12),
    );
  return finish(builder);
}
