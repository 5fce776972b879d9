import type {
  Bar,
  BookSnapshot,
  Feature,
  Heartbeat,
  PriceLevel,
  QualityEvent,
  Quote,
  RunningVolume,
  Signal,
  Trade,
} from '../../schemas/types.generated';
import type { Sender } from '@questdb/nodejs-client';

/**
 * QuestDB tables written by the sink: WAL, partitioned by day, designated timestamp `ts` (the
 * record's exchange time), DEDUP UPSERT KEYS so a replayed or retried write replaces instead of
 * duplicating. Prices and sizes are DECIMAL(38, 12), the same scale as the Avro decimals.
 */
export const PRICE = 'DECIMAL(38, 12)';

export interface TableSpec<V> {
  readonly name: string;
  readonly topic: string;
  /** The CREATE TABLE statement for a table of this shape called `name`. */
  ddl(name: string): string;
  /** Statements that bring a table made by an earlier version to this shape (idempotent). */
  upgrade?(name: string): string[];
  /**
   * Writes the columns of one row (after the caller's `table()`); the caller sets the designated timestamp from `ts`.
   */
  row(sender: Sender, value: V): void;
  ts(value: V): number;
}

/** Every market table's leading symbols (ILP wants symbols before the other columns). */
function identity(sender: Sender, r: { instrumentId: string; venue: string; symbol: string; source: string }): Sender {
  return sender
    .symbol('instrument_id', r.instrumentId)
    .symbol('venue', r.venue)
    .symbol('symbol', r.symbol)
    .symbol('source', r.source);
}

function levels(list: readonly PriceLevel[]): string {
  return JSON.stringify(list.map((l) => [l.price.toFixed(), l.size.toFixed()]));
}

export const TRADES: TableSpec<Trade> = {
  name: 'trades',
  topic: 'md.trades.v1',
  ddl: (name) => `CREATE TABLE IF NOT EXISTS ${name} (
    ts TIMESTAMP, instrument_id SYMBOL, venue SYMBOL, symbol SYMBOL, source SYMBOL,
    side SYMBOL, trade_id VARCHAR, price ${PRICE}, size ${PRICE}, ts_recv TIMESTAMP
  ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, instrument_id, trade_id)`,
  row(sender, t) {
    identity(sender, t).symbol('side', t.side);
    sender
      .stringColumn('trade_id', t.tradeId)
      .decimalColumnText('price', t.price.toFixed())
      .decimalColumnText('size', t.size.toFixed())
      .timestampColumn('ts_recv', BigInt(t.tsRecv), 'us');
  },
  ts: (t) => t.tsEvent,
};

export const QUOTES: TableSpec<Quote> = {
  name: 'quotes',
  topic: 'md.quotes.v1',
  // Quotes have no venue id; (exchange time, receive time, sequence) identifies one within an
  // instrument (sequence: the venue's, or the file line; TrueFX quotes share milliseconds).
  ddl: (name) => `CREATE TABLE IF NOT EXISTS ${name} (
    ts TIMESTAMP, instrument_id SYMBOL, venue SYMBOL, symbol SYMBOL, source SYMBOL,
    bid_price ${PRICE}, bid_size ${PRICE}, ask_price ${PRICE}, ask_size ${PRICE}, ts_recv TIMESTAMP, sequence LONG
  ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, instrument_id, ts_recv, sequence)`,
  // A table made before `sequence` existed gets the column and the key.
  upgrade: (name) => [
    `ALTER TABLE ${name} ADD COLUMN IF NOT EXISTS sequence LONG`,
    `ALTER TABLE ${name} DEDUP ENABLE UPSERT KEYS(ts, instrument_id, ts_recv, sequence)`,
  ],
  row(sender, q) {
    identity(sender, q);
    sender
      .decimalColumnText('bid_price', q.bidPrice.toFixed())
      .decimalColumnText('bid_size', q.bidSize.toFixed())
      .decimalColumnText('ask_price', q.askPrice.toFixed())
      .decimalColumnText('ask_size', q.askSize.toFixed());
    sender.timestampColumn('ts_recv', BigInt(q.tsRecv), 'us');
    if (q.sequence !== null) sender.intColumn('sequence', q.sequence);
  },
  ts: (q) => q.tsEvent,
};

