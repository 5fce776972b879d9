import { Decimal } from '../../schemas/decimal';
import type { BookSnapshot, OrderRequest, OrderStatus, Quote, Trade } from '../../schemas/types.generated';
import type { EngineConfig } from './config';
import { algoPlan, curveProblem, nextAlgoTime, slicesOf } from './algos';
import { limitOf, stopHit, takeOrRest, trail, tradeAgainstResting, watchedPrice } from './matching';
import {
  arrivalMicros,
  dayExpiryMicros,
  feeOf,
  onTick,
  slippageOf,
  slippedPrice,
  tickOf,
  windowVolume,
} from './models';
import type { Behaviour, Order, ReasonCode } from './orders';
import {
  canTransition,
  dec,
  decOrNull,
  fillRecord,
  leaves,
  newOrder,
  orderEvent,
  requestEvent,
  str,
  strOrNull,
} from './orders';
import type { Ctx, EngineOutput, EngineState, PendingRequest, StoredRequest } from './state';
import { MAX_VOLUME_ENTRIES, bestOf, remember, toLevels } from './state';

/**
 * The paper venue of one instrument: a pure function of its state (mutated in place) and one input.
 * Requests are queued until the venue's event time reaches their arrival (request time + latency),
 * except cancels and requests the venue's clock has already passed (onRequest);
 * every market event first lets everything due up to its time happen (arrivals, algo slices, DAY
 * expiries, in time order), against the market as it was, and is then applied. All decisions use
 * event time; `nowMicros` only stamps tsProcessed.
 */

function context(state: EngineState, cfg: EngineConfig, now: number): Ctx {
  const out: EngineOutput = { events: [], fills: [] };
  const ids = { instrumentId: state.instrumentId, venue: state.venue, symbol: state.symbol };
  const ctx: Ctx = {
    s: state,
    cfg,
    now,
    out,
    tick: tickOf(state.instrumentId),
    ids,
    fill: (order, quantity, touch, liquidity, t) => applyFill(ctx, order, quantity, touch, liquidity, t),
    cancel: (order, reason, t, detail) => terminate(ctx, order, 'CANCELED', reason, t, detail),
  };
  return ctx;
}

const MAX_FILL_NOTIONAL = new Decimal('1e24');

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Queues a request for its arrival at the venue; a repeated requestId is ignored (idempotent). */
export function onRequest(state: EngineState, req: OrderRequest, cfg: EngineConfig, nowMicros: number): EngineOutput {
  const ctx = context(state, cfg, nowMicros);
  if (req.requestId in state.requestIds) return ctx.out;
  state.requestHead = remember(
    state.requestIds,
    state.requestRing,
    state.requestHead,
    cfg.recentRequestIds,
    req.requestId,
    1,
  );
  const arrival = arrivalMicros(cfg, req.tsEvent, req.orderId, req.requestId);
  if (req.action === 'NEW' && req.volumeCurve !== null && req.volumeCurve.length > MAX_VOLUME_CURVE_ENTRIES) {
    // Rejected on receipt: a request in flight is stored, and a curve of a million weights is not.
    const detail = `volumeCurve has ${req.volumeCurve.length} entries; at most ${MAX_VOLUME_CURVE_ENTRIES}`;
    const working = state.orders[req.orderId];
    if (working) rejectHeld(ctx, working, req, 'REJECTED', 'INVALID_ORDER', detail, arrival);
    else rejectUnheld(ctx, req, 'REJECTED', 'INVALID_ORDER', detail, arrival, 'REJECTED');
    return ctx.out;
  }
  if (state.pending.length >= cfg.maxRequestsInFlight) {
    // Requests in flight are bounded too: with no market data to reach their arrival, they pile up.
    const kind = req.action === 'NEW' ? 'REJECTED' : req.action === 'CANCEL' ? 'CANCEL_REJECTED' : 'REPLACE_REJECTED';
    const detail = `${state.pending.length} requests are in flight on ${state.instrumentId}`;
    const working = state.orders[req.orderId];
    if (working) rejectHeld(ctx, working, req, kind, 'TOO_MANY_ORDERS', detail, arrival);
    else rejectUnheld(ctx, req, kind, 'TOO_MANY_ORDERS', detail, arrival, req.action === 'NEW' ? 'REJECTED' : null);
    return ctx.out;
  }
  state.counter += 1;
  const pending: PendingRequest = {
    arrival,
    n: state.counter,
    req: storeRequest(req),
  };
  // Two requests do not wait for market data. A CANCEL acts when processed: a venue needs no market
  // update to cancel, and a kill switch must not wait for a quiet instrument to trade. It does not
  // move the venue's clock (requests of other orders still arrive in their own time order), so the
  // outcome does not depend on how requests of different accounts interleave. And a request whose
  // arrival the clock has already passed (the market data ran ahead: a replay, a slow hop) arrives
  // now, at the clock, against the market in force: time cannot run back.
  if (req.action === 'CANCEL') {
    cancelNow(ctx, req, Math.max(arrival, state.clock));
    return ctx.out;
  }
  const late = arrival <= state.clock;
  if (late) pending.arrival = state.clock;
  state.pending.push(pending);
  // Arrival order; requests arriving at the same microsecond by account, then receipt (an account's
  // requests come from one risk partition, in its order). Not receipt alone: requests of accounts on
  // different risk partitions interleave differently from run to run, and the venue's answer must
  // not depend on that.
  state.pending.sort((a, b) => a.arrival - b.arrival || compareIds(a.req.account, b.req.account) || a.n - b.n);
  if (late) advance(ctx, state.clock);
  return ctx.out;
}

