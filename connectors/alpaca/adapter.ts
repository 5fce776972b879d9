import crypto from 'node:crypto';
import WebSocket from 'ws';
import { Decimal, quotientHalfEven } from '../../schemas/decimal';
import type { OrderRequest, OrderSide } from '../../schemas/types.generated';
import { TickflowError, describeError } from '../../pipelines/runtime/errors';
import { backoffMs, bounded } from '../../pipelines/runtime/bounded';
import { logger } from '../../pipelines/runtime/log';
import type { BrokerAdapter, BrokerEvent, BrokerListener } from '../brokers/adapter';
import type { EventFields, TrackedOrder } from '../brokers/order-tracker';
import { OrderTracker, TERMINAL, specFromRequest } from '../brokers/order-tracker';
import type { AlpacaRestOptions, AlpacaAnswer } from './client';
import { AlpacaRest, brokerMessage } from './client';
import type { AlpacaConfig } from './config';
import type { AlpacaOrder, AlpacaTradeUpdate } from './messages';
import {
  MAX_CLIENT_ORDER_ID,
  brokerDecimal,
  isAlpacaOrder,
  isoMicros,
  requestProblem,
  toAlpacaOrder,
  toAlpacaReplace,
} from './messages';

const log = logger('alpaca');

export interface AlpacaAdapterOptions extends AlpacaRestOptions {
  config: AlpacaConfig;
  /** The adapter's clock, microseconds UTC (tsProcessed, and tsEvent when the broker gives none). */
  now?: () => number;
  /** Reconnect backoff: from this, doubling, jittered, at most the max; defaults 500 ms and 30 s. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** From the socket opening to `listening` (auth and listen); default 10 s. */
  authTimeoutMs?: number;
  /** A ping every this long; a connection that has not answered the previous one is reconnected. Default 15 s. */
  pingMs?: number;
  /** `start` gives up after this; default 30 s. */
  startTimeoutMs?: number;
}

export interface AlpacaHealth {
  connected: boolean;
  connects: number;
  disconnects: number;
  reconciliations: number;
  /** Fills learned from a reconciliation's order snapshots rather than from the stream. */
  recoveredFills: number;
  /** trade_updates about orders this adapter did not place (ignored). */
  unmatched: number;
  /** Stream messages it could not read (logged, ignored). */
  malformed: number;
}

/** One Alpaca order behind a tickflow order: a NEW's, a replacement's, or a bracket/OCO leg's. */
interface BrokerOrder {
  readonly orderId: string;
  /** Cumulative filled quantity and notional on this Alpaca order as this adapter has reported them. */
  filled: Decimal;
  notional: Decimal;
}

interface PendingReplace {
  readonly request: OrderRequest;
  readonly clientOrderId: string;
}

const ZERO = new Decimal('0');
const ACTIVE_STATUSES = new Set([
  'new',
  'accepted',
  'pending_new',
  'partially_filled',
  'pending_cancel',
  'pending_replace',
  'done_for_day',
]);
const MAX_HANDLED_REQUESTS = 100_000;

/**
 * BrokerAdapter over Alpaca's Trading API v2 (README.md in this folder): orders by REST, their
 * changes from the trade_updates websocket, a reconciliation by REST after every reconnect.
 */
