import { Decimal } from '../../schemas/decimal';
import type {
  Fill,
  Liquidity,
  OrderEvent,
  OrderEventKind,
  OrderRequest,
  OrderSide,
  OrderStatus,
  OrderType,
  TimeInForce,
} from '../../schemas/types.generated';
import { TickflowError } from '../runtime/errors';
import { SCALE } from './models';

/**
 * Orders as the engine keeps them in the store: JSON, decimals as strings. `behaviour` is how the
 * order works at the venue (a BRACKET entry works as LIMIT or MARKET, a TWAP parent as ALGO, ...);
 * `type` is what was asked for and what events report.
 */
export type Behaviour = 'MARKET' | 'LIMIT' | 'STOP' | 'STOP_LIMIT' | 'TRAILING_STOP' | 'ICEBERG' | 'ALGO' | 'OCO';

export interface AlgoPlan {
  /** first slice time (the parent's arrival), microseconds */
  readonly start: number;
  readonly intervalMicros: number;
  readonly end: number;
  readonly slices: number;
  /** cumulative target quantity after each slice (decimal strings; the last is the parent's quantity) */
  readonly targets: string[];
  /** the next slice to release (0-based); === slices: all released */
  next: number;
}

export interface Order {
  readonly orderId: string;
  readonly parentOrderId: string | null;
  readonly account: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  behaviour: Behaviour;
  status: OrderStatus;
  /** last event seq */
  seq: number;
  requestId: string | null;
  quantity: string;
  filled: string;
  /** sum of price x quantity over fills, for the average price */
  notional: string;
  fills: number;
  limitPrice: string | null;
  stopPrice: string | null;
  trailingOffset: string | null;
  /** TRAILING_STOP: the best price since activation */
  trailRef: string | null;
  takeProfitPrice: string | null;
  stopLossPrice: string | null;
  /** ICEBERG: the visible slice size and what is left of the current slice */
  display: string | null;
  sliceLeft: string | null;
  /** resting limit: displayed size ahead of it at its price (queue position); null: not resting */
  ahead: string | null;
  /** a taker match is due but the market was stale: match on the next fresh quote/book */
  awaiting: boolean;
  /** STOP/STOP_LIMIT/TRAILING_STOP: triggered (then works as MARKET or LIMIT) */
  triggered: boolean;
  /** DAY: expiry time (event time, microseconds) */
  expireAt: number | null;
  /** time priority among our orders (lower first); a replace that loses the queue takes a new one */
  priority: number;
  /** OCO partner (OCO legs, bracket children) */
  ocoWith: string | null;
  /** OCO/ALGO parents: their child order ids; BRACKET: its children once created */
  children: string[];
  algo: AlgoPlan | null;
  readonly reduceOnly: boolean;
  readonly signalId: string | null;
  readonly strategy: string | null;
  /** for ALGO children: the release counter of the parent */
  childCount: number;
}

/** An order no longer working, remembered (bounded) for duplicate ids and late cancels. */
export interface RecentOrder {
  /** null: never existed (only rejections of requests naming it) */
  status: OrderStatus | null;
  seq: number;
}

/**
 * The allowed status transitions. REPLACED and TRIGGERED may keep the status; terminal states
 * (FILLED, CANCELED, EXPIRED, REJECTED) allow none: a request against them is rejected.
 */
export const TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  ACCEPTED: ['ACCEPTED', 'TRIGGERED', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'EXPIRED'],
  TRIGGERED: ['TRIGGERED', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'EXPIRED'],
  PARTIALLY_FILLED: ['PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'EXPIRED'],
  FILLED: [],
  CANCELED: [],
  EXPIRED: [],
  REJECTED: [],
};

export const TERMINAL: ReadonlySet<OrderStatus> = new Set(['FILLED', 'CANCELED', 'EXPIRED', 'REJECTED']);

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Typed reason codes of REJECTED, CANCEL_REJECTED, REPLACE_REJECTED and CANCELED/EXPIRED events. */
export type ReasonCode =
  | 'INVALID_TRANSITION'
  | 'UNKNOWN_ORDER'
  | 'DUPLICATE_ORDER_ID'
  | 'INVALID_ORDER'
  | 'TOO_MANY_ORDERS'
  | 'FOK_UNFILLABLE'
  | 'IOC'
  | 'USER'
  | 'OCO'
  | 'DAY'
  | 'ALGO_ROLL'
  | 'ALGO_END'
  | 'PARENT';

export const dec = (s: string): Decimal => new Decimal(s);
export const decOrNull = (s: string | null): Decimal | null => (s === null ? null : new Decimal(s));
export const str = (d: Decimal): string => d.toFixed();
export const strOrNull = (d: Decimal | null): string | null => (d === null ? null : d.toFixed());

export function leaves(order: Order): Decimal {
  return dec(order.quantity).sub(order.filled);
}

