import type { BookSnapshot, PriceLevel, Quote, RawRecord, Trade } from '../../schemas/types.generated';
import { Decimal, boundedText, decimalTextProblem } from '../../schemas/decimal';
import { checkedMicros, pacingMicros } from '../time';
import { instrumentIdOf, venueOf } from './venues';
import { TickflowError } from '../../pipelines/runtime/errors';

/**
 * Tardis CSV formats (https://docs.tardis.dev/downloadable-csv-files): pure parsers from one CSV
 * line to a canonical record, plus what replay needs (header, vendor key, event and receive time).
 * Timestamps are integer microseconds since the Unix epoch, UTC. Prices and sizes are kept exact.
 *
 * This file also holds the field checks every connector's parser shares (`checkPayloadLength`,
 * `jsonObject`, `decimal`, `identifier`, `sequenceNumber`, `shown`) and the limits on input they
 * apply. Each refuses hostile input with a TickflowError naming the field, in time bounded by the
 * limits whatever the input, and shows input in messages only bounded.
 */
export const DECIMAL_PRECISION = 38;
export const DECIMAL_SCALE = 12;

/**
 * The most characters one raw record's payload (a line or a frame) may hold, checked before anything
 * else reads it: reading JSON costs up to some 30 ns a character, so this keeps any parse within a few
 * milliseconds. The largest records connectors make are far smaller: a Tardis 25-level book line is
 * about 1.3 KB, a Binance book frame of 500 levels a side about 32 KB.
 */
export const MAX_PAYLOAD_LENGTH = 128 * 1024;
/** The largest sequence number (or venue id used as one) a record may carry: avsc encodes longs up to 2^53 - 2. */
export const MAX_SEQUENCE = 9_007_199_254_740_990;
/** The deepest nesting of JSON arrays and objects a payload may have (the formats need 3). */
export const MAX_JSON_DEPTH = 8;
/** Identifiers become Kafka keys, QuestDB symbols and parts of the instrument id `<venue>:<symbol>`. */
export const MAX_VENUE_LENGTH = 32;
export const MAX_SYMBOL_LENGTH = 64;
export const MAX_TRADE_ID_LENGTH = 128;

export type CanonicalKind = 'trade' | 'quote' | 'book';

export interface CsvFormat {
  readonly name: string;
  readonly description: string;
  /** Exact header line expected as the first line of a file. */
  readonly header: string;
  readonly fieldCount: number;
  readonly kind: CanonicalKind;
  /** Vendor instrument key of a line, `exchange:symbol`; null when they are not valid identifiers. Never throws. */
  vendorKey(fields: readonly string[]): string | null;
  /** Event and receive time of a line for pacing a replay; NaN when unreadable or out of range. Neither throws. */
  eventTimeMicros(fields: readonly string[]): number;
  recvTimeMicros(fields: readonly string[]): number;
  /** Canonical record of one raw record; throws TickflowError when the line is not valid. */
  parse(raw: RawRecord): Trade | Quote | BookSnapshot;
}

function fail(message: string): never {
  throw new TickflowError('PARSE_ERROR', message);
}

/** TickflowError when `payload` is longer than MAX_PAYLOAD_LENGTH; every parser checks this first. */
export function checkPayloadLength(payload: string): void {
  if (payload.length > MAX_PAYLOAD_LENGTH) {
    const limit = `longer than the ${MAX_PAYLOAD_LENGTH} a record may hold`;
    fail(`payload of ${payload.length} characters is ${limit}: '${boundedText(payload, 120)}'`);
  }
}

/** The fields of a CSV line, split no further than one past `expected`: a line of commas costs no more than another. */
function split(raw: RawRecord, expected: number): string[] {
  checkPayloadLength(raw.payload);
  const fields = raw.payload.split(',', expected + 1);
  if (fields.length !== expected) {
    const found = fields.length > expected ? `more than ${expected}` : String(fields.length);
    fail(`${raw.format} line has ${found} fields, expected ${expected}: '${boundedText(raw.payload, 120)}'`);
  }
  return fields;
}

/** Integer microseconds since the epoch written as up to 16 digits, in the range of connectors/time.ts. */
export function micros(text: string, what: string): number {
  if (text.length > 16 || !/^\d{1,16}$/.test(text)) {
    fail(`${what} '${boundedText(text)}' is not an integer microsecond timestamp`);
  }
  return checkedMicros(Number(text), what);
}

/**
 * The exact Decimal of `text`, a decimal(38, 12) value written `[-]digits[.digits][e[+-]digits]`
 * within the bounds of schemas/decimal.ts (at most 64 characters, 26 integer digits, 12 decimal
 * places, exponent within ±99), checked before the Decimal is built. Never rounds: more is refused.
 * `what` names the field in errors; a function when the name costs something to build (per book level).
 */