export function onQuote(state: EngineState, q: Quote, cfg: EngineConfig, nowMicros: number): EngineOutput {
  const bids = toLevels([{ price: q.bidPrice, size: q.bidSize }]);
  const asks = toLevels([{ price: q.askPrice, size: q.askSize }]);
  return onMarket(state, q.tsEvent, bids, asks, cfg, nowMicros);
}

export function onBook(state: EngineState, b: BookSnapshot, cfg: EngineConfig, nowMicros: number): EngineOutput {
  return onMarket(state, b.tsEvent, toLevels(b.bids), toLevels(b.asks), cfg, nowMicros);
}

/** A fresh market: it replaces the last one, resets consumed liquidity and serves waiting takers. */
function onMarket(
  state: EngineState,
  ts: number,
  bids: [string, string][],
  asks: [string, string][],
  cfg: EngineConfig,
  now: number,
): EngineOutput {
  const ctx = context(state, cfg, now);
  advance(ctx, ts);
  state.market = { ts, bids, asks };
  state.consumed = { bids: {}, asks: {} };
  state.clock = Math.max(state.clock, ts);
  if (!state.tradesSeen) checkStops(ctx, null, ts);
  for (const order of byPriority(state))
    if (order.awaiting && order.orderId in state.orders) takeOrRest(ctx, order, ts);
  return ctx.out;
}

export function onTrade(state: EngineState, t: Trade, cfg: EngineConfig, nowMicros: number): EngineOutput {
  const ctx = context(state, cfg, nowMicros);
  advance(ctx, t.tsEvent);
  state.clock = Math.max(state.clock, t.tsEvent);
  state.tradesSeen = true;
  state.lastTrade = str(t.price);
  if (cfg.slippageModel === 'sqrtImpact') recordVolume(state, t, cfg.impactWindowMicros);
  tradeAgainstResting(ctx, t.price, t.size, t.side, t.tsEvent);
  checkStops(ctx, t.price, t.tsEvent);
  return ctx.out;
}

/**
 * The impact model's traded volume, in 1-second buckets [bucket start, summed size] (kept only for
 * sqrtImpact): at most window / 1 s + 1 entries, and never more than MAX_VOLUME_ENTRIES.
 */
function recordVolume(state: EngineState, t: Trade, windowMicros: number): void {
  const bucket = Math.floor(t.tsEvent / 1_000_000) * 1_000_000;
  const last = state.volume[state.volume.length - 1];
  if (last && last[0] === bucket) last[1] = str(dec(last[1]).add(t.size));
  else state.volume.push([bucket, str(t.size)]);
  const from = t.tsEvent - windowMicros - 1_000_000;
  let drop = 0;
  while (
    drop < state.volume.length &&
    (state.volume[drop][0] < from || state.volume.length - drop > MAX_VOLUME_ENTRIES)
  )
    drop++;
  if (drop > 0) state.volume.splice(0, drop);
}

/**
 * Lets the venue's time run to `t`: request arrivals, algo slices and DAY expiries due at or
 * before `t`, earliest first (ties: arrivals, then slices, then expiries, then order priority).
 */
export function advance(ctx: Ctx, t: number): void {
  const s = ctx.s;
  for (;;) {
    let best: { time: number; rank: number; priority: number; run: () => void } | null = null;
    const consider = (time: number, rank: number, priority: number, run: () => void): void => {
      if (time > t) return;
      if (
        !best ||
        time < best.time ||
        (time === best.time && (rank < best.rank || (rank === best.rank && priority < best.priority)))
      )
        best = { time, rank, priority, run };
    };
    const first = s.pending[0];
    if (first) consider(first.arrival, 0, first.n, () => arrive(ctx, s.pending.shift() as PendingRequest));
    for (const order of Object.values(s.orders)) {
      const plan = order.algo;
      const next = plan ? nextAlgoTime(plan) : null;
      if (next !== null) consider(next, 1, order.priority, () => algoStep(ctx, order, next));
      const expiry = order.expireAt;
      if (expiry !== null) consider(expiry, 2, order.priority, () => expire(ctx, order, expiry));
    }
    if (best === null) return;
    (best as { run: () => void }).run();
  }
}

function byPriority(state: EngineState): Order[] {
  return Object.values(state.orders).sort((a, b) => a.priority - b.priority);
}

