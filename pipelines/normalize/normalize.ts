import type { Heartbeat, RawRecord } from '../../schemas/types.generated';
import type { Canonical } from '../../connectors/formats';
import { FORMATS, RAW_TOPICS } from '../../connectors/formats';
import { calendarOf, instrumentRef } from '../../connectors/reference/instruments';
import { isRecordError, TickflowError } from '../runtime/errors';
import type { ConfigOf, ConfigSchema } from '../runtime/config';
import type { ArbitrationConfig, ArbitrationState, Buffered, StandbyBuffer } from './arbitration';
import { arbitrate, emptyArbitration, parsePairs } from './arbitration';
import type {
  FailedRecord,
  InputRecord,
  KeyValueStore,
  OutputRecord,
  Stage,
  StageContext,
  StageResult,
} from '../runtime/stage';
import { ChunkedLog, emptyLog } from './chunked-log';
import type { IdWindow } from './ids';
import { storedIds } from './ids';
import type { Checked, InstrumentQuality, QualityConfig } from './quality';
import {
  QUALITY_CONFIG,
  checkBook,
  checkHeartbeat,
  checkQuote,
  checkTrade,
  emptyQuality,
  futureFinding,
} from './quality';
import { QUALITY_TOPIC, qualityEvent } from '../../schemas/quality';

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
export const NORMALIZE_OUTPUTS = {
  trade: 'md.trades.v1',
  quote: 'md.quotes.v1',
  book: 'md.book.v1',
  heartbeat: 'md.heartbeats.v1',
} as const;

export const NORMALIZE_CONFIG = {
  ...QUALITY_CONFIG,
  arbitration: {
    type: 'list',
    default: [],
    description:
      'source pairs <primary>><backup> for the same instruments, e.g. binance-ws>binance-rest: only the active one goes on',
  },
  failoverAfterMs: {
    type: 'number',
    default: 5000,
    min: 1,
    max: 3_600_000,
    integer: true,
    description: 'switch to the backup once the primary has been silent this long (exchange time)',
  },
  failbackAfterMs: {
    type: 'number',
    default: 30_000,
    min: 0,
    max: 86_400_000,
    integer: true,
    description: 'switch back once the primary has been heard without a pause for this long',
  },
  arbitrationBufferMax: {
    type: 'number',
    default: 10_000,
    min: 1,
    max: 1_000_000,
    integer: true,
    description:
      'most standby records buffered per arbitrated instrument (the oldest go first; a switch reports how many)',
  },
} as const satisfies ConfigSchema;
export type NormalizeConfig = ConfigOf<typeof NORMALIZE_CONFIG>;

export function parseRaw(raw: RawRecord): Canonical {
  const entry = FORMATS[raw.format];
  if (!entry)
    throw new TickflowError(
      'UNKNOWN_FORMAT',
      `format '${raw.format}' has no parser; known: ${Object.keys(FORMATS).join(', ')}`,
    );
  return entry.format.parse(raw);
}

/** Standby records larger than this are not buffered (counted as dropped): the buffer stays small. */
const MAX_BUFFERED_BYTES = 64 * 1024;

function check(state: InstrumentQuality, parsed: Canonical, config: QualityConfig, ids: IdWindow): Checked {
  switch (parsed.kind) {
    case 'trade':
      return checkTrade(state, parsed.value, parsed.sequence, config, ids, calendarOf(parsed.value.instrumentId));
    case 'quote':
      return checkQuote(state, parsed.value, parsed.sequence, config);
    case 'book':
      return checkBook(state, parsed.value, parsed.sequence, config);
    case 'heartbeat':
      return checkHeartbeat(state, parsed.value, instrumentRef(parsed.value.instrumentId).session, config);
  }
}

/**
 * normalize's state per instrument (store `quality`, key = instrument id): the quality rules' and
 * the arbitration's, bounded. The instrument's recent trade ids and the arbitration's standby
 * buffer are chunked logs under their own keys (`<instrument>#ids#<n>`, `<instrument>#standby#<n>`),
 * so a batch writes only what changed to the changelog.
 */
