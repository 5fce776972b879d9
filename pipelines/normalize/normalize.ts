import type { Heartbeat, RawRecord } from '../../schemas/types.generated';
import type { Canonical } from '../../connectors/registry';
import { FORMATS, RAW_TOPICS } from '../../connectors/registry';
import { instrumentRef } from '../../connectors/reference/instruments';
import { TickflowError } from '../../ops/errors';
import type { ConfigOf, ConfigSchema } from '../runtime/config';
import type { ArbitrationConfig, ArbitrationState } from './arbitration';
import { arbitrate, parsePairs } from './arbitration';
import type { FailedRecord, InputRecord, OutputRecord, Stage, StageContext, StageResult } from '../runtime/stage';
import { RecordError } from '../runtime/stage';
import type { Checked, InstrumentQuality, QualityConfig } from './quality';
import { QUALITY_CONFIG, QUALITY_TOPIC, checkBook, checkHeartbeat, checkQuote, checkTrade, emptyQuality, qualityEvent } from './quality';

/**
 * normalize: vendor records (md.raw.*) to canonical trades, quotes and book snapshots, keyed by
 * instrument id, through the quality rules (./quality.ts). A line that does not parse is rejected
 * with its reason (dead letter with its origin). A parsed record a rule flags goes to md.quality.v1
 * instead of its canonical topic; reported findings go there too. Nothing is dropped silently.
 * A source heartbeat goes on to md.heartbeats.v1 with the count of the instrument's trades put on
 * md.trades.v1 before it, so aggregate can close a quiet instrument's bars without racing them.
 * Instruments delivered by a pair of redundant sources go through the arbitration first
 * (./arbitration.ts): only the active source's records reach the rules and the topics.
 * State: the rules' per-instrument state, that count and the arbitration, in store `quality`.
 */
export const NORMALIZE_OUTPUTS = { trade: 'md.trades.v1', quote: 'md.quotes.v1', book: 'md.book.v1', heartbeat: 'md.heartbeats.v1' } as const;

export const NORMALIZE_CONFIG = {
  ...QUALITY_CONFIG,
  arbitration: { type: 'list', default: [], description: 'source pairs <primary>><backup> for the same instruments, e.g. binance-ws>binance-rest: only the active one goes on' },
  failoverAfterMs: { type: 'number', default: 5000, min: 1, integer: true, description: 'switch to the backup once the primary has been silent this long (exchange time)' },
  failbackAfterMs: { type: 'number', default: 30_000, min: 0, integer: true, description: 'switch back once the primary has been heard without a pause for this long' },
} as const satisfies ConfigSchema;
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

/** normalize's state per instrument: the quality rules' and the arbitration's. */
interface NormalizeState extends InstrumentQuality {
  arbitration?: ArbitrationState;
  /** Arbitrated instruments: which source delivered each recent trade id. */
  deliveredBy?: Record<string, string>;
  quoteSource?: string;
  bookSource?: string;
}

/** A record of the arbitrated instrument the other source already delivered. */
function isCopy(state: NormalizeState, parsed: Canonical): boolean {
  const source = parsed.value.source;
  switch (parsed.kind) {
    case 'trade': {
      const by = state.deliveredBy?.[parsed.value.tradeId];
      return by !== undefined && by !== source && state.recentIds[parsed.value.tradeId] !== undefined;
    }
    case 'quote':
      return state.quoteSource !== undefined && state.quoteSource !== source && state.lastQuoteTs !== null && parsed.value.tsEvent <= state.lastQuoteTs;
    case 'book':
      return state.bookSource !== undefined && state.bookSource !== source && state.lastBookTs !== null && parsed.value.tsEvent <= state.lastBookTs;
    case 'heartbeat':
      return false;
  }
}

function pruned(deliveredBy: Record<string, string> | undefined, recentIds: Readonly<Record<string, number>>): Record<string, string> {
  // Ids the quality state no longer remembers cannot be copies any more.
  const kept: Record<string, string> = {};
  for (const [id, source] of Object.entries(deliveredBy ?? {})) if (recentIds[id] !== undefined) kept[id] = source;
  return kept;
}

