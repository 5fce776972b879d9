import type { Heartbeat, RawRecord } from '../../schemas/types.generated';
import type { Canonical } from '../../connectors/registry';
import { FORMATS, RAW_TOPICS } from '../../connectors/registry';
import { instrumentRef } from '../../connectors/reference/instruments';
import type { ConfigOf } from '../runtime/config';
import type { FailedRecord, InputRecord, OutputRecord, Stage, StageContext, StageResult } from '../runtime/stage';
import { RecordError } from '../runtime/stage';
import type { Checked, InstrumentQuality, QualityConfig } from './quality';
import { EMPTY_QUALITY, QUALITY_CONFIG, QUALITY_TOPIC, checkBook, checkHeartbeat, checkQuote, checkTrade, qualityEvent } from './quality';

/**
 * normalize: vendor records (md.raw.*) to canonical trades, quotes and book snapshots, keyed by
 * instrument id, through the quality rules (./quality.ts). A line that does not parse is rejected
 * with its reason (dead letter with its origin). A parsed record a rule flags goes to md.quality.v1
 * instead of its canonical topic; reported findings go there too. Nothing is dropped silently.
 * A source heartbeat goes on to md.heartbeats.v1 with the count of the instrument's trades put on
 * md.trades.v1 before it, so aggregate can close a quiet instrument's bars without racing them.
 * State: the rules' per-instrument state and that count, in store `quality`.
 */
export const NORMALIZE_OUTPUTS = { trade: 'md.trades.v1', quote: 'md.quotes.v1', book: 'md.book.v1', heartbeat: 'md.heartbeats.v1' } as const;

export const NORMALIZE_CONFIG = QUALITY_CONFIG;
export type NormalizeConfig = ConfigOf<typeof NORMALIZE_CONFIG>;

export function parseRaw(raw: RawRecord): Canonical {
  const entry = FORMATS[raw.format];
  if (!entry) throw new RecordError('UNKNOWN_FORMAT', `format '${raw.format}' has no parser; known: ${Object.keys(FORMATS).join(', ')}`);
  return entry.format.parse(raw);
}

function check(state: InstrumentQuality, parsed: Canonical, config: QualityConfig): Checked {
  switch (parsed.kind) {
    case 'trade':
      return checkTrade(state, parsed.value, parsed.sequence, config);
    case 'quote':
      return checkQuote(state, parsed.value, parsed.sequence, config);
    case 'book':
      return checkBook(state, parsed.value, parsed.sequence, config);
    case 'heartbeat':
      return checkHeartbeat(state, parsed.value, instrumentRef(parsed.value.instrumentId).session, config);
  }
}

export function normalizeStage(config: NormalizeConfig): Stage<RawRecord> {
  return {
    name: 'normalize',
    inputs: RAW_TOPICS,
    outputs: [...Object.values(NORMALIZE_OUTPUTS), QUALITY_TOPIC],
    stores: ['quality'],
    process(batch: readonly InputRecord<RawRecord>[], ctx: StageContext): StageResult {
      const store = ctx.store<InstrumentQuality>('quality');
      const out: OutputRecord[] = [];
      const failed: FailedRecord[] = [];
      const changed = new Map<string, InstrumentQuality>();
      for (const input of batch) {
        let parsed: Canonical;
        try {
          parsed = parseRaw(input.value);
        } catch (error) {
          if (!(error instanceof RecordError)) throw error;
          failed.push({ input, code: error.code, message: error.message });
          continue;
        }
        const id = parsed.value.instrumentId;
        const checked = check(changed.get(id) ?? store.get(id) ?? EMPTY_QUALITY, parsed, config);
        // States written before the count existed start it at 0.
        const trades = (checked.state.trades ?? 0) + (parsed.kind === 'trade' && !checked.flagged ? 1 : 0);
        changed.set(id, { ...checked.state, trades });
        for (const finding of checked.findings) {
          out.push({ topic: QUALITY_TOPIC, key: id, value: qualityEvent('normalize', parsed.kind, parsed.value, finding, input.value.origin) });
        }
        if (parsed.kind === 'heartbeat') {
          const heartbeat: Heartbeat = { ...parsed.value, trades };
          out.push({ topic: NORMALIZE_OUTPUTS.heartbeat, key: id, value: heartbeat });
        } else if (!checked.flagged) {
          out.push({ topic: NORMALIZE_OUTPUTS[parsed.kind], key: id, value: parsed.value });
        }
      }
      for (const [id, state] of changed) store.put(id, state);
      return { out, failed };
    },
  };
}
