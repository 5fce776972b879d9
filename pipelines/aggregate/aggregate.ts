import type { Bar, Heartbeat, Trade } from '../../schemas/types.generated';
import type { ConfigOf, ConfigSchema } from '../runtime/config';
import type { FailedRecord, InputRecord, OutputRecord, Stage, StageContext, StageResult } from '../runtime/stage';
import { calendarOf } from '../../connectors/reference/instruments';
import { bucketOf } from '../../connectors/reference/calendars';
import { TickflowError } from '../runtime/errors';
import type { BarState, InstrumentBars } from './bars';
import { addTrade, barEnd, toBar } from './bars';
import { QUALITY_TOPIC, qualityEvent } from '../../schemas/quality';
import { intervalMicros } from '../../schemas/intervals';

/**
 * aggregate: event-time trade bars per instrument at each configured interval (md.trades.v1 ->
 * md.bars.v1), in buckets by the instrument's calendar (./bars.ts). Per instrument, the watermark is the highest
 * `tsEvent` seen. A bar is emitted
 * (revision 0) once the watermark reaches its end; until the watermark passes end + allowed
 * lateness it stays open to late trades, each of which emits the next revision; then it is emitted
 * once more with `final` true (same revision) and forgotten. A trade too late for any of its bars
 * is withheld from all of them (a `LATE_TRADE` finding on md.quality.v1, with its origin), so the
 * intervals always agree with each other. A trade with a non-positive price or size (normalize
 * flags those; another producer might not) is a dead letter (`INVALID_VALUE`). A trade or heartbeat
 * stamped more than `maxClockSkewMs` after its receive time is a FUTURE_TIMESTAMP finding and moves
 * no watermark (one far-future record would otherwise close every bar and make every later trade late).
 * A heartbeat (md.heartbeats.v1) moves a quiet instrument's watermark to its time, closing its bars,
 * once aggregate has received every trade normalize had sent before it (the heartbeat carries that
 * count; the two topics are consumed independently, so without it a heartbeat could overtake them).
 * State (the open bars and the watermark per instrument) is in the `bars` store.
 */
export const AGGREGATE_CONFIG = {
  intervals: {
    type: 'list',
    default: ['1s', '1m', '5m'],
    description: 'bar intervals (Ns, Nm, Nh, Nd that tile a day)',
  },
  allowedLatenessMs: {
    type: 'number',
    default: 2000,
    min: 0,
    max: 86_400_000,
    integer: true,
    description: 'how long after its end a bar still takes late trades (event time)',
  },
  maxClockSkewMs: {
    type: 'number',
    default: 5000,
    min: 0,
    max: 86_400_000,
    integer: true,
    description:
      'a trade or heartbeat whose exchange time is more than this after its receive time is flagged FUTURE_TIMESTAMP and moves no watermark',
  },
} as const satisfies ConfigSchema;

export type AggregateConfig = ConfigOf<typeof AGGREGATE_CONFIG>;

export const BARS_OUTPUT = 'md.bars.v1';
const TRADES_INPUT = 'md.trades.v1';
const HEARTBEATS_INPUT = 'md.heartbeats.v1';

