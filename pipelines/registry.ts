import { QuestDbSink } from '../connectors/questdb/sink';
import { normalizeStage } from './normalize/normalize';
import type { SinkWriter } from './runtime/runner';
import type { Stage } from './runtime/stage';

/**
 * Everything `tickflow run --stages` can start, by name. Register new stages and sinks here,
 * explicitly (no import side effects).
 */
export const STAGES: Readonly<Record<string, Stage>> = {
  normalize: normalizeStage as Stage,
};

export const SINKS: Readonly<Record<string, () => SinkWriter>> = {
  'sink-questdb': () => new QuestDbSink(),
};

export function runnableNames(): string[] {
  return [...Object.keys(STAGES), ...Object.keys(SINKS)];
}
