import fs from 'node:fs';
import path from 'node:path';
import type { RawRecord } from '../schemas/types.generated';
import type { Canonical } from './formats';
import { FORMATS } from './formats';
import type { DepthUpdate, LocalBook } from './binance/messages';
import { MAX_BOOK_FRAME_LEVELS, applyDepth, bookFromSnapshot, parseBook, topOf } from './binance/messages';
import { MAX_PAYLOAD_LENGTH } from './tardis/formats';
import { MAX_TIMESTAMP_MICROS, MIN_TIMESTAMP_MICROS } from './time';
import { avroType } from '../pipelines/runtime/avro';
import type { TickflowError } from '../pipelines/runtime/errors';
import { isRecordError } from '../pipelines/runtime/errors';

/**
 * Hostile input, format by format: every parser answers it with a TickflowError naming the field, at
 * once and in a short message, and then parses the next good record as before; `locate` never throws.
 */
const RECV = 1_700_000_000_000_500;
const TRUEFX_FILE = 'truefx-usdjpy-quotes-2013-01.csv';

function raw(format: string, payload: string, overrides: Partial<RawRecord> = {}): RawRecord {
  const origin = format === 'truefx-quotes' ? `${TRUEFX_FILE}:2` : `${format}:1`;
  return { source: FORMATS[format].source, format, tsRecv: RECV, origin, sequence: 1, payload, ...overrides };
}

const inRange = (ts: number): boolean => ts >= MIN_TIMESTAMP_MICROS && ts < MAX_TIMESTAMP_MICROS;

/** Throws when the canonical record does not encode with its Avro type or has a time out of range. */
function checkEncodes(parsed: Canonical): void {
  const schema = parsed.kind === 'book' ? 'book-snapshot' : parsed.kind;
  avroType(schema).toBuffer(parsed.kind === 'heartbeat' ? { ...parsed.value, trades: 0 } : parsed.value);
  for (const ts of [parsed.value.tsEvent, parsed.value.tsRecv]) {
    if (!inRange(ts)) throw new Error(`time ${ts} out of range`);
  }
}

const BOOK_FILE = path.join(__dirname, 'tardis', 'fixtures', 'binance-futures-btcusdt-book25-2020-09-01.csv');
const BOOK_LINE = fs.readFileSync(BOOK_FILE, 'utf8').split('\n')[1];
const NDJSON_TRADE = {
  type: 'trade',
  venue: 'SYN',
  symbol: 'AAA',
  tsEvent: 1700000000000000,
  tsRecv: 1700000000000150,
  price: '101.25',
  size: '0.5',
  side: 'BUY',
  tradeId: '42',
  seq: 17,
};
const RATE = {
  '1. From_Currency Code': 'USD',
  '2. From_Currency Name': 'United States Dollar',
  '3. To_Currency Code': 'JPY',
  '4. To_Currency Name': 'Japanese Yen',
  '5. Exchange Rate': '157.40700000',
  '6. Last Refreshed': '2024-05-29 20:12:01',
  '7. Time Zone': 'UTC',
  '8. Bid Price': '157.40400000',
  '9. Ask Price': '157.41300000',
};
const T = 1672515782136;
const BINANCE_TRADE = { e: 'trade', E: T, s: 'BNBBTC', t: 12345, p: '0.001', q: '100', T, m: true, M: true };
const BINANCE_BOOK = { symbol: 'BTCUSDT', E: T, lastUpdateId: 160, bids: [['0.0024', '10']], asks: [['0.0026', '10']] };

/** A good record per format: each hostile case is followed by it, which must still parse. */
const GOOD: Readonly<Record<string, string>> = {
  'tardis-trades': 'binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,9682,0.132',
  'tardis-quotes': 'binance-futures,BTCUSDT,1582329601096000,1582329603502092,0.84,9682,9681.92,0.67',
  'tardis-book-snapshot-25': BOOK_LINE,
  'tickflow-ndjson': JSON.stringify(NDJSON_TRADE),
  'binance-trade': JSON.stringify(BINANCE_TRADE),
  'binance-book': JSON.stringify(BINANCE_BOOK),
  'binance-heartbeat': '{"symbol":"BTCUSDT","E":1672515782136}',
  'alphavantage-fx': JSON.stringify({ 'Realtime Currency Exchange Rate': RATE }, null, 4),
  'truefx-csv': 'USD/JPY,20130101 22:00:00.295,86.655,86.728',
  'truefx-quotes': '2013-01-01 22:00:00.295000+00:00,86.655,86.728',
};

