import { Decimal, decimalFitProblem, decimalTextProblem } from '../../schemas/decimal';
import type { OrderRequest, OrderType } from '../../schemas/types.generated';

/**
 * Alpaca Trading API v2 wire formats and the pure mapping between them and tickflow's orders.
 * Formats: https://docs.alpaca.markets/reference/postorder (order request and object),
 * https://docs.alpaca.markets/docs/websocket-streaming (trade_updates). Decimals travel as strings.
 */

/** The body of POST /v2/orders. */
export interface AlpacaOrderRequest {
  symbol: string;
  qty: string;
  side: 'buy' | 'sell';
  type: 'market' | 'limit' | 'stop' | 'stop_limit' | 'trailing_stop';
  time_in_force: 'day' | 'gtc' | 'ioc' | 'fok';
  client_order_id: string;
  limit_price?: string;
  stop_price?: string;
  trail_price?: string;
  order_class?: 'simple' | 'bracket' | 'oco';
  take_profit?: { limit_price: string };
  stop_loss?: { stop_price: string };
}

/** The body of PATCH /v2/orders/{order_id}: each field present overrides the order's. */
export interface AlpacaReplaceRequest {
  qty: string;
  time_in_force: AlpacaOrderRequest['time_in_force'];
  limit_price?: string;
  stop_price?: string;
  trail?: string;
  client_order_id: string;
}

/** The order object (REST answers and `order` of trade_updates); only the fields the adapter reads. */
export interface AlpacaOrder {
  id: string;
  client_order_id: string;
  symbol: string;
  qty: string | null;
  filled_qty: string;
  filled_avg_price: string | null;
  order_class: string;
  type: string;
  side: string;
  time_in_force: string;
  limit_price: string | null;
  stop_price: string | null;
  status: string;
  replaced_by: string | null;
  replaces: string | null;
  legs: AlpacaOrder[] | null;
  updated_at?: string | null;
  created_at?: string | null;
}

/** `data` of a message on the trade_updates stream. */
export interface AlpacaTradeUpdate {
  event: string;
  order: AlpacaOrder;
  execution_id?: string;
  price?: string;
  qty?: string;
  position_qty?: string;
  timestamp?: string;
}

/** tickflow order types Alpaca has no order type for: the execution stage's algorithms and icebergs. */
export const UNSUPPORTED_TYPES: ReadonlySet<OrderType> = new Set<OrderType>(['TWAP', 'VWAP', 'ICEBERG']);

/** Alpaca's documented limit on client_order_id (<= 48 characters in the v2 order reference). */
export const MAX_CLIENT_ORDER_ID = 48;

/** Why `request` cannot become an Alpaca order, or undefined: [reasonCode, detail]. */
export function requestProblem(request: OrderRequest): [string, string] | undefined {
  if (UNSUPPORTED_TYPES.has(request.type)) {
    return [
      'UNSUPPORTED_ORDER_TYPE',
      `Alpaca has no ${request.type} orders (market, limit, stop, stop_limit, trailing_stop, bracket, oco only)`,
    ];
  }
  if (request.orderId.length > MAX_CLIENT_ORDER_ID) {
    return [
      'INVALID_ORDER',
      `orderId is ${request.orderId.length} characters; Alpaca's client_order_id takes at most ${MAX_CLIENT_ORDER_ID}`,
    ];
  }
  if (!request.quantity.gt(0)) return ['INVALID_ORDER', `quantity ${request.quantity.toFixed()} is not positive`];
  const need = (value: Decimal | null, field: string): [string, string] | undefined =>
    value === null ? ['INVALID_ORDER', `a ${request.type} order needs ${field}`] : undefined;
  switch (request.type) {
    case 'LIMIT':
      return need(request.limitPrice, 'limitPrice');
    case 'STOP':
      return need(request.stopPrice, 'stopPrice');
    case 'STOP_LIMIT':
      return need(request.limitPrice, 'limitPrice') ?? need(request.stopPrice, 'stopPrice');
    case 'TRAILING_STOP':
      return need(request.trailingOffset, 'trailingOffset');
    case 'BRACKET':
      return need(request.takeProfitPrice, 'takeProfitPrice') ?? need(request.stopLossPrice, 'stopLossPrice');
    case 'OCO':
      return (
        need(request.limitPrice, 'limitPrice (the take-profit leg)') ??
        need(request.stopPrice, 'stopPrice (the stop leg)')
      );
    default:
      return undefined;
  }
}

/** A decimal as Alpaca takes it: plain notation, never an exponent. */
export const wire = (value: Decimal): string => value.toFixed();

