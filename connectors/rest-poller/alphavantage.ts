import type { Quote, RawRecord } from '../../schemas/types.generated';
import { Decimal, boundedText } from '../../schemas/decimal';
import type { Canonical, LineFormat } from '../formats';
import { MAX_SYMBOL_LENGTH, decimal, identifier, jsonObject, shown } from '../tardis/formats';
import { checkedMicros, utcMicros } from '../time';
import { TickflowError } from '../../pipelines/runtime/errors';

/**
 * Alpha Vantage's realtime FX rate (`GET
 * /query?function=CURRENCY_EXCHANGE_RATE&from_currency=USD&to_currency=JPY&apikey=..`),
 * as documented: `{"Realtime Currency Exchange Rate": {"1. From_Currency Code": "USD", ...,
 * "3. To_Currency Code": "JPY", "5. Exchange Rate": "157.407", "6. Last Refreshed": "2024-05-29 20:12:01",
 * "7. Time Zone": "UTC", "8. Bid Price": "157.404", "9. Ask Price": "157.413"}}`. Prices are strings
 * and stay exact. A quote of `ALPHAVANTAGE:<FROM>/<TO>` without sizes (0: not given). When throttled
 * Alpha Vantage answers 200 with `{"Note": ...}` or `{"Information": ...}` instead of the data.
 */
export const VENUE = 'ALPHAVANTAGE';
const KEY = 'Realtime Currency Exchange Rate';
const NOT_GIVEN = new Decimal(0);

type Rate = Record<string, unknown>;

/** The rate object of a body (bounded like every payload: connectors/tardis/formats.ts). */
function rateOf(body: string): Rate {
  const rate = jsonObject(body)[KEY];
  if (typeof rate !== 'object' || rate === null || Array.isArray(rate)) {
    throw new TickflowError('PARSE_ERROR', `no '${KEY}' object: '${boundedText(body, 120)}'`);
  }
  return rate as Rate;
}

function text(rate: Rate, field: string): string {
  const value = rate[field];
  if (typeof value !== 'string' || value === '') {
    throw new TickflowError('PARSE_ERROR', `'${field}' must be a non-empty string, found ${shown(value)}`);
  }
  return value;
}

/** `2024-05-29 20:12:01` in UTC to microseconds: a real calendar time in the range of connectors/time.ts. */
function refreshed(rate: Rate): number {
  if (text(rate, '7. Time Zone') !== 'UTC') {
    throw new TickflowError('PARSE_ERROR', `'7. Time Zone' is ${shown(rate['7. Time Zone'])}; only UTC is read`);
  }
  const when = text(rate, '6. Last Refreshed');
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(when);
  if (!m) throw new TickflowError('PARSE_ERROR', `'6. Last Refreshed' ${shown(when)} is not yyyy-MM-dd HH:mm:ss`);
  return utcMicros(m[1], m[2], m[3], m[4], m[5], m[6], '', "'6. Last Refreshed'");
}

/** `<from>/<to>`: two currency codes, each an identifier, together a symbol. */
function pair(rate: Rate): string {
  const from = identifier(rate['1. From_Currency Code'], "'1. From_Currency Code'", MAX_SYMBOL_LENGTH);
  const to = identifier(rate['3. To_Currency Code'], "'3. To_Currency Code'", MAX_SYMBOL_LENGTH);
  return identifier(`${from}/${to}`, 'pair', MAX_SYMBOL_LENGTH);
}

export const alphaVantageFx: LineFormat = {
  name: 'alphavantage-fx',
  description: 'Alpha Vantage CURRENCY_EXCHANGE_RATE response body (the REST poller publishes it verbatim)',
  header: null,
  locate(line) {
    try {
      const rate = rateOf(line);
      const ts = refreshed(rate);
      return { key: `${VENUE}:${pair(rate)}`, tsEvent: ts, tsRecv: ts };
    } catch {
      return { key: null, tsEvent: Number.NaN, tsRecv: Number.NaN };
    }
  },
  parse(raw: RawRecord): Canonical {
    const rate = rateOf(raw.payload);
    const symbol = pair(rate);
    const quote: Quote = {
      instrumentId: `${VENUE}:${symbol}`,
      venue: VENUE,
      symbol,
      source: raw.source,
      tsEvent: refreshed(rate),
      tsRecv: checkedMicros(raw.tsRecv, 'tsRecv'),
      bidPrice: decimal(text(rate, '8. Bid Price'), '8. Bid Price'),
      bidSize: NOT_GIVEN,
      askPrice: decimal(text(rate, '9. Ask Price'), '9. Ask Price'),
      askSize: NOT_GIVEN,
      sequence: raw.sequence,
    };
    return { kind: 'quote', value: quote };
  },
};

/** The vendor's data time of a body, to skip a poll that brought nothing new; undefined when it has none. */
export function refreshedOf(body: string): string | undefined {
  try {
    return text(rateOf(body), '6. Last Refreshed');
  } catch {
    return undefined;
  }
}

/** Alpha Vantage signals throttling in a 200 body. */
export function throttledBody(body: string): boolean {
  return /^\s*\{\s*"(Note|Information)"/.test(body) && /call frequency|rate limit|requests per/i.test(body);
}
