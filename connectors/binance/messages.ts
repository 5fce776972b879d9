import type { BookSnapshot, PriceLevel, RawRecord, Trade } from '../../schemas/types.generated';
import type { Decimal } from '../../schemas/decimal';
import { MAX_DECIMAL_TEXT_LENGTH, boundedText } from '../../schemas/decimal';
import type { Canonical, LineFormat } from '../formats';
import { MAX_SEQUENCE, MAX_SYMBOL_LENGTH, decimal, identifier, jsonObject, shown } from '../tardis/formats';
import { checkedMicros, checkedMillis, pacingMicros } from '../time';
import { TickflowError } from '../../pipelines/runtime/errors';

/**
 * Binance spot market streams, as documented (https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams):
 * pure parsers and the local order book. Instrument ids are `BINANCE:<SYMBOL>`.
 *
 * - Trade stream `<symbol>@trade`:
 * `{"e":"trade","E":ms,"s":"BTCUSDT","t":id,"p":"price","q":"qty","T":ms,"m":buyerIsMaker}`.
 *   `m` true means the buyer was the maker, so the aggressor sold. Trade ids are consecutive per
 *   symbol, so they are the record's sequence (normalize reports gaps).
 * - Diff depth stream `<symbol>@depth@100ms`:
 * `{"e":"depthUpdate","E":ms,"s":..,"U":first,"u":final,"b":[[p,q]],"a":[[p,q]]}`;
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
 *
 * Bounds (beyond those every parser shares, connectors/tardis/formats.ts): a book frame holds at most
 * MAX_BOOK_FRAME_LEVELS levels a side; a REST snapshot or depth update at most MAX_DEPTH_MESSAGE_LEVELS
 * levels a side; the local book keeps at most `maxLevels` a side, dropping those farthest from the top.
 * Every level is checked as a decimal(38, 12) price and quantity before it is used, and the book
 * functions throw nothing but TickflowError, whatever the vendor sent.
 */
export const VENUE = 'BINANCE';

/**
 * Levels a side of a `binance-book` frame may hold: the connector publishes its top `depthLevels` (25
 * by default); 500 keeps the parse of a frame within a few milliseconds.
 */
export const MAX_BOOK_FRAME_LEVELS = 500;
/** Levels a side of a REST depth snapshot or a depth update may hold: Binance's own depth limit (`limit` <= 5000). */
export const MAX_DEPTH_MESSAGE_LEVELS = 5000;
/** Default bound of the local book, levels per side: Binance's own depth limit. */
export const MAX_LOCAL_BOOK_LEVELS = 5000;

type Json = Record<string, unknown>;

function fail(message: string): never {
  throw new TickflowError('PARSE_ERROR', message);
}

