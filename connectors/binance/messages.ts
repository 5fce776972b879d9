import type { BookSnapshot, PriceLevel, RawRecord, Trade } from '../../schemas/types.generated';
import { Decimal } from '../../schemas/decimal';
import { RecordError } from '../../pipelines/runtime/stage';
import type { Canonical, LineFormat } from '../registry';
import { decimal } from '../tardis/formats';

/**
 * Binance spot market streams, as documented (https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams):
 * pure parsers and the local order book. Instrument ids are `BINANCE:<SYMBOL>`.
 *
 * - Trade stream `<symbol>@trade`: `{"e":"trade","E":ms,"s":"BTCUSDT","t":id,"p":"price","q":"qty","T":ms,"m":buyerIsMaker}`.
 *   `m` true means the buyer was the maker, so the aggressor sold. Trade ids are consecutive per
 *   symbol, so they are the record's sequence (normalize reports gaps).
 * - Diff depth stream `<symbol>@depth@100ms`: `{"e":"depthUpdate","E":ms,"s":..,"U":first,"u":final,"b":[[p,q]],"a":[[p,q]]}`;
 *   a quantity of 0 removes the level. A local book starts from a REST snapshot
 *   (`GET /api/v3/depth?symbol=..&limit=..` -> `{"lastUpdateId":..,"bids":..,"asks":..}`): drop buffered
 *   events with `u` <= lastUpdateId; the first applied one must have `U` <= lastUpdateId + 1 <= `u`;
 *   every later one must have `U` = previous `u` + 1, or the book is out of sync and is rebuilt.
 *
 * Raw records on md.raw.binance.v1 (`source` binance-ws): trade frames verbatim (format
 * `binance-trade`); the connector's book after each applied update as `binance-book`
 * (`{"symbol","E","lastUpdateId","bids","asks"}`, top levels, decimal strings; it is the connector's
 * reconstruction, not a vendor frame); and a heartbeat per symbol each second (`binance-heartbeat`:
 * `{"symbol","E"}`, the feed's clock).
 */
export const VENUE = 'BINANCE';

type Json = Record<string, unknown>;

function object(payload: string): Json {
  try {
    const value = JSON.parse(payload) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
  } catch {
    /* reported below */
  }
  throw new RecordError('PARSE_ERROR', `not a JSON object: '${payload.slice(0, 120)}'`);
}