export class AlpacaAdapter implements BrokerAdapter {
  readonly name = 'alpaca';
  private readonly rest: AlpacaRest;
  private readonly tracker: OrderTracker;
  private readonly listeners: BrokerListener[] = [];
  private readonly now: () => number;
  private readonly settings: Required<Omit<AlpacaAdapterOptions, keyof AlpacaRestOptions | 'config' | 'now'>>;
  private readonly byBrokerId = new Map<string, BrokerOrder>();
  private readonly byClientId = new Map<string, string>();
  /** tickflow orderId -> the Alpaca id that currently works it. */
  private readonly current = new Map<string, string>();
  private readonly pendingReplaces = new Map<string, PendingReplace>();
  private readonly handled = new Set<string>();
  private readonly inFlight = new Map<string, Promise<void>>();
  /** NEW requests whose POST was answered (a retry of them sends nothing). */
  private readonly acknowledged = new Set<string>();
  private ws?: WebSocket;
  private stopped = false;
  private attempt = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private authTimer?: NodeJS.Timeout;
  private pingTimer?: NodeJS.Timeout;
  private reconciling?: Promise<void>;
  private started?: { resolve: () => void; reject: (error: Error) => void };
  private readonly stats: AlpacaHealth = {
    connected: false,
    connects: 0,
    disconnects: 0,
    reconciliations: 0,
    recoveredFills: 0,
    unmatched: 0,
    malformed: 0,
  };

  constructor(private readonly options: AlpacaAdapterOptions) {
    this.rest = new AlpacaRest(options.config.baseUrl, options.config, options);
    this.now = options.now ?? (() => Date.now() * 1000);
    this.tracker = new OrderTracker(this.now);
    this.settings = {
      reconnectMinMs: options.reconnectMinMs ?? 500,
      reconnectMaxMs: options.reconnectMaxMs ?? 30_000,
      authTimeoutMs: options.authTimeoutMs ?? 10_000,
      pingMs: options.pingMs ?? 15_000,
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
    };
  }

  health(): AlpacaHealth {
    return { ...this.stats };
  }

