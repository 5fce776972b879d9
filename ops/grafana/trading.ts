import { PanelBuilder as BarChart } from '@grafana/grafana-foundation-sdk/barchart';
import {
  BigValueColorMode,
  BigValueGraphMode,
  BigValueTextMode,
  GraphDrawStyle,
  ReduceDataOptionsBuilder,
  StackingConfigBuilder,
  StackingMode,
  VisibilityMode,
} from '@grafana/grafana-foundation-sdk/common';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as Stat } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimeline } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as Table } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeSeries } from '@grafana/grafana-foundation-sdk/timeseries';
import { finish, frame, legend, tooltip, TRADING_STATE_COLOURS } from './panels';
import { PROMETHEUS, prometheus, QUESTDB, QuestdbFormat, questdb, questdbVariable } from './queries';

/*
 * Signals, risk decisions, orders, fills, positions and P&L of one account (and one strategy's signals), from the
 * trading tables of connectors/questdb/tables.ts. Money columns are DECIMAL; the panels cast them to double for
 * display only.
 */

const ACCOUNT = `account = '$account'`;
const STRATEGY = `strategy = '$strategy'`;

function series(title: string, sql: string, unit: string, span: number): TimeSeries {
  return new TimeSeries()
    .title(title)
    .datasource(QUESTDB)
    .withTarget(questdb(sql))
    .unit(unit)
    .legend(legend())
    .tooltip(tooltip())
    .height(8)
    .span(span);
}

/** Counts per sample bucket, one stacked bar series per value of `key`. */
function countsBy(title: string, description: string, table: string, key: string, where: string): TimeSeries {
  return new TimeSeries()
    .title(title)
    .description(description)
    .datasource(QUESTDB)
    .withTarget(
      questdb(
        `SELECT ts AS time, ${key} AS series, count() AS count FROM ${table}
         WHERE ${where} AND $__timeFilter(ts) SAMPLE BY $__sampleByInterval`,
        QuestdbFormat.TimeSeries,
      ),
    )
    .drawStyle(GraphDrawStyle.Bars)
    .fillOpacity(70)
    .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
    .legend(legend())
    .tooltip(tooltip())
    .height(8)
    .span(12);
}

function table(title: string, description: string, sql: string, span = 24): Table {
  return new Table()
    .title(title)
    .description(description)
    .datasource(QUESTDB)
    .withTarget(questdb(sql))
    .height(8)
    .span(span);
}

function pnlPanels(builder: DashboardBuilder): DashboardBuilder {
  return builder
    .withPanel(
      new StateTimeline()
        .title('Trading state: $account')
        .description('From each P&L record: ACTIVE takes any order, REDUCING only reducing ones, HALTED cancels only.')
        .datasource(QUESTDB)
        .withTarget(
          questdb(`SELECT ts AS time, trading_state FROM pnl WHERE ${ACCOUNT} AND $__timeFilter(ts) ORDER BY ts`),
        )
        .mappings(TRADING_STATE_COLOURS)
        .showValue(VisibilityMode.Auto)
        .height(5)
        .span(18),
    )
    .withPanel(
      new Stat()
        .title('Live trading state')
        .description('tickflow_trading_state from the running risk stage (Prometheus): the state whose gauge is 1.')
        .datasource(PROMETHEUS)
        .withTarget(prometheus(`max by (state) (tickflow_trading_state{account="$account"}) == 1`, '{{state}}'))
        .textMode(BigValueTextMode.Name)
        .colorMode(BigValueColorMode.Background)
        .graphMode(BigValueGraphMode.None)
        .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
        .overrides(
          ['ACTIVE', 'REDUCING', 'HALTED'].map((state, i) => ({
            matcher: { id: 'byName', options: state },
            properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: ['green', 'orange', 'red'][i] } }],
          })),
        )
        .height(5)
        .span(6),
    )
    .withPanel(
      series(
        'Equity and peak equity',
        `SELECT ts AS time, equity::double AS equity, peak_equity::double AS peak_equity, cash::double AS cash
         FROM pnl WHERE ${ACCOUNT} AND $__timeFilter(ts) ORDER BY ts`,
        'none',
        12,
      ),
    )
    .withPanel(
      series(
        'Drawdown from peak equity',
        `SELECT ts AS time, drawdown::double / peak_equity::double AS drawdown
         FROM pnl WHERE ${ACCOUNT} AND $__timeFilter(ts) ORDER BY ts`,
        'percentunit',
        12,
      ),
    )
    .withPanel(
      series(
        'P&L',
        `SELECT ts AS time, realized_pnl::double AS realized, unrealized_pnl::double AS unrealized,
           day_pnl::double AS day, fees::double AS fees
         FROM pnl WHERE ${ACCOUNT} AND $__timeFilter(ts) ORDER BY ts`,
        'none',
        12,
      ),
    )
    .withPanel(
      series(
        'Exposure',
        `SELECT ts AS time, gross_exposure::double AS gross, net_exposure::double AS net
         FROM pnl WHERE ${ACCOUNT} AND $__timeFilter(ts) ORDER BY ts`,
        'none',
        12,
      ),
    )
    .withPanel(
      table(
        'Halts, resumes and breakers',
        'Audit events that change what the account may trade; account * is a halt or resume of every account.',
        `SELECT ts, account, kind, actor, instrument_id, summary FROM audit
         WHERE (${ACCOUNT} OR account = '*') AND kind IN ('HALT', 'RESUME', 'BREAKER_TRIPPED', 'BREAKER_RESET')
           AND $__timeFilter(ts)
         ORDER BY ts DESC LIMIT 500`,
      ),
    );
}