function field<T>(o: Json, name: string, check: (v: unknown) => v is T, what: string): T {
  const value = o[name];
  if (!check(value)) throw new RecordError('PARSE_ERROR', `'${name}' must be ${what}, found ${JSON.stringify(value)}`);
  return value;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v !== '';
const isInteger = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isLevels = (v: unknown): v is [string, string][] => Array.isArray(v) && v.every((l) => Array.isArray(l) && l.length >= 2 && typeof l[0] === 'string' && typeof l[1] === 'string');

export function parseTrade(raw: RawRecord): Canonical {
  const o = object(raw.payload);
  if (o.e !== 'trade') throw new RecordError('PARSE_ERROR', `'e' must be trade, found ${JSON.stringify(o.e)}`);
  const symbol = field(o, 's', isString, 'the symbol');
  const id = field(o, 't', isInteger, 'the trade id');
  const trade: Trade = {
    instrumentId: `${VENUE}:${symbol}`,
    venue: VENUE,
    symbol,
    source: raw.source,
    tsEvent: field(o, 'T', isInteger, 'the trade time in ms') * 1000,
    tsRecv: raw.tsRecv,
    price: decimal(field(o, 'p', isString, 'a decimal string'), 'p'),
    size: decimal(field(o, 'q', isString, 'a decimal string'), 'q'),
    side: field(o, 'm', isBoolean, 'true or false') ? 'SELL' : 'BUY',
    tradeId: String(id),
  };
  return { kind: 'trade', value: trade, sequence: id };
}

export function parseBook(raw: RawRecord): Canonical {
  const o = object(raw.payload);
  const symbol = field(o, 'symbol', isString, 'the symbol');
  const levels = (name: string): PriceLevel[] => field(o, name, isLevels, 'a list of [price, quantity] strings').map(([p, q], i) => ({ price: decimal(p, `${name}[${i}] price`), size: decimal(q, `${name}[${i}] quantity`) }));
  const lastUpdateId = field(o, 'lastUpdateId', isInteger, 'the last update id');
  // The book's identity is its last update id; no gap check on it (update ids advance by ranges, and
  // the connector already rebuilds the book on a gap), so the Canonical carries no sequence.
  const book: BookSnapshot = { instrumentId: `${VENUE}:${symbol}`, venue: VENUE, symbol, source: raw.source, tsEvent: field(o, 'E', isInteger, 'the event time in ms') * 1000, tsRecv: raw.tsRecv, bids: levels('bids'), asks: levels('asks'), sequence: lastUpdateId };
  return { kind: 'book', value: book };
}

export function parseHeartbeat(raw: RawRecord): Canonical {
  const o = object(raw.payload);
  const symbol = field(o, 'symbol', isString, 'the symbol');
  const ts = field(o, 'E', isInteger, 'the feed time in ms') * 1000;
  return { kind: 'heartbeat', value: { instrumentId: `${VENUE}:${symbol}`, venue: VENUE, symbol, source: raw.source, tsEvent: ts, tsRecv: raw.tsRecv } };
}

function jsonFormat(name: string, description: string, parse: (raw: RawRecord) => Canonical, symbolField: string, timeField: string): LineFormat {
  return {
    name,
    description,
    header: null,
    locate(line) {
      try {
        const o = JSON.parse(line) as Json;
        const ts = Number(o[timeField]) * 1000;
        return { key: typeof o[symbolField] === 'string' ? `${VENUE}:${o[symbolField] as string}` : null, tsEvent: ts, tsRecv: ts };
      } catch {
        return { key: null, tsEvent: Number.NaN, tsRecv: Number.NaN };
      }
    },
    parse,
  };
}

export const binanceTrade = jsonFormat('binance-trade', 'Binance <symbol>@trade frames, verbatim', parseTrade, 's', 'T');
export const binanceBook = jsonFormat('binance-book', "the Binance connector's local book after an update: symbol, E, lastUpdateId, bids, asks", parseBook, 'symbol', 'E');
export const binanceHeartbeat = jsonFormat('binance-heartbeat', 'the Binance connector heartbeat per symbol: symbol, E', parseHeartbeat, 'symbol', 'E');

/** A local order book: price text -> quantity text per side, and the last update id applied. */
export interface LocalBook {
  readonly lastUpdateId: number;
  readonly bids: ReadonlyMap<string, string>;
  readonly asks: ReadonlyMap<string, string>;
}

export interface DepthUpdate {
  readonly E: number;
  readonly s: string;
  readonly U: number;
  readonly u: number;
  readonly b: readonly [string, string][];
  readonly a: readonly [string, string][];
}

export function bookFromSnapshot(snapshot: { lastUpdateId: number; bids: [string, string][]; asks: [string, string][] }): LocalBook {
  const side = (levels: [string, string][]): Map<string, string> => new Map(levels.filter(([, q]) => !new Decimal(q).isZero()).map(([p, q]) => [new Decimal(p).toFixed(), q]));
  return { lastUpdateId: snapshot.lastUpdateId, bids: side(snapshot.bids), asks: side(snapshot.asks) };
}

/**
 * Applies one diff. `first`: the first update after the snapshot (checked against it; older ones
 * are `stale` and skipped). A break in the update ids is a `gap`: the book must be rebuilt.
 */
export function applyDepth(book: LocalBook, update: DepthUpdate, first: boolean): { kind: 'applied'; book: LocalBook } | { kind: 'stale' } | { kind: 'gap'; expected: number; got: number } {
  if (update.u <= book.lastUpdateId) return { kind: 'stale' };
  const expected = book.lastUpdateId + 1;
  const inSequence = first ? update.U <= expected && expected <= update.u : update.U === expected;
  if (!inSequence) return { kind: 'gap', expected, got: update.U };
  const apply = (side: ReadonlyMap<string, string>, levels: readonly [string, string][]): Map<string, string> => {
    const next = new Map(side);
    for (const [p, q] of levels) {
      // Keys are canonical decimal text, so "100.10" and "100.1" are one level.
      const price = new Decimal(p).toFixed();
      if (new Decimal(q).isZero()) next.delete(price);
      else next.set(price, q);
    }
    return next;
  };
  return { kind: 'applied', book: { lastUpdateId: update.u, bids: apply(book.bids, update.b), asks: apply(book.asks, update.a) } };
}

/** The best `depth` levels per side: bids high to low, asks low to high. */
export function topOf(book: LocalBook, depth: number): { bids: [string, string][]; asks: [string, string][] } {
  const sorted = (side: ReadonlyMap<string, string>, descending: boolean): [string, string][] =>
    [...side.entries()]
      .map(([p, q]) => [new Decimal(p), p, q] as const)
      .sort((x, y) => (descending ? y[0].comparedTo(x[0]) : x[0].comparedTo(y[0])))
      .slice(0, depth)
      .map(([, p, q]) => [p, q]);
  return { bids: sorted(book.bids, true), asks: sorted(book.asks, false) };
}
