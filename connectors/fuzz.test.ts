import fs from 'node:fs';
import path from 'node:path';
import type { RawRecord } from '../schemas/types.generated';
import type { Canonical } from './formats';
import { FORMATS } from './formats';
import type { DepthUpdate } from './binance/messages';
import { applyDepth, bookFromSnapshot, topOf } from './binance/messages';
import { MARKET_DEFAULTS, syntheticMarket } from './synthetic/market';
import { rng } from './synthetic/trades';
import { MAX_PAYLOAD_LENGTH } from './tardis/formats';
import { MAX_TIMESTAMP_MICROS, MIN_TIMESTAMP_MICROS } from './time';
import { avroType } from '../pipelines/runtime/avro';
import { isRecordError } from '../pipelines/runtime/errors';

/**
 * Every registered format against mutated lines: from faithful seed lines of each format, 100,000
 * deterministic mutations (bytes flipped, inserted and deleted; numbers replaced by hostile forms;
 * impossible dates; columns dropped, duplicated and swapped between lines and formats; control and
 * other unusual characters; truncation; long repeats; wrong and nested JSON). For every line:
 * `parse` returns a Canonical that encodes with the Avro type of its kind and has its times in
 * [MIN_TIMESTAMP_MICROS, MAX_TIMESTAMP_MICROS), or throws a TickflowError, nothing else; no parse
 * takes over 10 ms; and `locate` never throws.
 */
const MUTATIONS_PER_FORMAT = 100_000;
const MAX_PARSE_MS = 10;
const RECV = 1_700_000_000_000_500;
/** Receive times a raw record may carry (an Avro long) that no parser may pass on. */
const HOSTILE_RECV = [0, 1, -1, 9e15, MAX_TIMESTAMP_MICROS, MIN_TIMESTAMP_MICROS - 1];

const fixture = (...parts: string[]): string[] =>
  fs
    .readFileSync(path.join(__dirname, ...parts), 'utf8')
    .trim()
    .split('\n');
const TRADES = fixture('tardis', 'fixtures', 'binance-futures-btcusdt-trades-2020-02-22.csv').slice(1, 201);
const QUOTES = fixture('tardis', 'fixtures', 'binance-futures-btcusdt-quotes-2020-02-22.csv').slice(1, 201);
const BOOKS = fixture('tardis', 'fixtures', 'binance-futures-btcusdt-book25-2020-09-01.csv').slice(1);
const TRUEFX_EXPORT = 'truefx-usdjpy-quotes-2013-01.csv';
const TRUEFX_QUOTES = fixture('truefx', 'fixtures', TRUEFX_EXPORT).slice(1, 201);
const TRUEFX_NATIVE = fixture('truefx', 'fixtures', 'USDJPY-2013-01-first20.csv');

/** Binance frames as the exchange documents them and the connector publishes them (connectors/binance/messages.ts). */
function binanceSeeds(): { trades: string[]; books: string[]; heartbeats: string[] } {
  const trades = TRADES.map((row, i) => {
    const f = row.split(',');
    const T = Math.floor(Number(f[2]) / 1000);
    return JSON.stringify({ e: 'trade', E: T + 3, s: 'BTCUSDT', t: 1000 + i, p: f[6], q: f[7], T, m: f[5] === 'sell' });
  });
  trades.push('{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"1","T":1672515782136,"m":true}');
  const books = BOOKS.map((row, i) => {
    const f = row.split(',');
    const side = (offset: number): [string, string][] =>
      Array.from({ length: 25 }, (_, l): [string, string] => [f[4 + 4 * l + offset], f[5 + 4 * l + offset]]);
    const E = Math.floor(Number(f[2]) / 1000);
    return JSON.stringify({ symbol: 'BTCUSDT', E, lastUpdateId: 7_000_000 + i, bids: side(2), asks: side(0) });
  });
  // Frames of the local book as the feed makes them: a snapshot, then diffs, then the top levels.
  const bids: [string, string][] = [
    ['0.0024', '10'],
    ['0.0023', '5'],
  ];
  let book = bookFromSnapshot({ lastUpdateId: 160, bids, asks: [['0.0026', '9']] });
  for (let u = 161; u < 171; u++) {
    const E = 1672515782000 + u;
    const b: [string, string][] = [[`0.00${20 + (u % 4)}`, String(u % 3)]];
    const diff: DepthUpdate = { E, s: 'BNBBTC', U: u, u, b, a: [[`0.00${26 + (u % 3)}`, '1.5']] };
    const next = applyDepth(book, diff, u === 161);
    if (next.kind !== 'applied') throw new Error(`seed book: ${next.kind}`);
    book = next.book;
    books.push(JSON.stringify({ symbol: 'BNBBTC', E, lastUpdateId: u, ...topOf(book, 25) }));
  }
  const heartbeats = trades.slice(0, 50).map((t) => `{"symbol":"BTCUSDT","E":${(JSON.parse(t) as { E: number }).E}}`);
  return { trades, books, heartbeats };
}

