import { Decimal } from '../../schemas/decimal';
import type { OrderSide } from '../../schemas/types.generated';
import type { Order } from './orders';
import { TERMINAL, dec, decOrNull, leaves, str } from './orders';
import type { Ctx, MarketView } from './state';
import { bestOf, displayedAt, restsOn, takesFrom } from './state';

/**
 * Matching against the recorded market (pessimistic): takers take the opposite touch (or walk a
 * book snapshot) never beyond the displayed size minus what our own fills already consumed since
 * the market last refreshed; resting limits fill only from prints, behind the displayed queue they
 * joined.
 */

/** The price an order may not trade beyond while taking, or null (market). */
export function limitOf(order: Order): Decimal | null {
  switch (order.behaviour) {
    case 'LIMIT':
    case 'ICEBERG':
    case 'STOP_LIMIT':
      return decOrNull(order.limitPrice);
    default:
      return null;
  }
}

const within = (side: OrderSide, price: Decimal, limit: Decimal | null): boolean =>
  limit === null || (side === 'BUY' ? price.lte(limit) : price.gte(limit));

/** Whether the market is fresh enough at `t` for a taker match. */
export function fresh(ctx: Ctx, t: number): MarketView | null {
  const m = ctx.s.market;
  return m && t - m.ts <= ctx.cfg.maxQuoteAgeMicros ? m : null;
}

/** Liquidity a taker could get now within `limit`: displayed minus consumed, level by level. */
export function available(ctx: Ctx, market: MarketView, side: OrderSide, limit: Decimal | null): Decimal {
  const book = takesFrom(side);
  let sum = new Decimal(0);
  for (const [price, size] of market[book]) {
    const p = dec(price);
    if (!within(side, p, limit)) break;
    const left = dec(size).sub(ctx.s.consumed[book][price] ?? '0');
    if (left.gt(0)) sum = sum.add(left);
  }
  return sum;
}

/**
 * An order arriving (or triggered, or released) at `t`: on stale or missing market data it waits
 * (`awaiting`) for the next fresh quote/book; else it takes what it can within its limit (FOK: all
 * or nothing), then IOC/FOK cancel the rest, a market remainder waits for the next fresh update,
 * and a limit remainder rests with its queue position.
 */
export function takeOrRest(ctx: Ctx, order: Order, t: number): void {
  const market = fresh(ctx, t);
  if (!market) {
    order.awaiting = true;
    return;
  }
  order.awaiting = false;
  const limit = limitOf(order);
  const book = takesFrom(order.side);
  if (order.timeInForce === 'FOK') {
    const can = available(ctx, market, order.side, limit);
    if (can.lt(leaves(order))) {
      ctx.cancel(order, 'FOK_UNFILLABLE', t, `only ${can.toFixed()} of ${leaves(order).toFixed()} available`);
      return;
    }
  }
  for (const [price, size] of market[book]) {
    const want = leaves(order);
    if (want.lte(0) || TERMINAL.has(order.status)) break;
    const p = dec(price);
    if (!within(order.side, p, limit)) break;
    const used = dec(ctx.s.consumed[book][price] ?? '0');
    const left = dec(size).sub(used);
    if (left.lte(0)) continue;
    const q = Decimal.min(left, want);
    ctx.s.consumed[book][price] = str(used.add(q));
    ctx.fill(order, q, p, 'TAKER', t);
  }
  if (TERMINAL.has(order.status) || !(order.orderId in ctx.s.orders)) return;
  if (order.timeInForce === 'IOC' || order.timeInForce === 'FOK') {
    ctx.cancel(order, 'IOC', t, 'immediate-or-cancel remainder');
    return;
  }
  if (limit === null) {
    order.awaiting = true;
    return;
  }
  rest(ctx, order, limit);
}

/**
 * Joins the queue at `limit`: behind the displayed size at that price on its own side, or first
 * (0 ahead) when it improves the best price. ICEBERG shows one slice.
 */
export function rest(ctx: Ctx, order: Order, limit: Decimal): void {
  const side = restsOn(order.side);
  const best = bestOf(ctx.s.market, side);
  const improves = best === null || (order.side === 'BUY' ? limit.gt(best) : limit.lt(best));
  order.ahead = improves ? '0' : str(displayedAt(ctx.s.market, side, limit));
  if (order.behaviour === 'ICEBERG' && order.display !== null && order.sliceLeft === null)
    order.sliceLeft = str(Decimal.min(dec(order.display), leaves(order)));
  ctx.s.counter += 1;
  order.priority = ctx.s.counter;
}