export function normalizeStage(config: NormalizeConfig): Stage<RawRecord> {
  let pairs: ArbitrationConfig['pairs'];
  try {
    pairs = parsePairs(config.arbitration);
  } catch (error) {
    throw new TickflowError('CONFIG', (error as Error).message, 'for example --set normalize.arbitration=binance-ws>binance-rest');
  }
  const arbitration: ArbitrationConfig = { pairs, failoverAfterMs: config.failoverAfterMs, failbackAfterMs: config.failbackAfterMs };
  return {
    name: 'normalize',
    inputs: RAW_TOPICS,
    outputs: [...Object.values(NORMALIZE_OUTPUTS), QUALITY_TOPIC],
    stores: ['quality'],
    process(batch: readonly InputRecord<RawRecord>[], ctx: StageContext): StageResult {
      const store = ctx.store<NormalizeState>('quality');
      const out: OutputRecord[] = [];
      const failed: FailedRecord[] = [];
      const changed = new Map<string, NormalizeState>();
      // The rules change the state's id and price windows in place and every changed state is put
      // back: a failed batch makes the runtime rebuild the partition's state from the changelog, so
      // an in-place change never outlives its batch (KeyValueStore's contract).
      const stateOf = (id: string): NormalizeState => changed.get(id) ?? store.get(id) ?? emptyQuality();
      /** Quality rules and emission of one parsed record; `arbitrated`: skip what the other source already delivered. */
      const handle = (parsed: Canonical, origin: string, arbitrated: boolean): void => {
        const id = parsed.value.instrumentId;
        const before = stateOf(id);
        const source = parsed.value.source;
        if (arbitrated && isCopy(before, parsed)) return;
        const checked = check(before, parsed, config);
        // States written before the count existed start it at 0.
        const trades = (checked.state.trades ?? 0) + (parsed.kind === 'trade' && !checked.flagged ? 1 : 0);
        const next: NormalizeState = { ...before, ...checked.state, trades };
        if (arbitrated && !checked.flagged) {
          if (parsed.kind === 'trade') {
            // Changed in place like recentIds (see stateOf), and pruned when they are.
            const deliveredBy = checked.state.prunedAt !== before.prunedAt ? pruned(before.deliveredBy, checked.state.recentIds) : (before.deliveredBy ?? {});
            deliveredBy[parsed.value.tradeId] = source;
            next.deliveredBy = deliveredBy;
          }
          if (parsed.kind === 'quote') next.quoteSource = source;
          if (parsed.kind === 'book') next.bookSource = source;
        }
        changed.set(id, next);
        for (const finding of checked.findings) {
          out.push({ topic: QUALITY_TOPIC, key: id, value: qualityEvent('normalize', parsed.kind, parsed.value, finding, origin) });
        }
        if (parsed.kind === 'heartbeat') {
          const heartbeat: Heartbeat = { ...parsed.value, trades };
          out.push({ topic: NORMALIZE_OUTPUTS.heartbeat, key: id, value: heartbeat });
        } else if (!checked.flagged) {
          out.push({ topic: NORMALIZE_OUTPUTS[parsed.kind], key: id, value: parsed.value });
        }
      };
      for (const input of batch) {
        let parsed: Canonical;
        try {
          parsed = parseRaw(input.value);
        } catch (error) {
          if (!(error instanceof RecordError)) throw error;
          failed.push({ input, code: error.code, message: error.message });
          continue;
        }
        const pair = arbitration.pairs.get(input.value.source);
        if (!pair) {
          handle(parsed, input.value.origin, false);
          continue;
        }
        const id = parsed.value.instrumentId;
        const result = arbitrate(stateOf(id).arbitration, input.value, parsed.value.tsEvent, pair, arbitration);
        changed.set(id, { ...stateOf(id), arbitration: result.state });
        for (const finding of result.findings) out.push({ topic: QUALITY_TOPIC, key: id, value: qualityEvent('normalize', parsed.kind, parsed.value, finding, input.value.origin) });
        // Buffered records parsed when they arrived, so they parse again.
        for (const raw of result.deliver) handle(raw === input.value ? parsed : parseRaw(raw), raw.origin, true);
      }
      for (const [id, state] of changed) store.put(id, state);
      return { out, failed };
    },
  };
}