function emit(
  ctx: Ctx,
  order: Order,
  status: OrderStatus,
  t: number,
  kind: Parameters<typeof orderEvent>[3]['kind'],
  more: Omit<Parameters<typeof orderEvent>[3], 'kind'> = {},
): void {
  ctx.out.events.push(orderEvent(ctx.ids, order, status, { kind, ...more }, t + ctx.cfg.reportMicros, ctx.now));
}

// ---- requests ----

/** Most weights a VWAP volumeCurve may have (it is stretched onto at most maxSlices slices). */
export const MAX_VOLUME_CURVE_ENTRIES = 10_000;

function storeRequest(req: OrderRequest): StoredRequest {
  return {
    ...req,
    quantity: str(req.quantity),
    limitPrice: strOrNull(req.limitPrice),
    stopPrice: strOrNull(req.stopPrice),
    trailingOffset: strOrNull(req.trailingOffset),
    takeProfitPrice: strOrNull(req.takeProfitPrice),
    stopLossPrice: strOrNull(req.stopLossPrice),
    displayQuantity: strOrNull(req.displayQuantity),
    // Only a new VWAP reads its curve; nothing else keeps one in the state.
    volumeCurve: req.volumeCurve === null || req.action !== 'NEW' || req.type !== 'VWAP' ? null : [...req.volumeCurve],
  };
}

function loadRequest(r: StoredRequest): OrderRequest {
  return {
    ...r,
    quantity: dec(r.quantity),
    limitPrice: decOrNull(r.limitPrice),
    stopPrice: decOrNull(r.stopPrice),
    trailingOffset: decOrNull(r.trailingOffset),
    takeProfitPrice: decOrNull(r.takeProfitPrice),
    stopLossPrice: decOrNull(r.stopLossPrice),
    displayQuantity: decOrNull(r.displayQuantity),
  };
}

function arrive(ctx: Ctx, pending: PendingRequest): void {
  const req = loadRequest(pending.req);
  const t = pending.arrival;
  if (req.action === 'NEW') placeNew(ctx, req, t);
  else if (req.action === 'CANCEL') cancelRequest(ctx, req, t);
  else replaceRequest(ctx, req, t);
}

/** An event about an order id the engine holds no working order for; remembers the id. */
function rejectUnheld(
  ctx: Ctx,
  req: OrderRequest,
  kind: 'REJECTED' | 'CANCEL_REJECTED' | 'REPLACE_REJECTED',
  reason: ReasonCode,
  detail: string,
  t: number,
  becomes: OrderStatus | null,
): void {
  const s = ctx.s;
  const recent = s.recent[req.orderId] ?? { status: null, seq: 0 };
  const seq = recent.seq + 1;
  const status = recent.status ?? becomes;
  ctx.out.events.push(
    requestEvent(ctx.ids, req, seq, kind, status ?? 'REJECTED', reason, detail, t + ctx.cfg.reportMicros, ctx.now),
  );
  s.recentHead = remember(s.recent, s.recentRing, s.recentHead, ctx.cfg.recentOrders, req.orderId, {
    status,
    seq,
  });
}

/** Rejects a request about a working order without changing it (the event keeps its status). */
function rejectHeld(
  ctx: Ctx,
  order: Order,
  req: OrderRequest,
  kind: 'REJECTED' | 'CANCEL_REJECTED' | 'REPLACE_REJECTED',
  reason: ReasonCode,
  detail: string,
  t: number,
): void {
  emit(ctx, order, order.status, t, kind, { reasonCode: reason, detail, requestId: req.requestId });
}

const positive = (d: Decimal | null): boolean => d !== null && d.gt(0);

