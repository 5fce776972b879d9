/**
 * Template for a new stage: copy this folder to pipelines/<name>/, rename, and fill in.
 *
 * Checklist:
 * 1. Inputs and outputs are catalog topics (topics/catalog.ts); every input needs its `.dlq` twin.
 * 2. Each store in `stores` needs a compacted changelog `<stage>.<store>.changelog` in the catalog,
 *    with as many partitions as the stage's inputs (a unit test checks this).
 * 3. `process` is pure: no kafkajs, no QuestDB, no Date.now() (lint enforces it). Time comes from
 *    `ctx.clock`, windows from the records' `tsEvent`.
 * 4. Reject a bad record by returning it in `failed` with a typed code (or throwing TickflowError);
 *    it goes to `<input>.dlq` with its origin. Anything else thrown is a bug and stops the stage.
 * 5. Register it by name in pipelines/registry.ts (with its config schema, if any).
 * 6. Unit-test it with StageDriver (pipelines/runtime/test-driver.ts), then run it:
 *    `npx tickflow run --stages <name>`.
 *
 * This template counts trades per instrument and passes each trade on unchanged; it is not registered.
 */
import type { Trade } from '../../schemas/types.generated';
import type { FailedRecord, InputRecord, OutputRecord, Stage, StageContext, StageResult } from '../runtime/stage';

interface Seen {
  count: number;
}

export const templateStage: Stage<Trade> = {
  name: 'template',
  inputs: ['md.trades.v1'],
  outputs: ['md.trades.v1'],
  stores: ['seen'],
  process(batch: readonly InputRecord<Trade>[], ctx: StageContext): StageResult {
    const seen = ctx.store<Seen>('seen');
    const out: OutputRecord[] = [];
    const failed: FailedRecord[] = [];
    for (const input of batch) {
      if (input.value.price.isNegative()) {
        failed.push({ input, code: 'INVALID_VALUE', message: `negative price ${input.value.price.toFixed()}` });
        continue;
      }
      const before = seen.get(input.value.instrumentId) ?? { count: 0 };
      seen.put(input.value.instrumentId, { count: before.count + 1 });
      out.push({ topic: 'md.trades.v1', key: input.value.instrumentId, value: input.value });
    }
    return { out, failed };
  },
};
