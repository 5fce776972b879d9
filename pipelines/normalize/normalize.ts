import type { BookSnapshot, Quote, RawRecord, Trade } from '../../schemas/types.generated';
import { FORMATS } from '../../connectors/registry';
import type { FailedRecord, InputRecord, OutputRecord, Stage, StageResult } from '../runtime/stage';
import { RecordError } from '../runtime/stage';

/**
 * normalize: vendor records (md.raw.*) to canonical trades, quotes and book snapshots, keyed by
 * instrument id. A line that does not parse is rejected with its reason (it lands in the dead-letter
 * topic with its origin); nothing is dropped silently.
 */
export const NORMALIZE_OUTPUTS = { trade: 'md.trades.v1', quote: 'md.quotes.v1', book: 'md.book.v1' } as const;

export function normalizeOne(raw: RawRecord): { topic: string; key: string; value: Trade | Quote | BookSnapshot } {
  const entry = FORMATS[raw.format];
  if (!entry) throw new RecordError('UNKNOWN_FORMAT', `format '${raw.format}' has no parser; known: ${Object.keys(FORMATS).join(', ')}`);
  const value = entry.format.parse(raw);
  return { topic: NORMALIZE_OUTPUTS[entry.format.kind], key: value.instrumentId, value };
}

export const normalizeStage: Stage<RawRecord> = {
  name: 'normalize',
  inputs: ['md.raw.tardis.v1'],
  outputs: Object.values(NORMALIZE_OUTPUTS),
  process(batch: readonly InputRecord<RawRecord>[]): StageResult {
    const out: OutputRecord[] = [];
    const failed: FailedRecord[] = [];
    for (const input of batch) {
      try {
        out.push(normalizeOne(input.value));
      } catch (error) {
        if (!(error instanceof RecordError)) throw error;
        failed.push({ input, code: error.code, message: error.message });
      }
    }
    return { out, failed };
  },
};