/** What makes a NEW request unacceptable (INVALID_ORDER), or undefined. */
function newOrderProblem(ctx: Ctx, req: OrderRequest): string | undefined {
  if (!req.quantity.gt(0)) return `quantity ${req.quantity.toFixed()} is not positive`;
  const needs = (field: keyof OrderRequest, value: Decimal | null): string | undefined =>
    positive(value) ? undefined : `${req.type} needs a positive ${String(field)}`;
  const immediate = ['MARKET', 'LIMIT', 'BRACKET'].includes(req.type);
  if ((req.timeInForce === 'IOC' || req.timeInForce === 'FOK') && !immediate)
    return `${req.timeInForce} applies to MARKET, LIMIT and BRACKET orders, not ${req.type}`;
  let problem: string | undefined;
  switch (req.type) {
    case 'MARKET':
      break;
    case 'LIMIT':
      problem = needs('limitPrice', req.limitPrice);
      break;
    case 'STOP':
      problem = needs('stopPrice', req.stopPrice);
      break;
    case 'STOP_LIMIT':
      problem = needs('stopPrice', req.stopPrice) ?? needs('limitPrice', req.limitPrice);
      break;
    case 'TRAILING_STOP':
      problem = needs('trailingOffset', req.trailingOffset);
      break;
    case 'BRACKET': {
      problem = needs('takeProfitPrice', req.takeProfitPrice) ?? needs('stopLossPrice', req.stopLossPrice);
      if (!problem && req.limitPrice !== null && !req.limitPrice.gt(0)) problem = 'BRACKET limitPrice is not positive';
      const tp = req.takeProfitPrice as Decimal;
      const sl = req.stopLossPrice as Decimal;
      if (!problem && (req.side === 'BUY' ? !tp.gt(sl) : !tp.lt(sl)))
        problem = `a ${req.side} bracket needs takeProfitPrice ${req.side === 'BUY' ? 'above' : 'below'} stopLossPrice`;
      break;
    }
    case 'OCO': {
      problem = needs('limitPrice', req.limitPrice) ?? needs('stopPrice', req.stopPrice);
      const limit = req.limitPrice as Decimal;
      const stop = req.stopPrice as Decimal;
      if (!problem && (req.side === 'BUY' ? !limit.lt(stop) : !limit.gt(stop)))
        problem = `a ${req.side} OCO needs limitPrice ${req.side === 'BUY' ? 'below' : 'above'} stopPrice`;
      break;
    }
    case 'TWAP':
    case 'VWAP': {
      if (
        !(req.durationMs !== null && req.durationMs > 0) ||
        !(req.sliceIntervalMs !== null && req.sliceIntervalMs > 0)
      )
        problem = `${req.type} needs positive durationMs and sliceIntervalMs`;
      else if (slicesOf(req.durationMs, req.sliceIntervalMs) > ctx.cfg.maxSlices)
        problem = `${req.type} would have more than ${ctx.cfg.maxSlices} slices`;
      else if (req.type === 'VWAP' && req.volumeCurve !== null) problem = curveProblem(req.volumeCurve);
      if (!problem && req.limitPrice !== null && !req.limitPrice.gt(0))
        problem = `${req.type} limitPrice is not positive`;
      break;
    }
    case 'ICEBERG':
      problem = needs('limitPrice', req.limitPrice) ?? needs('displayQuantity', req.displayQuantity);
      if (!problem && (req.displayQuantity as Decimal).gt(req.quantity))
        problem = 'ICEBERG displayQuantity is above quantity';
      break;
  }
  if (problem) return problem;
  for (const [name, price] of [
    ['limitPrice', req.limitPrice],
    ['stopPrice', req.stopPrice],
    ['takeProfitPrice', req.takeProfitPrice],
    ['stopLossPrice', req.stopLossPrice],
    ['trailingOffset', req.trailingOffset],
  ] as const) {
    if (price !== null && !onTick(price, ctx.tick))
      return `${name} ${price.toFixed()} is not a multiple of the tick ${ctx.tick?.toFixed()}`;
  }
  return undefined;
}

const BEHAVIOUR: Record<OrderRequest['type'], Behaviour | null> = {
  MARKET: 'MARKET',
  LIMIT: 'LIMIT',
  STOP: 'STOP',
  STOP_LIMIT: 'STOP_LIMIT',
  TRAILING_STOP: 'TRAILING_STOP',
  BRACKET: null,
  OCO: 'OCO',
  TWAP: 'ALGO',
  VWAP: 'ALGO',
  ICEBERG: 'ICEBERG',
};

function placeNew(ctx: Ctx, req: OrderRequest, t: number): void {
  const s = ctx.s;
  const working = s.orders[req.orderId];
  if (working) return rejectHeld(ctx, working, req, 'REJECTED', 'DUPLICATE_ORDER_ID', 'the order id is in use', t);
  if (s.recent[req.orderId]?.status)
    return rejectUnheld(ctx, req, 'REJECTED', 'DUPLICATE_ORDER_ID', 'the order id was used before', t, null);
  const problem = newOrderProblem(ctx, req);
  if (problem) return rejectUnheld(ctx, req, 'REJECTED', 'INVALID_ORDER', problem, t, 'REJECTED');
  if (Object.keys(s.orders).length >= ctx.cfg.maxWorkingOrders)
    return rejectUnheld(
      ctx,
      req,
      'REJECTED',
      'TOO_MANY_ORDERS',
      `${ctx.cfg.maxWorkingOrders} orders are working on ${s.instrumentId}`,
      t,
      'REJECTED',
    );
  s.counter += 1;
  const behaviour = BEHAVIOUR[req.type] ?? (req.limitPrice !== null ? 'LIMIT' : 'MARKET');
  const order = newOrder(req, s.counter, { behaviour });
  const earlier = s.recent[req.orderId];
  if (earlier) order.seq = earlier.seq; // earlier rejections of requests naming this id keep their seqs
  if (req.timeInForce === 'DAY') order.expireAt = dayExpiryMicros(s.instrumentId, t);
  if (behaviour === 'ALGO') {
    const curve = req.type === 'VWAP' ? (req.volumeCurve ?? ctx.cfg.defaultVwapCurve) : null;
    order.algo = algoPlan(t, req.quantity, req.durationMs as number, req.sliceIntervalMs as number, curve);
  }
  s.orders[order.orderId] = order;
  emit(ctx, order, 'ACCEPTED', t, 'ACCEPTED');
  activate(ctx, order, t);
}