  onEvent(listener: BrokerListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  start(): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => {
      this.started = { resolve, reject };
    });
    this.connect();
    return bounded(ready, 'connecting to the Alpaca trade_updates stream', this.settings.startTimeoutMs).catch(
      async (error: unknown) => {
        await this.close();
        throw error;
      },
    );
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.rest.close();
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.authTimer);
    clearInterval(this.pingTimer);
    const ws = this.ws;
    this.ws = undefined;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.terminate();
      });
    }
    this.stats.connected = false;
  }

  async submit(request: OrderRequest): Promise<void> {
    if (this.stopped) throw new TickflowError('STOPPING', 'the Alpaca adapter is closed');
    if (this.handled.has(request.requestId)) return;
    // Requests for one order run one after another (a CANCEL waits for its NEW's answer).
    const key = request.orderId;
    const before = this.inFlight.get(key) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(() => this.handle(request));
    this.inFlight.set(key, run);
    try {
      await run;
      this.remember(request.requestId);
    } finally {
      if (this.inFlight.get(key) === run) this.inFlight.delete(key);
    }
  }

  private remember(requestId: string): void {
    this.handled.add(requestId);
    if (this.handled.size > MAX_HANDLED_REQUESTS) {
      this.handled.delete(this.handled.values().next().value as string);
    }
  }

  private handle(request: OrderRequest): Promise<void> {
    if (this.handled.has(request.requestId)) return Promise.resolve();
    switch (request.action) {
      case 'NEW':
        return this.submitNew(request);
      case 'CANCEL':
        return this.submitCancel(request);
      case 'REPLACE':
        return this.submitReplace(request);
      default:
        throw new TickflowError('INVARIANT', `unknown order action ${String(request.action)}`);
    }
  }

  private fields(request: OrderRequest | null, extra: Partial<EventFields> = {}): EventFields {
    return { tsEvent: this.now(), requestId: request?.requestId ?? null, ...extra };
  }

  private publish(updates: BrokerEvent[]): void {
    for (const update of updates) {
      for (const listener of [...this.listeners]) {
        try {
          listener(update);
        } catch (error) {
          log.error('a broker event listener failed', { err: describeError(error), eventId: update.event.eventId });
        }
      }
    }
  }

  // ---- NEW, CANCEL, REPLACE ----

  private async submitNew(request: OrderRequest): Promise<void> {
    const known = this.tracker.get(request.orderId);
    if (known && (this.acknowledged.has(request.orderId) || known.status !== 'PENDING')) return;
    const order = this.tracker.open(specFromRequest(request));
    const problem = requestProblem(request);
    if (problem) {
      this.publish(
        this.tracker.finish(order, 'REJECTED', this.fields(request, { reasonCode: problem[0], detail: problem[1] })),
      );
      return;
    }
    this.byClientId.set(request.orderId, request.orderId);
    const answer = await this.rest.request('POST', '/v2/orders', toAlpacaOrder(request));
    this.acknowledged.add(request.orderId);
    if (answer.status >= 200 && answer.status < 300 && isAlpacaOrder(answer.body)) {
      this.applySnapshot(answer.body, request);
      return;
    }
    const message = brokerMessage(answer);
    if (answer.status === 422 && /client_order_id/i.test(message)) {
      // The order exists already (a retry after a lost answer, or a restart): adopt it.
      const existing = await this.byClientOrderId(request.orderId);
      if (existing) {
        this.applySnapshot(existing, request);
        return;
      }
    }
    const reasonCode =
      answer.status === 403
        ? /buying power|insufficient/i.test(message)
          ? 'INSUFFICIENT_BUYING_POWER'
          : 'BROKER_FORBIDDEN'
        : answer.status === 422
          ? 'BROKER_INVALID'
          : 'BROKER_REJECTED';
    this.publish(
      this.tracker.finish(order, 'REJECTED', this.fields(request, { reasonCode, detail: `Alpaca: ${message}` })),
    );
  }

  private async submitCancel(request: OrderRequest): Promise<void> {
    const order = this.tracker.get(request.orderId);
    if (!order || TERMINAL.has(order.status)) {
      this.refuse(request, order, 'CANCEL_REJECTED');
      return;
    }
    const brokerId = this.current.get(order.orderId) ?? (await this.byClientOrderId(order.orderId))?.id;
    if (!brokerId) {
      this.refuse(request, order, 'CANCEL_REJECTED');
      return;
    }
    order.cancelRequested = true;
    order.requestId = request.requestId;
    const answer = await this.rest.request('DELETE', `/v2/orders/${encodeURIComponent(brokerId)}`);
    // Accepted (204): the stream (or a reconciliation) brings `canceled`, or the fill that won the race.
    if (answer.status < 300) return;
    order.cancelRequested = false;
    const reasonCode = answer.status === 404 ? 'UNKNOWN_ORDER' : 'BROKER_REFUSED';
    this.publish(
      this.tracker.refuse(
        order,
        'CANCEL_REJECTED',
        this.fields(request, { reasonCode, detail: `Alpaca: ${brokerMessage(answer)}` }),
      ),
    );
  }

  private async submitReplace(request: OrderRequest): Promise<void> {
    const order = this.tracker.get(request.orderId);
    const brokerId = order ? this.current.get(order.orderId) : undefined;
    if (!order || TERMINAL.has(order.status) || !brokerId) {
      this.refuse(request, order, 'REPLACE_REJECTED');
      return;
    }
    // The replacing order needs its own client order id: derived from the request, so a retry reuses it.
    const hash = crypto.createHash('sha256').update(request.requestId).digest('base64url').slice(0, 16);
    const clientOrderId = `${order.orderId.slice(0, MAX_CLIENT_ORDER_ID - 17)}~${hash}`;
    this.byClientId.set(clientOrderId, order.orderId);
    this.pendingReplaces.set(order.orderId, { request, clientOrderId });
    const answer = await this.rest.request(
      'PATCH',
      `/v2/orders/${encodeURIComponent(brokerId)}`,
      toAlpacaReplace(request, clientOrderId),
    );
    if (answer.status < 300 && isAlpacaOrder(answer.body)) {
      // REPLACED is reported when the broker confirms (`replaced` on the stream, or a reconciliation).
      this.applySnapshot(answer.body, request);
      return;
    }
    this.pendingReplaces.delete(order.orderId);
    this.publish(
      this.tracker.refuse(
        order,
        'REPLACE_REJECTED',
        this.fields(request, {
          reasonCode: answer.status === 404 ? 'UNKNOWN_ORDER' : 'BROKER_REFUSED',
          detail: `Alpaca: ${brokerMessage(answer)}`,
        }),
      ),
    );
  }

  /** CANCEL_REJECTED or REPLACE_REJECTED for an order that is unknown or already closed. */
  private refuse(
    request: OrderRequest,
    order: TrackedOrder | undefined,
    kind: 'CANCEL_REJECTED' | 'REPLACE_REJECTED',
  ): void {
    if (order) {
      const reasonCode = TERMINAL.has(order.status) ? 'INVALID_TRANSITION' : 'UNKNOWN_ORDER';
      const detail = `order ${order.orderId} is ${order.status}`;
      this.publish(this.tracker.refuse(order, kind, this.fields(request, { reasonCode, detail })));
      return;
    }
    // Never seen: an event of its own (seq 1), not tracked.
    const scratch = new OrderTracker(this.now).open(specFromRequest(request));
    const detail = `no order ${request.orderId} is known to the Alpaca adapter`;
    this.publish(
      new OrderTracker(this.now).refuse(scratch, kind, this.fields(request, { reasonCode: 'UNKNOWN_ORDER', detail })),
    );
  }

  private async byClientOrderId(clientOrderId: string): Promise<AlpacaOrder | undefined> {
    const query = `client_order_id=${encodeURIComponent(clientOrderId)}&nested=true`;
    const answer = await this.rest.request('GET', `/v2/orders:by_client_order_id?${query}`);
    return answer.status === 200 && isAlpacaOrder(answer.body) ? answer.body : undefined;
  }

  // ---- broker orders -> tickflow orders ----

  /** The tickflow order an Alpaca order works, registering it (and its legs) on first sight. */
  private resolve(o: AlpacaOrder): { entry: BrokerOrder; order: TrackedOrder } | undefined {
    let entry = this.byBrokerId.get(o.id);
    if (!entry) {
      const orderId =
        this.byClientId.get(o.client_order_id) ?? (o.replaces ? this.byBrokerId.get(o.replaces)?.orderId : undefined);
      if (orderId === undefined) return undefined;
      entry = { orderId, filled: ZERO, notional: ZERO };
      this.byBrokerId.set(o.id, entry);
      if (o.status !== 'replaced') this.current.set(orderId, o.id);
    }
    const order = this.tracker.get(entry.orderId);
    if (!order) return undefined;
    if (o.legs) this.registerLegs(order, o.legs, o.order_class);
    return { entry, order };
  }

  /**
   * Legs become child orders named as the paper engine names them, with parentOrderId set: a
   * bracket's `<orderId>-tp` (limit) and `<orderId>-sl` (stop); an OCO's stop leg `<orderId>-stop`
   * (Alpaca's OCO primary, the limit leg, is reported as the order itself).
   */
  private registerLegs(parent: TrackedOrder, legs: readonly AlpacaOrder[], orderClass: string): void {
    for (const leg of legs) {
      if (!isAlpacaOrder(leg) || this.byBrokerId.has(leg.id)) continue;
      const takeProfit = leg.type === 'limit';
      const suffix = orderClass === 'oco' ? (takeProfit ? 'limit' : 'stop') : takeProfit ? 'tp' : 'sl';
      const orderId = `${parent.orderId}-${suffix}`;
      let quantity = parent.quantity;
      let limitPrice: Decimal | null = null;
      let stopPrice: Decimal | null = null;
      try {
        if (leg.qty) quantity = brokerDecimal(leg.qty, 'leg qty');
        if (leg.limit_price) limitPrice = brokerDecimal(leg.limit_price, 'leg limit_price');
        if (leg.stop_price) stopPrice = brokerDecimal(leg.stop_price, 'leg stop_price');
      } catch (error) {
        this.malformed(error, leg);
        continue;
      }
      this.tracker.open({
        orderId,
        parentOrderId: parent.orderId,
        account: parent.account,
        instrumentId: parent.instrumentId,
        venue: parent.venue,
        symbol: parent.symbol,
        side: (leg.side === 'buy' ? 'BUY' : 'SELL') as OrderSide,
        type: takeProfit ? 'LIMIT' : leg.type === 'stop_limit' ? 'STOP_LIMIT' : 'STOP',
        timeInForce: parent.timeInForce,
        quantity,
        limitPrice,
        stopPrice,
        reduceOnly: parent.reduceOnly,
        signalId: parent.signalId,
        strategy: parent.strategy,
        requestId: parent.requestId,
      });
      this.byClientId.set(leg.client_order_id, orderId);
      this.byBrokerId.set(leg.id, { orderId, filled: ZERO, notional: ZERO });
      this.current.set(orderId, leg.id);
    }
  }

  /**
   * Fills up to the broker's cumulative `filledQty` with cumulative `notional`, as one fill of the
   * missing quantity at the price that makes the totals agree (exact, rounded half-even to 12
   * places). Its id is the one the stream's fill would have had, so nothing is reported twice.
   */
  private catchUp(
    brokerId: string,
    entry: BrokerOrder,
    order: TrackedOrder,
    filledQty: Decimal,
    notional: Decimal,
    tsEvent: number,
  ): BrokerEvent[] {
    if (!filledQty.gt(entry.filled)) return [];
    const quantity = filledQty.minus(entry.filled);
    const price = quotientHalfEven(notional.minus(entry.notional), quantity, 12);
    entry.filled = filledQty;
    entry.notional = notional;
    this.stats.recoveredFills += 1;
    return this.tracker.fill(order, quantity, price, fillIdOf(brokerId, filledQty), { tsEvent });
  }

  private reasonForCancel(order: TrackedOrder): string {
    if (order.cancelRequested) return 'USER';
    if (order.parentOrderId) return 'OCO';
    if (order.timeInForce === 'IOC' || order.timeInForce === 'FOK') return order.timeInForce;
    return 'BROKER';
  }

  /** One trade_updates message. */
  private applyUpdate(update: AlpacaTradeUpdate): void {
    if (typeof update?.event !== 'string' || !isAlpacaOrder(update.order)) {
      this.malformed(new Error('not a trade update (event and order)'), update);
      return;
    }
    const o = update.order;
    const found = this.resolve(o);
    if (!found) {
      this.stats.unmatched += 1;
      log.debug('an update for an order not placed here', {
        id: o.id,
        clientOrderId: o.client_order_id,
        event: update.event,
      });
      return;
    }
    const { entry, order } = found;
    const tsEvent = isoMicros(update.timestamp) ?? isoMicros(o.updated_at) ?? this.now();
    const out: BrokerEvent[] = [];
    try {
      switch (update.event) {
        case 'new':
        case 'accepted':
        case 'pending_new':
          out.push(...this.tracker.accept(order, { tsEvent }));
          break;
        case 'partial_fill':
        case 'fill':
          out.push(...this.streamFill(update, entry, order, tsEvent));
          break;
        case 'canceled':
        case 'expired':
        case 'rejected':
          out.push(...this.snapshotFills(o, entry, order, tsEvent));
          out.push(...this.closeOrder(o, order, update.event, tsEvent));
          break;
        case 'replaced':
          out.push(...this.snapshotFills(o, entry, order, tsEvent));
          out.push(...this.confirmReplace(order, tsEvent));
          break;
        case 'order_replace_rejected':
          this.pendingReplaces.delete(order.orderId);
          out.push(
            ...this.tracker.refuse(order, 'REPLACE_REJECTED', {
              tsEvent,
              reasonCode: 'BROKER_REFUSED',
              detail: 'Alpaca: order_replace_rejected',
            }),
          );
          break;
        case 'order_cancel_rejected':
          order.cancelRequested = false;
          out.push(
            ...this.tracker.refuse(order, 'CANCEL_REJECTED', {
              tsEvent,
              reasonCode: 'BROKER_REFUSED',
              detail: 'Alpaca: order_cancel_rejected',
            }),
          );
          break;
        default:
          // pending_cancel, pending_replace, done_for_day, stopped, calculated, suspended: no change of our states.
          break;
      }
    } catch (error) {
      this.malformed(error, update);
    }
    this.publish(out);
  }

  private streamFill(
    update: AlpacaTradeUpdate,
    entry: BrokerOrder,
    order: TrackedOrder,
    tsEvent: number,
  ): BrokerEvent[] {
    const o = update.order;
    const cumulative = brokerDecimal(o.filled_qty, 'order.filled_qty');
    const quantity = brokerDecimal(update.qty, 'qty');
    const price = brokerDecimal(update.price, 'price');
    if (!cumulative.gt(entry.filled)) return []; // already reported (by a reconciliation)
    const out: BrokerEvent[] = [];
    const before = cumulative.minus(quantity);
    if (!before.eq(entry.filled)) {
      // Fills were missed (or partly reported by a reconciliation): settle through the order's totals.
      const average = brokerDecimal(o.filled_avg_price, 'order.filled_avg_price');
      if (before.gt(entry.filled)) {
        out.push(
          ...this.catchUp(o.id, entry, order, before, average.times(cumulative).minus(price.times(quantity)), tsEvent),
        );
      } else {
        return this.catchUp(o.id, entry, order, cumulative, average.times(cumulative), tsEvent);
      }
    }
    entry.filled = cumulative;
    entry.notional = entry.notional.plus(price.times(quantity));
    out.push(...this.tracker.fill(order, quantity, price, fillIdOf(o.id, cumulative), { tsEvent }));
    return out;
  }

  private snapshotFills(o: AlpacaOrder, entry: BrokerOrder, order: TrackedOrder, tsEvent: number): BrokerEvent[] {
    const filled = brokerDecimal(o.filled_qty, 'order.filled_qty');
    if (!filled.gt(entry.filled)) return [];
    const average = brokerDecimal(o.filled_avg_price, 'order.filled_avg_price');
    return this.catchUp(o.id, entry, order, filled, average.times(filled), tsEvent);
  }

  private closeOrder(o: AlpacaOrder, order: TrackedOrder, event: string, tsEvent: number): BrokerEvent[] {
    const pending = this.pendingReplaces.get(order.orderId);
    if (event === 'rejected' && pending && o.client_order_id === pending.clientOrderId) {
      // The replacing order was refused: the original keeps working.
      this.pendingReplaces.delete(order.orderId);
      return this.tracker.refuse(order, 'REPLACE_REJECTED', {
        tsEvent,
        reasonCode: 'BROKER_REFUSED',
        detail: 'Alpaca rejected the replacing order',
      });
    }
    if (this.current.get(order.orderId) !== o.id) return []; // a replaced order's end, not ours
    if (event === 'canceled') {
      return this.tracker.finish(order, 'CANCELED', { tsEvent, reasonCode: this.reasonForCancel(order) });
    }
    if (event === 'expired') return this.tracker.finish(order, 'EXPIRED', { tsEvent });
    return this.tracker.finish(order, 'REJECTED', {
      tsEvent,
      reasonCode: 'BROKER_REJECTED',
      detail: 'Alpaca rejected the order',
    });
  }

  private confirmReplace(order: TrackedOrder, tsEvent: number): BrokerEvent[] {
    const pending = this.pendingReplaces.get(order.orderId);
    if (!pending) return [];
    this.pendingReplaces.delete(order.orderId);
    const r = pending.request;
    const terms = {
      quantity: r.quantity,
      limitPrice: r.limitPrice,
      stopPrice: r.stopPrice,
      timeInForce: r.timeInForce,
    };
    return this.tracker.replaced(order, terms, { tsEvent, requestId: r.requestId });
  }

  /** An order object from REST (an answer or a reconciliation): every change it shows that was not reported. */
  private applySnapshot(o: AlpacaOrder, request: OrderRequest | null = null): AlpacaOrder[] {
    const found = this.resolve(o);
    if (!found) return [];
    const { entry, order } = found;
    const tsEvent = isoMicros(o.updated_at) ?? this.now();
    const out: BrokerEvent[] = [];
    const follow: AlpacaOrder[] = [];
    try {
      if (ACTIVE_STATUSES.has(o.status) || o.status === 'filled') {
        out.push(...this.tracker.accept(order, { tsEvent, requestId: request?.requestId ?? null }));
      }
      out.push(...this.snapshotFills(o, entry, order, tsEvent));
      if (o.status === 'canceled' || o.status === 'expired' || o.status === 'rejected') {
        out.push(...this.closeOrder(o, order, o.status, tsEvent));
      }
      if (o.status === 'replaced') out.push(...this.confirmReplace(order, tsEvent));
    } catch (error) {
      this.malformed(error, o);
    }
    this.publish(out);
    for (const leg of o.legs ?? []) follow.push(...this.applySnapshot(leg));
    if (o.status === 'replaced' && o.replaced_by) follow.push(o);
    return follow;
  }

  // ---- reconciliation ----

  /**
   * After a reconnect: every open order, then every order still live here that is no longer open
   * (filled, canceled, expired or replaced while the stream was down), read by REST.
   */
  private reconcile(): Promise<void> {
    this.reconciling ??= this.reconcileOnce()
      .catch((error: unknown) => {
        if (this.stopped) return;
        log.warn('reconciliation failed; retrying', { err: describeError(error) });
        setTimeout(() => {
          if (!this.stopped) void this.reconcile();
        }, this.settings.reconnectMinMs).unref();
      })
      .finally(() => {
        this.reconciling = undefined;
      });
    return this.reconciling;
  }

  private async reconcileOnce(): Promise<void> {
    this.stats.reconciliations += 1;
    const answer = await this.rest.request('GET', '/v2/orders?status=open&nested=true&limit=500');
    const seen = new Set<string>();
    const queue: AlpacaOrder[] = [];
    if (answer.status === 200 && Array.isArray(answer.body)) {
      for (const o of answer.body) {
        if (!isAlpacaOrder(o)) continue;
        seen.add(o.id);
        for (const leg of o.legs ?? []) seen.add(leg.id);
        queue.push(...this.applySnapshot(o));
      }
    } else throw new TickflowError('BAD_RESPONSE', `GET /v2/orders answered HTTP ${answer.status}`);
    for (const order of this.tracker.live()) {
      const id = this.current.get(order.orderId);
      if (id && !seen.has(id)) {
        const one = await this.getOrder(id);
        if (one) queue.push(...this.applySnapshot(one));
      }
    }
    // A replaced order leads to its replacement, which may itself have filled.
    for (let i = 0; i < queue.length && i < 100; i++) {
      const next = queue[i].replaced_by ? await this.getOrder(queue[i].replaced_by as string) : undefined;
      if (next) queue.push(...this.applySnapshot(next));
    }
  }

  private async getOrder(id: string): Promise<AlpacaOrder | undefined> {
    const answer: AlpacaAnswer = await this.rest.request('GET', `/v2/orders/${encodeURIComponent(id)}?nested=true`);
    return answer.status === 200 && isAlpacaOrder(answer.body) ? answer.body : undefined;
  }

  // ---- the trade_updates stream ----

  private connect(): void {
    if (this.stopped) return;
    const ws = new WebSocket(this.options.config.streamUrl, {
      handshakeTimeout: this.settings.authTimeoutMs,
      maxPayload: 4 * 1024 * 1024,
    });
    this.ws = ws;
    let listening = false;
    let alive = true;
    this.authTimer = setTimeout(() => {
      log.warn('the trade_updates stream did not authorize and listen in time; reconnecting');
      ws.terminate();
    }, this.settings.authTimeoutMs);
    ws.on('open', () => {
      const { keyId, secretKey } = this.options.config;
      ws.send(JSON.stringify({ action: 'auth', key: keyId, secret: secretKey }));
    });
    ws.on('pong', () => {
      alive = true;
    });
    ws.on('message', (data: WebSocket.RawData) => {
      let message: { stream?: unknown; data?: unknown; action?: unknown };
      try {
        message = JSON.parse(rawText(data)) as typeof message;
      } catch (error) {
        this.malformed(error, rawText(data).slice(0, 200));
        return;
      }
      const payload = (message.data ?? {}) as Record<string, unknown>;
      if (message.stream === 'authorization') {
        if (payload.status === 'authorized') {
          ws.send(JSON.stringify({ action: 'listen', data: { streams: ['trade_updates'] } }));
        } else {
          this.fatal(
            new TickflowError(
              'CONFIG',
              `Alpaca refused the API key on the trade_updates stream (${String(payload.status)}) at ${this.options.config.streamUrl}`,
              'check ALPACA_API_KEY_ID and ALPACA_API_SECRET_KEY (paper and live keys differ) and ALPACA_STREAM_URL',
            ),
          );
        }
      } else if (message.stream === 'listening') {
        const streams = (payload.streams ?? []) as unknown[];
        if (!listening && streams.includes('trade_updates')) {
          listening = true;
          clearTimeout(this.authTimer);
          this.onListening(ws, () => {
            if (!alive) {
              log.warn('the trade_updates stream stopped answering pings; reconnecting');
              ws.terminate();
              return;
            }
            alive = false;
            ws.ping();
          });
        }
      } else if (message.stream === 'trade_updates') {
        this.applyUpdate(payload as unknown as AlpacaTradeUpdate);
      } else if (message.action === 'error') {
        log.warn('the trade_updates stream reported an error', { error: payload.error_message });
      }
    });
    ws.on('error', (error) => log.debug('trade_updates stream error', { err: error.message }));
    ws.on('close', () => {
      clearTimeout(this.authTimer);
      clearInterval(this.pingTimer);
      if (this.ws !== ws) return;
      if (this.stats.connected) this.stats.disconnects += 1;
      this.stats.connected = false;
      if (this.stopped) return;
      this.attempt += 1;
      const wait = backoffMs(this.attempt, this.settings.reconnectMinMs, this.settings.reconnectMaxMs);
      log.info('trade_updates stream closed; reconnecting', { waitMs: Math.round(wait) });
      this.reconnectTimer = setTimeout(() => this.connect(), wait);
    });
  }

  private onListening(_ws: WebSocket, ping: () => void): void {
    this.stats.connected = true;
    this.stats.connects += 1;
    this.attempt = 0;
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(ping, this.settings.pingMs);
    if (this.stats.connects > 1) void this.reconcile();
    this.started?.resolve();
    this.started = undefined;
  }

  private fatal(error: TickflowError): void {
    log.error('the Alpaca trade_updates stream cannot be used', { err: error.message });
    const started = this.started;
    this.started = undefined;
    void this.close();
    started?.reject(error);
  }

  private malformed(error: unknown, what: unknown): void {
    this.stats.malformed += 1;
    if (this.stats.malformed <= 10) {
      log.warn('an Alpaca message that cannot be read', {
        err: describeError(error),
        what: JSON.stringify(what)?.slice(0, 300),
      });
    }
  }
}

/** A fill's id from the broker's data: the Alpaca order and its cumulative filled quantity after it. */
export function fillIdOf(brokerOrderId: string, cumulative: Decimal): string {
  return `alpaca:${brokerOrderId}:${cumulative.toFixed()}`;
}

function rawText(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
