import { GraphDrawStyle, StackingConfigBuilder, StackingMode } from '@grafana/grafana-foundation-sdk/common';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  DashboardBuilder,
  MappingType,
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as StateTimeline } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TimeSeries } from '@grafana/grafana-foundation-sdk/timeseries';
import { finish, frame, legend, tooltip } from './panels';
import { PROMETHEUS, prometheus } from './queries';

/*
 * The runtime's metrics (pipelines/runtime/metrics.ts), scraped by Prometheus from every tickflow process's
 * /metrics. `stage` is multi-value: Grafana formats it as a regex for `=~`, so a selection or All both work.
 */

const STAGE = `stage=~"$stage"`;

function panel(title: string, description: string, unit: string, span = 12): TimeSeries {
  return new TimeSeries()
    .title(title)
    .description(description)
    .datasource(PROMETHEUS)
    .unit(unit)
    .legend(legend(true))
    .tooltip(tooltip())
    .height(8)
    .span(span);
}

/** p50, p95 and p99 of a latency histogram per stage. */
function percentiles(title: string, description: string, histogram: string): TimeSeries {
  let built = panel(title, description, 's');
  const quantiles = [
    ['0.5', 'p50', 'A'],
    ['0.95', 'p95', 'B'],
    ['0.99', 'p99', 'C'],
  ];
  for (const [q, name, refId] of quantiles) {
    built = built.withTarget(
      prometheus(
        `histogram_quantile(${q}, sum by (stage, le) (rate(${histogram}_bucket{${STAGE}}[$__rate_interval])))`,
        `{{stage}} ${name}`,
        refId,
      ),
    );
  }
  return built;
}

function throughput(builder: DashboardBuilder): DashboardBuilder {
  return builder
    .withPanel(
      panel('Records in', 'Records consumed per second, by stage.', 'rps').withTarget(
        prometheus(`sum by (stage) (rate(tickflow_records_in_total{${STAGE}}[$__rate_interval]))`, '{{stage}}'),
      ),
    )
    .withPanel(
      panel(
        'Records out',
        'Records produced (stages) or written (sinks) per second, by stage and topic.',
        'rps',
      ).withTarget(
        prometheus(
          `sum by (stage, topic) (rate(tickflow_records_out_total{${STAGE}}[$__rate_interval]))`,
          '{{stage}} {{topic}}',
        ),
      ),
    )
    .withPanel(
      percentiles(
        'Latency from event time',
        'Commit time minus the exchange time (tsEvent) of each input record; a replay of old data shows its age.',
        'tickflow_latency_from_event_seconds',
      ),
    )
    .withPanel(
      percentiles(
        'Latency from receive time',
        'Commit time minus the receive time (tsRecv) of each input record: the end-to-end delay tickflow adds.',
        'tickflow_latency_from_recv_seconds',
      ),
    )
    .withPanel(
      panel('Batch time p99', 'Time to process and commit one batch (99th percentile), by stage.', 's').withTarget(
        prometheus(
          `histogram_quantile(0.99, sum by (stage, le) (rate(tickflow_batch_seconds_bucket{${STAGE}}[$__rate_interval])))`,
          '{{stage}}',
        ),
      ),
    )
    .withPanel(
      panel(
        'Committed domain events',
        'Committed outputs per second by their domain field: findings by rule, audit by kind, signals by status, decisions.',
        'ops',
      ).withTarget(
        prometheus(
          `sum by (topic, event) (rate(tickflow_stage_events_total{${STAGE}}[$__rate_interval]))`,
          '{{topic}} {{event}}',
        ),
      ),
    );
}

function backpressure(builder: DashboardBuilder): DashboardBuilder {
  return builder
    .withPanel(
      panel(
        'Consumer lag',
        'High watermark minus position after the last batch, by stage and topic (transaction markers count, so a transactional topic rests just above 0).',
        'short',
      ).withTarget(prometheus(`sum by (stage, topic) (tickflow_consumer_lag{${STAGE}})`, '{{stage}} {{topic}}')),
    )
    .withPanel(
      panel(
        'Paused partitions',
        'Partitions paused by backpressure: a slow or unavailable sink or producer.',
        'short',
      ).withTarget(prometheus(`sum by (stage) (tickflow_paused_partitions{${STAGE}})`, '{{stage}}')),
    )
    .withPanel(
      panel('Transactions by result', 'Kafka transactions per second: commit or abort, by stage.', 'ops')
        .withTarget(
          prometheus(
            `sum by (stage, result) (rate(tickflow_transactions_total{${STAGE}}[$__rate_interval]))`,
            '{{stage}} {{result}}',
          ),
        )
        .drawStyle(GraphDrawStyle.Bars)
        .stacking(new StackingConfigBuilder().mode(StackingMode.Normal)),
    )
    .withPanel(
      panel(
        'Transaction abort ratio',
        'Aborted transactions over all transactions, by stage.',
        'percentunit',
      ).withTarget(
        prometheus(
          `sum by (stage) (rate(tickflow_transactions_total{${STAGE}, result="abort"}[$__rate_interval]))
           / sum by (stage) (rate(tickflow_transactions_total{${STAGE}}[$__rate_interval]))`,
          '{{stage}}',
        ),
      ),
    )
    .withPanel(
      panel(
        'Seconds since progress',
        'Since a fetch returned or a batch moved: a healthy consumer stays near the fetch wait (1 s); a stall grows.',
        's',
      ).withTarget(prometheus(`max by (stage) (tickflow_seconds_since_progress{${STAGE}})`, '{{stage}}')),
    )
    .withPanel(
      panel('Sink retries', 'Sink writes that failed and were retried, per second.', 'ops').withTarget(
        prometheus(`sum by (stage) (rate(tickflow_sink_retries_total{${STAGE}}[$__rate_interval]))`, '{{stage}}'),
      ),
    )
    .withPanel(
      new StateTimeline()
        .title('Dependencies up')
        .description('1 while the last call to the server succeeded, 0 while it fails or times out, per process.')
        .datasource(PROMETHEUS)
        .withTarget(prometheus(`min by (dependency) (tickflow_dependency_up)`, '{{dependency}}'))
        .mappings([
          {
            type: MappingType.ValueToText,
            options: { '0': { text: 'down', color: 'red', index: 0 }, '1': { text: 'up', color: 'green', index: 1 } },
          },
        ])
        .height(6)
        .span(12),
    )
    .withPanel(
      panel(
        'Assigned partitions',
        'Input partitions assigned per stage (summed over instances).',
        'short',
        12,
      ).withTarget(prometheus(`sum by (stage) (tickflow_assigned_partitions{${STAGE}})`, '{{stage}}')),
    );
}

export function pipelineHealthDashboard(): Dashboard {
  let builder = frame(new DashboardBuilder('tickflow: pipeline health').uid('tickflow-pipeline-health'), 'now-1h')
    .description('Throughput, latency, lag, backpressure, transactions and dependencies of every stage (Prometheus).')
    .withVariable(
      new QueryVariableBuilder('stage')
        .label('Stage')
        .datasource(PROMETHEUS)
        .query('label_values(tickflow_records_in_total, stage)')
        .definition('label_values(tickflow_records_in_total, stage)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.*'),
    );
  builder = throughput(builder);
  builder = backpressure(builder);
  return finish(builder);
}
