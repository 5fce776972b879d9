import type { Quote, RawRecord } from '../../schemas/types.generated';
import { Decimal, boundedText } from '../../schemas/decimal';
import type { Canonical, LineFormat } from '../formats';
import { checkPayloadLength, decimal } from '../tardis/formats';
import { utcMicros } from '../time';
import { TickflowError } from '../../pipelines/runtime/errors';

/**
 * TrueFX top-of-book FX quotes. TrueFX publishes bid and offer prices without sizes or receive
 * times, so quotes carry size 0 ("not given") and the exchange time as receive time. Instrument
 * ids are `TRUEFX:<BASE>/<QUOTE>`, e.g. TRUEFX:USD/JPY.
 *
 * - `truefx-csv`: TrueFX's own monthly downloads, no header: `USD/JPY,20130101 22:00:00.295,86.655,86.728`
 *   (pair, UTC time to the millisecond, bid, offer).
 * - `truefx-quotes`: the `timestamp,bid,ask` export (NautilusTrader's test data) with ISO-8601
 *   times with offset, one pair per file; the pair comes from the file name (`...usdjpy...` or
 *   `USDJPY-...`), which the raw record's origin carries.
 */
const VENUE = 'TRUEFX';
const NOT_GIVEN = new Decimal(0);

function pairOf(text: string): string {
  if (!/^[A-Z]{3}\/[A-Z]{3}$/.test(text)) {
    throw new TickflowError('PARSE_ERROR', `pair '${boundedText(text)}' is not like USD/JPY`);
  }
  return text;
}

/** ISO 4217 codes of the currencies TrueFX quotes. */
const CURRENCIES = new Set([
  'AUD',
  'CAD',
  'CHF',
  'EUR',
  'GBP',
  'HKD',
  'JPY',
  'MXN',
  'NOK',
  'NZD',
  'PLN',
  'SEK',
  'SGD',
  'TRY',
  'USD',
  'ZAR',
  'CNH',
  'DKK',
  'CZK',
  'HUF',
]);

/** `USD/JPY` from a file name holding `usdjpy` (any case) as a separate word. */
export function pairFromFileName(name: string): string | undefined {
  for (const word of name.split(/[^A-Za-z]+/)) {
    const upper = word.toUpperCase();
    if (upper.length === 6 && CURRENCIES.has(upper.slice(0, 3)) && CURRENCIES.has(upper.slice(3)))
      return `${upper.slice(0, 3)}/${upper.slice(3)}`;
  }
  return undefined;
}

function quote(raw: RawRecord, pair: string, tsEvent: number, bid: string, ask: string): Canonical {
  const value: Quote = {
    instrumentId: `${VENUE}:${pair}`,
    venue: VENUE,
    symbol: pair,
    source: raw.source,
    tsEvent,
    tsRecv: tsEvent,
    bidPrice: decimal(bid, 'bid'),
    bidSize: NOT_GIVEN,
    askPrice: decimal(ask, 'ask'),
    askSize: NOT_GIVEN,
    // TrueFX times are milliseconds: the line number tells apart quotes of the same millisecond.
    sequence: raw.sequence,
  };
  return { kind: 'quote', value };
}

/** `20130101 22:00:00.295` (UTC) to microseconds; a real calendar time in the range of connectors/time.ts. */
function compactTime(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(text);
  if (!m) throw new TickflowError('PARSE_ERROR', `time '${boundedText(text)}' is not yyyyMMdd HH:mm:ss.SSS`);
  return utcMicros(m[1], m[2], m[3], m[4], m[5], m[6], m[7] ?? '', 'time');
}

/** `2013-01-01 22:00:00.295000+00:00` to microseconds (offsets within ±14:00, fractions to the microsecond). */
function isoTime(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) throw new TickflowError('PARSE_ERROR', `timestamp '${boundedText(text)}' is not ISO 8601 with an offset`);
  return utcMicros(m[1], m[2], m[3], m[4], m[5], m[6], m[7] ?? '', 'timestamp', m[8]);
}

/** The fields of a line, split no further than one past `count`: a line of commas costs no more than another. */
function fields(raw: RawRecord, count: number): string[] {
  checkPayloadLength(raw.payload);
  const f = raw.payload.split(',', count + 1);
  if (f.length !== count) {
    const found = f.length > count ? `more than ${count}` : f.length;
    const line = boundedText(raw.payload, 120);
    throw new TickflowError('PARSE_ERROR', `${raw.format} line has ${found} fields, expected ${count}: '${line}'`);
  }
  return f;
}

const safely = (fn: () => number): number => {
  try {
    return fn();
  } catch {
    return Number.NaN;
  }
};

const safelyText = (fn: () => string): string | null => {
  try {
    return fn();
  } catch {
    return null;
  }
};

export const truefxCsv: LineFormat = {
  name: 'truefx-csv',
  description: 'TrueFX download CSV, no header: pair,yyyyMMdd HH:mm:ss.SSS,bid,offer',
  header: null,
  locate(line) {
    const f = line.split(',', 5);
    const ts = safely(() => compactTime(f[1] ?? ''));
    const pair = f.length === 4 ? safelyText(() => pairOf(f[0])) : null;
    return { key: pair === null ? null : `${VENUE}:${pair}`, tsEvent: ts, tsRecv: ts };
  },
  parse(raw) {
    const f = fields(raw, 4);
    return quote(raw, pairOf(f[0]), compactTime(f[1]), f[2], f[3]);
  },
};

function pairOfOrigin(origin: string): string {
  const pair = pairFromFileName(origin);
  if (!pair) {
    const hint = 'name the file like truefx-usdjpy-2013-01.csv';
    throw new TickflowError(
      'PARSE_ERROR',
      `no currency pair in the file name of '${boundedText(origin, 120)}': ${hint}`,
    );
  }
  return pair;
}

export const truefxQuotes: LineFormat = {
  name: 'truefx-quotes',
  description:
    'TrueFX quotes export with header timestamp,bid,ask (ISO-8601 times); the pair from the file name, e.g. truefx-usdjpy-quotes-2013-01.csv',
  header: 'timestamp,bid,ask',
  locate(line, file) {
    const pair = pairFromFileName(file);
    const ts = safely(() => isoTime(line.split(',', 1)[0]));
    return { key: pair ? `${VENUE}:${pair}` : null, tsEvent: ts, tsRecv: ts };
  },
  parse(raw) {
    const f = fields(raw, 3);
    return quote(raw, pairOfOrigin(raw.origin), isoTime(f[0]), f[1], f[2]);
  },
};