function field<T>(o: Json, name: string, check: (v: unknown) => v is T, what: string): T {
  const value = o[name];
  if (!check(value)) fail(`'${name}' must be ${what}, found ${shown(value)}`);
  return value;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v !== '';
/** Ids and millisecond times: integers from 0 to MAX_SEQUENCE (ids become Avro longs; times are checked further). */
const isInteger = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_SEQUENCE;
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';

const symbolOf = (o: Json, name: string): string => identifier(o[name], `'${name}'`, MAX_SYMBOL_LENGTH);

/** The `[price, quantity]` strings of the levels in `value` (at most `max`), not yet checked as decimals. */
function levelTexts(value: unknown, what: string, max: number): [string, string][] {
  if (!Array.isArray(value)) fail(`${what} must be a list of [price, quantity] strings, found ${shown(value)}`);
  if (value.length > max) fail(`${what} has ${value.length} levels; at most ${max} are accepted`);
  return value.map((level: unknown, i): [string, string] => {
    if (!Array.isArray(level) || level.length < 2 || typeof level[0] !== 'string' || typeof level[1] !== 'string') {
      const found = Array.isArray(level) ? `[${level.slice(0, 2).map(shown).join(', ')}]` : shown(level);
      fail(`${what}[${i}] must be [price, quantity] strings, found ${found}`);
    }
    return [level[0], level[1]];
  });
}

interface BookLevel {
  /** Canonical decimal text of the price, so "100.10" and "100.1" are one level. */
  readonly key: string;
  readonly quantity: Decimal;
  /** The quantity as the vendor wrote it. */
  readonly text: string;
}

/** A level of the local book: price and quantity checked as decimals, a positive price and a quantity not below 0. */
function bookLevel([p, q]: [string, string], what: string, i: number): BookLevel {
  const price = decimal(p, () => `${what}[${i}] price`);
  const quantity = decimal(q, () => `${what}[${i}] quantity`);
  if (!price.isPositive() || price.isZero()) fail(`${what}[${i}] price '${p}' is not positive`);
  if (quantity.isNegative() && !quantity.isZero()) fail(`${what}[${i}] quantity '${q}' is negative`);
  return { key: price.toFixed(), quantity, text: q };
}

export function parseTrade(raw: RawRecord): Canonical {
  const o = jsonObject(raw.payload);
  if (o.e !== 'trade') fail(`'e' must be trade, found ${shown(o.e)}`);
  const symbol = symbolOf(o, 's');
  const id = field(o, 't', isInteger, 'the trade id');
  const trade: Trade = {
    instrumentId: `${VENUE}:${symbol}`,
    venue: VENUE,
    symbol,
    source: raw.source,
    tsEvent: checkedMillis(field(o, 'T', isInteger, 'the trade time in ms'), "'T'"),
    tsRecv: checkedMicros(raw.tsRecv, 'tsRecv'),
    price: decimal(field(o, 'p', isString, 'a decimal string'), 'p'),
    size: decimal(field(o, 'q', isString, 'a decimal string'), 'q'),
    side: field(o, 'm', isBoolean, 'true or false') ? 'SELL' : 'BUY',
    tradeId: String(id),
  };
  return { kind: 'trade', value: trade, sequence: id };
}

export function parseBook(raw: RawRecord): Canonical {
  const o = jsonObject(raw.payload);
  const symbol = symbolOf(o, 'symbol');
  const levels = (name: string): PriceLevel[] =>
    levelTexts(o[name], `'${name}'`, MAX_BOOK_FRAME_LEVELS).map(([p, q], i) => ({
      price: decimal(p, () => `${name}[${i}] price`),
      size: decimal(q, () => `${name}[${i}] quantity`),
    }));
  const lastUpdateId = field(o, 'lastUpdateId', isInteger, 'the last update id');
  // The book's identity is its last update id; no gap check on it (update ids advance by ranges, and
  // the connector already rebuilds the book on a gap), so the Canonical carries no sequence.
  const book: BookSnapshot = {
    instrumentId: `${VENUE}:${symbol}`,
    venue: VENUE,
    symbol,
    source: raw.source,
    tsEvent: checkedMillis(field(o, 'E', isInteger, 'the event time in ms'), "'E'"),
    tsRecv: checkedMicros(raw.tsRecv, 'tsRecv'),
    bids: levels('bids'),
    asks: levels('asks'),
    sequence: lastUpdateId,
  };
  return { kind: 'book', value: book };
}

export function parseHeartbeat(raw: RawRecord): Canonical {
  const o = jsonObject(raw.payload);
  const symbol = symbolOf(o, 'symbol');
  const tsEvent = checkedMillis(field(o, 'E', isInteger, 'the feed time in ms'), "'E'");
  const tsRecv = checkedMicros(raw.tsRecv, 'tsRecv');
  const instrumentId = `${VENUE}:${symbol}`;
  return { kind: 'heartbeat', value: { instrumentId, venue: VENUE, symbol, source: raw.source, tsEvent, tsRecv } };
}

function jsonFormat(
  name: string,
  description: string,
  parse: (raw: RawRecord) => Canonical,
  symbolField: string,
  timeField: string,
): LineFormat {
  return {
    name,
    description,
    header: null,
    locate(line) {
      try {
        const o = jsonObject(line);
        const ms = o[timeField];
        const ts = isInteger(ms) ? pacingMicros(ms * 1000) : Number.NaN;
        let key: string | null = null;
        try {
          key = `${VENUE}:${symbolOf(o, symbolField)}`;
        } catch {
          /* no key: normalize rejects the line */
        }
        return { key, tsEvent: ts, tsRecv: ts };
      } catch {
        return { key: null, tsEvent: Number.NaN, tsRecv: Number.NaN };
      }
    },
    parse,
  };
}

export const binanceTrade = jsonFormat(
  'binance-trade',
  'Binance <symbol>@trade frames, verbatim',
  parseTrade,
  's',
  'T',
);
export const binanceBook = jsonFormat(
  'binance-book',
  "the Binance connector's local book after an update: symbol, E, lastUpdateId, bids, asks",
  parseBook,
  'symbol',
  'E',
);
export const binanceHeartbeat = jsonFormat(
  'binance-heartbeat',
  'the Binance connector heartbeat per symbol: symbol, E',
  parseHeartbeat,
  'symbol',
  'E',
);

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

/** A REST depth snapshot as Binance sends it. */
export interface DepthSnapshot {
  readonly lastUpdateId: number;
  readonly bids: readonly [string, string][];
  readonly asks: readonly [string, string][];
}

/** `value` as a JSON-like object, or TickflowError naming `what`. */
function message(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`${what} must be an object, found ${shown(value)}`);
  }
  return value as Json;
}

/** Prices as the book keys them (Decimal.toFixed() of a positive value): no exponent, leading or trailing zeros. */
const CANONICAL_PRICE = /^(0|[1-9]\d*)(\.\d*[1-9])?$/;

/**
 * Order of two canonical price keys by value, on the text alone (no Decimal per comparison): the
 * longer integer part is the larger; with equal integer parts, text order is value order.
 */
