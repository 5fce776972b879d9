import { Decimal } from '../../schemas/decimal';
import type {
  AuditEvent,
  BookSnapshot,
  Fill,
  OrderEvent,
  OrderRequest,
  Quote,
  Trade,
} from '../../schemas/types.generated';
import type { FailedRecord, InputRecord, OutputRecord, Stage, StageContext, StageResult } from '../runtime/stage';
import type { ExecutionConfig } from './config';
import { EXECUTION_CONFIG, engineConfig } from './config';
import { onBook, onQuote, onRequest, onTrade } from './engine';
import type { EngineOutput, EngineState } from './state';
import { newState } from './state';

/**
 * execution: the paper-trading venue (README.md). Per instrument (store `books`, key instrumentId)
 * it matches orders.requests.v1 against md.quotes.v1 / md.trades.v1 / md.book.v1 in event time and
 * reports every order event to orders.events.v1 (key instrumentId) and execution.reports.v1 (key
 * account), every fill to fills.v1 (key instrumentId), and both to audit.v1 (key account).
 * A record it cannot understand is a dead letter (INVALID_VALUE); nothing throws on bad input.
 */
export { EXECUTION_CONFIG };
export type { ExecutionConfig };

export const REQUESTS_INPUT = 'orders.requests.v1';
export const QUOTES_INPUT = 'md.quotes.v1';
export const TRADES_INPUT = 'md.trades.v1';
export const BOOK_INPUT = 'md.book.v1';
export const EVENTS_OUTPUT = 'orders.events.v1';
export const REPORTS_OUTPUT = 'execution.reports.v1';
export const FILLS_OUTPUT = 'fills.v1';
export const AUDIT_OUTPUT = 'audit.v1';

type Input = OrderRequest | Quote | Trade | BookSnapshot;

const isDecimal = (v: unknown): v is Decimal => Decimal.isDecimal(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const optionalDecimal = (v: unknown): boolean => v === null || (isDecimal(v) && v.isFinite());
const ACTIONS = ['NEW', 'CANCEL', 'REPLACE'];
const SIDES = ['BUY', 'SELL'];
const TYPES = ['MARKET', 'LIMIT', 'STOP', 'STOP_LIMIT', 'TRAILING_STOP', 'BRACKET', 'OCO', 'TWAP', 'VWAP', 'ICEBERG'];
const TIFS = ['DAY', 'GTC', 'IOC', 'FOK'];

/** What makes a record unreadable for the engine (a dead letter), or undefined. */
export function inputProblem(topic: string, v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null) return 'not a record';
  const r = v as Record<string, unknown>;
  if (!isText(r.instrumentId) || typeof r.venue !== 'string' || typeof r.symbol !== 'string')
    return 'instrumentId, venue and symbol are required';
  if (!isTime(r.tsEvent)) return `tsEvent ${String(r.tsEvent)} is not a time in microseconds`;
  switch (topic) {
    case REQUESTS_INPUT: {
      if (!isText(r.requestId) || !isText(r.orderId) || !isText(r.account))
        return 'requestId, orderId and account are required';
      // The state keys JSON records by these ids: a name every object has (`constructor`,
      // `__proto__`, `toString`, ...) would read the prototype instead of an order.
      for (const f of ['requestId', 'orderId'] as const)
        if ((r[f] as string) in Object.prototype) return `${f} ${String(r[f])} is a reserved name`;
      if (!ACTIONS.includes(r.action as string)) return `action ${String(r.action)} is unknown`;
      if (
        !SIDES.includes(r.side as string) ||
        !TYPES.includes(r.type as string) ||
        !TIFS.includes(r.timeInForce as string)
      )
        return 'side, type or timeInForce is unknown';
      if (!isDecimal(r.quantity) || !r.quantity.isFinite()) return 'quantity is not a decimal';
      for (const f of [
        'limitPrice',
        'stopPrice',
        'trailingOffset',
        'takeProfitPrice',
        'stopLossPrice',
        'displayQuantity',
      ])
        if (!optionalDecimal(r[f])) return `${f} is not a decimal`;
      for (const f of ['durationMs', 'sliceIntervalMs'])
        if (r[f] !== null && !(typeof r[f] === 'number' && Number.isSafeInteger(r[f])))
          return `${f} is not a whole number`;
      if (
        r.volumeCurve !== null &&
        !(Array.isArray(r.volumeCurve) && r.volumeCurve.every((w) => typeof w === 'number'))
      )
        return 'volumeCurve is not a list of numbers';
      return undefined;
    }
    case QUOTES_INPUT:
      for (const f of ['bidPrice', 'bidSize', 'askPrice', 'askSize'])
        if (!isDecimal(r[f]) || !(r[f] as Decimal).isFinite()) return `${f} is not a decimal`;
      return undefined;
    case TRADES_INPUT:
      if (!isDecimal(r.price) || !isDecimal(r.size) || !r.price.gt(0) || !r.size.gt(0))
        return 'price and size must be positive decimals';
      return undefined;
    case BOOK_INPUT:
      for (const side of ['bids', 'asks']) {
        const levels = r[side];
        if (!Array.isArray(levels)) return `${side} is not a list`;
        for (const l of levels as unknown[]) {
          const level = l as Record<string, unknown> | null;
          if (!level || !isDecimal(level.price) || !isDecimal(level.size)) return `${side} has a malformed level`;
        }
      }
      return undefined;
    default:
      return `topic ${topic} is not an input of execution`;
  }
}

