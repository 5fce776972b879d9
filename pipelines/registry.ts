import { QuestDbSink, SINK_TOPICS } from '../connectors/questdb/sink';
import { AGGREGATE_CONFIG, aggregateStage } from './aggregate/aggregate';
import { FEATURES_CONFIG, featuresStage } from './features/features';
import { NORMALIZE_CONFIG, normalizeStage } from './normalize/normalize';
import { runningVolumeStage } from './running-volume/running-volume';
import { CORRELATE_CONFIG, correlateStage } from './correlate/correlate';
import { FLOW_CONFIG, flowStage } from './flow/flow';
import { SCORE_CONFIG, scoreStage } from './score/score';
import { VALIDATE_CONFIG, validateStage } from './validate/validate';
import { ROUTE_CONFIG, routeStage } from './route/route';
import { MARKS_CONFIG, marksStage } from './marks/marks';
import { RISK_CONFIG } from './risk/risk-config';
import { riskStage } from './risk/risk';
import { EXECUTION_CONFIG, executionStage } from './execution/execution';
import type { ConfigSchema } from './runtime/config';
import { TickflowError, isTickflowError } from './runtime/errors';
import { parseConfig } from './runtime/config';
import type { SinkWriter } from './runtime/sink';
import type { Stage } from './runtime/stage';

/**
 * Everything `tickflow run --stages` can start, by name, with its config schema. Register new
 * stages and sinks here, explicitly (no import side effects); this is the one list of their names:
 * the CLI, the demo, the benchmarks and the catalog checks take them from here.
 */
export type Runnable = (
  | { kind: 'stage'; create(values: Readonly<Record<string, string>>): Stage }
  | { kind: 'sink'; create(values: Readonly<Record<string, string>>): SinkWriter }
) & {
  description: string;
  config: ConfigSchema;
  /**
   * A reference stage that shows the runtime at work, not part of the market-data pipeline (the demo leaves it out).
   */
  example?: boolean;
};

const SINK_QUESTDB_CONFIG = {
  topics: { type: 'list', default: SINK_TOPICS, description: 'topics to write into their QuestDB tables' },
  tableSuffix: {
    type: 'string',
    default: '',
    description:
      'write <table><suffix> instead of each table (`run --namespace exp1.` sets _exp1, so a namespace has its own tables)',
  },
} as const satisfies ConfigSchema;

const DAY_MS = 86_400_000;

/** Settings every stage with state has: how long a key may go unwritten before the runtime expires it. */
export const STATE_CONFIG = {
  stateTtlMs: {
    type: 'number',
    default: 7 * DAY_MS,
    min: 1000,
    max: 365 * DAY_MS,
    integer: true,
    description:
      'expire the state of an instrument (a store key) not written for this long (wall clock), with a tombstone in the changelog',
  },
} as const satisfies ConfigSchema;

/**
 * A stage from its settings: the stage's own (validated by its schema) and, for a stage with state,
 * the state settings. A factory's CONFIG error (a setting that cannot work) is re-raised naming
 * the stage.
 */
function stage<S extends ConfigSchema>(
  name: string,
  description: string,
  config: S,
  make: (values: Readonly<Record<string, string>>) => Stage,
  stateful: boolean,
): Runnable {
  const schema: ConfigSchema = stateful ? { ...config, ...STATE_CONFIG } : config;
  return {
    kind: 'stage',
    description,
    config: schema,
    create: (values) => {
      const { stateTtlMs, ...own } = values;
      let created: Stage;
      try {
        created = make(own);
      } catch (error) {
        if (isTickflowError(error, 'CONFIG'))
          throw new TickflowError(
            'CONFIG',
            `${name}: ${error.message}`,
            error.fix ?? `check the --set ${name}.* values (tickflow run --help; pipelines/${name}/README.md)`,
          );
        throw error;
      }
      if (!stateful) return created;
      const state = parseConfig(name, STATE_CONFIG, stateTtlMs === undefined ? {} : { stateTtlMs });
      return { ...created, stateTtlMs: state.stateTtlMs };
    },
  };
}