/** Starts an accepted order working at `t`. */
function activate(ctx: Ctx, order: Order, t: number): void {
  switch (order.behaviour) {
    case 'MARKET':
    case 'LIMIT':
    case 'ICEBERG':
      return takeOrRest(ctx, order, t);
    case 'STOP':
    case 'STOP_LIMIT': {
      const price = watchedPrice(ctx, order.side, null);
      if (price && order.stopPrice !== null && stopHit(order.side, dec(order.stopPrice), price)) trigger(ctx, order, t);
      return;
    }
    case 'TRAILING_STOP': {
      const price = watchedPrice(ctx, order.side, null);
      if (price) trail(order, price);
      return;
    }
    case 'OCO': {
      const legs: Array<[string, Behaviour, 'LIMIT' | 'STOP']> = [
        [`${order.orderId}-limit`, 'LIMIT', 'LIMIT'],
        [`${order.orderId}-stop`, 'STOP', 'STOP'],
      ];
      const children = legs.map(([id, behaviour, type]) =>
        spawn(ctx, order, id, type, behaviour, order.side, dec(order.quantity), {
          limitPrice: behaviour === 'LIMIT' ? order.limitPrice : null,
          stopPrice: behaviour === 'STOP' ? order.stopPrice : null,
          timeInForce: order.timeInForce,
          expireAt: order.expireAt,
        }),
      );
      children[0].ocoWith = children[1].orderId;
      children[1].ocoWith = children[0].orderId;
      for (const child of children) {
        emit(ctx, child, 'ACCEPTED', t, 'ACCEPTED');
        if (child.orderId in ctx.s.orders) activate(ctx, child, t);
      }
      return;
    }
    case 'ALGO':
      return; // the first slice is due at once: advance() releases it
  }
}

/** A child order (OCO leg, bracket child, algo slice), working at once. */
function spawn(
  ctx: Ctx,
  parent: Order,
  orderId: string,
  type: 'LIMIT' | 'STOP' | 'MARKET',
  behaviour: Behaviour,
  side: Order['side'],
  quantity: Decimal,
  more: Partial<Order>,
): Order {
  ctx.s.counter += 1;
  const child: Order = {
    ...newOrder(
      {
        requestId: parent.requestId ?? '',
        action: 'NEW',
        orderId,
        account: parent.account,
        instrumentId: ctx.s.instrumentId,
        venue: ctx.s.venue,
        symbol: ctx.s.symbol,
        side,
        type,
        timeInForce: (more.timeInForce as Order['timeInForce']) ?? parent.timeInForce,
        quantity,
        limitPrice: null,
        stopPrice: null,
        trailingOffset: null,
        takeProfitPrice: null,
        stopLossPrice: null,
        displayQuantity: null,
        durationMs: null,
        sliceIntervalMs: null,
        volumeCurve: null,
        reduceOnly: parent.reduceOnly,
        signalId: parent.signalId,
        strategy: parent.strategy,
        reason: null,
        tsEvent: 0,
        tsCreated: 0,
      },
      ctx.s.counter,
      { behaviour, parentOrderId: parent.orderId },
    ),
    ...more,
  };
  ctx.s.orders[orderId] = child;
  parent.children.push(orderId);
  return child;
}

function trigger(ctx: Ctx, order: Order, t: number): void {
  order.triggered = true;
  order.behaviour = order.behaviour === 'STOP_LIMIT' ? 'STOP_LIMIT' : 'MARKET';
  emit(ctx, order, 'TRIGGERED', t, 'TRIGGERED');
  takeOrRest(ctx, order, t);
}

/** Stops and trailing stops against a print (or, with `tradePrice` null, the touch of quote-only instruments). */
function checkStops(ctx: Ctx, tradePrice: Decimal | null, t: number): void {
  for (const order of byPriority(ctx.s)) {
    if (order.triggered || !(order.orderId in ctx.s.orders)) continue;
    if (order.behaviour !== 'STOP' && order.behaviour !== 'STOP_LIMIT' && order.behaviour !== 'TRAILING_STOP') continue;
    const price = watchedPrice(ctx, order.side, tradePrice);
    if (!price) continue;
    const hit =
      order.behaviour === 'TRAILING_STOP'
        ? trail(order, price)
        : order.stopPrice !== null && stopHit(order.side, dec(order.stopPrice), price);
    if (hit) trigger(ctx, order, t);
  }
}