function orderEventSummary(e: OrderEvent): string {
  const what = `${e.kind} ${e.side} ${e.type} ${e.quantity.toFixed()} ${e.instrumentId} (${e.status})`;
  if (e.fillId) return `${what}: ${e.lastQuantity?.toFixed()} @ ${e.lastPrice?.toFixed()} ${e.liquidity}`;
  return e.reasonCode ? `${what}: ${e.reasonCode}${e.detail ? ` ${e.detail}` : ''}` : what;
}

function outputs(result: EngineOutput, now: number, out: OutputRecord[]): void {
  for (const e of result.events) {
    out.push({ topic: EVENTS_OUTPUT, key: e.instrumentId, value: e });
    out.push({ topic: REPORTS_OUTPUT, key: e.account, value: e });
    const audit: AuditEvent = {
      auditId: e.eventId,
      account: e.account,
      kind: 'ORDER_EVENT',
      refId: e.eventId,
      actor: 'execution',
      instrumentId: e.instrumentId,
      summary: orderEventSummary(e),
      tsEvent: e.tsEvent,
      tsRecorded: now,
    };
    out.push({ topic: AUDIT_OUTPUT, key: e.account, value: audit });
  }
  for (const f of result.fills as Fill[]) {
    out.push({ topic: FILLS_OUTPUT, key: f.instrumentId, value: f });
    const audit: AuditEvent = {
      auditId: `fill:${f.fillId}`,
      account: f.account,
      kind: 'FILL',
      refId: f.fillId,
      actor: 'execution',
      instrumentId: f.instrumentId,
      summary: `${f.side} ${f.quantity.toFixed()} ${f.instrumentId} @ ${f.price.toFixed()} ${f.liquidity} fee ${f.fee}`,
      tsEvent: f.tsEvent,
      tsRecorded: now,
    };
    out.push({ topic: AUDIT_OUTPUT, key: f.account, value: audit });
  }
}

export function executionStage(config: ExecutionConfig): Stage<Input> {
  const cfg = engineConfig(config);
  return {
    name: 'execution',
    inputs: [REQUESTS_INPUT, QUOTES_INPUT, TRADES_INPUT, BOOK_INPUT],
    outputs: [EVENTS_OUTPUT, REPORTS_OUTPUT, FILLS_OUTPUT, AUDIT_OUTPUT],
    stores: ['books'],
    process(batch: readonly InputRecord<Input>[], ctx: StageContext): StageResult {
      const store = ctx.store<EngineState>('books');
      const now = ctx.clock.nowMicros();
      const out: OutputRecord[] = [];
      const failed: FailedRecord[] = [];
      const touched = new Map<string, EngineState>();
      for (const input of batch) {
        const problem = inputProblem(input.topic, input.value);
        if (problem) {
          failed.push({ input, code: 'INVALID_VALUE', message: problem });
          continue;
        }
        const v = input.value;
        let state = touched.get(v.instrumentId) ?? store.get(v.instrumentId);
        if (!state) state = newState({ instrumentId: v.instrumentId, venue: v.venue, symbol: v.symbol });
        touched.set(v.instrumentId, state);
        let result: EngineOutput;
        switch (input.topic) {
          case REQUESTS_INPUT:
            result = onRequest(state, v as OrderRequest, cfg, now);
            break;
          case QUOTES_INPUT:
            result = onQuote(state, v as Quote, cfg, now);
            break;
          case TRADES_INPUT:
            result = onTrade(state, v as Trade, cfg, now);
            break;
          default:
            result = onBook(state, v as BookSnapshot, cfg, now);
        }
        outputs(result, now, out);
      }
      for (const [key, state] of touched) store.put(key, state);
      return { out, failed };
    },
  };
}