function comparePrices(a: string, b: string): number {
  const pointA = a.indexOf('.');
  const pointB = b.indexOf('.');
  const integerA = pointA < 0 ? a.length : pointA;
  const integerB = pointB < 0 ? b.length : pointB;
  if (integerA !== integerB) return integerA - integerB;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The levels of a side, best first; TickflowError for a key that is not canonical (a LocalBook may be made by hand).
 */
function sortedLevels(side: ReadonlyMap<string, string>, descending: boolean, what: string): [string, string][] {
  const levels = [...side.entries()];
  for (const [price] of levels) {
    if (price.length > MAX_DECIMAL_TEXT_LENGTH || !CANONICAL_PRICE.test(price)) {
      fail(`${what} price '${boundedText(price)}' is not a positive decimal written as Decimal.toFixed() writes it`);
    }
  }
  return levels.sort(descending ? (x, y) => comparePrices(y[0], x[0]) : (x, y) => comparePrices(x[0], y[0]));
}

/** Keeps the `maxLevels` levels of a side nearest the top (bids: highest, asks: lowest), dropping the rest. */
function trim(side: Map<string, string>, maxLevels: number, descending: boolean): void {
  if (side.size <= maxLevels) return;
  for (const [price] of sortedLevels(side, descending, 'book').slice(Math.max(0, maxLevels))) side.delete(price);
}

/** The levels of list `name` of a snapshot or update, checked; `what` names the message in errors. */
function bookLevels(o: Json, name: string, what: string): BookLevel[] {
  const label = `${what} '${name}'`;
  return levelTexts(o[name], label, MAX_DEPTH_MESSAGE_LEVELS).map((level, i) => bookLevel(level, label, i));
}

/**
 * The local book of a REST depth snapshot (`{"lastUpdateId","bids","asks"}`), at most `maxLevels`
 * levels a side (the farthest from the top dropped). TickflowError when the snapshot is not valid.
 */
export function bookFromSnapshot(snapshot: DepthSnapshot, maxLevels = MAX_LOCAL_BOOK_LEVELS): LocalBook {
  const o = message(snapshot, 'depth snapshot');
  const lastUpdateId = field(o, 'lastUpdateId', isInteger, 'the last update id');
  const side = (name: string, descending: boolean): Map<string, string> => {
    const levels = bookLevels(o, name, 'snapshot').filter((l) => !l.quantity.isZero());
    const book = new Map(levels.map((l) => [l.key, l.text]));
    trim(book, maxLevels, descending);
    return book;
  };
  return { lastUpdateId, bids: side('bids', true), asks: side('asks', false) };
}

export type DepthResult =
  { kind: 'applied'; book: LocalBook } | { kind: 'stale' } | { kind: 'gap'; expected: number; got: number };

/**
 * Applies one diff. `first`: the first update after the snapshot (checked against it; older ones
 * are `stale` and skipped). A break in the update ids is a `gap`: the book must be rebuilt. The book
 * keeps at most `maxLevels` levels a side, dropping those farthest from the top. TickflowError when
 * the update is not valid (the book it was applied to is unchanged: rebuild it from a snapshot).
 */
export function applyDepth(
  book: LocalBook,
  update: DepthUpdate,
  first: boolean,
  maxLevels = MAX_LOCAL_BOOK_LEVELS,
): DepthResult {
  const o = message(update, 'depth update');
  const firstId = field(o, 'U', isInteger, 'the first update id');
  const finalId = field(o, 'u', isInteger, 'the final update id');
  if (finalId <= book.lastUpdateId) return { kind: 'stale' };
  const expected = book.lastUpdateId + 1;
  const inSequence = first ? firstId <= expected && expected <= finalId : firstId === expected;
  if (!inSequence) return { kind: 'gap', expected, got: firstId };
  const apply = (side: ReadonlyMap<string, string>, name: string, descending: boolean): Map<string, string> => {
    const levels = bookLevels(o, name, 'update');
    const next = new Map(side);
    for (const level of levels) {
      if (level.quantity.isZero()) next.delete(level.key);
      else next.set(level.key, level.text);
    }
    trim(next, maxLevels, descending);
    return next;
  };
  const bids = apply(book.bids, 'b', true);
  return { kind: 'applied', book: { lastUpdateId: finalId, bids, asks: apply(book.asks, 'a', false) } };
}

/** The best `depth` levels a side (at most MAX_BOOK_FRAME_LEVELS): bids high to low, asks low to high. */
export function topOf(book: LocalBook, depth: number): { bids: [string, string][]; asks: [string, string][] } {
  const levels = Math.max(0, Math.min(depth, MAX_BOOK_FRAME_LEVELS));
  const bids = sortedLevels(book.bids, true, 'bid').slice(0, levels);
  return { bids, asks: sortedLevels(book.asks, false, 'ask').slice(0, levels) };
}
