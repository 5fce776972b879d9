import { Decimal } from '../../schemas/decimal';
import type { Fill, OrderEvent, OrderRequest, OrderSide } from '../../schemas/types.generated';
import type { EngineConfig } from './config';
import type { InstrumentIds, Order, RecentOrder } from './orders';

/** One price level as stored: [price, size], decimal strings. */
export type Level = [string, string];

/** The last market the venue shows: a quote (one level a side) or a book snapshot. */
export interface MarketView {
  /** event time of the quote or book */
  ts: number;
  /** best first */
  bids: Level[];
  asks: Level[];
}

/** A request on its way to the venue (decimals as strings, like everything in the store). */
export interface PendingRequest {
  /** venue arrival time, microseconds */
  arrival: number;
  /** receipt order: ties of arrival keep it */
  n: number;
  req: StoredRequest;
}

export type StoredRequest = Omit<
  OrderRequest,
  'quantity' | 'limitPrice' | 'stopPrice' | 'trailingOffset' | 'takeProfitPrice' | 'stopLossPrice' | 'displayQuantity'
> & {
  quantity: string;
  limitPrice: string | null;
  stopPrice: string | null;
  trailingOffset: string | null;
  takeProfitPrice: string | null;
  stopLossPrice: string | null;
  displayQuantity: string | null;
};

/**
 * The paper venue of one instrument, as stored under its instrumentId in store `books`: JSON with
 * decimal strings, mutated in place by the engine. Every collection is bounded: working orders by
 * `maxWorkingOrders` (terminal orders leave), requests in flight by what the market has not yet
 * reached, remembered request ids and finished orders by rings, the volume window by time and count.
 */
export interface EngineState {
  v: 1;
  instrumentId: string;
  venue: string;
  symbol: string;
  /** newest market event time applied */
  clock: number;
  market: MarketView | null;
  /** our own taker fills per price level since the market last refreshed, by side of the book */
  consumed: { bids: Record<string, string>; asks: Record<string, string> };
  lastTrade: string | null;
  /** once a trade was seen, stops trigger on trades; before (quote-only instruments), on the touch */
  tradesSeen: boolean;
  /** sqrtImpact only: traded volume in 1-second buckets [bucket start, size] over the impact window */
  volume: [number, string][];
  pending: PendingRequest[];
  /** counter for receipt order and order priorities */
  counter: number;
  orders: Record<string, Order>;
  recent: Record<string, RecentOrder>;
  recentRing: string[];
  recentHead: number;
  requestIds: Record<string, 1>;
  requestRing: string[];
  requestHead: number;
}

export const MAX_VOLUME_ENTRIES = 10_000;

export function newState(ids: InstrumentIds): EngineState {
  return {
    v: 1,
    instrumentId: ids.instrumentId,
    venue: ids.venue,
    symbol: ids.symbol,
    clock: 0,
    market: null,
    consumed: { bids: {}, asks: {} },
    lastTrade: null,
    tradesSeen: false,
    volume: [],
    pending: [],
    counter: 0,
    orders: {},
    recent: {},
    recentRing: [],
    recentHead: 0,
    requestIds: {},
    requestRing: [],
    requestHead: 0,
  };
}

export interface EngineOutput {
  events: OrderEvent[];
  fills: Fill[];
  /** each fill's touch price it slipped from is in the Fill; nothing else */
}

/** What the engine's functions share while handling one input. */
export interface Ctx {
  readonly s: EngineState;
  readonly cfg: EngineConfig;
  /** processing time (tsProcessed only) */
  readonly now: number;
  readonly out: EngineOutput;
  readonly tick: Decimal | null;
  readonly ids: InstrumentIds;
  /** books a fill (engine.ts): events, fills, OCO, parents, brackets */
  fill(order: Order, quantity: Decimal, touch: Decimal, liquidity: 'MAKER' | 'TAKER', t: number): void;
  /** cancels a working order with a reason (engine.ts) */
  cancel(order: Order, reason: 'IOC' | 'FOK_UNFILLABLE', t: number, detail: string): void;
}

/** Adds to a bounded ring (set + ring of keys); the oldest key is forgotten when full. */
export function remember<V>(
  map: Record<string, V>,
  ring: string[],
  head: number,
  cap: number,
  key: string,
  value: V,
): number {
  if (key in map) {
    map[key] = value;
    return head;
  }
  map[key] = value;
  if (ring.length < cap) {
    ring.push(key);
    return head;
  }
  delete map[ring[head]];
  ring[head] = key;
  return (head + 1) % cap;
}

/** The book side an order takes from (a buy takes asks) or rests on (a buy rests on bids). */
export const takesFrom = (side: OrderSide): 'bids' | 'asks' => (side === 'BUY' ? 'asks' : 'bids');
export const restsOn = (side: OrderSide): 'bids' | 'asks' => (side === 'BUY' ? 'bids' : 'asks');

export function bestOf(market: MarketView | null, side: 'bids' | 'asks'): Decimal | null {
  const level = market?.[side][0];
  return level ? new Decimal(level[0]) : null;
}

/** The displayed size at `price` on one side of the last market (0 when no level shows that price). */
export function displayedAt(market: MarketView | null, side: 'bids' | 'asks', price: Decimal): Decimal {
  for (const [p, size] of market?.[side] ?? []) if (price.eq(p)) return new Decimal(size);
  return new Decimal(0);
}

export function toLevels(levels: readonly { price: Decimal; size: Decimal }[]): Level[] {
  const out: Level[] = [];
  for (const l of levels) if (l.price.gt(0) && l.size.gt(0)) out.push([l.price.toFixed(), l.size.toFixed()]);
  return out;
}
