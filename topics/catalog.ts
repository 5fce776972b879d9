import type { SchemaName } from '../schemas/avro';

/** A stage's state store changelog: `<stage>.<store>.changelog` (DESIGN.md, topic names). */
export function changelogTopic(stage: string, store: string): string {
  return `${stage}.${store}.changelog`;
}

/**
 * The topic catalog: the public contract of what flows where. `tickflow topics apply` makes the
 * cluster match it. Names follow `<domain>.<entity>.v<N>`; every topic a stage consumes has a
 * `.dlq` twin for records it cannot process.
 */
export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly cleanup: 'delete' | 'compact';
  /** Retention for `delete` topics; -1 keeps forever. */
  readonly retentionMs: number;
  /** What the record key is. */
  readonly key: string;
  readonly valueSchema: SchemaName;
  /** The stage or connector that writes it. */
  readonly producer: string;
  /** Consumers of this topic send undecodable or invalid records to `<name>.dlq`. */
  readonly dlq: boolean;
  readonly description: string;
  /**
   * A field of the value the runtime counts when it commits a record to this topic, as
   * `tickflow_stage_events_total{stage, topic, event}` (alerts and dashboards on findings, halts,
   * breakers without a domain metric in the stage).
   */
  readonly eventField?: string;
  /** Names for the field's values in the `event` label (a boolean field's `true`/`false`, say). */
  readonly eventNames?: Readonly<Record<string, string>>;
  /**
   * The latest value of a field per account, kept by the runtime as the gauge
   * `tickflow_trading_state{account, state}`: 1 for the account's current state, 0 for the others.
   */
  readonly stateGauge?: {
    readonly keyField: string;
    readonly field: string;
    readonly states: readonly string[];
  };
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The compacted changelog of a stage's store, partitioned like the stage's inputs (the runtime writes it). */
function changelog(stage: string, store: string, partitions: number, key: string, description: string): TopicSpec {
  return {
    name: changelogTopic(stage, store),
    partitions,
    cleanup: 'compact',
    retentionMs: -1,
    key,
    valueSchema: 'state-entry',
    producer: `${stage} (state store \`${store}\`)`,
    dlq: false,
    description,
  };
}

