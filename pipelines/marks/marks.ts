import { Decimal } from '../../schemas/decimal';
import type { Mark, Quote, Trade } from '../../schemas/types.generated';
import type { ConfigOf, ConfigSchema } from '../runtime/config';
import type { InputRecord, OutputRecord, Stage, StageContext, StageResult } from '../runtime/stage';

/**
 * marks: md.trades.v1 + md.quotes.v1 -> marks.v1, a compacted topic read whole by risk as a global
 * table. A mark is the mid of a fresh quote (at most `maxQuoteAgeMs` older than the event), else the
 * last trade. Emitted at most once per `markIntervalMs` of event time per instrument (and only when
 * it changed), so the table stays cheap to follow. Each mark carries the log returns of the mark
 * over consecutive `returnIntervalMs` buckets (the newest `returnWindow`), for value at risk,
 * volatility sizing and correlation in risk: one return per bucket that saw a price, buckets without
 * one (nights, weekends, halts) are skipped rather than counted as zero moves.
 * State per instrument in store `marks` (decimals as strings).
 */
export const MARKS_CONFIG = {
  markIntervalMs: {
    type: 'number',
    default: 1000,
    min: 0,
    max: 3_600_000,
    integer: true,
    description: 'at most one mark per instrument per this much event time',
  },
  maxQuoteAgeMs: {
    type: 'number',
    default: 5000,
    min: 0,
    max: 86_400_000,
    integer: true,
    description: 'a quote older than this (behind the newest event) no longer sets the mark; the last trade does',
  },
  returnIntervalMs: {
    type: 'number',
    default: 60_000,
    min: 1000,
    max: 86_400_000,
    integer: true,
    description: 'length of the buckets whose closing marks give the returns',
  },
  returnWindow: {
    type: 'number',
    default: 250,
    min: 2,
    max: 2000,
    integer: true,
    description: 'how many recent returns a mark carries',
  },
} as const satisfies ConfigSchema;

export type MarksConfig = ConfigOf<typeof MARKS_CONFIG>;

export const MARKS_OUTPUT = 'marks.v1';

interface MarkState {
  bid?: string;
  ask?: string;
  quoteTs?: number;
  last?: string;
  tsEvent: number;
  emittedTs?: number;
  emittedPrice?: string;
  bucket?: number;
  bucketClose?: string;
  prevClose?: string;
  returnsEnd?: number;
  returns: number[];
}

function markPrice(s: MarkState, maxQuoteAgeUs: number): string | undefined {
  const fresh = s.quoteTs !== undefined && s.tsEvent - s.quoteTs <= maxQuoteAgeUs;
  if (s.bid !== undefined && s.ask !== undefined && (fresh || s.last === undefined))
    return new Decimal(s.bid).plus(s.ask).div(2).toFixed();
  return s.last;
}

export function marksStage(config: MarksConfig): Stage<Trade | Quote> {
  const bucketUs = config.returnIntervalMs * 1000;
  const maxQuoteAgeUs = config.maxQuoteAgeMs * 1000;
  /** Closes the bucket in force when `ts` starts a later one: its close against the one before is a return. */
  const roll = (s: MarkState, ts: number, price: string): void => {
    const bucket = Math.floor(ts / bucketUs);
    if (s.bucket !== undefined && bucket > s.bucket && s.bucketClose !== undefined) {
      if (s.prevClose !== undefined) {
        const r = Math.log(new Decimal(s.bucketClose).div(s.prevClose).toNumber());
        if (Number.isFinite(r)) {
          s.returns.push(r);
          if (s.returns.length > config.returnWindow) s.returns.splice(0, s.returns.length - config.returnWindow);
          s.returnsEnd = (s.bucket + 1) * bucketUs;
        }
      }
      s.prevClose = s.bucketClose;
    }
    if (s.bucket === undefined || bucket >= s.bucket) {
      s.bucket = bucket;
      s.bucketClose = price;
    }
  };
  return {
    name: 'marks',
    inputs: ['md.trades.v1', 'md.quotes.v1'],
    outputs: [MARKS_OUTPUT],
    stores: ['marks'],
    process(batch: readonly InputRecord<Trade | Quote>[], ctx: StageContext): StageResult {
      const store = ctx.store<MarkState>('marks');
      const touched = new Map<string, MarkState>();
      const out: OutputRecord[] = [];
      for (const record of batch) {
        const v = record.value;
        const s = touched.get(v.instrumentId) ?? store.get(v.instrumentId) ?? { tsEvent: v.tsEvent, returns: [] };
        touched.set(v.instrumentId, s);
        // Late records update the quote or trade only if they are not older than what set it.
        if ('askPrice' in v) {
          if (s.quoteTs === undefined || v.tsEvent >= s.quoteTs) {
            s.bid = v.bidPrice.toFixed();
            s.ask = v.askPrice.toFixed();
            s.quoteTs = v.tsEvent;
          }
        } else if (v.tsEvent >= s.tsEvent || s.last === undefined) {
          s.last = v.price.toFixed();
        }
        s.tsEvent = Math.max(s.tsEvent, v.tsEvent);
        const price = markPrice(s, maxQuoteAgeUs);
        if (price === undefined || new Decimal(price).lte(0)) continue;
        roll(s, v.tsEvent, price);
        const due = s.emittedTs === undefined || s.tsEvent - s.emittedTs >= config.markIntervalMs * 1000;
        if (!due || price === s.emittedPrice) continue;
        s.emittedTs = s.tsEvent;
        s.emittedPrice = price;
        const mark: Mark = {
          instrumentId: v.instrumentId,
          price: new Decimal(price),
          bid: s.bid === undefined ? null : new Decimal(s.bid),
          ask: s.ask === undefined ? null : new Decimal(s.ask),
          lastTrade: s.last === undefined ? null : new Decimal(s.last),
          returnIntervalMs: config.returnIntervalMs,
          returnsEnd: s.returnsEnd ?? 0,
          returns: [...s.returns],
          tsEvent: s.tsEvent,
          tsProcessed: ctx.clock.nowMicros(),
        };
        out.push({ topic: MARKS_OUTPUT, key: v.instrumentId, value: mark });
      }
      for (const [k, s] of touched) store.put(k, s);
      return { out, failed: [] };
    },
  };
}
