import { Decimal, quotientHalfEven } from '../../schemas/decimal';
import type {
  Fill,
  OrderEvent,
  OrderEventKind,
  OrderRequest,
  OrderSide,
  OrderStatus,
  OrderType,
  TimeInForce,
} from '../../schemas/types.generated';
import type { BrokerEvent } from './adapter';

/**
 * Per-order state of a broker adapter and the one place its OrderEvents and Fills are built, so
 * every adapter numbers and shapes them the same way: `seq` from 1 per order without gaps,
 * `eventId` `<orderId>:<seq>`, filled and leaves quantities and the average price exact, a terminal
 * status reached once. It knows nothing of any broker.
 */

/** Before the broker acknowledged the order: no event has been emitted yet. */
export type TrackedStatus = OrderStatus | 'PENDING';

export interface TrackedOrder {
  readonly orderId: string;
  readonly parentOrderId: string | null;
  readonly account: string;
  readonly instrumentId: string;
  readonly venue: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  timeInForce: TimeInForce;
  quantity: Decimal;
  limitPrice: Decimal | null;
  stopPrice: Decimal | null;
  readonly reduceOnly: boolean;
  readonly signalId: string | null;
  readonly strategy: string | null;
  /** The request behind the latest change (NEW, then each CANCEL or REPLACE). */
  requestId: string | null;
  filled: Decimal;
  /** Sum of price × quantity over the fills: the average price's numerator. */
  notional: Decimal;
  seq: number;
  status: TrackedStatus;
  /** A CANCEL was sent for it (a broker's cancel then reads reasonCode USER). */
  cancelRequested: boolean;
}

/** Fields of a new order; `fromRequest` fills them from a NEW request. */
export type OrderSpec = Omit<TrackedOrder, 'filled' | 'notional' | 'seq' | 'status' | 'cancelRequested'>;

export const TERMINAL: ReadonlySet<TrackedStatus> = new Set<TrackedStatus>([
  'FILLED',
  'CANCELED',
  'EXPIRED',
  'REJECTED',
]);

const ZERO = new Decimal('0');

export function specFromRequest(request: OrderRequest): OrderSpec {
  return {
    orderId: request.orderId,
    parentOrderId: null,
    account: request.account,
    instrumentId: request.instrumentId,
    venue: request.venue,
    symbol: request.symbol,
    side: request.side,
    type: request.type,
    timeInForce: request.timeInForce,
    quantity: request.quantity,
    limitPrice: request.limitPrice,
    stopPrice: request.stopPrice,
    reduceOnly: request.reduceOnly,
    signalId: request.signalId,
    strategy: request.strategy,
    requestId: request.requestId,
  };
}

export interface EventFields {
  /** Venue time of the change, microseconds UTC. */
  tsEvent: number;
  reasonCode?: string | null;
  detail?: string | null;
  requestId?: string | null;
}

export class OrderTracker {
  private readonly orders = new Map<string, TrackedOrder>();
  /** Terminal orders, oldest first: forgotten beyond `retainTerminal`. */
  private readonly finished: string[] = [];

  /** `now` is the adapter's clock in microseconds UTC (tsProcessed). */
  constructor(
    private readonly now: () => number,
    private readonly retainTerminal = 10_000,
  ) {}

  get(orderId: string): TrackedOrder | undefined {
    return this.orders.get(orderId);
  }

  /** Orders not yet in a terminal status. */
  live(): TrackedOrder[] {
    return [...this.orders.values()].filter((o) => !TERMINAL.has(o.status));
  }

  /** Starts tracking an order (PENDING, nothing emitted); the existing one if it is already tracked. */
  open(spec: OrderSpec): TrackedOrder {
    const known = this.orders.get(spec.orderId);
    if (known) return known;
    const order: TrackedOrder = {
      ...spec,
      filled: ZERO,
      notional: ZERO,
      seq: 0,
      status: 'PENDING',
      cancelRequested: false,
    };
    this.orders.set(order.orderId, order);
    return order;
  }

  /** ACCEPTED, once: the broker took the order. Nothing when it already was. */
  accept(order: TrackedOrder, fields: EventFields): BrokerEvent[] {
    if (order.status !== 'PENDING') return [];
    return [this.emit(order, 'ACCEPTED', 'ACCEPTED', fields)];
  }