function cancelRequest(ctx: Ctx, req: OrderRequest, t: number): void {
  const order = ctx.s.orders[req.orderId];
  if (!order) return rejectMissing(ctx, req, 'CANCEL_REJECTED', t);
  if (order.account !== req.account)
    return rejectHeld(ctx, order, req, 'CANCEL_REJECTED', 'UNKNOWN_ORDER', 'no such order for this account', t);
  if (!canTransition(order.status, 'CANCELED'))
    return rejectHeld(ctx, order, req, 'CANCEL_REJECTED', 'INVALID_TRANSITION', `order is ${order.status}`, t);
  terminate(ctx, order, 'CANCELED', 'USER', t, req.reason ?? 'canceled on request', req.requestId);
}

/**
 * A CANCEL at `t`: of a working order as any cancel; of an order whose NEW is still on its way to the
 * venue (waiting for its arrival), that NEW is withdrawn and the order ends CANCELED without having
 * been accepted.
 */
function cancelNow(ctx: Ctx, req: OrderRequest, t: number): void {
  const s = ctx.s;
  const waiting = s.pending.findIndex((p) => p.req.orderId === req.orderId && p.req.action === 'NEW');
  if (s.orders[req.orderId] || waiting < 0) return cancelRequest(ctx, req, t);
  const entry = loadRequest(s.pending[waiting].req);
  if (entry.account !== req.account) return rejectMissing(ctx, req, 'CANCEL_REJECTED', t);
  s.pending.splice(waiting, 1);
  ctx.out.events.push(
    requestEvent(
      ctx.ids,
      { ...entry, requestId: req.requestId },
      1,
      'CANCELED',
      'CANCELED',
      'USER',
      req.reason ?? 'canceled before it reached the venue',
      t + ctx.cfg.reportMicros,
      ctx.now,
    ),
  );
  s.recentHead = remember(s.recent, s.recentRing, s.recentHead, ctx.cfg.recentOrders, req.orderId, {
    status: 'CANCELED',
    seq: 1,
  });
}

/** A CANCEL or REPLACE for an order not working: finished (INVALID_TRANSITION) or never seen (UNKNOWN_ORDER). */
function rejectMissing(ctx: Ctx, req: OrderRequest, kind: 'CANCEL_REJECTED' | 'REPLACE_REJECTED', t: number): void {
  const recent = ctx.s.recent[req.orderId];
  if (recent?.status)
    return rejectUnheld(ctx, req, kind, 'INVALID_TRANSITION', `order is ${recent.status}`, t, recent.status);
  rejectUnheld(ctx, req, kind, 'UNKNOWN_ORDER', 'no such order', t, null);
}

const REPLACEABLE: ReadonlySet<Behaviour> = new Set(['LIMIT', 'ICEBERG', 'STOP', 'STOP_LIMIT', 'TRAILING_STOP']);

function replaceRequest(ctx: Ctx, req: OrderRequest, t: number): void {
  const order = ctx.s.orders[req.orderId];
  if (!order) return rejectMissing(ctx, req, 'REPLACE_REJECTED', t);
  const reject = (reason: ReasonCode, detail: string): void =>
    rejectHeld(ctx, order, req, 'REPLACE_REJECTED', reason, detail, t);
  if (order.account !== req.account) return reject('UNKNOWN_ORDER', 'no such order for this account');
  if (!REPLACEABLE.has(order.behaviour) || order.children.length > 0 || order.parentOrderId !== null)
    return reject('INVALID_TRANSITION', `a working ${order.type} (${order.behaviour}) order cannot be replaced`);
  if (!req.quantity.gt(order.filled))
    return reject('INVALID_ORDER', `new quantity ${req.quantity.toFixed()} is not above the filled ${order.filled}`);
  const limit = order.limitPrice !== null ? (req.limitPrice ?? dec(order.limitPrice)) : null;
  const stop = order.stopPrice !== null && !order.triggered ? (req.stopPrice ?? dec(order.stopPrice)) : null;
  const offset = order.trailingOffset !== null ? (req.trailingOffset ?? dec(order.trailingOffset)) : null;
  for (const [name, price] of [
    ['limitPrice', limit],
    ['stopPrice', stop],
    ['trailingOffset', offset],
  ] as const) {
    if (price !== null && !price.gt(0)) return reject('INVALID_ORDER', `${name} is not positive`);
    if (price !== null && !onTick(price, ctx.tick))
      return reject('INVALID_ORDER', `${name} ${price.toFixed()} is not a multiple of the tick`);
  }
  if (order.display !== null && dec(order.display).gt(req.quantity))
    return reject('INVALID_ORDER', 'ICEBERG displayQuantity would be above quantity');
  const priceChanged =
    (limit !== null && !limit.eq(order.limitPrice as string)) || (stop !== null && !stop.eq(order.stopPrice as string));
  const losesQueue = priceChanged || req.quantity.gt(order.quantity);
  order.quantity = str(req.quantity);
  if (limit !== null) order.limitPrice = str(limit);
  if (stop !== null) order.stopPrice = str(stop);
  if (offset !== null) order.trailingOffset = str(offset);
  if (order.sliceLeft !== null) order.sliceLeft = str(Decimal.min(dec(order.sliceLeft), leaves(order)));
  order.requestId = req.requestId;
  emit(ctx, order, order.status, t, 'REPLACED', {
    detail: losesQueue ? 'loses queue position' : 'keeps queue position',
  });
  if (order.ahead !== null && losesQueue) {
    order.ahead = null;
    order.sliceLeft = null;
    takeOrRest(ctx, order, t);
  } else if (!order.triggered && (order.behaviour === 'STOP' || order.behaviour === 'STOP_LIMIT')) {
    activate(ctx, order, t);
  }
}

