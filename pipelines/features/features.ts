import type { BookSnapshot, Feature, PriceLevel, Quote } from '../../schemas/types.generated';
import { Decimal, quotientHalfEven } from '../../schemas/decimal';
import type { ConfigOf, ConfigSchema } from '../runtime/config';
import type { FailedRecord, InputRecord, OutputRecord, Stage, StageContext, StageResult } from '../runtime/stage';
import { TickflowError, isRecordError } from '../runtime/errors';

/**
 * features: microstructure analytics from quotes and book snapshots (md.quotes.v1, md.book.v1 ->
 * md.features.v1), one record per value, stateless. From the best bid and offer (a quote, or a
 * book's first levels):
 * - `spread` = ask - bid, exact;
 * - `mid` = (bid + ask) / 2, exact (half-even to 12 places if ever needed);
 * - `microprice` = (bid x askSize + ask x bidSize) / (bidSize + askSize), half-even to 12 places;
 * - `imbalance_l1` = (bidSize - askSize) / (bidSize + askSize), in [-1, 1];
 * and from a book, `imbalance_depth<N>` = the same over the sizes of its first N levels per side.
 * A quote or book side with no positive size cannot be weighed and is rejected (`INVALID_VALUE`).
 * Crossed or locked quotes are passed on as they are (a negative or zero spread says so); the
 * quality rules are where they get flagged.
 */
export const FEATURES_CONFIG = {
  depthLevels: {
    type: 'number',
    default: 5,
    min: 1,
    max: 1000,
    integer: true,
    description: 'book levels per side for imbalance_depth<N>',
  },
} as const satisfies ConfigSchema;

export type FeaturesConfig = ConfigOf<typeof FEATURES_CONFIG>;

export const FEATURES_OUTPUT = 'md.features.v1';

interface Top {
  bidPrice: Decimal;
  bidSize: Decimal;
  askPrice: Decimal;
  askSize: Decimal;
}

/**
 * What a feature is computed from; `eventId` tells apart events of one instrument at the same times (a quote's or
 * book's sequence).
 */
type Source = Pick<Quote, 'instrumentId' | 'venue' | 'symbol' | 'source' | 'tsEvent' | 'tsRecv'> & {
  readonly eventId: string | null;
};

function eventIdOf(sequence: number | null): string | null {
  return sequence === null ? null : String(sequence);
}

function feature(
  s: Source,
  basis: string,
  name: string,
  exact: Decimal | null,
  value = exact ? exact.toNumber() : NaN,
): OutputRecord {
  const record: Feature = {
    instrumentId: s.instrumentId,
    venue: s.venue,
    symbol: s.symbol,
    source: s.source,
    tsEvent: s.tsEvent,
    tsRecv: s.tsRecv,
    basis,
    name,
    value,
    exact,
    eventId: s.eventId,
  };
  return { topic: FEATURES_OUTPUT, key: s.instrumentId, value: record };
}

/**
 * The best-bid-and-offer features: spread and mid always; microprice and imbalance when sizes are
 * given (both 0 means the venue gives none, as TrueFX). A TickflowError for a negative size, or one
 * side sized and the other not.
 */
export function topFeatures(s: Source, basis: string, t: Top): OutputRecord[] {
  const prices = [
    feature(s, basis, 'spread', t.askPrice.minus(t.bidPrice)),
    feature(s, basis, 'mid', quotientHalfEven(t.bidPrice.plus(t.askPrice), new Decimal(2))),
  ];
  if (t.bidSize.isZero() && t.askSize.isZero()) return prices;
  const weight = t.bidSize.plus(t.askSize);
  if (!t.bidSize.isPositive() || !t.askSize.isPositive() || t.bidSize.isZero() || t.askSize.isZero())
    throw new TickflowError(
      'INVALID_VALUE',
      `bid size ${t.bidSize.toFixed()} and ask size ${t.askSize.toFixed()} must both be positive (or both 0: not given)`,
    );
  const microprice = quotientHalfEven(t.bidPrice.times(t.askSize).plus(t.askPrice.times(t.bidSize)), weight);
  return [
    ...prices,
    feature(s, basis, 'microprice', microprice),
    feature(s, basis, 'imbalance_l1', null, t.bidSize.minus(t.askSize).div(weight).toNumber()),
  ];
}

function depth(levels: readonly PriceLevel[], n: number): Decimal {
  return levels.slice(0, n).reduce((sum, l) => sum.plus(l.size), new Decimal(0));
}

export function featuresStage(config: FeaturesConfig): Stage<Quote | BookSnapshot> {
  const n = config.depthLevels;
  return {
    name: 'features',
    inputs: ['md.quotes.v1', 'md.book.v1'],
    outputs: [FEATURES_OUTPUT],
    process(batch: readonly InputRecord<Quote | BookSnapshot>[], _ctx: StageContext): StageResult {
      const out: OutputRecord[] = [];
      const failed: FailedRecord[] = [];
      for (const input of batch) {
        try {
          if (input.topic === 'md.quotes.v1') {
            const q = input.value as Quote;
            out.push(...topFeatures({ ...q, eventId: eventIdOf(q.sequence) }, 'quote', q));
          } else {
            const b = input.value as BookSnapshot;
            if (b.bids.length === 0 || b.asks.length === 0)
              throw new TickflowError(
                'INVALID_VALUE',
                `the book has ${b.bids.length} bid and ${b.asks.length} ask levels; both sides are needed`,
              );
            const s: Source = { ...b, eventId: eventIdOf(b.sequence) };
            out.push(
              ...topFeatures(s, 'book', {
                bidPrice: b.bids[0].price,
                bidSize: b.bids[0].size,
                askPrice: b.asks[0].price,
                askSize: b.asks[0].size,
              }),
            );
            const bids = depth(b.bids, n);
            const asks = depth(b.asks, n);
            out.push(feature(s, 'book', `imbalance_depth${n}`, null, bids.minus(asks).div(bids.plus(asks)).toNumber()));
          }
        } catch (error) {
          if (!isRecordError(error)) throw error;
          failed.push({
            input,
            code: error.code,
            message: `${input.topic} record of ${input.value.instrumentId} at ${input.value.tsEvent}: ${error.message}`,
          });
        }
      }
      return { out, failed };
    },
  };
}
