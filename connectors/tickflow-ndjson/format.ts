import type { Quote, RawRecord, Trade } from '../../schemas/types.generated';
import type { Decimal } from '../../schemas/decimal';
import { MAX_SYMBOL_LENGTH, MAX_TRADE_ID_LENGTH, MAX_VENUE_LENGTH } from '../tardis/formats';
import { decimal, identifier, jsonObject, sequenceNumber, shown } from '../tardis/formats';
import { checkedMicros, pacingMicros } from '../time';
import type { Canonical, LineFormat } from '../formats';
import { TickflowError } from '../../pipelines/runtime/errors';

/**
 * tickflow's own NDJSON: one JSON object per line, the format of the synthetic generator and of
 * any feed that has no parser of its own. Prices and sizes are decimal strings (a JSON number is
 * refused: it has already been through a float). Times are integer microseconds since the Unix
 * epoch, UTC, from 1980 to 2100 (connectors/time.ts). `seq`, when present, is the venue's sequence
 * number per instrument (gaps in it are reported by normalize's quality rules).
 *
 *   {"type":"trade","venue":"SYN","symbol":"AAA","tsEvent":1700000000000000,"tsRecv":1700000000000150,
 *    "price":"101.25","size":"0.5","side":"BUY","tradeId":"42","seq":17}
 *   {"type":"quote","venue":"SYN","symbol":"AAA","tsEvent":...,"tsRecv":...,
 *    "bidPrice":"101.24","bidSize":"3","askPrice":"101.26","askSize":"2","seq":18}
 *   {"type":"heartbeat","venue":"SYN","symbol":"AAA","tsEvent":...,"tsRecv":...}
 *
 * A heartbeat says the source is alive and has delivered the instrument's events up to `tsEvent`;
 * it lets normalize see a stale instrument while its feed is otherwise up.
 */
type Json = Record<string, unknown>;

/** A time field: integer microseconds in the range of connectors/time.ts. */
function time(o: Json, field: string): number {
  const value = o[field];
  if (typeof value !== 'number') {
    throw new TickflowError('PARSE_ERROR', `'${field}' must be microseconds since the epoch, found ${shown(value)}`);
  }
  return checkedMicros(value, `'${field}'`);
}

function exact(o: Json, field: string): Decimal {
  const value = o[field];
  if (typeof value !== 'string') {
    const expected = `a decimal string such as "101.25", found ${shown(value)} (JSON numbers lose exactness)`;
    throw new TickflowError('PARSE_ERROR', `'${field}' must be ${expected}`);
  }
  return decimal(value, field);
}

const SIDES = new Set<unknown>(['BUY', 'SELL', 'UNKNOWN']);

function identity(o: Json, raw: RawRecord) {
  const venue = identifier(o.venue, "'venue'", MAX_VENUE_LENGTH, false);
  const symbol = identifier(o.symbol, "'symbol'", MAX_SYMBOL_LENGTH);
  const tsEvent = time(o, 'tsEvent');
  return { instrumentId: `${venue}:${symbol}`, venue, symbol, source: raw.source, tsEvent, tsRecv: time(o, 'tsRecv') };
}

function sequenceOf(o: Json): number | undefined {
  return o.seq === undefined ? undefined : sequenceNumber(o.seq, "'seq'");
}

export const tickflowNdjson: LineFormat = {
  name: 'tickflow-ndjson',
  description: 'tickflow NDJSON: one object per line, type trade | quote | heartbeat, decimals as strings',
  header: null,
  locate(line) {
    // Only what replay needs to key and pace the line (a key of valid identifiers, times in range,
    // else null and NaN); normalize checks everything else.
    let o: Json;
    try {
      o = jsonObject(line);
    } catch {
      return { key: null, tsEvent: Number.NaN, tsRecv: Number.NaN };
    }
    let key: string | null = null;
    try {
      const venue = identifier(o.venue, 'venue', MAX_VENUE_LENGTH, false);
      key = `${venue}:${identifier(o.symbol, 'symbol', MAX_SYMBOL_LENGTH)}`;
    } catch {
      /* no key: normalize rejects the line */
    }
    return { key, tsEvent: pacingMicros(o.tsEvent), tsRecv: pacingMicros(o.tsRecv) };
  },
  parse(raw): Canonical {
    const o = jsonObject(raw.payload);
    switch (o.type) {
      case 'trade': {
        const side = o.side;
        if (!SIDES.has(side)) {
          throw new TickflowError('PARSE_ERROR', `'side' must be BUY, SELL or UNKNOWN, found ${shown(o.side)}`);
        }
        const trade: Trade = {
          ...identity(o, raw),
          price: exact(o, 'price'),
          size: exact(o, 'size'),
          side: side as Trade['side'],
          tradeId: identifier(o.tradeId, "'tradeId'", MAX_TRADE_ID_LENGTH),
        };
        return { kind: 'trade', value: trade, sequence: sequenceOf(o) };
      }
      case 'quote': {
        const sequence = sequenceOf(o);
        const quote: Quote = {
          ...identity(o, raw),
          bidPrice: exact(o, 'bidPrice'),
          bidSize: exact(o, 'bidSize'),
          askPrice: exact(o, 'askPrice'),
          askSize: exact(o, 'askSize'),
          sequence: sequence ?? raw.sequence,
        };
        return { kind: 'quote', value: quote, sequence };
      }
      case 'heartbeat':
        return { kind: 'heartbeat', value: identity(o, raw) };
      default:
        throw new TickflowError('PARSE_ERROR', `'type' must be trade, quote or heartbeat, found ${shown(o.type)}`);
    }
  },
};