export function aggregateStage(config: AggregateConfig): Stage<Trade | Heartbeat> {
  const intervals = config.intervals.map((text) => {
    const micros = intervalMicros(text);
    if (micros === undefined)
      throw new TickflowError(
        'CONFIG',
        `aggregate.intervals: '${text}' is not an interval that tiles a day`,
        'use e.g. --set aggregate.intervals=1s,15s,1m,5m,1h,1d',
      );
    return { text, micros };
  });
  const lateness = config.allowedLatenessMs * 1000;
  const skew = config.maxClockSkewMs * 1000;

  /**
   * Moves the instrument's watermark to `watermark` over `bars` (the open bars, with any new trade
   * added): emits a bar whose end it reached (revision 0) and a bar past its lateness as final.
   */
  const advance = (
    state: InstrumentBars,
    bars: readonly BarState[],
    watermark: number,
    emit: (state: InstrumentBars, bar: BarState, final: boolean) => void,
  ): InstrumentBars => {
    const open: BarState[] = [];
    const next: InstrumentBars = { ...state, watermark, bars: open };
    for (const bar of bars) {
      // A bar of an interval no longer configured (state from an earlier config) ends at once.
      const end =
        intervalMicros(bar.interval) !== undefined && config.intervals.includes(bar.interval) ? barEnd(bar) : bar.start;
      const final = end + lateness <= watermark;
      if (bar.revision < 0 && end <= watermark) {
        const emitted = { ...bar, revision: 0 };
        emit(next, emitted, final);
        if (!final) open.push(emitted);
      } else if (bar.revision >= 0 && final) {
        emit(next, bar, true);
      } else {
        open.push(bar);
      }
    }
    return next;
  };

  /** Applies a waiting heartbeat once every trade normalize sent before it has been received. */
  const applyPending = (
    state: InstrumentBars,
    emit: (state: InstrumentBars, bar: BarState, final: boolean) => void,
  ): InstrumentBars => {
    if (!state.pending || (state.trades ?? 0) < state.pending.trades) return state;
    const { pending, ...rest } = state;
    return pending.ts > state.watermark ? advance(rest, state.bars, pending.ts, emit) : rest;
  };

  const future = (record: Trade | Heartbeat, kind: string, input: InputRecord): OutputRecord | undefined => {
    if (record.tsEvent <= record.tsRecv + skew) return undefined;
    const detail = `exchange time ${record.tsEvent} is ${((record.tsEvent - record.tsRecv) / 1e6).toFixed(3)} s after its receive time ${record.tsRecv} (limit ${config.maxClockSkewMs / 1000} s): it moves no watermark`;
    return {
      topic: QUALITY_TOPIC,
      key: record.instrumentId,
      value: qualityEvent(
        'aggregate',
        kind,
        record,
        { rule: 'FUTURE_TIMESTAMP', flagged: true, detail },
        `${input.topic}[${input.partition}]@${input.offset}`,
      ),
    };
  };

  return {
    name: 'aggregate',
    inputs: [TRADES_INPUT, HEARTBEATS_INPUT],
    outputs: [BARS_OUTPUT, QUALITY_TOPIC],
    stores: ['bars'],
    process(batch: readonly InputRecord<Trade | Heartbeat>[], ctx: StageContext): StageResult {
      const store = ctx.store<InstrumentBars>('bars');
      const out: OutputRecord[] = [];
      const failed: FailedRecord[] = [];
      const changed = new Map<string, InstrumentBars>();
      for (const input of batch) {
        const id = input.value.instrumentId;
        const emit = (state: InstrumentBars, bar: BarState, final: boolean): void => {
          const value: Bar = toBar(id, state, bar, final);
          out.push({ topic: BARS_OUTPUT, key: id, value });
        };
        const known = changed.get(id) ?? store.get(id);
        if (input.topic === HEARTBEATS_INPUT) {
          const h = input.value as Heartbeat;
          const flagged = future(h, 'heartbeat', input);
          if (flagged) {
            out.push(flagged);
            continue;
          }
          const state: InstrumentBars = known ?? {
            venue: h.venue,
            symbol: h.symbol,
            source: h.source,
            watermark: Number.MIN_SAFE_INTEGER,
            bars: [],
            trades: 0,
          };
          // The newest heartbeat is the one worth waiting for: it closes at least what an older one would.
          changed.set(id, applyPending({ ...state, pending: { ts: h.tsEvent, trades: h.trades } }, emit));
          continue;
        }
        const t = input.value as Trade;
        const received = (known?.trades ?? 0) + 1;
        if (!t.price.isPositive() || t.price.isZero() || !t.size.isPositive() || t.size.isZero()) {
          failed.push({
            input,
            code: 'INVALID_VALUE',
            message: `trade ${t.tradeId} of ${t.instrumentId} has price ${t.price.toFixed()} and size ${t.size.toFixed()}; both must be positive`,
          });
          if (known) changed.set(id, applyPending({ ...known, trades: received }, emit));
          continue;
        }
        const flagged = future(t, 'trade', input);
        if (flagged) {
          out.push(flagged);
          if (known) changed.set(id, applyPending({ ...known, trades: received }, emit));
          continue;
        }
        const state: InstrumentBars = {
          ...(known ?? {
            venue: t.venue,
            symbol: t.symbol,
            source: t.source,
            watermark: Number.MIN_SAFE_INTEGER,
            bars: [],
          }),
          trades: received,
        };
        const calendar = calendarOf(id);
        const buckets = intervals.map(({ text, micros }) => ({ text, ...bucketOf(calendar, micros, t.tsEvent) }));
        // The earliest-closing bucket decides: a trade is late for all its bars or for none, so the
        // intervals always agree with each other.
        const firstEnd = Math.min(...buckets.map((b) => b.end));
        if (firstEnd + lateness <= state.watermark) {
          const detail = `trade ${t.tradeId} at ${t.tsEvent} arrived after its bars were final (watermark ${state.watermark}, allowed lateness ${config.allowedLatenessMs} ms)`;
          out.push({
            topic: QUALITY_TOPIC,
            key: id,
            value: qualityEvent(
              'aggregate',
              'trade',
              t,
              { rule: 'LATE_TRADE', flagged: true, detail },
              `${input.topic}[${input.partition}]@${input.offset}`,
            ),
          });
          changed.set(id, applyPending(state, emit));
          continue;
        }
        const bars = [...state.bars];
        for (const { text, start, end } of buckets) {
          const i = bars.findIndex((b) => b.interval === text && b.start === start);
          const before = i >= 0 ? bars[i] : undefined;
          let after = addTrade(before, text, start, end, t);
          if (before && before.revision >= 0) {
            after = { ...after, revision: before.revision + 1 };
            emit(state, after, false);
          }
          if (i >= 0) bars[i] = after;
          else bars.push(after);
        }
        const next = advance(
          { ...state, venue: t.venue, symbol: t.symbol, source: t.source },
          bars,
          Math.max(state.watermark, t.tsEvent),
          emit,
        );
        changed.set(id, applyPending(next, emit));
      }
      for (const [id, state] of changed) store.put(id, state);
      return { out, failed };
    },
    /**
     * An instrument silent for the state TTL: its open bars can no longer change (a trade this late
     * would be far past any allowed lateness), so they are emitted final before the state goes.
     */
    expire(_store: string, key: string, value: unknown): OutputRecord[] {
      const state = value as InstrumentBars;
      return state.bars.map((bar) => ({
        topic: BARS_OUTPUT,
        key,
        value: toBar(key, state, { ...bar, revision: Math.max(0, bar.revision) }, true),
      }));
    },
  };
}