export const BOOK: TableSpec<BookSnapshot> = {
  name: 'book',
  topic: 'md.book.v1',
  ddl: (name) => `CREATE TABLE IF NOT EXISTS ${name} (
    ts TIMESTAMP, instrument_id SYMBOL, venue SYMBOL, symbol SYMBOL, source SYMBOL,
    best_bid ${PRICE}, best_ask ${PRICE}, bid_levels INT, ask_levels INT, bids VARCHAR, asks VARCHAR, ts_recv TIMESTAMP, sequence LONG
  ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, instrument_id, ts_recv, sequence)`,
  // Snapshots of one instrument may share both times; `sequence` (update id, file line) tells them apart.
  upgrade: (name) => [
    `ALTER TABLE ${name} ADD COLUMN IF NOT EXISTS sequence LONG`,
    `ALTER TABLE ${name} DEDUP ENABLE UPSERT KEYS(ts, instrument_id, ts_recv, sequence)`,
  ],
  row(sender, b) {
    identity(sender, b);
    if (b.bids.length > 0) sender.decimalColumnText('best_bid', b.bids[0].price.toFixed());
    if (b.asks.length > 0) sender.decimalColumnText('best_ask', b.asks[0].price.toFixed());
    sender
      .intColumn('bid_levels', b.bids.length)
      .intColumn('ask_levels', b.asks.length)
      .stringColumn('bids', levels(b.bids))
      .stringColumn('asks', levels(b.asks));
    sender.timestampColumn('ts_recv', BigInt(b.tsRecv), 'us');
    if (b.sequence !== null) sender.intColumn('sequence', b.sequence);
  },
  ts: (b) => b.tsEvent,
};

export const RUNNING_VOLUME: TableSpec<RunningVolume> = {
  name: 'running_volume',
  topic: 'md.volume.v1',
  ddl: (name) => `CREATE TABLE IF NOT EXISTS ${name} (
    ts TIMESTAMP, instrument_id SYMBOL, venue SYMBOL, symbol SYMBOL, source SYMBOL,
    trade_id VARCHAR, trade_count LONG, volume ${PRICE}, last_price ${PRICE}, ts_recv TIMESTAMP
  ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, instrument_id, trade_id)`,
  row(sender, v) {
    identity(sender, v);
    sender
      .stringColumn('trade_id', v.tradeId)
      .intColumn('trade_count', v.tradeCount)
      .decimalColumnText('volume', v.volume.toFixed())
      .decimalColumnText('last_price', v.lastPrice.toFixed());
    sender.timestampColumn('ts_recv', BigInt(v.tsRecv), 'us');
  },
  ts: (v) => v.tsEvent,
};

/** One row per (instrument, interval, bar start): a later revision (or the final emission) replaces the row. */
export const BARS: TableSpec<Bar> = {
  name: 'bars',
  topic: 'md.bars.v1',
  ddl: (name) => `CREATE TABLE IF NOT EXISTS ${name} (
    ts TIMESTAMP, instrument_id SYMBOL, venue SYMBOL, symbol SYMBOL, source SYMBOL, interval SYMBOL,
    open ${PRICE}, high ${PRICE}, low ${PRICE}, close ${PRICE}, volume ${PRICE}, vwap ${PRICE},
    trade_count INT, revision INT, final BOOLEAN, ts_event TIMESTAMP, ts_recv TIMESTAMP, ts_end TIMESTAMP
  ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, instrument_id, interval)`,
  // `ts_end`: bars follow their instrument's calendar, so a bar's end is not always ts + interval.
  upgrade: (name) => [`ALTER TABLE ${name} ADD COLUMN IF NOT EXISTS ts_end TIMESTAMP`],
  row(sender, b) {
    identity(sender, b).symbol('interval', b.interval);
    sender
      .decimalColumnText('open', b.open.toFixed())
      .decimalColumnText('high', b.high.toFixed())
      .decimalColumnText('low', b.low.toFixed())
      .decimalColumnText('close', b.close.toFixed());
    sender.decimalColumnText('volume', b.volume.toFixed()).decimalColumnText('vwap', b.vwap.toFixed());
    sender.intColumn('trade_count', b.tradeCount).intColumn('revision', b.revision).booleanColumn('final', b.final);
    sender.timestampColumn('ts_event', BigInt(b.tsEvent), 'us').timestampColumn('ts_recv', BigInt(b.tsRecv), 'us');
    if (b.tsEnd > 0) sender.timestampColumn('ts_end', BigInt(b.tsEnd), 'us');
  },
  ts: (b) => b.tsStart,
};

/** Long format, one row per value: `SELECT ts, value FROM features WHERE feature = 'mid'` plots directly. */
export const FEATURES: TableSpec<Feature> = {
  name: 'features',
  topic: 'md.features.v1',
  ddl: (name) => `CREATE TABLE IF NOT EXISTS ${name} (
    ts TIMESTAMP, instrument_id SYMBOL, venue SYMBOL, symbol SYMBOL, source SYMBOL, basis SYMBOL, feature SYMBOL,
    value DOUBLE, exact ${PRICE}, ts_recv TIMESTAMP, event_id VARCHAR
  ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, instrument_id, basis, feature, ts_recv, event_id)`,
  // Quotes and trades share milliseconds (TrueFX, busy venues): `event_id` (the quote's or book's sequence,
  // the trade's id) keeps the features of each; bar features have none (one per bar).
  upgrade: (name) => [
    `ALTER TABLE ${name} ADD COLUMN IF NOT EXISTS event_id VARCHAR`,
    `ALTER TABLE ${name} DEDUP ENABLE UPSERT KEYS(ts, instrument_id, basis, feature, ts_recv, event_id)`,
  ],
  row(sender, f) {
    identity(sender, f).symbol('basis', f.basis).symbol('feature', f.name);
    sender.floatColumn('value', f.value);
    if (f.exact) sender.decimalColumnText('exact', f.exact.toFixed());
    if (f.eventId !== null) sender.stringColumn('event_id', f.eventId);
    sender.timestampColumn('ts_recv', BigInt(f.tsRecv), 'us');
  },
  ts: (f) => f.tsEvent,
};

