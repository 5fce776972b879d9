import client from 'prom-client';
import { dependencyStates } from './dependencies';
import type { Observation } from './chain';
import { topicSpec } from '../../topics/catalog';

/**
 * The runtime's metrics, one prom-client registry per process. Every stage and sink gets these
 * without writing a line; stage authors add only domain metrics (via `registry`).
 * Counters reconcile: for each stage and input topic, in = out + dead letters + skipped (+ filtered,
 * if a stage emits nothing for a record, which shows as in > out + dead letters + skipped).
 */
export class RuntimeMetrics {
  readonly registry = new client.Registry();
  readonly recordsIn: client.Counter<'stage' | 'topic' | 'partition'>;
  readonly recordsOut: client.Counter<'stage' | 'topic'>;
  readonly recordsFailed: client.Counter<'stage' | 'topic' | 'code'>;
  readonly deadLetters: client.Counter<'stage' | 'topic'>;
  readonly recordsSkipped: client.Counter<'stage' | 'topic'>;
  readonly batchSize: client.Histogram<'stage'>;
  readonly processingSeconds: client.Histogram<'stage'>;
  readonly latencyFromEvent: client.Histogram<'stage'>;
  readonly latencyFromRecv: client.Histogram<'stage'>;
  readonly consumerLag: client.Gauge<'stage' | 'topic' | 'partition'>;
  readonly pausedPartitions: client.Gauge<'stage'>;
  readonly transactions: client.Counter<'stage' | 'result'>;
  readonly sinkRetries: client.Counter<'stage'>;
  readonly restoreSeconds: client.Histogram<'stage' | 'store'>;
  readonly stateEntries: client.Gauge<'stage' | 'store' | 'partition'>;
  readonly assignedPartitions: client.Gauge<'stage'>;
  readonly secondsSinceProgress: client.Gauge<'stage'>;
  readonly phaseSeconds: client.Histogram<'stage' | 'phase'>;
  readonly fetchSeconds: client.Histogram<'stage'>;
  readonly stateExpired: client.Counter<'stage' | 'store'>;
  readonly foreignRecords: client.Counter<'stage' | 'topic'>;
  readonly changelogBytes: client.Counter<'stage' | 'store'>;
  readonly stageEvents: client.Counter<'stage' | 'topic' | 'event'>;
  readonly tradingState: client.Gauge<'account' | 'state'>;

