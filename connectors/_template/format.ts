/**
 * Template for a new feed format: copy this folder to connectors/<vendor>/, rename, and fill in.
 *
 * Checklist:
 * 1. A pure parser over the vendor's documented wire format: one line (or frame) in, one canonical
 *    record out (`Canonical`: trade, quote, book or heartbeat), exact decimals (`decimal()` refuses
 *    anything that is not a decimal text, JS numbers included), exchange and receive time in
 *    microseconds UTC. Throw `TickflowError('PARSE_ERROR', ...)` naming the field: the line goes to
 *    the raw topic's .dlq with its origin, nothing is lost. Nothing else may escape `parse`, for
 *    any input, and `locate` never throws.
 *    Bound what you read with the shared checks, never by hand: `checkPayloadLength`/`jsonObject`
 *    first, `identifier()` for venue, symbol and ids, `decimal()` for money, and connectors/time.ts
 *    for every time (`utcMicros` for calendar text, `checkedMicros`/`checkedMillis` for numbers,
 *    `pacingMicros` in `locate`). Show input in messages only bounded (`boundedText`, `shown`).
 *    connectors/fuzz.test.ts then feeds the format mutated lines: register it there too.
 * 2. Recorded fixtures beside it (`fixtures/`) with their provenance in a README; test the parser
 *    against every line of them (see format.test.ts).
 * 3. Register the format in connectors/formats.ts (name, `source`, raw topic). A new raw topic goes
 *    in topics/catalog.ts with `dlq: true`; normalize consumes every raw topic of the registry.
 * 4. `npx tickflow replay FILE --format <name>` then publishes files of it; a live transport (a
 *    websocket, a poller) publishes the same raw records to the same topic, reconnects by itself,
 *    and sends heartbeats per instrument (tickflow NDJSON `{"type":"heartbeat",...}` or its own).
 *
 * This template reads a made-up CSV `venue,symbol,time_ms,id,side,price,qty` (millisecond times, no
 * receive time); it is not registered.
 */
import type { RawRecord, Trade } from '../../schemas/types.generated';
import { boundedText } from '../../schemas/decimal';
import type { Canonical, LineFormat } from '../formats';
import { MAX_SYMBOL_LENGTH, MAX_TRADE_ID_LENGTH, MAX_VENUE_LENGTH } from '../tardis/formats';
import { checkPayloadLength, decimal, identifier } from '../tardis/formats';
import { checkedMillis, pacingMicros } from '../time';
import { TickflowError } from '../../pipelines/runtime/errors';

// A Map, not an object literal: a lookup of 'constructor' must find nothing.
const SIDES: ReadonlyMap<string, Trade['side']> = new Map([
  ['buy', 'BUY'],
  ['sell', 'SELL'],
]);

/** Microseconds of a millisecond time column, in the range of connectors/time.ts. */
function millis(text: string): number {
  if (text.length > 15 || !/^\d{1,15}$/.test(text)) {
    throw new TickflowError('PARSE_ERROR', `time_ms '${boundedText(text)}' is not an integer millisecond timestamp`);
  }
  return checkedMillis(Number(text), 'time_ms');
}

export const templateFormat: LineFormat = {
  name: 'template-trades',
  description: 'template: venue,symbol,time_ms,id,side,price,qty',
  header: 'venue,symbol,time_ms,id,side,price,qty',
  locate(line) {
    // Split no further than one field past the 7 a line has: a line of commas costs no more than any other.
    const f = line.split(',', 8);
    const time = f[2] ?? '';
    const ts = time.length <= 15 && /^\d{1,15}$/.test(time) ? pacingMicros(Number(time) * 1000) : Number.NaN;
    let key: string | null = null;
    try {
      if (f.length === 7) {
        const venue = identifier(f[0], 'venue', MAX_VENUE_LENGTH, false);
        key = `${venue}:${identifier(f[1], 'symbol', MAX_SYMBOL_LENGTH)}`;
      }
    } catch {
      /* no key: normalize rejects the line */
    }
    return { key, tsEvent: ts, tsRecv: ts };
  },
  parse(raw: RawRecord): Canonical {
    checkPayloadLength(raw.payload);
    const f = raw.payload.split(',', 8);
    if (f.length !== 7) {
      const found = f.length > 7 ? 'more than 7' : f.length;
      throw new TickflowError('PARSE_ERROR', `template-trades line has ${found} fields, expected 7`);
    }
    const side = SIDES.get(f[4]);
    if (!side) throw new TickflowError('PARSE_ERROR', `side '${boundedText(f[4])}' is not buy or sell`);
    const ts = millis(f[2]);
    const venue = identifier(f[0], 'venue', MAX_VENUE_LENGTH, false);
    const symbol = identifier(f[1], 'symbol', MAX_SYMBOL_LENGTH);
    const trade: Trade = {
      instrumentId: `${venue}:${symbol}`,
      venue,
      symbol,
      source: raw.source,
      tsEvent: ts,
      tsRecv: ts,
      tradeId: identifier(f[3], 'id', MAX_TRADE_ID_LENGTH),
      side,
      price: decimal(f[5], 'price'),
      size: decimal(f[6], 'qty'),
    };
    return { kind: 'trade', value: trade };
  },
};
