import type { BookSnapshot, Heartbeat, Quote, RawRecord, Trade } from '../schemas/types.generated';
import type { CsvFormat } from './tardis/formats';
import { MAX_PAYLOAD_LENGTH, tardisBookSnapshot25, tardisQuotes, tardisTrades } from './tardis/formats';
import { binanceBook, binanceHeartbeat, binanceTrade } from './binance/messages';
import { alphaVantageFx } from './rest-poller/alphavantage';
import { tickflowNdjson } from './tickflow-ndjson/format';
import { truefxCsv, truefxQuotes } from './truefx/formats';

/**
 * Source formats by name: what `tickflow replay --format` accepts and what normalize dispatches on
 * (the `format` field of each raw record). Add a connector's formats here, explicitly.
 */

/**
 * A source's liveness signal for one instrument: it has delivered the instrument's events up to `tsEvent` (normalize
 * adds the trade count).
 */
export type SourceHeartbeat = Omit<Heartbeat, 'trades'>;

/**
 * What a parser makes of one raw record. `sequence` is the venue's own sequence number per
 * instrument, when the venue has one (normalize reports gaps in it); not the line number.
 */
export type Canonical =
  | { readonly kind: 'trade'; readonly value: Trade; readonly sequence?: number }
  | { readonly kind: 'quote'; readonly value: Quote; readonly sequence?: number }
  | { readonly kind: 'book'; readonly value: BookSnapshot; readonly sequence?: number }
  | { readonly kind: 'heartbeat'; readonly value: SourceHeartbeat };

/** A line-oriented source format: what replay needs to publish a line, and normalize's parser. */
export interface LineFormat {
  readonly name: string;
  readonly description: string;
  /** The exact first line of a file, or null when the format has none. */
  readonly header: string | null;
  /**
   * Vendor instrument key and times of a line of `file` (its base name), for keying and pacing a replay (NaN when
   * unreadable; normalize rejects it).
   */
  locate(line: string, file: string): { key: string | null; tsEvent: number; tsRecv: number };
  /** Throws TickflowError when the record is not valid. */
  parse(raw: RawRecord): Canonical;
}

/** A Tardis-style CSV format as a LineFormat (one kind of record per file). */
function csv(format: CsvFormat): LineFormat {
  return {
    name: format.name,
    description: format.description,
    header: format.header,
    locate(line) {
      // Never throws and never costs more than the parser would: an absurd line is left for normalize to reject.
      if (line.length > MAX_PAYLOAD_LENGTH) return { key: null, tsEvent: Number.NaN, tsRecv: Number.NaN };
      const fields = line.split(',', format.fieldCount + 1);
      return {
        key: fields.length >= 2 ? format.vendorKey(fields) : null,
        tsEvent: format.eventTimeMicros(fields),
        tsRecv: format.recvTimeMicros(fields),
      };
    },
    parse: (raw) => ({ kind: format.kind, value: format.parse(raw) }) as Canonical,
  };
}

export interface SourceFormat {
  readonly format: LineFormat;
  /** Value of `source` on raw and canonical records for file replays of this format. */
  readonly source: string;
  readonly rawTopic: string;
}

export const FORMATS: Readonly<Record<string, SourceFormat>> = {
  'tardis-trades': { format: csv(tardisTrades), source: 'tardis-file', rawTopic: 'md.raw.tardis.v1' },
  'tardis-quotes': { format: csv(tardisQuotes), source: 'tardis-file', rawTopic: 'md.raw.tardis.v1' },
  'tardis-book-snapshot-25': { format: csv(tardisBookSnapshot25), source: 'tardis-file', rawTopic: 'md.raw.tardis.v1' },
  'tickflow-ndjson': { format: tickflowNdjson, source: 'ndjson-file', rawTopic: 'md.raw.tickflow.v1' },
  'binance-trade': { format: binanceTrade, source: 'binance-ws', rawTopic: 'md.raw.binance.v1' },
  'binance-book': { format: binanceBook, source: 'binance-ws', rawTopic: 'md.raw.binance.v1' },
  'binance-heartbeat': { format: binanceHeartbeat, source: 'binance-ws', rawTopic: 'md.raw.binance.v1' },
  'alphavantage-fx': { format: alphaVantageFx, source: 'alphavantage', rawTopic: 'md.raw.rest.v1' },
  'truefx-csv': { format: truefxCsv, source: 'truefx-file', rawTopic: 'md.raw.truefx.v1' },
  'truefx-quotes': { format: truefxQuotes, source: 'truefx-file', rawTopic: 'md.raw.truefx.v1' },
};

/** Every raw topic a format publishes to: normalize's inputs. */
export const RAW_TOPICS: readonly string[] = [...new Set(Object.values(FORMATS).map((f) => f.rawTopic))];

export function formatNames(): string[] {
  return Object.keys(FORMATS);
}