/** `json` with the JSON string `marker` replaced by `text`: for values JSON.stringify cannot make (deep nesting). */
const spliced = (json: string, marker: string, text: string): string => json.replace(JSON.stringify(marker), text);
const ndjson = (fields: Record<string, unknown>): string => JSON.stringify({ ...NDJSON_TRADE, ...fields });
const binanceTrade = (fields: Record<string, unknown>): string => JSON.stringify({ ...BINANCE_TRADE, ...fields });
const binanceBook = (fields: Record<string, unknown>): string => JSON.stringify({ ...BINANCE_BOOK, ...fields });
const alphaVantage = (fields: Record<string, unknown>): string =>
  JSON.stringify({ 'Realtime Currency Exchange Rate': { ...RATE, ...fields } });
type TardisColumn = 'exchange' | 'symbol' | 'timestamp' | 'local' | 'id' | 'side' | 'price' | 'amount';
const tardisTrade = (fields: Partial<Record<TardisColumn, string>>): string => {
  const f = {
    exchange: 'binance-futures',
    symbol: 'BTCUSDT',
    timestamp: '1582329602111000',
    local: '1582329602418379',
    id: '42377944',
    side: 'buy',
    price: '9682',
    amount: '0.132',
    ...fields,
  };
  return [f.exchange, f.symbol, f.timestamp, f.local, f.id, f.side, f.price, f.amount].join(',');
};
const DEEP = `${'['.repeat(60_000)}${']'.repeat(60_000)}`;
// Flat, as a string decoded from Kafka is ('x'.repeat() builds a tree that V8 copies at the first read).
const TEN_MB_OF_DIGITS = Buffer.alloc(10_000_000, '9').toString('latin1');

/**
 * What `fn` throws and the fastest of three calls in milliseconds: the fastest, so that a garbage
 * collection or a first compilation does not count, while work that grows with the input still does.
 */
function timed(fn: () => unknown): { thrown: unknown; ms: number } {
  let thrown: unknown;
  let ms = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 3; attempt++) {
    thrown = undefined;
    const started = process.hrtime.bigint();
    try {
      fn();
    } catch (error) {
      thrown = error;
    }
    ms = Math.min(ms, Number(process.hrtime.bigint() - started) / 1e6);
  }
  return { thrown, ms };
}

/** The TickflowError `fn` threw, in under `maxMs` and fewer than 300 characters, its message matching `message`. */
function expectRecordError(fn: () => unknown, message: RegExp, maxMs: number): TickflowError {
  const { thrown, ms } = timed(fn);
  if (!isRecordError(thrown)) {
    throw new Error(
      `expected a TickflowError, got ${thrown === undefined ? 'a result' : String(thrown).slice(0, 300)}`,
    );
  }
  expect(thrown.code).toBe('PARSE_ERROR');
  expect(thrown.message).toMatch(message);
  expect(thrown.message.length).toBeLessThan(300);
  expect(ms).toBeLessThan(maxMs);
  return thrown;
}

/**
 * Parses `payload` as `format`, expecting a PARSE_ERROR matching `message`, in under `maxMs` and in
 * fewer than 300 characters; then checks that `locate` does not throw on it and that the format's
 * good record still parses and encodes.
 */