export function newOrder(req: OrderRequest, priority: number, overrides: Partial<Order> = {}): Order {
  return {
    orderId: req.orderId,
    parentOrderId: null,
    account: req.account,
    side: req.side,
    type: req.type,
    timeInForce: req.timeInForce,
    behaviour: 'MARKET',
    status: 'ACCEPTED',
    seq: 0,
    requestId: req.requestId,
    quantity: str(req.quantity),
    filled: '0',
    notional: '0',
    fills: 0,
    limitPrice: strOrNull(req.limitPrice),
    stopPrice: strOrNull(req.stopPrice),
    trailingOffset: strOrNull(req.trailingOffset),
    trailRef: null,
    takeProfitPrice: strOrNull(req.takeProfitPrice),
    stopLossPrice: strOrNull(req.stopLossPrice),
    display: strOrNull(req.displayQuantity),
    sliceLeft: null,
    ahead: null,
    awaiting: false,
    triggered: false,
    expireAt: null,
    priority,
    ocoWith: null,
    children: [],
    algo: null,
    reduceOnly: req.reduceOnly,
    signalId: req.signalId,
    strategy: req.strategy,
    childCount: 0,
    ...overrides,
  };
}

/** Where the instrument's identity comes from in events and fills. */
export interface InstrumentIds {
  readonly instrumentId: string;
  readonly venue: string;
  readonly symbol: string;
}

export interface FillDetail {
  readonly fillId: string;
  readonly quantity: Decimal;
  readonly price: Decimal;
  readonly fee: Decimal;
  readonly liquidity: Liquidity;
}

export interface EventDetail {
  readonly kind: OrderEventKind;
  readonly reasonCode?: ReasonCode | null;
  readonly detail?: string | null;
  readonly fill?: FillDetail;
  readonly requestId?: string | null;
}

/**
 * Moves `order` to `status` through an event: checks the transition table (a disallowed move here
 * is a bug: requests are checked before), bumps the seq and builds the OrderEvent.
 */
export function orderEvent(
  ids: InstrumentIds,
  order: Order,
  status: OrderStatus,
  detail: EventDetail,
  tsEvent: number,
  tsProcessed: number,
): OrderEvent {
  if (order.seq > 0 && !canTransition(order.status, status))
    throw new TickflowError('INVARIANT', `order ${order.orderId}: ${order.status} -> ${status} is not allowed`);
  order.status = status;
  order.seq += 1;
  const filled = dec(order.filled);
  return {
    eventId: `${order.orderId}:${order.seq}`,
    seq: order.seq,
    orderId: order.orderId,
    parentOrderId: order.parentOrderId,
    requestId: detail.requestId !== undefined ? detail.requestId : order.requestId,
    account: order.account,
    instrumentId: ids.instrumentId,
    venue: ids.venue,
    symbol: ids.symbol,
    side: order.side,
    type: order.type,
    timeInForce: order.timeInForce,
    kind: detail.kind,
    status,
    quantity: dec(order.quantity),
    filledQuantity: filled,
    leavesQuantity: TERMINAL.has(status) ? new Decimal(0) : leaves(order),
    avgFillPrice: filled.gt(0) ? dec(order.notional).div(filled).toDecimalPlaces(SCALE) : null,
    limitPrice: decOrNull(order.limitPrice),
    stopPrice: decOrNull(order.stopPrice),
    lastQuantity: detail.fill?.quantity ?? null,
    lastPrice: detail.fill?.price ?? null,
    fee: detail.fill?.fee ?? null,
    liquidity: detail.fill?.liquidity ?? null,
    fillId: detail.fill?.fillId ?? null,
    reduceOnly: order.reduceOnly,
    reasonCode: detail.reasonCode ?? null,
    detail: detail.detail ?? null,
    signalId: order.signalId,
    strategy: order.strategy,
    tsEvent,
    tsProcessed,
  };
}

/** An event about a request for an order the engine does not hold (rejections of unknown or finished orders). */
export function requestEvent(
  ids: InstrumentIds,
  req: OrderRequest,
  seq: number,
  kind: OrderEventKind,
  status: OrderStatus,
  reasonCode: ReasonCode,
  detail: string,
  tsEvent: number,
  tsProcessed: number,
): OrderEvent {
  const zero = new Decimal(0);
  return {
    eventId: `${req.orderId}:${seq}`,
    seq,
    orderId: req.orderId,
    parentOrderId: null,
    requestId: req.requestId,
    account: req.account,
    instrumentId: ids.instrumentId,
    venue: ids.venue,
    symbol: ids.symbol,
    side: req.side,
    type: req.type,
    timeInForce: req.timeInForce,
    kind,
    status,
    quantity: req.quantity,
    filledQuantity: zero,
    leavesQuantity: zero,
    avgFillPrice: null,
    limitPrice: req.limitPrice,
    stopPrice: req.stopPrice,
    lastQuantity: null,
    lastPrice: null,
    fee: null,
    liquidity: null,
    fillId: null,
    reduceOnly: req.reduceOnly,
    reasonCode,
    detail,
    signalId: req.signalId,
    strategy: req.strategy,
    tsEvent,
    tsProcessed,
  };
}

export function fillRecord(
  ids: InstrumentIds,
  order: Order,
  fill: FillDetail,
  slippage: Decimal,
  tsEvent: number,
  tsProcessed: number,
): Fill {
  return {
    fillId: fill.fillId,
    orderId: order.orderId,
    parentOrderId: order.parentOrderId,
    account: order.account,
    instrumentId: ids.instrumentId,
    venue: ids.venue,
    symbol: ids.symbol,
    side: order.side,
    quantity: fill.quantity,
    price: fill.price,
    fee: fill.fee,
    liquidity: fill.liquidity,
    slippage,
    signalId: order.signalId,
    strategy: order.strategy,
    tsEvent,
    tsProcessed,
  };
}
