import { logger } from '../../ops/log';
import type { Clock, InputRecord, Stage, StageContext, StageResult } from './stage';

/**
 * Runs a stage in-process over a list of values, with no broker: for unit tests now and backtests
 * later. Records get consecutive offsets on one partition of the stage's first input, as they would
 * from Kafka, and are processed in batches of `batchSize`.
 */
export function fixedClock(micros: number): Clock {
  return { nowMicros: () => micros };
}

export function driveStage<In>(stage: Stage<In>, values: readonly In[], options: { topic?: string; key?: (v: In) => string | null; batchSize?: number; clock?: Clock } = {}): StageResult {
  const topic = options.topic ?? stage.inputs[0];
  const ctx: StageContext = { clock: options.clock ?? fixedClock(0), log: logger(`test:${stage.name}`) };
  const records: InputRecord<In>[] = values.map((value, i) => ({ topic, partition: 0, offset: String(i), key: options.key ? options.key(value) : null, value }));
  stage.open?.(ctx);
  const out: StageResult['out'][number][] = [];
  const failed: StageResult['failed'][number][] = [];
  const size = options.batchSize ?? 500;
  for (let i = 0; i < records.length; i += size) {
    const result = stage.process(records.slice(i, i + size), ctx);
    out.push(...result.out);
    failed.push(...result.failed);
  }
  stage.close?.();
  return { out, failed };
}
