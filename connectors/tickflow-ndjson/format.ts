import type { Quote, RawRecord, Trade } from '../../schemas/types.generated';
import type { Decimal } from '../../schemas/decimal';
import { RecordError } from '../../pipelines/runtime/stage';
import { decimal } from '../tardis/formats';
import type { Canonical, LineFormat } from '../registry';

/**
 * tickflow's own NDJSON: one JSON object per line, the format of the synthetic generator and of
 * any feed that has no parser of its own. Prices and sizes are decimal strings (a JSON number is
 * refused: it has already been through a float). Times are integer microseconds since the Unix
 * epoch, UTC. `seq`, when present, is the venue's sequence number per instrument (gaps in it are
 * reported by normalize's quality rules).
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

function object(payload: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch (error) {
    throw new RecordError('PARSE_ERROR', `not JSON (${(error as Error).message}): '${payload.slice(0, 120)}'`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RecordError('PARSE_ERROR', `not a JSON object: '${payload.slice(0, 120)}'`);
  return value as Json;
}

function text(o: Json, field: string): string {
  const value = o[field];
  if (typeof value !== 'string' || value === '') throw new RecordError('PARSE_ERROR', `'${field}' must be a non-empty string, found ${JSON.stringify(value)}`);
  return value;
}

function integer(o: Json, field: string): number {
  const value = o[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new RecordError('PARSE_ERROR', `'${field}' must be a non-negative integer, found ${JSON.stringify(value)}`);
  return value;
}

function exact(o: Json, field: string): Decimal {
  const value = o[field];
  if (typeof value !== 'string') throw new RecordError('PARSE_ERROR', `'${field}' must be a decimal string such as "101.25", found ${JSON.stringify(value)} (JSON numbers lose exactness)`);
  return decimal(value, field);
}

const SIDES = new Set<Trade['side']>(['BUY', 'SELL', 'UNKNOWN']);

function identity(o: Json, raw: RawRecord) {
  const venue = text(o, 'venue');
  const symbol = text(o, 'symbol');
  return { instrumentId: `${venue}:${symbol}`, venue, symbol, source: raw.source, tsEvent: integer(o, 'tsEvent'), tsRecv: integer(o, 'tsRecv') };
}

function sequenceOf(o: Json): number | undefined {
  return o.seq === undefined ? undefined : integer(o, 'seq');
}

export const tickflowNdjson: LineFormat = {
  name: 'tickflow-ndjson',
  description: "tickflow NDJSON: one object per line, type trade | quote | heartbeat, decimals as strings",
  header: null,
  locate(line) {
    // Only what replay needs to key and pace the line; normalize checks everything else.
    try {
      const o = JSON.parse(line) as Json;
      return { key: typeof o.venue === 'string' && typeof o.symbol === 'string' ? `${o.venue}:${o.symbol}` : null, tsEvent: Number(o.tsEvent), tsRecv: Number(o.tsRecv) };
    } catch {
      return { key: null, tsEvent: Number.NaN, tsRecv: Number.NaN };
    }
  },
  parse(raw): Canonical {
    const o = object(raw.payload);
    switch (o.type) {
      case 'trade': {
        const side = o.side as Trade['side'];
        if (!SIDES.has(side)) throw new RecordError('PARSE_ERROR', `'side' must be BUY, SELL or UNKNOWN, found ${JSON.stringify(o.side)}`);
        const trade: Trade = { ...identity(o, raw), price: exact(o, 'price'), size: exact(o, 'size'), side, tradeId: text(o, 'tradeId') };
        return { kind: 'trade', value: trade, sequence: sequenceOf(o) };
      }
      case 'quote': {
        const sequence = sequenceOf(o);
        const quote: Quote = { ...identity(o, raw), bidPrice: exact(o, 'bidPrice'), bidSize: exact(o, 'bidSize'), askPrice: exact(o, 'askPrice'), askSize: exact(o, 'askSize'), sequence: sequence ?? raw.sequence };
        return { kind: 'quote', value: quote, sequence };
      }
      case 'heartbeat':
        return { kind: 'heartbeat', value: identity(o, raw) };
      default:
        throw new RecordError('PARSE_ERROR', `'type' must be trade, quote or heartbeat, found ${JSON.stringify(o.type)}`);
    }
  },
};