// The bound catches super-linear work on hostile input (seconds), not speed: the shared 2-core machine
// under a full test run stalled a 100,000-character symbol's rejection to 12.5 ms once, over a 10 ms bound.
function rejects(format: string, payload: string, message: RegExp, overrides: Partial<RawRecord> = {}, maxMs = 50) {
  const entry = FORMATS[format];
  const record = raw(format, payload, overrides);
  const error = expectRecordError(() => entry.format.parse(record), message, maxMs);
  const located = entry.format.locate(payload, TRUEFX_FILE);
  for (const ts of [located.tsEvent, located.tsRecv]) expect(Number.isNaN(ts) || inRange(ts)).toBe(true);
  expect(located.key === null || located.key.length <= 100).toBe(true);
  checkEncodes(entry.format.parse(raw(format, GOOD[format])));
  return error;
}

describe('hostile input', () => {
  it('every format has a good record that parses and encodes', () => {
    for (const [format, entry] of Object.entries(FORMATS)) checkEncodes(entry.format.parse(raw(format, GOOD[format])));
  });

  it('refuses an astronomically large or small decimal at once, naming the field, in under 1 ms, briefly', () => {
    rejects('tickflow-ndjson', ndjson({ price: '1e-13' }), /price/); // warm up: compiles what the timed calls run
    for (const price of ['1e9000000000000000', '1e-9000000000000000', '1e99999999']) {
      const error = rejects(
        'tickflow-ndjson',
        ndjson({ price }),
        /^price '1e-?9+0*' has an exponent beyond ±99$/,
        {},
        1,
      );
      expect(error.message).toContain(price);
    }
    // Ten megabytes of digits are longer than any payload may be; within a payload, a decimal is refused by its length.
    rejects(
      'tickflow-ndjson',
      ndjson({ size: TEN_MB_OF_DIGITS }),
      /^payload of 100001\d\d characters is longer than the 131072 a record may hold/,
      {},
      1,
    );
    rejects(
      'tardis-trades',
      tardisTrade({ amount: TEN_MB_OF_DIGITS }),
      /^payload of 100000\d\d characters is longer/,
      {},
      1,
    );
    // Reading 100 KB of JSON takes a millisecond or so; the decimal check after it takes none.
    rejects(
      'tickflow-ndjson',
      ndjson({ size: TEN_MB_OF_DIGITS.slice(0, 100_000) }),
      /^size '9{40}… \(100000 characters\)' is longer than the 64 characters a decimal may have$/,
      {},
      5,
    );
    rejects(
      'tardis-trades',
      tardisTrade({ amount: TEN_MB_OF_DIGITS.slice(0, 100_000) }),
      /^amount .* longer than the 64 characters/,
      {},
      1,
    );
    rejects('tardis-trades', tardisTrade({ price: '1e9000000000000000' }), /^price .* exponent beyond ±99/, {}, 1);
    rejects(
      'truefx-csv',
      'USD/JPY,20130101 22:00:00.295,1e-9000000000000000,86.728',
      /^bid .* exponent beyond ±99/,
      {},
      1,
    );
    rejects(
      'alphavantage-fx',
      alphaVantage({ '9. Ask Price': '1e9000000000000000' }),
      /^9\. Ask Price .* exponent beyond ±99/,
      {},
      1,
    );
    rejects('binance-trade', binanceTrade({ q: '1e9000000000000000' }), /^q .* exponent beyond ±99/, {}, 1);
  });

  it('refuses decimals that do not fit decimal(38, 12) instead of rounding them', () => {
    rejects(
      'tickflow-ndjson',
      ndjson({ price: '123456789012345678901234567' }),
      /^price '123456789012345678901234567' has 27 integer digits; decimal\(38, 12\) allows 26$/,
    );
    rejects('tickflow-ndjson', ndjson({ price: '1e26' }), /27 integer digits/);
    rejects('tickflow-ndjson', ndjson({ size: '1e-13' }), /^size '1e-13' has 13 decimal places; the schema allows 12$/);
    rejects('tickflow-ndjson', ndjson({ price: '+1' }), /^price '\+1' is not a decimal number$/);
    for (const price of ['NaN', 'Infinity', '-Infinity', '0x10', '1_000', ' 1', '1e', '.', '']) {
      rejects('tickflow-ndjson', ndjson({ price }), /^price '.*' is not a decimal number$/);
    }
  });

  it('refuses times out of range or impossible, without rolling over', () => {
    rejects(
      'tickflow-ndjson',
      ndjson({ tsEvent: 9_000_000_000_000_000 }),
      /^'tsEvent' 9000000000000000 .* is not before 2100-01-01T00:00:00Z$/,
    );
    rejects(
      'tickflow-ndjson',
      ndjson({ tsRecv: 1_700_000_000 }),
      /^'tsRecv' 1700000000 \(1970-01-01T00:28:20.000Z\) is before 1980-01-01T00:00:00Z$/,
    );
    rejects('tickflow-ndjson', ndjson({ seq: -1 }), /^'seq' must be an integer from 0 to 9007199254740990, found -1$/);
    rejects('tickflow-ndjson', ndjson({ seq: 2 ** 60 }), /^'seq' must be an integer from 0 to 9007199254740990/);
    // 2^53 - 1 is a safe integer, but not a long avsc encodes.
    const quote = { ...NDJSON_TRADE, type: 'quote', bidPrice: '1', bidSize: '1', askPrice: '2', askSize: '1' };
    rejects('tickflow-ndjson', JSON.stringify({ ...quote, seq: 2 ** 53 - 1 }), /^'seq' must be/);
    rejects(
      'binance-book',
      binanceBook({ lastUpdateId: 2 ** 53 - 1 }),
      /^'lastUpdateId' must be the last update id, found 9007199254740991$/,
    );
    rejects('tardis-trades', tardisTrade({ timestamp: '9999999999999999' }), /^timestamp .* is not before 2100/);
    rejects(
      'tardis-trades',
      tardisTrade({ timestamp: '8999999999999999' }),
      /^timestamp 8999999999999999 .* is not before 2100/,
    );
    rejects('tardis-trades', tardisTrade({ local: '0' }), /^local_timestamp 0 .* is before 1980/);
    const located = FORMATS['tardis-trades'].format.locate(tardisTrade({ timestamp: '9999999999999999' }), 'f.csv');
    expect(located.tsEvent).toBeNaN();
    rejects('binance-trade', binanceTrade({ T: 9e15 }), /^'T' 9000000000000000 ms is not before 2100/);
    rejects('binance-trade', GOOD['binance-trade'], /^tsRecv 0 .* is before 1980/, { tsRecv: 0 });
    rejects('binance-book', binanceBook({ E: 9e15 }), /^'E' 9000000000000000 ms is not before 2100/);
    rejects('binance-heartbeat', '{"symbol":"BTCUSDT","E":1}', /^'E' 1 ms .* is before 1980/);
    rejects('alphavantage-fx', GOOD['alphavantage-fx'], /^tsRecv 1 .* is before 1980/, { tsRecv: 1 });
    // Two- and three-digit years written in four digits (Date.UTC read 0013 as 1913).
    rejects(
      'truefx-csv',
      'USD/JPY,00130101 22:00:00.295,86.655,86.728',
      /^time -61756826399705000 \(0013-01-01T22:00:00.295Z\) is before 1980/,
    );
    rejects('truefx-csv', 'USD/JPY,09990101 22:00:00.295,86.655,86.728', /^time .* is before 1980/);
    rejects('truefx-quotes', '0013-01-01 22:00:00.295000+00:00,86.655,86.728', /^timestamp .* is before 1980/);
    rejects(
      'alphavantage-fx',
      alphaVantage({ '6. Last Refreshed': '0024-05-29 20:12:01' }),
      /^'6\. Last Refreshed' .* is before 1980/,
    );
    rejects(
      'alphavantage-fx',
      alphaVantage({ '6. Last Refreshed': '24-05-29 20:12:01' }),
      /^'6\. Last Refreshed' "24-05-29 20:12:01" is not yyyy-MM-dd HH:mm:ss$/,
    );
    // Fields out of their calendar range.
    rejects('truefx-csv', 'USD/JPY,20131301 22:00:00.295,86.655,86.728', /^time: month '13' is not 2 digits in 01-12$/);
    rejects(
      'truefx-csv',
      'USD/JPY,20130229 22:00:00.295,86.655,86.728',
      /^time: day '29' is not a day of 2013-02, which has 28$/,
    );
    rejects('truefx-csv', 'USD/JPY,20130132 22:00:00.295,86.655,86.728', /^time: day '32'/);
    rejects('truefx-csv', 'USD/JPY,20130101 99:00:00.295,86.655,86.728', /^time: hour '99' is not 2 digits in 00-23$/);
    rejects(
      'truefx-quotes',
      '2013-01-01 22:61:00.295000+00:00,86.655,86.728',
      /^timestamp: minute '61' is not 2 digits in 00-59$/,
    );
    rejects(
      'truefx-quotes',
      '2013-01-01 22:00:00.295000+99:00,86.655,86.728',
      /^timestamp: UTC offset '\+99:00' is not Z or \+HH:MM\/-HH:MM within ±14:00$/,
    );
    rejects(
      'alphavantage-fx',
      alphaVantage({ '6. Last Refreshed': '2024-02-30 20:12:01' }),
      /^'6\. Last Refreshed': day '30' is not a day of 2024-02, which has 29$/,
    );
    rejects('alphavantage-fx', alphaVantage({ '6. Last Refreshed': '2024-05-29 24:00:00' }), /hour '24'/);
  });

  it('refuses identifiers that are empty, too long, hold control characters or break instrument ids', () => {
    rejects('tickflow-ndjson', ndjson({ venue: 'SY\nN' }), /^'venue' "SY\\nN" holds a control character$/);
    rejects('tickflow-ndjson', ndjson({ venue: 'A:B' }), /^'venue' "A:B" holds ':'/);
    rejects('tickflow-ndjson', ndjson({ venue: 'V'.repeat(33) }), /^'venue' .* is longer than 32 characters$/);
    rejects(
      'tickflow-ndjson',
      ndjson({ symbol: 'S'.repeat(100_000) }),
      /^'symbol' "S{40}… \(100000 characters\)" is longer than 64 characters$/,
    );
    rejects('tickflow-ndjson', ndjson({ symbol: 'A\u0085B' }), /'symbol' .* holds a control character/);
    rejects('tickflow-ndjson', ndjson({ symbol: 'A\ud800B' }), /'symbol' .* lone surrogate/);
    rejects('tickflow-ndjson', ndjson({ tradeId: 'x'.repeat(129) }), /^'tradeId' .* is longer than 128 characters$/);
    rejects('tickflow-ndjson', ndjson({ symbol: '' }), /^'symbol' is empty$/);
    rejects('tickflow-ndjson', ndjson({ symbol: 7 }), /^'symbol' must be a string, found 7$/);
    rejects(
      'tardis-trades',
      tardisTrade({ symbol: 'BTC\u0000USDT' }),
      /^symbol "BTC\\u0000USDT" holds a control character$/,
    );
    rejects('tardis-trades', tardisTrade({ id: 'i'.repeat(200) }), /^id .* is longer than 128 characters$/);
    // Exchange ids that are names of Object.prototype's properties are ids like any other.
    for (const exchange of ['constructor', '__proto__']) {
      const parsed = FORMATS['tardis-trades'].format.parse(raw('tardis-trades', tardisTrade({ exchange })));
      expect(parsed.value.venue).toBe(exchange.toUpperCase());
    }
    rejects('tardis-trades', tardisTrade({ side: 'constructor' }), /^side 'constructor' is not buy, sell or unknown$/);
    rejects(
      'tardis-quotes',
      GOOD['tardis-quotes'].replace('BTCUSDT', 'B'.repeat(65)),
      /^symbol .* is longer than 64 characters$/,
    );
    rejects('binance-trade', binanceTrade({ s: 'BNB\tBTC' }), /^'s' "BNB\\tBTC" holds a control character$/);
    rejects(
      'binance-heartbeat',
      `{"symbol":"${'Z'.repeat(100)}","E":1672515782136}`,
      /^'symbol' .* is longer than 64 characters$/,
    );
    rejects(
      'alphavantage-fx',
      alphaVantage({ '3. To_Currency Code': 'J\rPY' }),
      /^'3\. To_Currency Code' .* holds a control character$/,
    );
    rejects('truefx-csv', 'USD/JP\u0000,20130101 22:00:00.295,86.655,86.728', /^pair 'USD\/JP.' is not like USD\/JPY$/);
  });

  it('refuses JSON that is not what a format reads: wrong types, non-objects, deep nesting, huge payloads', () => {
    const notAnObject = /not JSON|not a JSON object|nested deeper than 8 levels|no 'Realtime/;
    const length = MAX_PAYLOAD_LENGTH + 10;
    const tooLong = new RegExp(`^payload of ${length} characters is longer than the ${MAX_PAYLOAD_LENGTH} a record`);
    for (const format of ['tickflow-ndjson', 'binance-trade', 'binance-book', 'binance-heartbeat', 'alphavantage-fx']) {
      for (const payload of ['5', 'null', '"x"', '[]', 'true', '{', '', '{"a":1}x', DEEP, `{"a":${DEEP}}`]) {
        rejects(format, payload, notAnObject);
      }
      rejects(format, `{"pad":"${' '.repeat(MAX_PAYLOAD_LENGTH)}"}`, tooLong);
    }
    // A deeply nested value where a field should be: showing it in the message used to overflow the stack.
    rejects(
      'tickflow-ndjson',
      spliced(ndjson({ price: '@' }), '@', `${'['.repeat(8)}${']'.repeat(8)}`),
      /nested deeper than 8 levels/,
    );
    rejects(
      'tickflow-ndjson',
      spliced(ndjson({ price: '@' }), '@', '[[[["1"]]]]'),
      /^'price' must be a decimal string such as "101.25", found an array of 1 \(JSON numbers lose exactness\)$/,
    );
    rejects(
      'alphavantage-fx',
      spliced(alphaVantage({ '8. Bid Price': '@' }), '@', '{"a":[1]}'),
      /^'8\. Bid Price' must be a non-empty string, found an object$/,
    );
    rejects('binance-trade', binanceTrade({ p: 1.5 }), /^'p' must be a decimal string, found 1\.5$/);
    rejects(
      'binance-trade',
      binanceTrade({ T: '1672515782136' }),
      /^'T' must be the trade time in ms, found "1672515782136"$/,
    );
    rejects('binance-trade', binanceTrade({ t: -1 }), /^'t' must be the trade id, found -1$/);
    rejects(
      'tickflow-ndjson',
      ndjson({ type: { a: 1 } }),
      /^'type' must be trade, quote or heartbeat, found an object$/,
    );
    rejects(
      'tickflow-ndjson',
      ndjson({ side: 'constructor' }),
      /^'side' must be BUY, SELL or UNKNOWN, found "constructor"$/,
    );
    rejects('tickflow-ndjson', ndjson({ price: 101.25 }), /^'price' must be a decimal string/);
  });

  it('refuses CSV lines of the wrong shape in time independent of their length', () => {
    rejects(
      'tardis-trades',
      ','.repeat(MAX_PAYLOAD_LENGTH - 1),
      /^tardis-trades line has more than 8 fields, expected 8/,
      {},
      5,
    );
    rejects(
      'tardis-book-snapshot-25',
      ','.repeat(MAX_PAYLOAD_LENGTH + 1),
      new RegExp(`^payload of ${MAX_PAYLOAD_LENGTH + 1} characters is longer than the ${MAX_PAYLOAD_LENGTH}`),
    );
    rejects('truefx-csv', ','.repeat(100_000), /^truefx-csv line has more than 4 fields/, {}, 5);
    rejects(
      'truefx-quotes',
      'x'.repeat(100_000),
      /^truefx-quotes line has 1 fields, expected 3: 'x{120}… \(100000 characters\)'$/,
    );
    // A book level with an amount but no price is not a shallower book.
    const fields = BOOK_LINE.split(',');
    fields[4] = '';
    rejects('tardis-book-snapshot-25', fields.join(','), /^asks\[0\]\.price '' is not a decimal number$/);
  });

  it('refuses Binance book frame levels that are malformed or hostile, and frames deeper than the bound', () => {
    rejects(
      'binance-book',
      binanceBook({ bids: [['1e99999999', '1']] }),
      /^bids\[0\] price '1e99999999' has an exponent beyond ±99$/,
      {},
      1,
    );
    rejects(
      'binance-book',
      binanceBook({
        asks: [
          ['0.0026', '1'],
          ['abc', '1'],
        ],
      }),
      /^asks\[1\] price 'abc' is not a decimal number$/,
    );
    rejects(
      'binance-book',
      binanceBook({ asks: [['0.0026']] }),
      /^'asks'\[0\] must be \[price, quantity\] strings, found \["0\.0026"\]$/,
    );
    rejects(
      'binance-book',
      binanceBook({ bids: [[1, 2]] }),
      /^'bids'\[0\] must be \[price, quantity\] strings, found \[1, 2\]$/,
    );
    const levels = (n: number): [string, string][] => Array.from({ length: n }, (_, i) => [String(1000 + i), '1']);
    rejects(
      'binance-book',
      binanceBook({ bids: levels(MAX_BOOK_FRAME_LEVELS + 1) }),
      /^'bids' has 501 levels; at most 500 are accepted$/,
    );
    const full = parseBook(raw('binance-book', binanceBook({ bids: levels(MAX_BOOK_FRAME_LEVELS) })));
    if (full.kind !== 'book') throw new Error(full.kind);
    expect(full.value.bids).toHaveLength(MAX_BOOK_FRAME_LEVELS);
    expect(full.value.sequence).toBe(160);
    checkEncodes(full);
  });
});