  // Declarations only: one metric per statement.
  // eslint-disable-next-line max-lines-per-function
  constructor() {
    const r = [this.registry];
    client.collectDefaultMetrics({ register: this.registry, prefix: 'tickflow_process_' });
    this.recordsIn = new client.Counter({
      name: 'tickflow_records_in_total',
      help: 'records consumed',
      labelNames: ['stage', 'topic', 'partition'],
      registers: r,
    });
    this.recordsOut = new client.Counter({
      name: 'tickflow_records_out_total',
      help: 'records produced (stages) or written (sinks)',
      labelNames: ['stage', 'topic'],
      registers: r,
    });
    this.recordsFailed = new client.Counter({
      name: 'tickflow_records_failed_total',
      help: 'records rejected, by error code',
      labelNames: ['stage', 'topic', 'code'],
      registers: r,
    });
    this.deadLetters = new client.Counter({
      name: 'tickflow_dead_letters_total',
      help: 'records sent to <topic>.dlq',
      labelNames: ['stage', 'topic'],
      registers: r,
    });
    this.recordsSkipped = new client.Counter({
      name: 'tickflow_records_skipped_total',
      help: 'records fetched again although an earlier transaction committed them (a new owner after a rebalance, or a commit whose response was lost); not processed twice',
      labelNames: ['stage', 'topic'],
      registers: r,
    });
    this.batchSize = new client.Histogram({
      name: 'tickflow_batch_size',
      help: 'records per processed batch',
      labelNames: ['stage'],
      buckets: [1, 10, 50, 100, 500, 1000, 5000, 20000],
      registers: r,
    });
    this.processingSeconds = new client.Histogram({
      name: 'tickflow_batch_seconds',
      help: 'time to process and commit one batch',
      labelNames: ['stage'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: r,
    });
    const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60, 3600];
    this.latencyFromEvent = new client.Histogram({
      name: 'tickflow_latency_from_event_seconds',
      help: 'commit time minus tsEvent of each input record (replays of old data show their age)',
      labelNames: ['stage'],
      buckets: latencyBuckets,
      registers: r,
    });
    this.latencyFromRecv = new client.Histogram({
      name: 'tickflow_latency_from_recv_seconds',
      help: 'commit time minus tsRecv of each input record',
      labelNames: ['stage'],
      buckets: latencyBuckets,
      registers: r,
    });
    this.consumerLag = new client.Gauge({
      name: 'tickflow_consumer_lag',
      help: 'high watermark minus position after the last batch (transaction markers count)',
      labelNames: ['stage', 'topic', 'partition'],
      registers: r,
    });
    this.pausedPartitions = new client.Gauge({
      name: 'tickflow_paused_partitions',
      help: 'partitions paused by backpressure (sink or producer slow or down)',
      labelNames: ['stage'],
      registers: r,
    });
    this.transactions = new client.Counter({
      name: 'tickflow_transactions_total',
      help: 'Kafka transactions by outcome',
      labelNames: ['stage', 'result'],
      registers: r,
    });
    this.sinkRetries = new client.Counter({
      name: 'tickflow_sink_retries_total',
      help: 'sink write attempts that failed and were retried',
      labelNames: ['stage'],
      registers: r,
    });
    this.restoreSeconds = new client.Histogram({
      name: 'tickflow_state_restore_seconds',
      help: 'time to restore a store partition from its changelog',
      labelNames: ['stage', 'store'],
      buckets: [0.01, 0.1, 0.5, 1, 5, 30, 120],
      registers: r,
    });
    this.stateEntries = new client.Gauge({
      name: 'tickflow_state_entries',
      help: 'keys in a store partition',
      labelNames: ['stage', 'store', 'partition'],
      registers: r,
    });
    this.secondsSinceProgress = new client.Gauge({
      name: 'tickflow_seconds_since_progress',
      help: 'seconds since a fetch returned or a batch moved; a healthy consumer stays near the fetch wait (1 s), a stall grows it (logged after 60 s with what is pending)',
      labelNames: ['stage'],
      registers: r,
    });
    const phaseBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30];
    this.phaseSeconds = new client.Histogram({
      name: 'tickflow_batch_phase_seconds',
      help: 'time a batch spent in each phase (decode, fence, restore, process, begin transaction, transactional send, send offsets, commit, write, offset commit, heartbeat, ...)',
      labelNames: ['stage', 'phase'],
      buckets: phaseBuckets,
      registers: r,
    });
    this.fetchSeconds = new client.Histogram({
      name: 'tickflow_fetch_seconds',
      help: 'duration of each fetch (includes the broker-side wait for data, up to the fetch wait of 1 s)',
      labelNames: ['stage'],
      buckets: phaseBuckets,
      registers: r,
    });
    this.changelogBytes = new client.Counter({
      name: 'tickflow_changelog_bytes_total',
      help: 'bytes of state changes written to changelogs (keys and encoded values, before compression)',
      labelNames: ['stage', 'store'],
      registers: r,
    });
    this.foreignRecords = new client.Counter({
      name: 'tickflow_fused_foreign_records_total',
      help: "offsets written to a fused chain's intermediate topic by something other than the chain: the fused stage does not read them (run it unfused, --no-fuse, if something else must feed it)",
      labelNames: ['stage', 'topic'],
      registers: r,
    });
    this.stateExpired = new client.Counter({
      name: 'tickflow_state_expired_total',
      help: "state keys deleted because they were not written for the stage's stateTtlMs",
      labelNames: ['stage', 'store'],
      registers: r,
    });
    new client.Gauge({
      name: 'tickflow_dependency_up',
      help: '1 while the last call to the server succeeded, 0 while it fails or times out (kafka, schema-registry, questdb)',
      labelNames: ['dependency'],
      registers: r,
      collect() {
        for (const [dependency, state] of Object.entries(dependencyStates()))
          this.set({ dependency }, state.up ? 1 : 0);
      },
    });
    new client.Counter({
      name: 'tickflow_dependency_failures_total',
      help: 'calls to the server that failed or timed out',
      labelNames: ['dependency'],
      registers: r,
      collect() {
        this.reset();
        for (const [dependency, state] of Object.entries(dependencyStates())) this.inc({ dependency }, state.failures);
      },
    });
    this.stageEvents = new client.Counter({
      name: 'tickflow_stage_events_total',
      help: 'committed outputs by a domain field the topic catalog names (eventField): quality findings by rule, audit events by kind, signals and order events by status, decisions APPROVED/REJECTED',
      labelNames: ['stage', 'topic', 'event'],
      registers: r,
    });
    this.tradingState = new client.Gauge({
      name: 'tickflow_trading_state',
      help: "1 for each account's current trading state (ACTIVE, REDUCING, HALTED) and 0 for the others, from the P&L records risk commits",
      labelNames: ['account', 'state'],
      registers: r,
    });
    this.assignedPartitions = new client.Gauge({
      name: 'tickflow_assigned_partitions',
      help: 'input partitions assigned to this instance',
      labelNames: ['stage'],
      registers: r,
    });
  }

  /** The accounts whose state gauge each runner's partition set (`<runner>#<partition>`), to drop when it moves. */
  private readonly stateKeys = new Map<string, Map<string, readonly string[]>>();

  /**
   * Records a committed output's domain metrics (topics/catalog.ts eventField and stateGauge);
   * `owner` is the runner and partition that committed it.
   */
  observe(stage: string, topic: string, observed: Observation, owner?: string): void {
    if (observed.event !== undefined) this.stageEvents.inc({ stage, topic, event: observed.event });
    const gauge = topicSpec(topic)?.stateGauge;
    if (gauge && observed.state) {
      for (const state of gauge.states)
        this.tradingState.set({ account: observed.state.key, state }, state === observed.state.value ? 1 : 0);
      if (owner) {
        const keys = this.stateKeys.get(owner) ?? new Map<string, readonly string[]>();
        keys.set(observed.state.key, gauge.states);
        this.stateKeys.set(owner, keys);
      }
    }
  }

  /**
   * A partition the runner no longer owns: its accounts' state gauges go (the new owner reports
   * them), so a halted account that moved does not stay HALTED here too.
   */
  forgetPartition(runner: string, partition: number): void {
    const owner = `${runner}#${partition}`;
    for (const [account, states] of this.stateKeys.get(owner) ?? [])
      for (const state of states) this.tradingState.remove({ account, state });
    this.stateKeys.delete(owner);
  }
}