/** Alpha Vantage bodies as tests/support/fake-alphavantage.ts serves them (pretty-printed) and the documented one. */
function alphaVantageSeeds(): string[] {
  const rate = (time: string, bid: string, ask: string): Record<string, string> => ({
    '1. From_Currency Code': 'USD',
    '2. From_Currency Name': 'United States Dollar',
    '3. To_Currency Code': 'JPY',
    '4. To_Currency Name': 'Japanese Yen',
    '5. Exchange Rate': bid,
    '6. Last Refreshed': time,
    '7. Time Zone': 'UTC',
    '8. Bid Price': bid,
    '9. Ask Price': ask,
  });
  const bodies = TRUEFX_QUOTES.slice(0, 100).map((line) => {
    const [ts, bid, ask] = line.split(',');
    return JSON.stringify({ 'Realtime Currency Exchange Rate': rate(ts.slice(0, 19), bid, ask) }, null, 4);
  });
  const documented = rate('2024-05-29 20:12:01', '157.40400000', '157.41300000');
  bodies.push(JSON.stringify({ 'Realtime Currency Exchange Rate': documented }));
  return bodies;
}

function ndjsonSeeds(): string[] {
  const p = 0.02;
  const faults = { badPrint: p, nonPositive: p, crossed: p, locked: p, duplicate: p, outOfOrder: p, gap: p };
  const startMicros = Date.UTC(2024, 0, 3, 9) * 1000;
  const options = { ...MARKET_DEFAULTS, seed: 5, startMicros, eventsPerSecond: 20, faults };
  return [...syntheticMarket(options, 300)].map((e) => e.line);
}

const binance = binanceSeeds();
const SEEDS: Readonly<Record<string, readonly string[]>> = {
  'tardis-trades': TRADES,
  'tardis-quotes': QUOTES,
  'tardis-book-snapshot-25': BOOKS,
  'tickflow-ndjson': ndjsonSeeds(),
  'binance-trade': binance.trades,
  'binance-book': binance.books,
  'binance-heartbeat': binance.heartbeats,
  'alphavantage-fx': alphaVantageSeeds(),
  'truefx-csv': TRUEFX_NATIVE,
  'truefx-quotes': TRUEFX_QUOTES,
};
const ALL_SEEDS = Object.values(SEEDS).flat();
const SEED_COLUMNS = ALL_SEEDS.map((line) => line.split(','));
const SEED_TOKENS = ALL_SEEDS.map((line) => line.split(/[,{}[\]":\s]+/).filter(Boolean));

/** Replacements for a number: hostile magnitudes, forms that are not decimals, unit mistakes, and calendar edges. */
const NUMBERS = [
  '1e9000000000000000',
  '1e-9000000000000000',
  '1e99999999',
  '-1e99999999',
  '9'.repeat(70),
  '9'.repeat(27),
  `0.${'0'.repeat(12)}1`,
  '1e26',
  '1e-13',
  '1e25',
  '1e-12',
  '99999999999999999999999999.999999999999',
  '-99999999999999999999999999.999999999999',
  '-1',
  '-0',
  '0',
  '0.0',
  '+1',
  '1.',
  '.5',
  '.',
  '-',
  '',
  'e',
  '1e',
  '1e+',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e-7',
  '0x10',
  '0b1',
  '1_000',
  '1,5',
  ' 1',
  '1 ',
  '١٢٣',
  '９',
  '9007199254740993',
  '9007199254740991',
  '9e15',
  '8.64e15',
  '4102444800000000',
  '4102444799999999',
  '315532800000000',
  '315532799999999',
  '1700000000',
  '1700000000000',
  '1700000000000000000',
  '1.5',
  'null',
  'true',
  '"1"',
  '[]',
  '{}',
];
const YEARS = ['13', '013', '0013', '0999', '1900', '1969', '1970', '1979', '1980', '2099', '2100', '9999', '0000'];
const MONTHS_DAYS = ['00', '13', '32', '29', '30', '31', '99', '1', '001'];
const TIMES = ['24:00:00', '99:00:00', '23:60:00', '23:61:00', '23:59:60', '00:00:00', '23:59:59', '9:00:00', '12:00'];
const OFFSETS = ['+99:00', '+14:00', '+14:01', '-14:00', '-12:00', '+05:60', '+0100', 'Z', 'z', '+00:00:00', ''];
const ODD = [
  '\u0000',
  '\n',
  '\r',
  '\t',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u200b',
  '\u202e',
  '\ud800',
  '\udc00',
  '\ud83d\ude00',
  'ß',
  'ﬀ',
  'İ',
  ':',
  '/',
  ',',
  '"',
  '\\',
  '{',
  '}',
  '[',
  ']',
  '\\u0000',
  '\\ud800',
];
const JSON_VALUES = [
  'null',
  'true',
  'false',
  '[]',
  '{}',
  '""',
  '"x"',
  '0',
  '-1',
  '1.5',
  '1e400',
  '[["1","2"]]',
  '[[1,2]]',
  '{"a":[1]}',
  '"1e9000000000000000"',
  '[null]',
];
const NUMBER = /-?\d+(\.\d+)?([eE][+-]?\d+)?/g;
const JSON_VALUE = /(?<=:\s*)("([^"\\]|\\.)*"|-?\d[\d.eE+-]*|true|false|null|\[[^\]]*\])/g;
const JSON_SCALAR = /(?<=:\s*)("([^"\\]|\\.)*"|-?\d[\d.eE+-]*)/g;

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)];
const int = (random: Random, n: number): number => Math.floor(random() * n);