// ---- fills and endings ----

function applyFill(
  ctx: Ctx,
  order: Order,
  quantity: Decimal,
  touch: Decimal,
  liquidity: 'MAKER' | 'TAKER',
  t: number,
): void {
  const s = ctx.s;
  let price = touch;
  let slip = new Decimal(0);
  if (liquidity === 'TAKER') {
    slip = slippageOf(ctx.cfg, {
      side: order.side,
      price: touch,
      quantity,
      bid: bestOf(s.market, 'bids'),
      ask: bestOf(s.market, 'asks'),
      windowVolume: windowVolume(s.volume, t - ctx.cfg.impactWindowMicros),
      tick: ctx.tick,
    });
    price = slippedPrice(order.side, touch, slip, limitOf(order));
    slip = price.sub(touch).abs();
  }
  const fee = feeOf(ctx.cfg, quantity, price, liquidity === 'MAKER');
  // What a fill adds must stay encodable (decimal(38, 12): 26 integer digits) in the order's average
  // price, the fill, the fee and risk's cash: an order whose fills would be worth 1e24 or more is
  // canceled rather than filled, so a hostile size or price cannot make every later market update of
  // the instrument fail to encode (a stuck partition).
  const worth = quantity.mul(price);
  const notional = dec(order.notional).add(worth);
  // The parent stays while its child fills (finish below removes only the child).
  const parent = order.parentOrderId !== null ? s.orders[order.parentOrderId] : undefined;
  if (
    notional.gte(MAX_FILL_NOTIONAL) ||
    fee.abs().gte(MAX_FILL_NOTIONAL) ||
    (parent !== undefined && dec(parent.notional).add(worth).gte(MAX_FILL_NOTIONAL))
  ) {
    terminate(
      ctx,
      order,
      'CANCELED',
      'INVALID_ORDER',
      t,
      `its fills would be worth ${MAX_FILL_NOTIONAL.toExponential()} or more`,
    );
    return;
  }
  order.fills += 1;
  const fill = { fillId: `${order.orderId}:f${order.fills}`, quantity, price, fee, liquidity };
  order.filled = str(dec(order.filled).add(quantity));
  order.notional = str(notional);
  const done = leaves(order).lte(0);
  emit(ctx, order, done ? 'FILLED' : 'PARTIALLY_FILLED', t, done ? 'FILLED' : 'PARTIALLY_FILLED', { fill });
  ctx.out.fills.push(fillRecord(ctx.ids, order, fill, slip, t + ctx.cfg.reportMicros, ctx.now));
  // The filled order leaves first (quietly: its parent is settled below), then its parent, then
  // an OCO partner loses as much as this leg filled.
  if (done) finish(ctx, order, t, true);
  if (parent && (parent.behaviour === 'OCO' || parent.behaviour === 'ALGO')) {
    parent.filled = str(dec(parent.filled).add(quantity));
    parent.notional = str(dec(parent.notional).add(worth));
    const parentDone = leaves(parent).lte(0);
    emit(ctx, parent, parentDone ? 'FILLED' : 'PARTIALLY_FILLED', t, parentDone ? 'FILLED' : 'PARTIALLY_FILLED');
    if (parentDone) {
      endChildren(ctx, parent, 'CANCELED', parent.behaviour === 'OCO' ? 'OCO' : 'PARENT', t);
      finish(ctx, parent, t);
    }
  }
  const partner = order.ocoWith !== null ? s.orders[order.ocoWith] : undefined;
  if (partner) {
    partner.quantity = str(Decimal.max(dec(partner.quantity).sub(quantity), partner.filled));
    if (partner.sliceLeft !== null) partner.sliceLeft = str(Decimal.min(dec(partner.sliceLeft), leaves(partner)));
    if (leaves(partner).lte(0)) terminate(ctx, partner, 'CANCELED', 'OCO', t, `${order.orderId} filled`);
    else emit(ctx, partner, partner.status, t, 'REPLACED', { reasonCode: 'OCO', detail: `${order.orderId} filled` });
  }
}

/** Ends a working order (CANCELED or EXPIRED) with its children first. */
function terminate(
  ctx: Ctx,
  order: Order,
  status: 'CANCELED' | 'EXPIRED',
  reason: ReasonCode,
  t: number,
  detail: string,
  requestId?: string,
): void {
  if (!(order.orderId in ctx.s.orders)) return;
  endChildren(ctx, order, status, 'PARENT', t);
  if (!(order.orderId in ctx.s.orders)) return; // closed by its last child
  emit(ctx, order, status, t, status, {
    reasonCode: reason,
    detail,
    ...(requestId !== undefined ? { requestId } : {}),
  });
  finish(ctx, order, t);
}