const SIDES = { BUY: 'buy', SELL: 'sell' } as const;
const TIFS = { DAY: 'day', GTC: 'gtc', IOC: 'ioc', FOK: 'fok' } as const;

/**
 * The POST /v2/orders body for a NEW request (checked with `requestProblem` first):
 * - MARKET, LIMIT, STOP, STOP_LIMIT map to the same `type`; TRAILING_STOP to `trailing_stop` with
 *   `trail_price` = trailingOffset (a distance in price units, as ours);
 * - BRACKET: `order_class: bracket`, entry `limit` when limitPrice is set else `market`,
 *   `take_profit.limit_price` = takeProfitPrice, `stop_loss.stop_price` = stopLossPrice;
 * - OCO: `order_class: oco`, `type: limit`, `take_profit.limit_price` = limitPrice,
 *   `stop_loss.stop_price` = stopPrice;
 * - client_order_id is our orderId, so a retried POST cannot make a second order.
 */
export function toAlpacaOrder(request: OrderRequest): AlpacaOrderRequest {
  const body: AlpacaOrderRequest = {
    symbol: request.symbol,
    qty: wire(request.quantity),
    side: SIDES[request.side],
    type: 'market',
    time_in_force: TIFS[request.timeInForce],
    client_order_id: request.orderId,
  };
  const limit = request.limitPrice ? wire(request.limitPrice) : undefined;
  const stop = request.stopPrice ? wire(request.stopPrice) : undefined;
  switch (request.type) {
    case 'MARKET':
      break;
    case 'LIMIT':
      Object.assign(body, { type: 'limit', limit_price: limit });
      break;
    case 'STOP':
      Object.assign(body, { type: 'stop', stop_price: stop });
      break;
    case 'STOP_LIMIT':
      Object.assign(body, { type: 'stop_limit', limit_price: limit, stop_price: stop });
      break;
    case 'TRAILING_STOP':
      Object.assign(body, { type: 'trailing_stop', trail_price: wire(request.trailingOffset as Decimal) });
      break;
    case 'BRACKET':
      Object.assign(body, limit ? { type: 'limit', limit_price: limit } : { type: 'market' }, {
        order_class: 'bracket',
        take_profit: { limit_price: wire(request.takeProfitPrice as Decimal) },
        stop_loss: { stop_price: wire(request.stopLossPrice as Decimal) },
      });
      break;
    case 'OCO':
      Object.assign(body, {
        type: 'limit',
        order_class: 'oco',
        take_profit: { limit_price: limit },
        stop_loss: { stop_price: stop },
      });
      break;
    default:
      throw new Error(`no Alpaca order type for ${request.type}`);
  }
  return body;
}

/** The PATCH body for a REPLACE request; `clientOrderId` names the replacing order. */
export function toAlpacaReplace(request: OrderRequest, clientOrderId: string): AlpacaReplaceRequest {
  const body: AlpacaReplaceRequest = {
    qty: wire(request.quantity),
    time_in_force: TIFS[request.timeInForce],
    client_order_id: clientOrderId,
  };
  if (request.limitPrice) body.limit_price = wire(request.limitPrice);
  if (request.stopPrice) body.stop_price = wire(request.stopPrice);
  if (request.trailingOffset) body.trail = wire(request.trailingOffset);
  return body;
}

/** A decimal string from Alpaca as an exact Decimal that fits decimal(38, 12), or an Error saying why not. */
export function brokerDecimal(text: unknown, field: string): Decimal {
  if (typeof text !== 'string') throw new Error(`${field} is ${JSON.stringify(text)}, not a decimal string`);
  const problem = decimalTextProblem(text, 38, 12);
  if (problem) throw new Error(`${field} '${text.slice(0, 40)}' ${problem}`);
  const value = new Decimal(text);
  const fit = decimalFitProblem(value, 38, 12, field);
  if (fit) throw new Error(fit);
  return value;
}

const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 time with up to nanoseconds (Alpaca's) as microseconds UTC, or undefined. */
export function isoMicros(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = ISO.exec(text);
  if (!m) return undefined;
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (!Number.isFinite(seconds)) return undefined;
  const micros = Number((m[2] ?? '').padEnd(6, '0').slice(0, 6));
  return seconds * 1000 + micros;
}

/** True when `value` has the fields of an order object the adapter relies on. */
export function isAlpacaOrder(value: unknown): value is AlpacaOrder {
  const o = value as Record<string, unknown> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.id === 'string' &&
    typeof o.client_order_id === 'string' &&
    typeof o.status === 'string' &&
    typeof o.filled_qty === 'string'
  );
}