/**
 * `line` with one match of `pattern` (global, never empty) replaced by `make(match)`: the first match
 * from a random position (which may start inside a token), else the first; unchanged when none.
 */
function replaceOne(random: Random, line: string, pattern: RegExp, make: (match: string) => string): string {
  pattern.lastIndex = int(random, line.length + 1);
  let m = pattern.exec(line);
  if (!m) {
    pattern.lastIndex = 0;
    m = pattern.exec(line);
  }
  if (!m) return line;
  return line.slice(0, m.index) + make(m[0]) + line.slice(m.index + m[0].length);
}

const nested = (depth: number, inner: string): string => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

/** Impossible dates and times, short years and wild offsets in `line`. */
function mutateTime(random: Random, line: string): string {
  switch (int(random, 5)) {
    case 0:
      return replaceOne(random, line, /\d{4}(?=-\d{2}-\d{2})|^[A-Z/]+,\d{4}/g, (y) =>
        y.includes(',') ? `${y.slice(0, y.indexOf(',') + 1)}${pick(random, YEARS)}` : pick(random, YEARS),
      );
    case 1:
      return replaceOne(random, line, /(?<=\d{4}-?)\d{2}/g, () => pick(random, MONTHS_DAYS));
    case 2:
      return replaceOne(random, line, /\d{2}:\d{2}:\d{2}/g, () => pick(random, TIMES));
    case 3:
      return replaceOne(random, line, /[+-]\d{2}:\d{2}(?=,)/g, () => pick(random, OFFSETS));
    default: {
      // yyyyMMdd of TrueFX's own format
      const date = (): string => [YEARS, MONTHS_DAYS, MONTHS_DAYS].map((l) => pick(random, l)).join('');
      return replaceOne(random, line, /\d{8}(?= )/g, date);
    }
  }
}