interface NormalizeState extends InstrumentQuality {
  arbitration?: ArbitrationState;
  quoteSource?: string;
  bookSource?: string;
}

/** A state written by an earlier version: its unbounded parts become chunked logs or start afresh. */
function upgraded(
  state: NormalizeState & { recentIds?: Record<string, number>; prunedAt?: number },
  store: KeyValueStore<unknown>,
  id: string,
): NormalizeState {
  const current =
    state.ids !== undefined &&
    state.recentIds === undefined &&
    !Array.isArray(state.arbitration?.buffer) &&
    (state.prices.length === 0 || Array.isArray(state.prices[0]));
  if (current) return state;
  const { recentIds, prunedAt: _prunedAt, ...rest } = state;
  const next: NormalizeState = {
    ...rest,
    ids: rest.ids ?? emptyLog(),
    prices: rest.prices.length > 0 && !Array.isArray(rest.prices[0]) ? [] : rest.prices,
  };
  const ids = storedIds(store, id, next.ids);
  for (const [tradeId, ts] of Object.entries(recentIds ?? {})) ids.add(tradeId, ts);
  const old = next.arbitration?.buffer as unknown;
  if (next.arbitration && Array.isArray(old)) {
    next.arbitration = { ...next.arbitration, buffer: emptyLog() };
    const log = new ChunkedLog<Buffered>(store, `${id}#standby`, next.arbitration.buffer);
    for (const entry of old as Buffered[]) log.append(entry, entry.tsEvent, entry.raw.payload.length + 200);
  }
  return next;
}

/** A record of the arbitrated instrument the other source already delivered. */
function isCopy(state: NormalizeState, parsed: Canonical, ids: IdWindow): boolean {
  const source = parsed.value.source;
  switch (parsed.kind) {
    case 'trade': {
      const by = ids.sourceOf(parsed.value.tradeId);
      return by !== undefined && by !== source;
    }
    case 'quote':
      return (
        state.quoteSource !== undefined &&
        state.quoteSource !== source &&
        state.lastQuoteTs !== null &&
        parsed.value.tsEvent <= state.lastQuoteTs
      );
    case 'book':
      return (
        state.bookSource !== undefined &&
        state.bookSource !== source &&
        state.lastBookTs !== null &&
        parsed.value.tsEvent <= state.lastBookTs
      );
    case 'heartbeat':
      return false;
  }
}

/** The standby buffer of an arbitrated instrument, in the store, bounded by count and record size. */
function standbyBuffer(store: KeyValueStore<unknown>, id: string, state: ArbitrationState, max: number): StandbyBuffer {
  const log = new ChunkedLog<Buffered>(store, `${id}#standby`, state.buffer);
  return {
    push: (entry) => {
      const bytes = entry.raw.payload.length + entry.raw.origin.length + 200;
      if (bytes > MAX_BUFFERED_BYTES) return 1;
      log.append(entry, entry.tsEvent, bytes);
      let dropped = 0;
      while (log.count > max) log.dropOldest((entries) => (dropped += entries.length));
      return dropped;
    },
    dropBefore: (before) => log.dropBefore(before),
    drain: () => log.drain(),
  };
}