export function decimal(text: string, what: string | (() => string)): Decimal {
  // A leading '+' is no vendor's way of writing a price: refused like any other non-decimal text.
  const problem =
    text.charCodeAt(0) === 43 ? 'is not a decimal number' : decimalTextProblem(text, DECIMAL_PRECISION, DECIMAL_SCALE);
  if (problem) fail(`${typeof what === 'string' ? what : what()} '${boundedText(text)}' ${problem}`);
  return new Decimal(text);
}

/** Why `text` is not printable: a C0 or C1 control character, or a UTF-16 surrogate without its other half. */
function unprintable(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return 'holds a control character';
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return 'is not well-formed Unicode (a lone surrogate)';
      i++;
    }
  }
  return undefined;
}

/**
 * `value` when it is a usable identifier (venue, symbol, trade id, pair): a non-empty string of at
 * most `maxLength` characters without control characters or broken UTF-16, and without `:` when
 * `colon` is false (a venue: `:` separates it from the symbol in instrument ids). TickflowError
 * naming `what` otherwise.
 */
export function identifier(value: unknown, what: string, maxLength: number, colon = true): string {
  if (typeof value !== 'string') fail(`${what} must be a string, found ${shown(value)}`);
  if (value === '') fail(`${what} is empty`);
  if (value.length > maxLength) fail(`${what} ${shown(value)} is longer than ${maxLength} characters`);
  const problem = unprintable(value);
  if (problem) fail(`${what} ${shown(value)} ${problem}`);
  if (!colon && value.includes(':')) {
    fail(`${what} ${shown(value)} holds ':', which separates venue and symbol in instrument ids`);
  }
  return value;
}

/** `value` when it is an integer from 0 to MAX_SEQUENCE; TickflowError naming `what` otherwise. */
export function sequenceNumber(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_SEQUENCE) {
    fail(`${what} must be an integer from 0 to ${MAX_SEQUENCE}, found ${shown(value)}`);
  }
  return value;
}

/** A parsed JSON value as a message may show it: strings bounded and quoted, arrays and objects not spelled out. */
export function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(boundedText(value));
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value !== null && typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return String(value);
}

/** Whether `text` nests arrays and objects deeper than `max` (brackets inside strings do not count). */
function nestedDeeper(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* backslash: skip the escaped character */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) return true;
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return false;
}

/**
 * The JSON object `payload` holds. TickflowError for anything else: a payload longer than
 * MAX_PAYLOAD_LENGTH or nested deeper than MAX_JSON_DEPTH (checked before parsing: deep nesting is
 * what makes JSON.parse slow, or overflow the stack with a RangeError), text that is not JSON, or
 * JSON that is not an object.
 */
export function jsonObject(payload: string): Record<string, unknown> {
  checkPayloadLength(payload);
  if (nestedDeeper(payload, MAX_JSON_DEPTH)) {
    fail(`JSON nested deeper than ${MAX_JSON_DEPTH} levels: '${boundedText(payload, 120)}'`);
  }
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch (error) {
    fail(`not JSON (${boundedText((error as Error).message, 120)}): '${boundedText(payload, 120)}'`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`not a JSON object: '${boundedText(payload, 120)}'`);
  }
  return value as Record<string, unknown>;
}

/**
 * Venue, symbol and instrument id of a line. Callers copy the three fields into the record literal:
 * spreading this object into it would cost several times the whole parse (V8 builds such objects
 * slowly and in a slow shape, which the Avro encoder then pays for again).
 */
function identity(fields: readonly string[]): { venue: string; symbol: string; instrumentId: string } {
  // The exchange is checked before the lookup: venueOf must never see '__proto__' and the like.
  const exchange = identifier(fields[0], 'exchange', MAX_VENUE_LENGTH, false);
  const venue = identifier(venueOf(exchange), 'exchange', MAX_VENUE_LENGTH, false);
  // Upper case can be longer ('ß' is 'SS'): checked again.
  const upper = identifier(fields[1], 'symbol', MAX_SYMBOL_LENGTH).toUpperCase();
  const symbol = identifier(upper, 'symbol', MAX_SYMBOL_LENGTH);
  return { venue, symbol, instrumentId: instrumentIdOf(venue, symbol) };
}

/** A time column for replay pacing: NaN unless it is a timestamp parse would accept. */
function columnMicros(text: string | undefined): number {
  return text !== undefined && text.length <= 16 && /^\d{1,16}$/.test(text) ? pacingMicros(Number(text)) : Number.NaN;
}