function endChildren(ctx: Ctx, parent: Order, status: 'CANCELED' | 'EXPIRED', reason: ReasonCode, t: number): void {
  if (parent.behaviour !== 'OCO' && parent.behaviour !== 'ALGO') return;
  for (const id of parent.children) {
    const child = ctx.s.orders[id];
    if (child) {
      emit(ctx, child, status, t, status, { reasonCode: reason, detail: `parent ${parent.orderId} ended` });
      finish(ctx, child, t, true);
    }
  }
}

/**
 * An order reached a terminal status: it leaves the working set (remembered in the bounded recent
 * ring), a BRACKET entry with fills starts its take-profit/stop-loss pair, and an OCO parent whose
 * legs have all ended ends too.
 */
function finish(ctx: Ctx, order: Order, t: number, quiet = false): void {
  const s = ctx.s;
  delete s.orders[order.orderId];
  s.recentHead = remember(s.recent, s.recentRing, s.recentHead, ctx.cfg.recentOrders, order.orderId, {
    status: order.status,
    seq: order.seq,
  });
  if (order.type === 'BRACKET' && order.parentOrderId === null && dec(order.filled).gt(0)) startBracket(ctx, order, t);
  const parent = !quiet && order.parentOrderId !== null ? s.orders[order.parentOrderId] : undefined;
  if (parent?.behaviour === 'OCO' && parent.children.every((id) => !(id in s.orders))) {
    const status = order.status === 'EXPIRED' ? 'EXPIRED' : 'CANCELED';
    emit(ctx, parent, status, t, status, { reasonCode: 'OCO', detail: 'both legs ended' });
    finish(ctx, parent, t);
  }
}

/** BRACKET: the filled entry's exit pair, opposite side, for the filled quantity, one canceling the other. */
function startBracket(ctx: Ctx, entry: Order, t: number): void {
  const side = entry.side === 'BUY' ? 'SELL' : 'BUY';
  const tif = entry.timeInForce === 'DAY' ? 'DAY' : 'GTC';
  const more = { timeInForce: tif as Order['timeInForce'], expireAt: tif === 'DAY' ? entry.expireAt : null };
  const qty = dec(entry.filled);
  const tp = spawn(ctx, entry, `${entry.orderId}-tp`, 'LIMIT', 'LIMIT', side, qty, {
    ...more,
    limitPrice: entry.takeProfitPrice,
  });
  const sl = spawn(ctx, entry, `${entry.orderId}-sl`, 'STOP', 'STOP', side, qty, {
    ...more,
    stopPrice: entry.stopLossPrice,
  });
  tp.ocoWith = sl.orderId;
  sl.ocoWith = tp.orderId;
  emit(ctx, tp, 'ACCEPTED', t, 'ACCEPTED');
  emit(ctx, sl, 'ACCEPTED', t, 'ACCEPTED');
  activate(ctx, tp, t);
  if (sl.orderId in ctx.s.orders) activate(ctx, sl, t);
}

function expire(ctx: Ctx, order: Order, t: number): void {
  if (order.orderId in ctx.s.orders) terminate(ctx, order, 'EXPIRED', 'DAY', t, 'end of the trading day');
}

/** TWAP/VWAP: release the next slice (the previous one's remainder rolls in), or at the end expire the rest. */
function algoStep(ctx: Ctx, parent: Order, t: number): void {
  const plan = parent.algo;
  if (!plan) return;
  if (plan.next === plan.slices) {
    plan.next += 1;
    terminate(ctx, parent, 'EXPIRED', 'ALGO_END', t, `horizon ended with ${leaves(parent).toFixed()} unfilled`);
    return;
  }
  const i = plan.next;
  plan.next += 1;
  for (const id of parent.children) {
    const child = ctx.s.orders[id];
    if (child) {
      emit(ctx, child, 'CANCELED', t, 'CANCELED', { reasonCode: 'ALGO_ROLL', detail: 'the next slice takes over' });
      finish(ctx, child, t, true);
    }
  }
  const want = dec(plan.targets[i]).sub(parent.filled);
  if (want.lte(0)) return;
  parent.childCount += 1;
  const capped = parent.limitPrice !== null;
  const child = spawn(
    ctx,
    parent,
    `${parent.orderId}-s${parent.childCount}`,
    capped ? 'LIMIT' : 'MARKET',
    capped ? 'LIMIT' : 'MARKET',
    parent.side,
    want,
    { limitPrice: parent.limitPrice, timeInForce: 'IOC' },
  );
  parent.children = parent.children.filter((id) => id in ctx.s.orders);
  emit(ctx, child, 'ACCEPTED', t, 'ACCEPTED');
  takeOrRest(ctx, child, t);
}
