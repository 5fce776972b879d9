import { QuestDbSink, SINK_TOPICS } from '../connectors/questdb/sink';
import { AGGREGATE_CONFIG, aggregateStage } from './aggregate/aggregate';
import { FEATURES_CONFIG, featuresStage } from './aggregate/features';
import { NORMALIZE_CONFIG, normalizeStage } from './normalize/normalize';
import { runningVolumeStage } from './running-volume/running-volume';
import { CORRELATE_CONFIG, correlateStage } from './score/correlate';
import { FLOW_CONFIG, flowStage } from './score/flow';
import { SCORE_CONFIG, scoreStage } from './score/score';
import { VALIDATE_CONFIG, validateStage } from './validate/validate';
import type { ConfigSchema } from './runtime/config';
import { parseConfig } from './runtime/config';
import type { SinkWriter } from './runtime/runner';
import type { Stage } from './runtime/stage';

/**
 * Everything `tickflow run --stages` can start, by name, with its config schema. Register new
 * stages and sinks here, explicitly (no import side effects).
 */
export type Runnable =
  | { kind: 'stage'; description: string; config: ConfigSchema; create(values: Readonly<Record<string, string>>): Stage }
  | { kind: 'sink'; description: string; config: ConfigSchema; create(values: Readonly<Record<string, string>>): SinkWriter };

const SINK_QUESTDB_CONFIG = {
  topics: { type: 'list', default: SINK_TOPICS, description: 'topics to write into their QuestDB tables' },
} as const satisfies ConfigSchema;

export const RUNNABLES: Readonly<Record<string, Runnable>> = {
  normalize: {
    kind: 'stage',
    description: 'vendor records to canonical trades, quotes and books, through the quality rules (findings on md.quality.v1)',
    config: NORMALIZE_CONFIG,
    create: (values) => normalizeStage(parseConfig('normalize', NORMALIZE_CONFIG, values)) as Stage,
  },
  'running-volume': { kind: 'stage', description: 'cumulative volume per instrument (the runtime reference stateful stage)', config: {}, create: () => runningVolumeStage as Stage },
  features: {
    kind: 'stage',
    description: 'spread, mid, microprice and imbalances from quotes and book snapshots',
    config: FEATURES_CONFIG,
    create: (values) => featuresStage(parseConfig('features', FEATURES_CONFIG, values)) as Stage,
  },
  aggregate: {
    kind: 'stage',
    description: 'event-time OHLCV bars per instrument (1s, 1m, 5m), with late-data revisions',
    config: AGGREGATE_CONFIG,
    create: (values) => aggregateStage(parseConfig('aggregate', AGGREGATE_CONFIG, values)) as Stage,
  },
  score: {
    kind: 'stage',
    description: 'indicators and strategies on final bars: indicator features and candidate signals',
    config: SCORE_CONFIG,
    create: (values) => scoreStage(parseConfig('score', SCORE_CONFIG, values)) as Stage,
  },
  flow: {
    kind: 'stage',
    description: 'order-flow analytics from every quote and trade: order-flow imbalance, VPIN, sweeps',
    config: FLOW_CONFIG,
    create: (values) => flowStage(parseConfig('flow', FLOW_CONFIG, values)) as Stage,
  },
  correlate: {
    kind: 'stage',
    description: 'rolling correlation of configured instrument pairs from their bar returns',
    config: CORRELATE_CONFIG,
    create: (values) => correlateStage(parseConfig('correlate', CORRELATE_CONFIG, values)) as Stage,
  },
  validate: {
    kind: 'stage',
    description: 'the gate before risk: rejects stale, low-confidence, out-of-session and duplicate candidates with reasons; emits signals',
    config: VALIDATE_CONFIG,
    create: (values) => validateStage(parseConfig('validate', VALIDATE_CONFIG, values)) as Stage,
  },
  'sink-questdb': {
    kind: 'sink',
    description: 'writes topics into QuestDB tables, exactly once (DEDUP keys, offsets after acknowledgement)',
    config: SINK_QUESTDB_CONFIG,
    create: (values) => new QuestDbSink(parseConfig('sink-questdb', SINK_QUESTDB_CONFIG, values).topics),
  },
};

/** Stages by name, for code that needs the stage definitions (catalog checks, docs). */
export const STAGES: Readonly<Record<string, Stage>> = {
  normalize: normalizeStage(parseConfig('normalize', NORMALIZE_CONFIG, {})) as Stage,
  'running-volume': runningVolumeStage as Stage,
  aggregate: aggregateStage(parseConfig('aggregate', AGGREGATE_CONFIG, {})) as Stage,
  features: featuresStage(parseConfig('features', FEATURES_CONFIG, {})) as Stage,
  score: scoreStage(parseConfig('score', SCORE_CONFIG, {})) as Stage,
  validate: validateStage(parseConfig('validate', VALIDATE_CONFIG, {})) as Stage,
  flow: flowStage(parseConfig('flow', FLOW_CONFIG, {})) as Stage,
  correlate: correlateStage(parseConfig('correlate', CORRELATE_CONFIG, {})) as Stage,
};

export function runnableNames(): string[] {
  return Object.keys(RUNNABLES);
}