export function normalizeStage(config: NormalizeConfig): Stage<RawRecord> {
  let pairs: ArbitrationConfig['pairs'];
  try {
    pairs = parsePairs(config.arbitration);
  } catch (error) {
    throw new TickflowError(
      'CONFIG',
      (error as Error).message,
      'for example --set normalize.arbitration=binance-ws>binance-rest',
    );
  }
  if (config.outlierMinSamples > config.outlierWindow) {
    throw new TickflowError(
      'CONFIG',
      `normalize.outlierMinSamples (${config.outlierMinSamples}) is above normalize.outlierWindow (${config.outlierWindow}): the band would never apply`,
      'make outlierMinSamples at most outlierWindow',
    );
  }
  const arbitration: ArbitrationConfig = {
    pairs,
    failoverAfterMs: config.failoverAfterMs,
    failbackAfterMs: config.failbackAfterMs,
  };
  return {
    name: 'normalize',
    inputs: RAW_TOPICS,
    outputs: [...Object.values(NORMALIZE_OUTPUTS), QUALITY_TOPIC],
    stores: ['quality'],
    process(batch: readonly InputRecord<RawRecord>[], ctx: StageContext): StageResult {
      const store = ctx.store<NormalizeState>('quality');
      const raw = store as unknown as KeyValueStore<unknown>;
      const out: OutputRecord[] = [];
      const failed: FailedRecord[] = [];
      const changed = new Map<string, NormalizeState>();
      const now = ctx.clock.nowMicros();
      // The rules change the state's windows in place and every changed state is put back: a failed
      // batch makes the runtime rebuild the partition's state from the changelog, so an in-place
      // change never outlives its batch (KeyValueStore's contract).
      const stateOf = (id: string): NormalizeState => {
        const known = changed.get(id);
        if (known) return known;
        const stored = store.get(id);
        return stored ? upgraded(stored, raw, id) : emptyQuality();
      };
      /**
       * Quality rules and emission of one parsed record; `arbitrated`: skip what the other source already delivered.
       */
      const handle = (parsed: Canonical, origin: string, arbitrated: boolean): void => {
        const id = parsed.value.instrumentId;
        const before = stateOf(id);
        const stored = storedIds(raw, id, before.ids);
        // Only arbitration needs to know which source delivered a trade id.
        const ids: IdWindow = arbitrated ? stored : { ...stored, add: (tradeId, ts) => stored.add(tradeId, ts) };
        const source = parsed.value.source;
        if (arbitrated && isCopy(before, parsed, ids)) return;
        const checked = check(before, parsed, config, ids);
        // States written before the count existed start it at 0.
        const trades = (checked.state.trades ?? 0) + (parsed.kind === 'trade' && !checked.flagged ? 1 : 0);
        const next: NormalizeState = { ...before, ...checked.state, trades };
        if (arbitrated && !checked.flagged) {
          if (parsed.kind === 'quote') next.quoteSource = source;
          if (parsed.kind === 'book') next.bookSource = source;
        }
        changed.set(id, next);
        for (const finding of checked.findings) {
          out.push({
            topic: QUALITY_TOPIC,
            key: id,
            value: qualityEvent('normalize', parsed.kind, parsed.value, finding, origin),
          });
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
          if (!isRecordError(error)) throw error;
          failed.push({ input, code: error.code, message: error.message });
          continue;
        }
        // Times first: a mis-stamped record must not reach the arbitration's or the rules' clocks.
        const future = futureFinding(parsed.value, now, config);
        if (future) {
          out.push({
            topic: QUALITY_TOPIC,
            key: parsed.value.instrumentId,
            value: qualityEvent('normalize', parsed.kind, parsed.value, future, input.value.origin),
          });
          continue;
        }
        const pair = arbitration.pairs.get(input.value.source);
        if (!pair) {
          handle(parsed, input.value.origin, false);
          continue;
        }
        const id = parsed.value.instrumentId;
        const state = stateOf(id);
        const current = state.arbitration ?? emptyArbitration(pair.primary);
        const result = arbitrate(
          current,
          input.value,
          parsed.value.tsEvent,
          pair,
          arbitration,
          standbyBuffer(raw, id, current, config.arbitrationBufferMax),
        );
        changed.set(id, { ...state, arbitration: result.state });
        for (const finding of result.findings)
          out.push({
            topic: QUALITY_TOPIC,
            key: id,
            value: qualityEvent('normalize', parsed.kind, parsed.value, finding, input.value.origin),
          });
        // Buffered records parsed when they arrived, so they parse again.
        for (const r of result.deliver) handle(r === input.value ? parsed : parseRaw(r), r.origin, true);
      }
      for (const [id, state] of changed) store.put(id, state);
      return { out, failed };
    },
  };
}