/** Every Tardis CSV starts exchange,symbol,timestamp,local_timestamp. */
const TARDIS_COLUMNS: Pick<CsvFormat, 'vendorKey' | 'eventTimeMicros' | 'recvTimeMicros'> = {
  vendorKey: (f) => {
    try {
      const exchange = identifier(f[0], 'exchange', MAX_VENUE_LENGTH, false);
      return `${exchange}:${identifier(f[1], 'symbol', MAX_SYMBOL_LENGTH)}`;
    } catch {
      return null;
    }
  },
  eventTimeMicros: (f) => columnMicros(f[2]),
  recvTimeMicros: (f) => columnMicros(f[3]),
};

const SIDES: ReadonlyMap<string, Trade['side']> = new Map([
  ['buy', 'BUY'],
  ['sell', 'SELL'],
  ['unknown', 'UNKNOWN'],
]);

export const tardisTrades: CsvFormat = {
  name: 'tardis-trades',
  description: 'Tardis CSV trades: exchange,symbol,timestamp,local_timestamp,id,side,price,amount',
  header: 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount',
  fieldCount: 8,
  kind: 'trade',
  ...TARDIS_COLUMNS,
  parse(raw) {
    const f = split(raw, 8);
    const side = SIDES.get(f[5]);
    if (!side) fail(`side '${boundedText(f[5])}' is not buy, sell or unknown`);
    const { venue, symbol, instrumentId } = identity(f);
    const trade: Trade = {
      venue,
      symbol,
      instrumentId,
      source: raw.source,
      tsEvent: micros(f[2], 'timestamp'),
      tsRecv: micros(f[3], 'local_timestamp'),
      tradeId: identifier(f[4], 'id', MAX_TRADE_ID_LENGTH),
      side,
      price: decimal(f[6], 'price'),
      size: decimal(f[7], 'amount'),
    };
    return trade;
  },
};

export const tardisQuotes: CsvFormat = {
  name: 'tardis-quotes',
  description: 'Tardis CSV quotes: exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount',
  header: 'exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount',
  fieldCount: 8,
  kind: 'quote',
  ...TARDIS_COLUMNS,
  parse(raw) {
    const f = split(raw, 8);
    const { venue, symbol, instrumentId } = identity(f);
    const quote: Quote = {
      venue,
      symbol,
      instrumentId,
      source: raw.source,
      tsEvent: micros(f[2], 'timestamp'),
      tsRecv: micros(f[3], 'local_timestamp'),
      askSize: decimal(f[4], 'ask_amount'),
      askPrice: decimal(f[5], 'ask_price'),
      bidPrice: decimal(f[6], 'bid_price'),
      bidSize: decimal(f[7], 'bid_amount'),
      sequence: raw.sequence,
    };
    return quote;
  },
};

const BOOK_LEVELS = 25;

function bookHeader(): string {
  const columns = ['exchange', 'symbol', 'timestamp', 'local_timestamp'];
  for (let i = 0; i < BOOK_LEVELS; i++)
    columns.push(`asks[${i}].price`, `asks[${i}].amount`, `bids[${i}].price`, `bids[${i}].amount`);
  return columns.join(',');
}

export const tardisBookSnapshot25: CsvFormat = {
  name: 'tardis-book-snapshot-25',
  description:
    'Tardis CSV book_snapshot_25: exchange,symbol,timestamp,local_timestamp, then asks[i].price,asks[i].amount,bids[i].price,bids[i].amount for i = 0..24',
  header: bookHeader(),
  fieldCount: 4 + 4 * BOOK_LEVELS,
  kind: 'book',
  ...TARDIS_COLUMNS,
  parse(raw) {
    const f = split(raw, 4 + 4 * BOOK_LEVELS);
    const asks: PriceLevel[] = [];
    const bids: PriceLevel[] = [];
    for (let i = 0; i < BOOK_LEVELS; i++) {
      const base = 4 + 4 * i;
      // Empty cells (price and amount both) mean the book is shallower than 25 levels on that side.
      if (f[base] !== '' || f[base + 1] !== '') {
        asks.push({
          price: decimal(f[base], () => `asks[${i}].price`),
          size: decimal(f[base + 1], () => `asks[${i}].amount`),
        });
      }
      if (f[base + 2] !== '' || f[base + 3] !== '') {
        bids.push({
          price: decimal(f[base + 2], () => `bids[${i}].price`),
          size: decimal(f[base + 3], () => `bids[${i}].amount`),
        });
      }
    }
    const { venue, symbol, instrumentId } = identity(f);
    const book: BookSnapshot = {
      venue,
      symbol,
      instrumentId,
      source: raw.source,
      tsEvent: micros(f[2], 'timestamp'),
      tsRecv: micros(f[3], 'local_timestamp'),
      bids,
      asks,
      sequence: raw.sequence,
    };
    return book;
  },
};