describe('the Binance local book under hostile input', () => {
  type Snapshot = Parameters<typeof bookFromSnapshot>[0];
  const snapshot = (bids: unknown, asks: unknown = [], lastUpdateId: unknown = 160): Snapshot =>
    ({ lastUpdateId, bids, asks }) as Snapshot;
  const update = (U: unknown, u: unknown, b: unknown = [], a: unknown = []): DepthUpdate =>
    ({ E: 1, s: 'BNBBTC', U, u, b, a }) as DepthUpdate;
  const book = bookFromSnapshot({ lastUpdateId: 160, bids: [['0.0024', '10']], asks: [['0.0026', '100']] });
  const fails = (fn: () => unknown, message: RegExp, maxMs = 10): TickflowError =>
    expectRecordError(fn, message, maxMs);

  it('refuses malformed and hostile snapshot levels with a TickflowError', () => {
    bookFromSnapshot(snapshot([['1e-12', '1']])); // warm up: compiles what the timed calls run
    fails(
      () => bookFromSnapshot(snapshot([['1e99999999', '1']])),
      /^snapshot 'bids'\[0\] price '1e99999999' has an exponent beyond ±99$/,
      1,
    );
    fails(
      () => bookFromSnapshot(snapshot([['abc', '1']])),
      /^snapshot 'bids'\[0\] price 'abc' is not a decimal number$/,
    );
    fails(
      () => bookFromSnapshot(snapshot([], [['1', 'abc']])),
      /^snapshot 'asks'\[0\] quantity 'abc' is not a decimal number$/,
    );
    fails(() => bookFromSnapshot(snapshot([['1', TEN_MB_OF_DIGITS]])), /quantity .* longer than the 64 characters/);
    fails(() => bookFromSnapshot(snapshot([['0', '1']])), /price '0' is not positive/);
    fails(() => bookFromSnapshot(snapshot([['1', '-1']])), /quantity '-1' is negative/);
    fails(
      () => bookFromSnapshot(snapshot('x')),
      /^snapshot 'bids' must be a list of \[price, quantity\] strings, found "x"$/,
    );
    fails(
      () => bookFromSnapshot(snapshot([null])),
      /^snapshot 'bids'\[0\] must be \[price, quantity\] strings, found null$/,
    );
    fails(() => bookFromSnapshot(snapshot([], [], '160')), /^'lastUpdateId' must be the last update id, found "160"$/);
    fails(() => bookFromSnapshot(null as unknown as Snapshot), /^depth snapshot must be an object, found null$/);
    fails(
      () => bookFromSnapshot(snapshot(Array.from({ length: 5001 }, () => ['1', '1']))),
      /^snapshot 'bids' has 5001 levels; at most 5000/,
    );
  });

  it('refuses malformed and hostile depth updates with a TickflowError, leaving the book as it was', () => {
    fails(
      () => applyDepth(book, update(157, 163, [['1e99999999', '1']]), true),
      /^update 'b'\[0\] price '1e99999999' has an exponent beyond ±99$/,
      1,
    );
    fails(
      () => applyDepth(book, update(157, 163, [], [['abc', '1']]), true),
      /^update 'a'\[0\] price 'abc' is not a decimal number$/,
    );
    fails(() => applyDepth(book, update(157, 163, 'b'), true), /^update 'b' must be a list/);
    fails(() => applyDepth(book, update('157', 163), true), /^'U' must be the first update id, found "157"$/);
    fails(() => applyDepth(book, update(157, 2 ** 60), true), /^'u' must be the final update id/);
    fails(
      () => applyDepth(book, undefined as unknown as DepthUpdate, true),
      /^depth update must be an object, found nothing$/,
    );
    expect(topOf(book, 5)).toEqual({ bids: [['0.0024', '10']], asks: [['0.0026', '100']] });
    // The sync rules are checked before the levels: a stale or gapped update is answered as before.
    expect(applyDepth(book, update(150, 160, 'not levels'), true)).toEqual({ kind: 'stale' });
    expect(applyDepth(book, update(162, 165, 'not levels'), true)).toEqual({ kind: 'gap', expected: 161, got: 162 });
  });

  it('refuses a hand-made book with hostile prices in topOf', () => {
    const hostile: LocalBook = { lastUpdateId: 1, bids: new Map([['1e99999999', '1']]), asks: new Map() };
    fails(
      () => topOf(hostile, 5),
      /^bid price '1e99999999' is not a positive decimal written as Decimal.toFixed\(\) writes it$/,
      1,
    );
  });

  it('keeps at most maxLevels levels a side, dropping those farthest from the top', () => {
    const prices = (n: number): [string, string][] => Array.from({ length: n }, (_, i) => [String(i + 1), '1']);
    const small = bookFromSnapshot({ lastUpdateId: 160, bids: prices(10), asks: prices(10) }, 3);
    expect(topOf(small, 10)).toEqual({
      bids: [
        ['10', '1'],
        ['9', '1'],
        ['8', '1'],
      ],
      asks: [
        ['1', '1'],
        ['2', '1'],
        ['3', '1'],
      ],
    });
    const levels: [string, string][] = [
      ['11', '2'],
      ['0.5', '2'],
    ];
    const applied = applyDepth(small, update(161, 161, levels, levels), false, 3);
    if (applied.kind !== 'applied') throw new Error(applied.kind);
    expect(topOf(applied.book, 10)).toEqual({
      bids: [
        ['11', '2'],
        ['10', '1'],
        ['9', '1'],
      ],
      asks: [
        ['0.5', '2'],
        ['1', '1'],
        ['2', '1'],
      ],
    });
    // The default bound is Binance's depth limit; a frame holds at most MAX_BOOK_FRAME_LEVELS levels a side.
    const deep = bookFromSnapshot({ lastUpdateId: 1, bids: prices(5000), asks: [] });
    const grown = applyDepth(
      deep,
      update(2, 2, [
        ['0.5', '1'],
        ['6000', '1'],
      ]),
      false,
    );
    if (grown.kind !== 'applied') throw new Error(grown.kind);
    expect(grown.book.bids.size).toBe(5000);
    expect(grown.book.bids.has('6000')).toBe(true);
    expect(grown.book.bids.has('1')).toBe(false);
    expect(topOf(grown.book, 1_000_000).bids).toHaveLength(MAX_BOOK_FRAME_LEVELS);
  });
});
