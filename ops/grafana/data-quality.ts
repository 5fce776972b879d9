import { GraphDrawStyle, StackingConfigBuilder, StackingMode } from '@grafana/grafana-foundation-sdk/common';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as Table } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeSeries } from '@grafana/grafana-foundation-sdk/timeseries';
import { finish, frame, legend, tooltip } from './panels';
import { PROMETHEUS, prometheus, QUESTDB, QuestdbFormat, questdb } from './queries';

/*
 * Data-quality findings (`quality_events`, written from md.quality.v1), feed liveness (`heartbeats`) and dead
 * letters (Prometheus: dead letters never reach QuestDB, they go to each topic's .dlq twin).
 */

function findingsBy(key: string, span: number): TimeSeries {
  return new TimeSeries()
    .title(`Findings by ${key}`)
    .datasource(QUESTDB)
    .withTarget(
      questdb(
        `SELECT ts AS time, ${key}, count() AS findings FROM quality_events
         WHERE $__timeFilter(ts) SAMPLE BY $__sampleByInterval`,
        QuestdbFormat.TimeSeries,
      ),
    )
    .drawStyle(GraphDrawStyle.Bars)
    .fillOpacity(70)
    .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
    .legend(legend(true))
    .tooltip(tooltip())
    .height(9)
    .span(span);
}

function table(title: string, description: string, sql: string, span: number): Table {
  return new Table()
    .title(title)
    .description(description)
    .datasource(QUESTDB)
    .withTarget(questdb(sql))
    .height(8)
    .span(span);
}

function rate(title: string, description: string, expr: string, legendFormat: string): TimeSeries {
  return new TimeSeries()
    .title(title)
    .description(description)
    .datasource(PROMETHEUS)
    .withTarget(prometheus(expr, legendFormat))
    .unit('ops')
    .legend(legend(true))
    .tooltip(tooltip())
    .height(8)
    .span(8);
}

export function dataQualityDashboard(): Dashboard {
  const builder = frame(new DashboardBuilder('tickflow: data quality').uid('tickflow-data-quality'), 'now-24h')
    .description('Quality findings by rule and source, stale feeds, failovers, heartbeats and dead letters.')
    .withPanel(findingsBy('rule', 12))
    .withPanel(findingsBy('source', 12))
    .withPanel(
      table(
        'Findings by rule and source',
        'flagged: the record was withheld from the canonical topics (it reaches no bar or analytic); the rest are reported only.',
        `SELECT rule, source, kind, count() AS findings, sum(CASE WHEN flagged THEN 1 ELSE 0 END) AS flagged,
           min(ts) AS first_seen, max(ts) AS last_seen
         FROM quality_events WHERE $__timeFilter(ts) ORDER BY findings DESC`,
        24,
      ),
    )
    .withPanel(
      table(
        'Stale feeds and resumptions',
        'STALE_FEED: an instrument of a source went quiet past its limit; FEED_RESUMED: it spoke again.',
        `SELECT ts, instrument_id, source, rule, detail FROM quality_events
         WHERE rule IN ('STALE_FEED', 'FEED_RESUMED') AND $__timeFilter(ts) ORDER BY ts DESC LIMIT 500`,
        12,
      ),
    )
    .withPanel(
      table(
        'Failovers and failbacks',
        'Source arbitration in normalize: FAILOVER moves an instrument to another source, FAILBACK returns it to the preferred one.',
        `SELECT ts, instrument_id, source, rule, detail FROM quality_events
         WHERE rule IN ('FAILOVER', 'FAILBACK') AND $__timeFilter(ts) ORDER BY ts DESC LIMIT 500`,
        12,
      ),
    )
    .withPanel(
      new TimeSeries()
        .title('Heartbeats per source')
        .description('Feed liveness: a gap here is a source that went quiet.')
        .datasource(QUESTDB)
        .withTarget(
          questdb(
            `SELECT ts AS time, source, count() AS heartbeats FROM heartbeats
             WHERE $__timeFilter(ts) SAMPLE BY $__sampleByInterval`,
            QuestdbFormat.TimeSeries,
          ),
        )
        .legend(legend())
        .tooltip(tooltip())
        .height(8)
        .span(12),
    )
    .withPanel(
      table(
        'Last heartbeat per source',
        'The newest heartbeat of each source within the picked range (exchange time).',
        `SELECT source, count() AS heartbeats, max(ts) AS last_heartbeat FROM heartbeats
         WHERE $__timeFilter(ts) ORDER BY last_heartbeat DESC`,
        12,
      ),
    )
    .withPanel(
      rate(
        'Dead letters',
        'Records sent to <topic>.dlq (unparseable or invalid), per second, by stage and input topic.',
        `sum by (stage, topic) (rate(tickflow_dead_letters_total[$__rate_interval]))`,
        '{{stage}} {{topic}}',
      ),
    )
    .withPanel(
      rate(
        'Rejected records by error code',
        'Records a stage rejected, per second, by error code (each also went to a dead-letter topic or was skipped).',
        `sum by (stage, code) (rate(tickflow_records_failed_total[$__rate_interval]))`,
        '{{stage}} {{code}}',
      ),
    )
    .withPanel(
      rate(
        'Findings committed per rule (live)',
        'Quality findings as the runtime commits them to md.quality.v1, per second, by rule.',
        `sum by (event) (rate(tickflow_stage_events_total{topic="md.quality.v1"}[$__rate_interval]))`,
        '{{event}}',
      ),
    );
  return finish(builder);
}