/** ICEBERG: a new slice when the visible one is used up; it goes to the back of the queue. */
export function replenish(ctx: Ctx, order: Order): void {
  if (order.display === null || order.limitPrice === null) return;
  order.sliceLeft = null;
  rest(ctx, order, dec(order.limitPrice));
}

/**
 * A print at `price` x `size` (aggressor `aggressor`) against our resting limits, best price then
 * time first. A print THROUGH a limit fills it at the limit up to the print size; a print AT it
 * first works off the size ahead and fills only the excess, and only if the aggressor was the other
 * side (or unknown). One print's size is shared among our orders. Fills are MAKER.
 */
export function tradeAgainstResting(ctx: Ctx, price: Decimal, size: Decimal, aggressor: string, t: number): void {
  const resting = Object.values(ctx.s.orders).filter((o) => o.ahead !== null && !o.awaiting && o.limitPrice !== null);
  if (resting.length === 0) return;
  resting.sort((a, b) => {
    if (a.side !== b.side) return a.side === 'BUY' ? -1 : 1;
    const c = dec(a.limitPrice as string).cmp(b.limitPrice as string);
    if (c !== 0) return a.side === 'BUY' ? -c : c;
    return a.priority - b.priority;
  });
  const remaining = { BUY: size, SELL: size };
  for (const order of resting) {
    if (!(order.orderId in ctx.s.orders) || order.ahead === null) continue;
    const limit = dec(order.limitPrice as string);
    const through = order.side === 'BUY' ? price.lt(limit) : price.gt(limit);
    const at = price.eq(limit);
    if (!through && !at) continue;
    const visible = order.behaviour === 'ICEBERG' && order.sliceLeft !== null ? dec(order.sliceLeft) : leaves(order);
    let q: Decimal;
    if (through) q = Decimal.min(visible, remaining[order.side]);
    else {
      if (aggressor === order.side) continue;
      const ahead = dec(order.ahead);
      const excess = size.sub(ahead);
      order.ahead = str(Decimal.max(0, ahead.sub(size)));
      q = Decimal.min(visible, remaining[order.side], Decimal.max(0, excess));
    }
    if (q.lte(0)) continue;
    remaining[order.side] = remaining[order.side].sub(q);
    if (order.behaviour === 'ICEBERG' && order.sliceLeft !== null) order.sliceLeft = str(dec(order.sliceLeft).sub(q));
    ctx.fill(order, q, limit, 'MAKER', t);
    if (order.orderId in ctx.s.orders && order.behaviour === 'ICEBERG' && dec(order.sliceLeft ?? '0').lte(0))
      replenish(ctx, order);
  }
}

/** Whether a stop of `side` at `stop` triggers on `price` (a buy stop at or above, a sell stop at or below). */
export function stopHit(side: OrderSide, stop: Decimal, price: Decimal): boolean {
  return side === 'BUY' ? price.gte(stop) : price.lte(stop);
}

/**
 * The price stops watch: the print, or for instruments with no prints yet the touch they would
 * trade against (a buy stop the ask, a sell stop the bid). Null: nothing known yet.
 */
export function watchedPrice(ctx: Ctx, side: OrderSide, tradePrice: Decimal | null): Decimal | null {
  if (tradePrice) return tradePrice;
  if (ctx.s.tradesSeen) return ctx.s.lastTrade === null ? null : dec(ctx.s.lastTrade);
  return bestOf(ctx.s.market, takesFrom(side));
}

/**
 * TRAILING_STOP: moves the reference to the best price seen (a sell trails the high, a buy the low)
 * and sets the stop `trailingOffset` away; returns whether `price` hits it.
 */
export function trail(order: Order, price: Decimal): boolean {
  const offset = dec(order.trailingOffset ?? '0');
  const ref = order.trailRef === null ? price : dec(order.trailRef);
  const best = order.side === 'SELL' ? Decimal.max(ref, price) : Decimal.min(ref, price);
  order.trailRef = str(best);
  const stop = order.side === 'SELL' ? best.sub(offset) : best.add(offset);
  order.stopPrice = str(stop);
  return stopHit(order.side, stop, price);
}
