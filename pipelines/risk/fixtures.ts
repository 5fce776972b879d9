import { Decimal } from '../../schemas/decimal';
import type { Mark, OrderEvent, RiskCommand, Signal } from '../../schemas/types.generated';
import { StageDriver, fixedClock } from '../runtime/test-driver';
import type { RiskRules } from './risk-config';
import { parseRiskConfig } from './risk-config';
import { COMMANDS_INPUT, REPORTS_INPUT, SIGNALS_INPUT, createRiskStage } from './risk';

/** Test fixtures of the risk stage (used by the tests beside it; not part of the stage). */

/** Wednesday 2024-01-03 14:00 UTC. */
export const T = Date.UTC(2024, 0, 3, 14) * 1000;
export const S = 1_000_000;

/** Every limit off: tests switch on the one they exercise. */
export const OPEN_DEFAULTS = {
  lotSize: '1',
  startingCash: '100000',
  margin: true,
  breakerAction: 'HALTED',
  sizingMethod: 'fixed-fraction',
  sizingFraction: '0.1',
  clampToLimits: false,
};

export function rulesOf(defaults: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): RiskRules {
  return parseRiskConfig({
    strictAccounts: true,
    defaults: { ...OPEN_DEFAULTS, ...defaults },
    accounts: { 'paper-1': {}, 'paper-2': {} },
    ...extra,
  });
}

const signalAccounts = new WeakMap<object, string>();

export function signal(overrides: Partial<Signal> = {}, account = 'paper-1'): Signal {
  const tsEvent = overrides.tsEvent ?? T;
  const s: Signal = {
    id: `s:${overrides.instrumentId ?? 'SYN:A'}:${tsEvent}:${overrides.side ?? 'BUY'}`,
    strategy: 'test',
    instrumentId: 'SYN:A',
    venue: 'SYN',
    symbol: 'A',
    source: 'test',
    interval: '1m',
    side: 'BUY',
    confidence: 1,
    reason: 'test',
    price: new Decimal('100'),
    barStart: tsEvent - 60 * S,
    barRevision: 0,
    tsEvent,
    tsRecv: tsEvent,
    features: {},
    status: 'ACCEPTED',
    rejectCode: null,
    rejectDetail: null,
    tsValidated: tsEvent,
    ...overrides,
  };
  signalAccounts.set(s, account);
  return s;
}

let seq = 0;

/** A fill report (FILLED unless `partial`). */
export function fill(
  side: 'BUY' | 'SELL',
  quantity: string,
  price: string,
  options: { instrumentId?: string; fee?: string; tsEvent?: number; account?: string; orderId?: string } = {},
): OrderEvent {
  seq += 1;
  const orderId = options.orderId ?? `o${seq}`;
  const instrumentId = options.instrumentId ?? 'SYN:A';
  const [venue, symbol] = instrumentId.split(':');
  return {
    eventId: `${orderId}:${seq}`,
    seq,
    orderId,
    parentOrderId: null,
    requestId: null,
    account: options.account ?? 'paper-1',
    instrumentId,
    venue,
    symbol,
    side,
    type: 'MARKET',
    timeInForce: 'DAY',
    kind: 'FILLED',
    status: 'FILLED',
    quantity: new Decimal(quantity),
    filledQuantity: new Decimal(quantity),
    leavesQuantity: new Decimal(0),
    avgFillPrice: new Decimal(price),
    limitPrice: null,
    stopPrice: null,
    lastQuantity: new Decimal(quantity),
    lastPrice: new Decimal(price),
    fee: new Decimal(options.fee ?? '0'),
    liquidity: 'TAKER',
    fillId: `f${seq}`,
    reduceOnly: false,
    reasonCode: null,
    detail: null,
    signalId: null,
    strategy: null,
    tsEvent: options.tsEvent ?? T,
    tsProcessed: options.tsEvent ?? T,
  };
}

/** An order state change without a fill (ACCEPTED by default). */
export function orderEvent(orderId: string, overrides: Partial<OrderEvent> = {}): OrderEvent {
  const base = fill('BUY', '1', '100', { orderId });
  return {
    ...base,
    kind: 'ACCEPTED',
    status: 'ACCEPTED',
    filledQuantity: new Decimal(0),
    leavesQuantity: new Decimal(1),
    lastQuantity: null,
    lastPrice: null,
    fee: null,
    fillId: null,
    ...overrides,
  };
}

export function command(
  action: 'HALT' | 'RESUME',
  account: string | null,
  options: { flatten?: boolean; id?: string; tsIssued?: number; instrumentId?: string } = {},
): RiskCommand {
  return {
    commandId:
      options.id ??
      `${action}-${account ?? 'all'}${options.instrumentId ? `-${options.instrumentId}` : ''}-${options.tsIssued ?? T}`,
    action,
    account,
    instrumentId: options.instrumentId ?? null,
    flatten: options.flatten ?? false,
    reason: 'test',
    actor: 'ops@test',
    tsIssued: options.tsIssued ?? T,
  };
}

export function mark(instrumentId: string, price: string, returns: number[] = [], end = T): Mark {
  return {
    instrumentId,
    price: new Decimal(price),
    bid: null,
    ask: null,
    lastTrade: new Decimal(price),
    returnIntervalMs: 60_000,
    returnsEnd: end,
    returns,
    tsEvent: end,
    tsProcessed: end,
  };
}

type Input = Signal | OrderEvent | RiskCommand;

export function topicOf(v: Input): string {
  if ('commandId' in v) return COMMANDS_INPUT;
  if ('eventId' in v) return REPORTS_INPUT;
  return SIGNALS_INPUT;
}

function keyOf(v: Input): string | null {
  if ('commandId' in v) return v.account ?? '*';
  if ('eventId' in v) return v.account;
  return signalAccounts.get(v) ?? 'paper-1';
}

export function driver(rules: RiskRules, batchSize = 500): StageDriver<Input> {
  return new StageDriver(createRiskStage(rules) as never, {
    topicOf,
    key: keyOf,
    clock: fixedClock(T + 5 * S),
    batchSize,
  });
}

/** Deterministic pseudo-random numbers (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