/** One row per finding; the origin (file:line, topic[partition]@offset) makes a replayed finding replace its row. */
export const QUALITY_EVENTS: TableSpec<QualityEvent> = {
  name: 'quality_events',
  topic: 'md.quality.v1',
  ddl: (name) => `CREATE TABLE IF NOT EXISTS ${name} (
    ts TIMESTAMP, instrument_id SYMBOL, venue SYMBOL, symbol SYMBOL, source SYMBOL, rule SYMBOL, flagged BOOLEAN,
    kind SYMBOL, stage SYMBOL, detail VARCHAR, origin VARCHAR, record VARCHAR, ts_recv TIMESTAMP
  ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, instrument_id, rule, origin)`,
  row(sender, q) {
    identity(sender, q).symbol('rule', q.rule);
    sender
      .symbol('kind', q.kind)
      .symbol('stage', q.stage)
      .booleanColumn('flagged', q.flagged)
      .stringColumn('detail', q.detail)
      .stringColumn('origin', q.origin);
    if (q.record !== null) sender.stringColumn('record', q.record);
    sender.timestampColumn('ts_recv', BigInt(q.tsRecv), 'us');
  },
  ts: (q) => q.tsEvent,
};

/** Feed liveness per instrument and source (a gap in it is a source that went quiet). */
export const HEARTBEATS: TableSpec<Heartbeat> = {
  name: 'heartbeats',
  topic: 'md.heartbeats.v1',
  ddl: (name) => `CREATE TABLE IF NOT EXISTS ${name} (
    ts TIMESTAMP, instrument_id SYMBOL, venue SYMBOL, symbol SYMBOL, source SYMBOL, trades LONG, ts_recv TIMESTAMP
  ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, instrument_id, source)`,
  row(sender, h) {
    identity(sender, h);
    sender.intColumn('trades', h.trades).timestampColumn('ts_recv', BigInt(h.tsRecv), 'us');
  },
  ts: (h) => h.tsEvent,
};

/**
 * Accepted and rejected signals in one table (`status`, `reject_code`), written from signals.v1 and
 * signals.rejected.v1; one row per candidate id.
 */
function signalsFrom(topic: string): TableSpec<Signal> {
  return {
    name: 'signals',
    topic,
    ddl: (name) => `CREATE TABLE IF NOT EXISTS ${name} (
      ts TIMESTAMP, instrument_id SYMBOL, venue SYMBOL, symbol SYMBOL, source SYMBOL, strategy SYMBOL, interval SYMBOL, side SYMBOL,
      status SYMBOL, reject_code SYMBOL, confidence DOUBLE, price ${PRICE}, reason VARCHAR, reject_detail VARCHAR, features VARCHAR,
      id VARCHAR, bar_start TIMESTAMP, bar_revision INT, ts_recv TIMESTAMP, ts_validated TIMESTAMP
    ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, id)`,
    row(sender, s) {
      identity(sender, s)
        .symbol('strategy', s.strategy)
        .symbol('interval', s.interval)
        .symbol('side', s.side)
        .symbol('status', s.status);
      if (s.rejectCode !== null) sender.symbol('reject_code', s.rejectCode);
      sender
        .floatColumn('confidence', s.confidence)
        .decimalColumnText('price', s.price.toFixed())
        .stringColumn('reason', s.reason);
      if (s.rejectDetail !== null) sender.stringColumn('reject_detail', s.rejectDetail);
      sender
        .stringColumn('features', JSON.stringify(s.features))
        .stringColumn('id', s.id)
        .timestampColumn('bar_start', BigInt(s.barStart), 'us')
        .intColumn('bar_revision', s.barRevision);
      sender
        .timestampColumn('ts_recv', BigInt(s.tsRecv), 'us')
        .timestampColumn('ts_validated', BigInt(s.tsValidated), 'us');
    },
    ts: (s) => s.tsEvent,
  };
}

export const SIGNALS = signalsFrom('signals.v1');
export const REJECTED_SIGNALS = signalsFrom('signals.rejected.v1');

export const TABLES: readonly TableSpec<never>[] = [
  TRADES,
  QUOTES,
  BOOK,
  BARS,
  FEATURES,
  QUALITY_EVENTS,
  HEARTBEATS,
  SIGNALS,
  REJECTED_SIGNALS,
  RUNNING_VOLUME,
] as unknown as TableSpec<never>[];

export function tableForTopic(topic: string): TableSpec<unknown> | undefined {
  return (TABLES as unknown as TableSpec<unknown>[]).find((t) => t.topic === topic);
}