export const RUNNABLES: Readonly<Record<string, Runnable>> = {
  normalize: stage(
    'normalize',
    'vendor records to canonical trades, quotes and books, through the quality rules (findings on md.quality.v1)',
    NORMALIZE_CONFIG,
    (v) => normalizeStage(parseConfig('normalize', NORMALIZE_CONFIG, v)) as Stage,
    true,
  ),
  'running-volume': {
    ...stage(
      'running-volume',
      'cumulative volume per instrument (the runtime reference stateful stage)',
      {},
      () => runningVolumeStage as Stage,
      true,
    ),
    example: true,
  },
  features: stage(
    'features',
    'spread, mid, microprice and imbalances from quotes and book snapshots',
    FEATURES_CONFIG,
    (v) => featuresStage(parseConfig('features', FEATURES_CONFIG, v)) as Stage,
    false,
  ),
  aggregate: stage(
    'aggregate',
    'event-time OHLCV bars per instrument (1s, 1m, 5m), with late-data revisions',
    AGGREGATE_CONFIG,
    (v) => aggregateStage(parseConfig('aggregate', AGGREGATE_CONFIG, v)) as Stage,
    true,
  ),
  score: stage(
    'score',
    'indicators and strategies on final bars: indicator features and candidate signals',
    SCORE_CONFIG,
    (v) => scoreStage(parseConfig('score', SCORE_CONFIG, v)) as Stage,
    true,
  ),
  flow: stage(
    'flow',
    'order-flow analytics from every quote and trade: order-flow imbalance, VPIN, sweeps',
    FLOW_CONFIG,
    (v) => flowStage(parseConfig('flow', FLOW_CONFIG, v)) as Stage,
    true,
  ),
  correlate: stage(
    'correlate',
    'rolling correlation of configured instrument pairs from their bar returns',
    CORRELATE_CONFIG,
    (v) => correlateStage(parseConfig('correlate', CORRELATE_CONFIG, v)) as Stage,
    true,
  ),
  validate: stage(
    'validate',
    'the gate before risk: rejects stale, low-confidence, out-of-session and duplicate candidates with reasons; emits signals',
    VALIDATE_CONFIG,
    (v) => validateStage(parseConfig('validate', VALIDATE_CONFIG, v)) as Stage,
    true,
  ),
  route: stage(
    'route',
    'accepted signals re-keyed by account (risk.signals.v1): one copy per account subscribed to the strategy',
    ROUTE_CONFIG,
    (v) => routeStage(parseConfig('route', ROUTE_CONFIG, v)) as Stage,
    false,
  ),
  marks: stage(
    'marks',
    'the latest mark of every instrument with its recent returns (marks.v1, the global table risk reads)',
    MARKS_CONFIG,
    (v) => marksStage(parseConfig('marks', MARKS_CONFIG, v)) as Stage,
    true,
  ),
  // Risk's and execution's state (breakers, halts, books, working orders) must never expire: a quiet
  // week must not undo a halt or lose a resting GTC order. They take no stateTtlMs.
  risk: stage(
    'risk',
    'pre-trade risk per account: one decision per signal (every failed rule with its reason), orders, positions, P&L, breakers and the kill switch',
    RISK_CONFIG,
    (v) => riskStage(parseConfig('risk', RISK_CONFIG, v)),
    false,
  ),
  execution: stage(
    'execution',
    'the paper broker per instrument: matches orders against the live quotes, trades and books (latency, queue position, liquidity, slippage, fees)',
    EXECUTION_CONFIG,
    (v) => executionStage(parseConfig('execution', EXECUTION_CONFIG, v)) as Stage,
    false,
  ),
  'sink-questdb': {
    kind: 'sink',
    description: 'writes topics into QuestDB tables, exactly once (DEDUP keys, offsets after acknowledgement)',
    config: SINK_QUESTDB_CONFIG,
    create: (values) => {
      const config = parseConfig('sink-questdb', SINK_QUESTDB_CONFIG, values);
      if (!/^(_[a-z0-9_]*)?$/.test(config.tableSuffix))
        throw new TickflowError(
          'CONFIG',
          `sink-questdb.tableSuffix '${config.tableSuffix}' is not a table-name suffix`,
          'use an underscore followed by lower-case letters, digits and underscores, e.g. _exp1',
        );
      return new QuestDbSink(config.topics, undefined, config.tableSuffix);
    },
  },
};

/** Stages by name with their default settings, for code that needs the stage definitions (catalog checks, docs). */
export const STAGES: Readonly<Record<string, Stage>> = Object.fromEntries(
  Object.entries(RUNNABLES).flatMap(([name, runnable]) =>
    runnable.kind === 'stage' ? [[name, runnable.create({})] as const] : [],
  ),
);

export function runnableNames(): string[] {
  return Object.keys(RUNNABLES);
}

/** The market-data pipeline: every stage and sink but the examples (what `tickflow demo` runs). */
export function pipelineNames(): string[] {
  return runnableNames().filter((name) => !RUNNABLES[name].example);
}
