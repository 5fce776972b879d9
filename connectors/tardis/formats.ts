import type { BookSnapshot, PriceLevel, Quote, RawRecord, Trade } from '../../schemas/types.generated';
import { Decimal, assertFits } from '../../schemas/decimal';
import { RecordError } from '../../pipelines/runtime/stage';
import { instrumentIdOf, venueOf } from './venues';

/**
 * Tardis CSV formats (https://docs.tardis.dev/downloadable-csv-files): pure parsers from one CSV
 * line to a canonical record, plus what replay needs (header, vendor key, event and receive time).
 * Timestamps are integer microseconds since the Unix epoch, UTC. Prices and sizes are kept exact.
 */
export const DECIMAL_PRECISION = 38;
export const DECIMAL_SCALE = 12;

export type CanonicalKind = 'trade' | 'quote' | 'book';

export interface CsvFormat {
  readonly name: string;
  readonly description: string;
  /** Exact header line expected as the first line of a file. */
  readonly header: string;
  readonly fieldCount: number;
  readonly kind: CanonicalKind;
  /** Vendor instrument key of a line, `exchange:symbol`. */
  vendorKey(fields: readonly string[]): string;
  eventTimeMicros(fields: readonly string[]): number;
  recvTimeMicros(fields: readonly string[]): number;
  /** Canonical record of one raw record; throws RecordError when the line is not valid. */
  parse(raw: RawRecord): Trade | Quote | BookSnapshot;
}

function split(raw: RawRecord, expected: number): string[] {
  const fields = raw.payload.split(',');
  if (fields.length !== expected) throw new RecordError('PARSE_ERROR', `${raw.format} line has ${fields.length} fields, expected ${expected}: '${raw.payload.slice(0, 120)}'`);
  return fields;
}

export function micros(text: string, what: string): number {
  if (!/^\d{1,16}$/.test(text)) throw new RecordError('PARSE_ERROR', `${what} '${text}' is not an integer microsecond timestamp`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RecordError('PARSE_ERROR', `${what} '${text}' is out of range`);
  return value;
}

/** `what` names the field in errors; a function when the name costs something to build (per book level). */
export function decimal(text: string, what: string | (() => string)): Decimal {
  if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new RecordError('PARSE_ERROR', `${typeof what === 'string' ? what : what()} '${text}' is not a decimal number`);
  const value = new Decimal(text);
  try {
    // assertFits starts its messages with the name it is given; an empty one, prefixed on failure.
    assertFits(value, DECIMAL_PRECISION, DECIMAL_SCALE, '');
  } catch (error) {
    throw new RecordError('PARSE_ERROR', `${typeof what === 'string' ? what : what()}${(error as Error).message}`);
  }
  return value;
}

function nonEmpty(text: string, what: string): string {
  if (!text) throw new RecordError('PARSE_ERROR', `${what} is empty`);
  return text;
}

/**
 * Venue, symbol and instrument id of a line. Callers copy the three fields into the record literal:
 * spreading this object into it would cost several times the whole parse (V8 builds such objects
 * slowly and in a slow shape, which the Avro encoder then pays for again).
 */
function identity(fields: readonly string[]): { venue: string; symbol: string; instrumentId: string } {
  const venue = venueOf(nonEmpty(fields[0], 'exchange'));
  const symbol = nonEmpty(fields[1], 'symbol').toUpperCase();
  return { venue, symbol, instrumentId: instrumentIdOf(venue, symbol) };
}

/** Every Tardis CSV starts exchange,symbol,timestamp,local_timestamp. */
const TARDIS_COLUMNS: Pick<CsvFormat, 'vendorKey' | 'eventTimeMicros' | 'recvTimeMicros'> = {
  vendorKey: (f) => `${f[0]}:${f[1]}`,
  eventTimeMicros: (f) => Number(f[2]),
  recvTimeMicros: (f) => Number(f[3]),
};

const SIDES: Readonly<Record<string, Trade['side']>> = { buy: 'BUY', sell: 'SELL', unknown: 'UNKNOWN' };

export const tardisTrades: CsvFormat = {
  name: 'tardis-trades',
  description: 'Tardis CSV trades: exchange,symbol,timestamp,local_timestamp,id,side,price,amount',
  header: 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount',
  fieldCount: 8,
  kind: 'trade',
  ...TARDIS_COLUMNS,
  parse(raw) {
    const f = split(raw, 8);
    const side = SIDES[f[5]];
    if (!side) throw new RecordError('PARSE_ERROR', `side '${f[5]}' is not buy, sell or unknown`);
    const { venue, symbol, instrumentId } = identity(f);
    const trade: Trade = {
      venue,
      symbol,
      instrumentId,
      source: raw.source,
      tsEvent: micros(f[2], 'timestamp'),
      tsRecv: micros(f[3], 'local_timestamp'),
      tradeId: nonEmpty(f[4], 'id'),
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
  for (let i = 0; i < BOOK_LEVELS; i++) columns.push(`asks[${i}].price`, `asks[${i}].amount`, `bids[${i}].price`, `bids[${i}].amount`);
  return columns.join(',');
}

export const tardisBookSnapshot25: CsvFormat = {
  name: 'tardis-book-snapshot-25',
  description: 'Tardis CSV book_snapshot_25: exchange,symbol,timestamp,local_timestamp, then asks[i].price,asks[i].amount,bids[i].price,bids[i].amount for i = 0..24',
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
      // Empty cells mean the book is shallower than 25 levels on that side.
      if (f[base] !== '') asks.push({ price: decimal(f[base], () => `asks[${i}].price`), size: decimal(f[base + 1], () => `asks[${i}].amount`) });
      if (f[base + 2] !== '') bids.push({ price: decimal(f[base + 2], () => `bids[${i}].price`), size: decimal(f[base + 3], () => `bids[${i}].amount`) });
    }
    const { venue, symbol, instrumentId } = identity(f);
    const book: BookSnapshot = { venue, symbol, instrumentId, source: raw.source, tsEvent: micros(f[2], 'timestamp'), tsRecv: micros(f[3], 'local_timestamp'), bids, asks, sequence: raw.sequence };
    return book;
  },
};