/** One mutation of `line`. */
function mutate(random: Random, line: string): string {
  const at = int(random, line.length + 1);
  switch (int(random, 16)) {
    case 0: {
      // flip a character: printable, or any UTF-16 code unit
      const char = String.fromCharCode(random() < 0.5 ? 32 + int(random, 95) : int(random, 0x10000));
      return line.slice(0, at) + char + line.slice(at + 1);
    }
    case 1: {
      // insert characters
      const chars = Array.from({ length: 1 + int(random, 4) }, () => String.fromCharCode(32 + int(random, 95)));
      return line.slice(0, at) + chars.join('') + line.slice(at);
    }
    case 2: // delete a range
      return line.slice(0, at) + line.slice(at + 1 + int(random, 12));
    case 3:
    case 4: // replace a number with a hostile form, or scale it as a unit mistake would
      return replaceOne(random, line, NUMBER, (n) =>
        random() < 0.15 ? String(Number(n) * pick(random, [1000, 0.001, 1e6, -1])) : pick(random, NUMBERS),
      );
    case 5:
      return mutateTime(random, line);
    case 6: {
      // drop or duplicate a column (a JSON member, roughly, in JSON)
      const parts = line.split(',');
      const i = int(random, parts.length);
      if (random() < 0.5) parts.splice(i, 1);
      else parts.splice(i, 0, parts[i]);
      return parts.join(',');
    }
    case 7: {
      // swap a column with one of another line, of any format
      const parts = line.split(',');
      parts[int(random, parts.length)] = pick(random, pick(random, SEED_COLUMNS));
      return parts.join(',');
    }
    case 8: // unusual and control characters
      return line.slice(0, at) + pick(random, ODD) + line.slice(at + (random() < 0.5 ? 1 : 0));
    case 9: // truncation
      return line.slice(0, at);
    case 10: {
      // a long repeat of a slice, up to about 100 KB
      const slice = line.slice(at, at + 1 + int(random, 20)) || 'x';
      return line.slice(0, at) + slice.repeat(1 + int(random, random() < 0.1 ? 5000 : 50)) + line.slice(at);
    }
    case 11: // a JSON value of the wrong type
      return replaceOne(random, line, JSON_VALUE, () => pick(random, JSON_VALUES));
    case 12: {
      // nesting: the whole line, or one value
      const depth = pick(random, [2, 5, 9, 50, 1000, 20_000]);
      if (random() < 0.3) return nested(depth, line);
      return replaceOne(random, line, JSON_SCALAR, (v) => nested(depth, v));
    }
    case 13: // a token from another line of any format
      return replaceOne(random, line, /[^,{}[\]":\s]+/g, () => pick(random, pick(random, SEED_TOKENS)) ?? '');
    case 14: // a member again with another value (duplicate JSON keys), or a column appended
      if (!line.startsWith('{')) return `${line},${pick(random, NUMBERS)}`;
      return line.replace(/^\{("[^"]+"):/, (_, key: string) => `{${key}:${pick(random, JSON_VALUES)},${key}:`);
    default: // the line of another format
      return pick(random, ALL_SEEDS);
  }
}

const SCHEMAS = { trade: 'trade', quote: 'quote', book: 'book-snapshot', heartbeat: 'heartbeat' } as const;

/** A Canonical's problem, or undefined when it encodes with its kind's Avro type and its times are in range. */
function problemOf(parsed: Canonical): string | undefined {
  const schema = SCHEMAS[parsed.kind];
  if (!schema) return `unknown kind ${String(parsed.kind)}`;
  try {
    avroType(schema).toBuffer(parsed.kind === 'heartbeat' ? { ...parsed.value, trades: 0 } : parsed.value);
  } catch (error) {
    return `does not encode as ${schema}: ${String(error).slice(0, 300)}`;
  }
  for (const ts of [parsed.value.tsEvent, parsed.value.tsRecv]) {
    if (!(ts >= MIN_TIMESTAMP_MICROS && ts < MAX_TIMESTAMP_MICROS)) return `time ${ts} is out of range`;
  }
  const sequence = 'sequence' in parsed ? parsed.sequence : undefined;
  if (sequence !== undefined && !(Number.isSafeInteger(sequence) && sequence >= 0)) return `sequence ${sequence}`;
  return undefined;
}

const shownLine = (line: string): string =>
  JSON.stringify(line.length > 400 ? `${line.slice(0, 400)}… (${line.length} characters)` : line);

interface Figures {
  lines: number;
  accepted: number;
  rejected: number;
  maxMs: number;
}
const figures: Record<string, Figures> = {};

afterAll(() => {
  const row = (format: string, f: Figures): string => {
    const counts = [String(f.lines).padStart(8), String(f.accepted).padStart(9), String(f.rejected).padStart(9)];
    return [format.padEnd(26), ...counts, f.maxMs.toFixed(3).padStart(8)].join(' ');
  };
  const rows = Object.entries(figures).map(([format, f]) => row(format, f));
  console.log(['format                        lines  accepted  rejected   max ms', ...rows].join('\n'));
});

interface Outcome {
  parsed?: Canonical;
  error?: unknown;
  ms: number;
}

function parseTimed(parse: (raw: RawRecord) => Canonical, raw: RawRecord): Outcome {
  const started = process.hrtime.bigint();
  try {
    const parsed = parse(raw);
    return { parsed, ms: Number(process.hrtime.bigint() - started) / 1e6 };
  } catch (error) {
    return { error, ms: Number(process.hrtime.bigint() - started) / 1e6 };
  }
}

describe('every format against 100,000 mutated lines', () => {
  const name = '%s: a Canonical that encodes or a TickflowError, within 10 ms; locate never throws';
  it.each(Object.keys(FORMATS))(
    name,
    (format) => {
      const { format: parser, source } = FORMATS[format];
      const seeds = SEEDS[format];
      if (!seeds || seeds.length === 0) throw new Error(`no seed lines for ${format}: add them to SEEDS`);
      const random = rng(0x7ea0 + format.length * 131 + format.charCodeAt(0));
      const file = format === 'truefx-quotes' ? TRUEFX_EXPORT : `${format}.log`;
      const failures: string[] = [];
      const f: Figures = { lines: 0, accepted: 0, rejected: 0, maxMs: 0 };
      figures[format] = f;
      // The seeds themselves first: they must all parse.
      for (let i = 0; i < seeds.length + MUTATIONS_PER_FORMAT && failures.length < 5; i++) {
        const mutated = i >= seeds.length;
        let line = mutated ? pick(random, seeds) : seeds[i];
        if (mutated) for (let m = 1 + int(random, 3); m > 0; m--) line = mutate(random, line);
        // Now and then a line past the payload bound (last: mutating it further would only cost time).
        if (mutated && random() < 0.001) line += line.slice(0, 50).repeat(Math.ceil(MAX_PAYLOAD_LENGTH / 50));
        const tsRecv = mutated && random() < 0.01 ? pick(random, HOSTILE_RECV) : RECV;
        const raw: RawRecord = { source, format, tsRecv, origin: `${file}:${i + 2}`, sequence: i + 2, payload: line };
        let outcome = parseTimed(parser.parse, raw);
        // A garbage collection or the scheduler can stop any one call for milliseconds, but a slow parse
        // is slow every time: one over 0.5 ms is timed twice more and the fastest counts.
        for (let retry = 0; retry < 2 && outcome.ms > 0.5; retry++) {
          const again = parseTimed(parser.parse, raw);
          if (again.ms < outcome.ms) outcome = again;
        }
        f.lines += 1;
        f.maxMs = Math.max(f.maxMs, outcome.ms);
        if (outcome.ms > MAX_PARSE_MS) failures.push(`parse took ${outcome.ms.toFixed(1)} ms: ${shownLine(line)}`);
        if (outcome.parsed) {
          f.accepted += 1;
          const problem = problemOf(outcome.parsed);
          if (problem) failures.push(`accepted, but ${problem}: ${shownLine(line)}`);
        } else if (isRecordError(outcome.error)) {
          f.rejected += 1;
          if (!mutated) failures.push(`a seed line was rejected (${outcome.error.message}): ${shownLine(line)}`);
        } else {
          failures.push(`threw ${String(outcome.error).slice(0, 300)}: ${shownLine(line)}`);
        }
        try {
          parser.locate(line, file);
        } catch (error) {
          failures.push(`locate threw ${String(error).slice(0, 300)}: ${shownLine(line)}`);
        }
      }
      if (failures.length > 0) throw new Error(`${format}:\n${failures.join('\n')}`);
    },
    120_000,
  );

  it('the Binance local book takes any snapshot and update: a result or a TickflowError', () => {
    const random = rng(0xb00c);
    const WRONG = [-1, 1.5, '7', null, 2 ** 60];
    const level = (): unknown => {
      const p = random() < 0.7 ? (random() * 100).toFixed(int(random, 6)) : pick(random, NUMBERS);
      const q = random() < 0.7 ? (random() * 10).toFixed(int(random, 4)) : pick(random, NUMBERS);
      return pick(random, [[p, q], [p, q], [p, q], [p], [p, q, 'x'], [Number(p), q], p, null, {}, [[p, q]]]);
    };
    const levels = (): unknown =>
      random() < 0.9 ? Array.from({ length: int(random, 30) }, level) : pick(random, [null, 'x', 5, {}, [[]]]);
    let book = bookFromSnapshot({ lastUpdateId: 100, bids: [['1', '1']], asks: [['2', '1']] }, 20);
    let results = 0;
    let errors = 0;
    for (let i = 0; i < 20_000; i++) {
      try {
        if (random() < 0.1) {
          const lastUpdateId = random() < 0.9 ? int(random, 1000) : pick(random, WRONG);
          book = bookFromSnapshot({ lastUpdateId, bids: levels(), asks: levels() } as never, 1 + int(random, 40));
        } else {
          const U = random() < 0.9 ? book.lastUpdateId + 1 - int(random, 3) : pick(random, WRONG);
          const u = typeof U === 'number' ? U + int(random, 3) : U;
          const update = { E: 1, s: 'X', U, u, b: levels(), a: levels() } as unknown as DepthUpdate;
          const result = applyDepth(book, update, random() < 0.2, 1 + int(random, 40));
          if (result.kind === 'applied') book = result.book;
        }
        topOf(book, int(random, 50));
        results += 1;
      } catch (error) {
        if (!isRecordError(error)) throw new Error(`threw ${String(error)}`);
        errors += 1;
      }
    }
    expect(results).toBeGreaterThan(1000);
    expect(errors).toBeGreaterThan(1000);
  });
});