function signalPanels(builder: DashboardBuilder): DashboardBuilder {
  return builder
    .withPanel(
      countsBy(
        'Signals by status: $strategy',
        'ACCEPTED signals go to risk; REJECTED ones failed validation (reject_code in the table below).',
        'signals',
        'status',
        STRATEGY,
      ),
    )
    .withPanel(
      new TimeSeries()
        .title('Signal confidence: $strategy')
        .datasource(QUESTDB)
        .withTarget(
          questdb(
            `SELECT ts AS time, concat(side, ' ', status) AS series, confidence FROM signals
             WHERE ${STRATEGY} AND $__timeFilter(ts) ORDER BY ts`,
            QuestdbFormat.TimeSeries,
          ),
        )
        .drawStyle(GraphDrawStyle.Points)
        .pointSize(6)
        .min(0)
        .max(1)
        .legend(legend())
        .tooltip(tooltip())
        .height(8)
        .span(12),
    )
    .withPanel(
      table(
        'Signals per strategy',
        'Every strategy in the picked range: how many signals, accepted or rejected, and their mean confidence.',
        `SELECT strategy, status, count() AS signals, avg(confidence) AS mean_confidence FROM signals
         WHERE $__timeFilter(ts) ORDER BY strategy, status`,
        8,
      ),
    )
    .withPanel(
      table(
        'Recent signals: $strategy',
        'Latest first.',
        `SELECT ts, instrument_id, interval, side, status, reject_code, confidence, price::double AS price, reason
         FROM signals WHERE ${STRATEGY} AND $__timeFilter(ts) ORDER BY ts DESC LIMIT 200`,
        16,
      ),
    );
}

function riskAndExecutionPanels(builder: DashboardBuilder): DashboardBuilder {
  return builder
    .withPanel(
      countsBy(
        'Risk decisions',
        'Approved and rejected decisions of the account per sample bucket.',
        'risk_decisions',
        `CASE WHEN approved THEN 'APPROVED' ELSE 'REJECTED' END`,
        ACCOUNT,
      ),
    )
    .withPanel(
      new BarChart()
        .title('Decisions by outcome and reason codes')
        .description('APPROVED, or the codes of the rules a rejected decision failed (comma-separated).')
        .datasource(QUESTDB)
        .withTarget(
          questdb(
            `SELECT CASE WHEN approved THEN 'APPROVED' ELSE reason_codes END AS outcome, count() AS decisions
             FROM risk_decisions WHERE ${ACCOUNT} AND $__timeFilter(ts) ORDER BY decisions DESC`,
          ),
        )
        .xField('outcome')
        .legend(legend())
        .tooltip(tooltip())
        .height(8)
        .span(12),
    )
    .withPanel(
      table(
        'Recent risk decisions',
        'Latest first.',
        `SELECT ts, instrument_id, strategy, side, approved, trading_state, reason_codes, quantity::double AS quantity,
           price::double AS price, order_id
         FROM risk_decisions WHERE ${ACCOUNT} AND $__timeFilter(ts) ORDER BY ts DESC LIMIT 200`,
      ),
    )
    .withPanel(
      countsBy('Order events by status', 'Every order state change of the account.', 'orders', 'status', ACCOUNT),
    )
    .withPanel(
      table(
        'Orders (latest state)',
        'The last event of each order in the picked range.',
        `SELECT ts, instrument_id, strategy, side, type, status, reason_code, quantity::double AS quantity,
           filled_quantity::double AS filled, avg_fill_price::double AS avg_fill_price, order_id
         FROM orders WHERE ${ACCOUNT} AND $__timeFilter(ts) LATEST ON ts PARTITION BY order_id`,
        12,
      ),
    )
    .withPanel(
      table(
        'Fills',
        'Latest first.',
        `SELECT ts, instrument_id, strategy, side, liquidity, quantity::double AS quantity, price::double AS price,
           fee::double AS fee, slippage::double AS slippage, order_id
         FROM fills WHERE ${ACCOUNT} AND $__timeFilter(ts) ORDER BY ts DESC LIMIT 200`,
      ),
    )
    .withPanel(
      table(
        'Positions',
        'The latest position of the account per instrument within the picked range.',
        `SELECT ts, instrument_id, quantity::double AS quantity, avg_cost::double AS avg_cost,
           mark_price::double AS mark_price, realized_pnl::double AS realized_pnl,
           unrealized_pnl::double AS unrealized_pnl, fees::double AS fees
         FROM positions WHERE ${ACCOUNT} AND $__timeFilter(ts) LATEST ON ts PARTITION BY instrument_id`,
      ),
    );
}

export function tradingDashboard(): Dashboard {
  let builder = frame(new DashboardBuilder('tickflow: trading').uid('tickflow-trading'), 'now-24h')
    .description('Signals by strategy; risk decisions, orders, fills, positions, equity and trading state by account.')
    .withVariable(
      questdbVariable(
        'account',
        'Account',
        `SELECT DISTINCT account FROM pnl WHERE $__timeFilter(ts) ORDER BY account`,
      ),
    )
    .withVariable(
      questdbVariable(
        'strategy',
        'Strategy',
        `SELECT DISTINCT strategy FROM signals WHERE $__timeFilter(ts) ORDER BY strategy`,
      ),
    );
  builder = pnlPanels(builder);
  builder = riskAndExecutionPanels(builder);
  builder = signalPanels(builder);
  return finish(builder);
}
