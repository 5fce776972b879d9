import { Decimal } from '../../schemas/decimal';
import type { BookSnapshot, Fill, OrderEvent, OrderRequest, Quote, Trade } from '../../schemas/types.generated';
import { parseConfig } from '../runtime/config';
import type { StageResult } from '../runtime/stage';
import { StageDriver, fixedClock } from '../runtime/test-driver';
import { EXECUTION_CONFIG, executionStage } from './execution';
import type { EngineState } from './state';

/**
 * Test fixtures for the execution stage: scripted quotes, trades, books and requests on a 24/7
 * instrument (SYN:A, tick 0.01) from T0, with times in milliseconds after T0.
 */
export const T0 = Date.UTC(2024, 0, 3, 14) * 1000;
export const MS = 1000;
export const ID = 'SYN:A';

export type Input = OrderRequest | Quote | Trade | BookSnapshot;

const base = (instrumentId: string, ms: number) => {
  const [venue, symbol] = instrumentId.split(':');
  return { instrumentId, venue, symbol, source: 'test', tsEvent: T0 + ms * MS, tsRecv: T0 + ms * MS };
};

export function quote(ms: number, bid: string, bidSize: string, ask: string, askSize: string, id = ID): Quote {
  return {
    ...base(id, ms),
    bidPrice: new Decimal(bid),
    bidSize: new Decimal(bidSize),
    askPrice: new Decimal(ask),
    askSize: new Decimal(askSize),
    sequence: null,
  };
}

export function trade(ms: number, price: string, size: string, side: Trade['side'] = 'UNKNOWN', id = ID): Trade {
  return { ...base(id, ms), price: new Decimal(price), size: new Decimal(size), side, tradeId: `t${ms}` };
}

const levels = (ls: [string, string][]) => ls.map(([p, s]) => ({ price: new Decimal(p), size: new Decimal(s) }));

export function book(ms: number, bids: [string, string][], asks: [string, string][], id = ID): BookSnapshot {
  return { ...base(id, ms), bids: levels(bids), asks: levels(asks), sequence: null };
}

export interface RequestSpec {
  qty?: string;
  limit?: string;
  stop?: string;
  trail?: string;
  tp?: string;
  sl?: string;
  display?: string;
  durationMs?: number;
  sliceMs?: number;
  curve?: number[];
  account?: string;
  requestId?: string;
  id?: string;
}

const dOrNull = (s: string | undefined): Decimal | null => (s === undefined ? null : new Decimal(s));

export function request(
  action: OrderRequest['action'],
  orderId: string,
  ms: number,
  type: OrderRequest['type'],
  side: OrderRequest['side'],
  tif: OrderRequest['timeInForce'],
  spec: RequestSpec = {},
): OrderRequest {
  const id = spec.id ?? ID;
  const [venue, symbol] = id.split(':');
  return {
    requestId: spec.requestId ?? `${orderId}:${action}:${ms}`,
    action,
    orderId,
    account: spec.account ?? 'acct-1',
    instrumentId: id,
    venue,
    symbol,
    side,
    type,
    timeInForce: tif,
    quantity: new Decimal(spec.qty ?? '1'),
    limitPrice: dOrNull(spec.limit),
    stopPrice: dOrNull(spec.stop),
    trailingOffset: dOrNull(spec.trail),
    takeProfitPrice: dOrNull(spec.tp),
    stopLossPrice: dOrNull(spec.sl),
    displayQuantity: dOrNull(spec.display),
    durationMs: spec.durationMs ?? null,
    sliceIntervalMs: spec.sliceMs ?? null,
    volumeCurve: spec.curve ?? null,
    reduceOnly: false,
    signalId: null,
    strategy: 'test',
    reason: null,
    tsEvent: T0 + ms * MS,
    tsCreated: T0 + ms * MS,
  };
}

export const order = (
  orderId: string,
  ms: number,
  type: OrderRequest['type'],
  side: OrderRequest['side'],
  tif: OrderRequest['timeInForce'],
  spec: RequestSpec = {},
): OrderRequest => request('NEW', orderId, ms, type, side, tif, spec);

export const cancel = (orderId: string, ms: number, spec: RequestSpec = {}): OrderRequest =>
  request('CANCEL', orderId, ms, 'LIMIT', 'BUY', 'GTC', spec);

export function topicOf(v: Input): string {
  if ('requestId' in v) return 'orders.requests.v1';
  if ('bidPrice' in v) return 'md.quotes.v1';
  if ('tradeId' in v) return 'md.trades.v1';
  return 'md.book.v1';
}

export interface Run {
  result: StageResult;
  events: OrderEvent[];
  fills: Fill[];
  state(id?: string): EngineState;
}

export const NOW = T0 + 3_600_000_000;

/** Runs the stage over `inputs` with settings (default: 5 ms to the venue, 1 ms back, no jitter). */
export function run(inputs: Input[], settings: Record<string, string> = {}, batchSize = 500): Run {
  const driver = new StageDriver<Input>(executionStage(parseConfig('execution', EXECUTION_CONFIG, settings)), {
    topicOf,
    key: (v) => v.instrumentId,
    batchSize,
    clock: fixedClock(NOW),
  });
  const result = driver.run(inputs);
  return {
    result,
    events: result.out.filter((o) => o.topic === 'orders.events.v1').map((o) => o.value as OrderEvent),
    fills: result.out.filter((o) => o.topic === 'fills.v1').map((o) => o.value as Fill),
    state: (id = ID) => driver.snapshot('books')[id] as EngineState,
  };
}

/** [orderId, quantity, price, liquidity, ms after T0] per fill. */
export const fillsOf = (r: Run): (string | number)[][] =>
  r.fills.map((f) => [f.orderId, f.quantity.toFixed(), f.price.toFixed(), f.liquidity, (f.tsEvent - T0) / MS]);

/** [orderId, kind, status, reasonCode] per event. */
export const eventsOf = (r: Run): (string | null)[][] =>
  r.events.map((e) => [e.orderId, e.kind, e.status, e.reasonCode]);
