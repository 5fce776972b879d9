/**
 * Template for a new feed format: copy this folder to connectors/<vendor>/, rename, and fill in.
 *
 * Checklist:
 * 1. A pure parser over the vendor's documented wire format: one line (or frame) in, one canonical
 *    record out (`Canonical`: trade, quote, book or heartbeat), exact decimals (`decimal()` refuses
 *    anything that is not a decimal text, JS numbers included), exchange and receive time in
 *    microseconds UTC. Throw `RecordError('PARSE_ERROR', ...)` naming the field: the line goes to
 *    the raw topic's .dlq with its origin, nothing is lost.
 * 2. Recorded fixtures beside it (`fixtures/`) with their provenance in a README; test the parser
 *    against every line of them (see format.test.ts).
 * 3. Register the format in connectors/registry.ts (name, `source`, raw topic). A new raw topic goes
 *    in topics/catalog.ts with `dlq: true`; normalize consumes every raw topic of the registry.
 * 4. `npx tickflow replay FILE --format <name>` then publishes files of it; a live transport (a
 *    websocket, a poller) publishes the same raw records to the same topic, reconnects by itself,
 *    and sends heartbeats per instrument (tickflow NDJSON `{"type":"heartbeat",...}` or its own).
 *
 * This template reads a made-up CSV `venue,symbol,time_ms,id,side,price,qty` (millisecond times, no
 * receive time); it is not registered.
 */
import type { RawRecord, Trade } from '../../schemas/types.generated';
import { RecordError } from '../../pipelines/runtime/stage';
import type { Canonical, LineFormat } from '../registry';
import { decimal } from '../tardis/formats';

const SIDES: Readonly<Record<string, Trade['side']>> = { buy: 'BUY', sell: 'SELL' };

function millis(text: string): number {
  if (!/^\d{1,15}$/.test(text)) throw new RecordError('PARSE_ERROR', `time_ms '${text}' is not an integer millisecond timestamp`);
  return Number(text) * 1000;
}

export const templateFormat: LineFormat = {
  name: 'template-trades',
  description: 'template: venue,symbol,time_ms,id,side,price,qty',
  header: 'venue,symbol,time_ms,id,side,price,qty',
  locate(line) {
    const f = line.split(',');
    const ts = /^\d+$/.test(f[2] ?? '') ? Number(f[2]) * 1000 : Number.NaN;
    return { key: f.length === 7 ? `${f[0]}:${f[1]}` : null, tsEvent: ts, tsRecv: ts };
  },
  parse(raw: RawRecord): Canonical {
    const f = raw.payload.split(',');
    if (f.length !== 7) throw new RecordError('PARSE_ERROR', `template-trades line has ${f.length} fields, expected 7`);
    const side = SIDES[f[4]];
    if (!side) throw new RecordError('PARSE_ERROR', `side '${f[4]}' is not buy or sell`);
    const ts = millis(f[2]);
    const trade: Trade = { instrumentId: `${f[0]}:${f[1]}`, venue: f[0], symbol: f[1], source: raw.source, tsEvent: ts, tsRecv: ts, tradeId: f[3], side, price: decimal(f[5], 'price'), size: decimal(f[6], 'qty') };
    return { kind: 'trade', value: trade };
  },
};