const BASE: readonly TopicSpec[] = [
  {
    name: 'md.raw.tardis.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 7 * DAY_MS,
    key: 'vendor instrument (exchange:symbol)',
    valueSchema: 'raw-record',
    producer: 'connectors/tardis (file replay)',
    dlq: true,
    description: 'Tardis CSV records (trades, quotes, book snapshots) as read, one line each',
  },
  {
    name: 'md.raw.tickflow.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 7 * DAY_MS,
    key: 'vendor instrument (venue:symbol)',
    valueSchema: 'raw-record',
    producer: 'connectors/tickflow-ndjson (NDJSON file replay, synthetic generator)',
    dlq: true,
    description: 'tickflow NDJSON records (trades, quotes, heartbeats) as read, one line each',
  },
  {
    name: 'md.raw.binance.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 7 * DAY_MS,
    key: 'vendor instrument (BINANCE:SYMBOL)',
    valueSchema: 'raw-record',
    producer: 'connectors/binance (live websocket feed)',
    dlq: true,
    description: "Binance trade frames, the connector's local books and its heartbeats",
  },
  {
    name: 'md.raw.rest.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 7 * DAY_MS,
    key: 'vendor instrument (e.g. ALPHAVANTAGE:USD/JPY)',
    valueSchema: 'raw-record',
    producer: 'connectors/rest-poller',
    dlq: true,
    description: 'REST API response bodies, verbatim, one per poll that brought new data',
  },
  {
    name: 'md.raw.truefx.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 7 * DAY_MS,
    key: 'vendor instrument (TRUEFX:pair)',
    valueSchema: 'raw-record',
    producer: 'connectors/truefx (file replay)',
    dlq: true,
    description: 'TrueFX quote lines as read, one line each',
  },
  {
    name: 'md.trades.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 30 * DAY_MS,
    key: 'instrumentId',
    valueSchema: 'trade',
    producer: 'normalize',
    dlq: true,
    description: 'canonical trades',
  },
  {
    name: 'md.quotes.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 30 * DAY_MS,
    key: 'instrumentId',
    valueSchema: 'quote',
    producer: 'normalize',
    dlq: true,
    description: 'canonical best bid/offer updates',
  },
  {
    name: 'md.book.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 7 * DAY_MS,
    key: 'instrumentId',
    valueSchema: 'book-snapshot',
    producer: 'normalize',
    dlq: true,
    description: 'canonical order book snapshots',
  },
  {
    name: 'md.heartbeats.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 7 * DAY_MS,
    key: 'instrumentId',
    valueSchema: 'heartbeat',
    producer: 'normalize',
    dlq: true,
    description:
      "source heartbeats per instrument with the count of trades before them; aggregate closes quiet instruments' bars with them",
  },
  {
    name: 'md.quality.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 90 * DAY_MS,
    key: 'instrumentId',
    valueSchema: 'quality-event',
    producer: 'normalize (quality rules), aggregate (late trades)',
    dlq: true,
    description:
      'data-quality findings: flagged records (withheld from trades, quotes, books and bars) and stream findings (gaps, stale feeds)',
    eventField: 'rule',
  },
  {
    name: 'md.bars.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 90 * DAY_MS,
    key: 'instrumentId',
    valueSchema: 'bar',
    producer: 'aggregate',
    dlq: true,
    description: 'event-time OHLCV bars with revisions',
  },
  {
    name: 'md.features.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 30 * DAY_MS,
    key: 'instrumentId',
    valueSchema: 'feature',
    producer: 'features, score, flow',
    dlq: true,
    description:
      'named analytics per instrument, one record per value: spread, mid, microprice, imbalances (features) and indicators on final bars (score)',
  },
  {
    name: 'md.returns.v1',
    partitions: 1,
    cleanup: 'delete',
    retentionMs: 30 * DAY_MS,
    key: 'interval',
    valueSchema: 'bar-return',
    producer: 'score',
    dlq: true,
    description:
      'log returns of final bars, keyed by interval so every instrument of an interval meets in one partition (cross-instrument analytics: correlate)',
  },
  {
    name: 'strategy.candidates.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 30 * DAY_MS,
    key: 'instrumentId',
    valueSchema: 'candidate',
    producer: 'score',
    dlq: true,
    description: 'candidate signals from the strategies, with the bar revision and feature values they used',
  },
  {
    name: 'signals.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 90 * DAY_MS,
    key: 'instrumentId',
    valueSchema: 'signal',
    producer: 'validate',
    dlq: true,
    description: 'validated trading signals (status ACCEPTED): what risk consumes',
    eventField: 'status',
  },
  {
    name: 'signals.rejected.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 90 * DAY_MS,
    key: 'instrumentId',
    valueSchema: 'signal',
    producer: 'validate',
    dlq: true,
    description:
      'candidates validate rejected (stale, low confidence, outside the session, duplicate in the cooldown), with the reason',
  },
  {
    name: 'md.volume.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 7 * DAY_MS,
    key: 'instrumentId',
    valueSchema: 'running-volume',
    producer: 'running-volume',
    dlq: true,
    description: 'cumulative volume per instrument, one record per trade (the runtime reference stage)',
  },
  {
    name: 'risk.signals.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 90 * DAY_MS,
    key: 'account',
    valueSchema: 'signal',
    producer: 'route',
    dlq: true,
    description:
      'accepted signals re-keyed by account: one copy per account whose strategies include the signal (what risk consumes)',
  },
  {
    name: 'risk.commands.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: -1,
    key: 'account, or * for every account (then written to every partition)',
    valueSchema: 'risk-command',
    producer: 'tickflow halt / tickflow resume',
    dlq: true,
    description: "operators' halts and resumes, with who, why and when; risk applies them and keeps them in its state",
  },
  {
    name: 'ops.config.v1',
    partitions: 1,
    cleanup: 'compact',
    retentionMs: -1,
    key: 'STAGE.SETTING',
    valueSchema: 'config-change',
    producer: 'tickflow config set',
    dlq: true,
    description:
      'settings changed on a running pipeline, with who, why, when and the value before: a global table every pipeline process follows (the latest per key is in force); the sink keeps every change in config_changes',
  },
  {
    name: 'risk.decisions.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 365 * DAY_MS,
    key: 'account',
    valueSchema: 'risk-decision',
    producer: 'risk',
    dlq: true,
    description: 'one decision per signal and account: approved with the order, or rejected with every failed rule',
    eventField: 'approved',
    eventNames: { true: 'APPROVED', false: 'REJECTED' },
  },
  {
    name: 'orders.requests.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 365 * DAY_MS,
    key: 'instrumentId',
    valueSchema: 'order-request',
    producer: 'risk',
    dlq: true,
    description: 'new, cancel and replace requests for execution, co-partitioned with md.quotes.v1 and md.trades.v1',
  },
  {
    name: 'orders.events.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 365 * DAY_MS,
    key: 'instrumentId',
    valueSchema: 'order-event',
    producer: 'execution',
    dlq: true,
    description: "every change of every order's state (accepted, triggered, fills, cancels, expiries, rejections)",
    eventField: 'status',
  },
  {
    name: 'execution.reports.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 365 * DAY_MS,
    key: 'account',
    valueSchema: 'order-event',
    producer: 'execution',
    dlq: true,
    description: 'the order events of orders.events.v1 re-keyed by account: how fills and order states reach risk',
  },
  {
    name: 'fills.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 365 * DAY_MS,
    key: 'instrumentId',
    valueSchema: 'fill',
    producer: 'execution',
    dlq: true,
    description: 'every execution with its price, quantity, fee, liquidity and slippage',
  },
  {
    name: 'positions.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 365 * DAY_MS,
    key: 'account',
    valueSchema: 'position',
    producer: 'risk',
    dlq: true,
    description:
      "an account's position in an instrument after each change: quantity, average cost, realized and unrealized P&L, fees",
  },
  {
    name: 'pnl.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: 365 * DAY_MS,
    key: 'account',
    valueSchema: 'pnl',
    producer: 'risk',
    dlq: true,
    description: "an account's cash, equity, P&L, drawdown and exposure after each change",
    stateGauge: {
      keyField: 'account',
      field: 'tradingState',
      states: ['ACTIVE', 'REDUCING', 'HALTED'],
    },
  },
  {
    name: 'marks.v1',
    partitions: 3,
    cleanup: 'compact',
    retentionMs: -1,
    key: 'instrumentId',
    valueSchema: 'mark',
    producer: 'marks',
    dlq: false,
    description:
      'the latest mark of every instrument with its recent returns: a global table (every risk instance reads it whole)',
  },
  {
    name: 'audit.v1',
    partitions: 3,
    cleanup: 'delete',
    retentionMs: -1,
    key: 'account',
    valueSchema: 'audit-event',
    producer: 'risk, execution',
    dlq: true,
    description: 'the append-only audit trail: every decision, order event, fill, halt, resume and breaker change',
    eventField: 'kind',
  },
  changelog(
    'aggregate',
    'bars',
    3,
    'instrumentId (store key)',
    'changelog of the aggregate stage state (open bars and watermark per instrument). Partitioned like md.trades.v1',
  ),
  changelog(
    'normalize',
    'quality',
    3,
    'instrumentId (store key)',
    'changelog of the quality-rule state per instrument (newest times, recent trade ids, price window, sequence). Partitioned like the raw topics',
  ),
  changelog(
    'score',
    'indicators',
    3,
    'instrumentId|interval (store key)',
    'changelog of the score stage state: indicator snapshots and the last bar per instrument and interval. Partitioned like md.bars.v1',
  ),
  changelog(
    'flow',
    'flow',
    3,
    'instrumentId (store key)',
    'changelog of the flow stage: order-flow imbalance, VPIN and sweep state per instrument. Partitioned like md.trades.v1 and md.quotes.v1',
  ),
  changelog(
    'correlate',
    'pairs',
    1,
    'pair (store key)',
    'changelog of the correlate stage: aligned return windows per instrument pair. Partitioned like md.returns.v1',
  ),
  changelog(
    'validate',
    'signals',
    3,
    'strategy|instrumentId|interval|side, or clock|instrumentId (store key)',
    'changelog of the validate stage state: the last accepted signal per strategy, instrument, interval and side, and the event clock per instrument',
  ),
  changelog(
    'risk',
    'accounts',
    3,
    'account, or *control (store key)',
    'changelog of the risk stage: per account its portfolio, open orders, breakers, rate windows and day trades; per partition the operator controls. Partitioned like risk.signals.v1',
  ),
  changelog(
    'execution',
    'books',
    3,
    'instrumentId (store key)',
    "changelog of the execution stage: per instrument the paper broker's working orders, consumed liquidity and last market. Partitioned like orders.requests.v1",
  ),
  changelog(
    'marks',
    'marks',
    3,
    'instrumentId (store key)',
    'changelog of the marks stage: last prices and the return window per instrument. Partitioned like md.trades.v1',
  ),
  changelog(
    'running-volume',
    'totals',
    3,
    'instrumentId (store key)',
    'changelog of the running-volume stage state; restores it on restart or rebalance. Partitioned like md.trades.v1',
  ),
];

