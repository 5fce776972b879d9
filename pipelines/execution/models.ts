import { Decimal } from '../../schemas/decimal';
import type { OrderSide } from '../../schemas/types.generated';
import { instrumentRef } from '../../connectors/reference/instruments';
import { sessionBounds, tradingDayOf } from '../../connectors/reference/calendars';
import type { EngineConfig } from './config';

/** Output decimals are Avro decimal(38, 12): derived values are rounded to 12 places. */
export const SCALE = 12;
const BPS = new Decimal('10000');
const ZERO = new Decimal(0);

/**
 * A uniform number in [0, 1) from (seed, orderId, n): FNV-1a over the text, then a murmur3 finaliser.
 * Depends on nothing but its arguments, so a replay draws the same numbers whatever the batching.
 */
export function seededUniform(seed: number, orderId: string, n: string): number {
  const text = `${seed}|${orderId}|${n}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** When a request sent at `tsEvent` reaches the venue: toVenue plus seeded jitter in [0, jitter]. */
export function arrivalMicros(cfg: EngineConfig, tsEvent: number, orderId: string, requestId: string): number {
  const jitter =
    cfg.jitterMicros > 0 ? Math.floor(seededUniform(cfg.seed, orderId, requestId) * (cfg.jitterMicros + 1)) : 0;
  return tsEvent + cfg.toVenueMicros + jitter;
}

/** The instrument's tick size, or null when the reference does not know it. */
export function tickOf(instrumentId: string): Decimal | null {
  const tick = new Decimal(instrumentRef(instrumentId).tickSize);
  return tick.isZero() ? null : tick;
}

/** Whether `price` is a whole number of ticks (always true when the tick is unknown). */
export function onTick(price: Decimal, tick: Decimal | null): boolean {
  return tick === null || price.mod(tick).isZero();
}

export interface SlippageInput {
  readonly side: OrderSide;
  /** the level price the fill takes */
  readonly price: Decimal;
  readonly quantity: Decimal;
  /** best bid and ask at the match (for the spread model), when known */
  readonly bid: Decimal | null;
  readonly ask: Decimal | null;
  /** traded volume in the impact window */
  readonly windowVolume: Decimal;
  readonly tick: Decimal | null;
}

/**
 * Slippage of a taker fill, in price units, >= 0 (it only worsens the price): rounded UP to a whole
 * tick when the tick is known (pessimistic), else to 12 places. sqrtImpact with no traded volume in
 * the window takes quantity / volume as 1.
 */
export function slippageOf(cfg: EngineConfig, input: SlippageInput): Decimal {
  let slip: Decimal;
  switch (cfg.slippageModel) {
    case 'none':
      return ZERO;
    case 'fixedBps':
      slip = input.price.mul(cfg.slippageBps).div(BPS);
      break;
    case 'spread':
      slip =
        input.bid && input.ask && input.ask.gt(input.bid)
          ? input.ask.sub(input.bid).mul(cfg.slippageSpreadFraction)
          : ZERO;
      break;
    case 'sqrtImpact': {
      const ratio = input.windowVolume.gt(0) ? input.quantity.div(input.windowVolume) : new Decimal(1);
      slip = cfg.impactCoefficient.mul(input.price).mul(ratio.sqrt());
      break;
    }
  }
  if (slip.lte(0)) return ZERO;
  if (input.tick) return slip.div(input.tick).ceil().mul(input.tick);
  return slip.toDecimalPlaces(SCALE, Decimal.ROUND_UP);
}

/** The price after slippage, never beyond the order's limit. */
export function slippedPrice(side: OrderSide, price: Decimal, slip: Decimal, limit: Decimal | null): Decimal {
  if (side === 'BUY') {
    const p = price.add(slip);
    return limit && p.gt(limit) ? Decimal.max(limit, price) : p;
  }
  const p = price.sub(slip);
  return limit && p.lt(limit) ? Decimal.min(limit, price) : p;
}

/**
 * Fee of one fill (positive: paid): quantity x perUnit + notional x bps (maker or taker rate), at
 * least `minFeePerFill` when positive (a rebate is not raised to the minimum), rounded to 12 places.
 */
export function feeOf(cfg: EngineConfig, quantity: Decimal, price: Decimal, maker: boolean): Decimal {
  const bps = maker ? cfg.makerFeeBps : cfg.takerFeeBps;
  let fee = quantity.mul(cfg.feePerUnit).add(quantity.mul(price).mul(bps).div(BPS));
  if (fee.gt(0) && fee.lt(cfg.minFeePerFill)) fee = cfg.minFeePerFill;
  return fee.toDecimalPlaces(SCALE);
}

const DAY_MICROS = 86_400_000_000;

function dateOf(dayNumber: number): string {
  return new Date(dayNumber * 86_400_000).toISOString().slice(0, 10);
}

/**
 * When a DAY order accepted at `tsMicros` expires: the regular close of the instrument's trading
 * day holding it (24/7 instruments: the next 00:00 UTC). After the close, or on a closed day, the
 * close of the next session (searched up to 14 days ahead; none found: the next 00:00 UTC).
 */
export function dayExpiryMicros(instrumentId: string, tsMicros: number): number {
  const cal = instrumentRef(instrumentId).calendar;
  if (cal.continuous) return (Math.floor(tsMicros / DAY_MICROS) + 1) * DAY_MICROS;
  const day = tradingDayOf(cal, tsMicros);
  if (day) {
    const bounds = sessionBounds(cal, day);
    if (bounds && bounds.close > tsMicros && bounds.close > bounds.open) return bounds.close;
  }
  const first = Math.floor(tsMicros / DAY_MICROS) - 1;
  for (let n = first; n < first + 15; n++) {
    const bounds = sessionBounds(cal, dateOf(n));
    if (bounds && bounds.close > tsMicros && bounds.close > bounds.open) return bounds.close;
  }
  return (Math.floor(tsMicros / DAY_MICROS) + 1) * DAY_MICROS;
}

/** Sums the window's traded volume (1-second buckets [start, size]) from `fromMicros` (bucket starts). */
export function windowVolume(volume: readonly (readonly [number, string])[], fromMicros: number): Decimal {
  let sum = ZERO;
  for (const [ts, size] of volume) if (ts >= fromMicros) sum = sum.add(size);
  return sum;
}
