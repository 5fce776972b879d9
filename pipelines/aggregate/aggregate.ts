import type { Bar, Trade } from '../../schemas/types.generated';
import type { ConfigOf, ConfigSchema } from '../runtime/config';
import type { FailedRecord, InputRecord, OutputRecord, Stage, StageContext, StageResult } from '../runtime/stage';
import type { BarState, InstrumentBars } from './bars';
import { addTrade, bucketStart, intervalMicros, toBar } from './bars';
import { QUALITY_TOPIC, qualityEvent } from '../normalize/quality';

/**
 * aggregate: event-time trade bars per instrument at each configured interval (md.trades.v1 ->
 * md.bars.v1). Per instrument, the watermark is the highest `tsEvent` seen. A bar is emitted
 * (revision 0) once the watermark reaches its end; until the watermark passes end + allowed
 * lateness it stays open to late trades, each of which emits the next revision; then it is emitted
 * once more with `final` true (same revision) and forgotten. A trade too late for any of its bars
 * is withheld from all of them (a `LATE_TRADE` finding on md.quality.v1, with its origin), so the
 * intervals always agree with each other. A trade with a non-positive price or size (normalize
 * flags those; another producer might not) is a dead letter (`INVALID_VALUE`).
 * State (the open bars and the watermark per instrument) is in the `bars` store.
 */
export const AGGREGATE_CONFIG = {
  intervals: { type: 'list', default: ['1s', '1m', '5m'], description: 'bar intervals (Ns, Nm, Nh, Nd that tile a day)' },
  allowedLatenessMs: { type: 'number', default: 2000, min: 0, integer: true, description: 'how long after its end a bar still takes late trades (event time)' },
} as const satisfies ConfigSchema;

export type AggregateConfig = ConfigOf<typeof AGGREGATE_CONFIG>;

export const BARS_OUTPUT = 'md.bars.v1';

export function aggregateStage(config: AggregateConfig): Stage<Trade> {
  const intervals = config.intervals.map((text) => {
    const micros = intervalMicros(text);
    if (micros === undefined) throw new RangeError(`aggregate.intervals: '${text}' is not an interval that tiles a day (use e.g. 1s, 15s, 1m, 5m, 1h, 1d)`);
    return { text, micros };
  });
  const lateness = config.allowedLatenessMs * 1000;
  const smallest = Math.min(...intervals.map((i) => i.micros));
  const microsOf = new Map(intervals.map((i) => [i.text, i.micros]));

  return {
    name: 'aggregate',
    inputs: ['md.trades.v1'],
    outputs: [BARS_OUTPUT, QUALITY_TOPIC],
    stores: ['bars'],
    process(batch: readonly InputRecord<Trade>[], ctx: StageContext): StageResult {
      const store = ctx.store<InstrumentBars>('bars');
      const out: OutputRecord[] = [];
      const failed: FailedRecord[] = [];
      const changed = new Map<string, InstrumentBars>();
      const emit = (id: string, state: InstrumentBars, bar: BarState, final: boolean): void => {
        const value: Bar = toBar(id, state, bar, final);
        out.push({ topic: BARS_OUTPUT, key: id, value });
      };
      for (const input of batch) {
        const t = input.value;
        if (!t.price.isPositive() || t.price.isZero() || !t.size.isPositive() || t.size.isZero()) {
          failed.push({ input, code: 'INVALID_VALUE', message: `trade ${t.tradeId} of ${t.instrumentId} has price ${t.price.toFixed()} and size ${t.size.toFixed()}; both must be positive` });
          continue;
        }
        const id = t.instrumentId;
        const state: InstrumentBars = changed.get(id) ?? store.get(id) ?? { venue: t.venue, symbol: t.symbol, source: t.source, watermark: Number.MIN_SAFE_INTEGER, bars: [] };
        // The smallest interval's bucket closes first: a trade is late for all its bars or for none.
        if (bucketStart(t.tsEvent, smallest) + smallest + lateness <= state.watermark) {
          const detail = `trade ${t.tradeId} at ${t.tsEvent} arrived after its bars were final (watermark ${state.watermark}, allowed lateness ${config.allowedLatenessMs} ms)`;
          out.push({ topic: QUALITY_TOPIC, key: id, value: qualityEvent('aggregate', 'trade', t, { rule: 'LATE_TRADE', flagged: true, detail }, `${input.topic}[${input.partition}]@${input.offset}`) });
          continue;
        }
        const bars = [...state.bars];
        for (const { text, micros } of intervals) {
          const start = bucketStart(t.tsEvent, micros);
          const i = bars.findIndex((b) => b.interval === text && b.start === start);
          const before = i >= 0 ? bars[i] : undefined;
          let after = addTrade(before, text, start, t);
          if (before && before.revision >= 0) {
            after = { ...after, revision: before.revision + 1 };
            emit(id, state, after, false);
          }
          if (i >= 0) bars[i] = after;
          else bars.push(after);
        }
        const watermark = Math.max(state.watermark, t.tsEvent);
        const open: BarState[] = [];
        const next: InstrumentBars = { ...state, venue: t.venue, symbol: t.symbol, source: t.source, watermark, bars: open };
        for (const bar of bars) {
          // A bar of an interval no longer configured (state from an earlier config) ends at once.
          const end = bar.start + (microsOf.get(bar.interval) ?? 0);
          const final = end + lateness <= watermark;
          if (bar.revision < 0 && end <= watermark) {
            const emitted = { ...bar, revision: 0 };
            emit(id, next, emitted, final);
            if (!final) open.push(emitted);
          } else if (bar.revision >= 0 && final) {
            emit(id, next, bar, true);
          } else {
            open.push(bar);
          }
        }
        changed.set(id, next);
      }
      for (const [id, state] of changed) store.put(id, state);
      return { out, failed };
    },
  };
}