export const DLQ_SUFFIX = '.dlq';

export function dlqTopicOf(topic: string): string {
  return `${topic}${DLQ_SUFFIX}`;
}

function dlqTwin(spec: TopicSpec): TopicSpec {
  return {
    name: dlqTopicOf(spec.name),
    partitions: 1,
    cleanup: 'delete',
    retentionMs: 30 * DAY_MS,
    key: `original key of ${spec.name}`,
    valueSchema: 'dead-letter',
    producer: `consumers of ${spec.name}`,
    dlq: false,
    description: `records from ${spec.name} that a consumer could not process, with their origin`,
  };
}

export const TOPICS: readonly TopicSpec[] = [...BASE, ...BASE.filter((t) => t.dlq).map(dlqTwin)];

export function topicSpec(name: string): TopicSpec | undefined {
  return TOPICS.find((t) => t.name === name);
}

/** Registry subject of a topic's values (Confluent TopicNameStrategy). */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

/**
 * Compacted topics (state changelogs) roll a segment every minute (or at 16 MiB) and are cleaned
 * early: the log cleaner only compacts closed segments, and restoring a store reads everything not
 * yet compacted, so these keep restore time bounded by the live keys plus about a minute of changes,
 * rather than by the time since the last roll (`tickflow bench soak` measures it). A record
 * (one state value; the runtime keeps them under 512 KiB, pipelines/runtime/runner.ts) may be up to
 * the broker's default 1 MiB, set here explicitly so a cluster with other defaults behaves the same.
 */
export const CHANGELOG_CONFIGS: Readonly<Record<string, string>> = {
  'segment.bytes': String(16 * 1024 * 1024),
  'segment.ms': String(60 * 1000),
  'min.cleanable.dirty.ratio': '0.1',
  'max.message.bytes': '1048588',
};

/** Topic-level configs `topics apply` owns, for a cluster with `brokers` brokers. */
export function topicConfigs(spec: TopicSpec, brokers: number): Record<string, string> {
  return {
    'cleanup.policy': spec.cleanup,
    'retention.ms': String(spec.retentionMs),
    'min.insync.replicas': brokers >= 3 ? '2' : '1',
    ...(spec.cleanup === 'compact' ? CHANGELOG_CONFIGS : {}),
  };
}

export function replicationFactor(brokers: number): number {
  return Math.min(3, brokers);
}