  /**
   * One execution of `quantity` at `price` (exact), with a fill id the adapter derives from the
   * broker's data so the same execution seen twice has the same id. Accepts the order first if no
   * event was emitted yet. PARTIALLY_FILLED, or FILLED once the whole quantity is filled.
   */
  fill(order: TrackedOrder, quantity: Decimal, price: Decimal, fillId: string, fields: EventFields): BrokerEvent[] {
    // A fill is reported whatever the order's status: it happened at the broker, and risk must see it.
    const out = this.accept(order, fields);
    order.filled = order.filled.plus(quantity);
    order.notional = order.notional.plus(price.times(quantity));
    const complete = order.filled.gte(order.quantity);
    const kind: OrderEventKind = complete ? 'FILLED' : 'PARTIALLY_FILLED';
    const status: OrderStatus = complete ? 'FILLED' : 'PARTIALLY_FILLED';
    const event = this.emit(order, kind, status, fields, { quantity, price, fillId });
    const fill: Fill = {
      fillId,
      orderId: order.orderId,
      parentOrderId: order.parentOrderId,
      account: order.account,
      instrumentId: order.instrumentId,
      venue: order.venue,
      symbol: order.symbol,
      side: order.side,
      quantity,
      price,
      fee: ZERO,
      liquidity: 'TAKER',
      slippage: ZERO,
      signalId: order.signalId,
      strategy: order.strategy,
      tsEvent: fields.tsEvent,
      tsProcessed: event.event.tsProcessed,
    };
    out.push({ event: event.event, fill });
    return out;
  }

  /** CANCELED, EXPIRED or REJECTED, once; nothing when the order is already terminal. */
  finish(order: TrackedOrder, kind: 'CANCELED' | 'EXPIRED' | 'REJECTED', fields: EventFields): BrokerEvent[] {
    if (TERMINAL.has(order.status)) return [];
    return [this.emit(order, kind, kind, fields)];
  }

  /** REPLACED: the order now has these terms (quantity is the new total). */
  replaced(
    order: TrackedOrder,
    terms: { quantity: Decimal; limitPrice: Decimal | null; stopPrice: Decimal | null; timeInForce: TimeInForce },
    fields: EventFields,
  ): BrokerEvent[] {
    if (TERMINAL.has(order.status)) return [];
    const out = this.accept(order, fields);
    Object.assign(order, terms);
    out.push(this.emit(order, 'REPLACED', this.workingStatus(order), fields));
    return out;
  }

  /** CANCEL_REJECTED or REPLACE_REJECTED: the order's state is unchanged (REJECTED if it never existed). */
  refuse(order: TrackedOrder, kind: 'CANCEL_REJECTED' | 'REPLACE_REJECTED', fields: EventFields): BrokerEvent[] {
    const status: OrderStatus = order.status === 'PENDING' ? 'REJECTED' : order.status;
    return [this.emit(order, kind, status, fields)];
  }

  private workingStatus(order: TrackedOrder): OrderStatus {
    if (order.filled.gte(order.quantity) && order.quantity.gt(0)) return 'FILLED';
    return order.filled.gt(0) ? 'PARTIALLY_FILLED' : 'ACCEPTED';
  }

  private emit(
    order: TrackedOrder,
    kind: OrderEventKind,
    status: OrderStatus,
    fields: EventFields,
    fill?: { quantity: Decimal; price: Decimal; fillId: string },
  ): BrokerEvent {
    order.seq += 1;
    order.status = status;
    if (fields.requestId) order.requestId = fields.requestId;
    const leaves = Decimal.max(ZERO, order.quantity.minus(order.filled));
    const event: OrderEvent = {
      eventId: `${order.orderId}:${order.seq}`,
      seq: order.seq,
      orderId: order.orderId,
      parentOrderId: order.parentOrderId,
      requestId: order.requestId,
      account: order.account,
      instrumentId: order.instrumentId,
      venue: order.venue,
      symbol: order.symbol,
      side: order.side,
      type: order.type,
      timeInForce: order.timeInForce,
      kind,
      status,
      quantity: order.quantity,
      filledQuantity: order.filled,
      // Terminal states other than FILLED leave nothing working.
      leavesQuantity: status === 'CANCELED' || status === 'EXPIRED' || status === 'REJECTED' ? ZERO : leaves,
      avgFillPrice: order.filled.gt(0) ? quotientHalfEven(order.notional, order.filled, 12) : null,
      limitPrice: order.limitPrice,
      stopPrice: order.stopPrice,
      lastQuantity: fill ? fill.quantity : null,
      lastPrice: fill ? fill.price : null,
      fee: fill ? ZERO : null,
      liquidity: fill ? 'TAKER' : null,
      fillId: fill ? fill.fillId : null,
      reduceOnly: order.reduceOnly,
      reasonCode: fields.reasonCode ?? null,
      detail: fields.detail ?? null,
      signalId: order.signalId,
      strategy: order.strategy,
      tsEvent: fields.tsEvent,
      tsProcessed: this.now(),
    };
    if (TERMINAL.has(status)) this.retire(order.orderId);
    return { event };
  }

  private retire(orderId: string): void {
    this.finished.push(orderId);
    while (this.finished.length > this.retainTerminal) {
      const old = this.finished.shift() as string;
      const order = this.orders.get(old);
      if (order && TERMINAL.has(order.status)) this.orders.delete(old);
    }
  }
}
