import type {
  AuditEvent,
  ConfigChange,
  Bar,
  BookSnapshot,
  Feature,
  Fill,
  Heartbeat,
  OrderEvent,
  Pnl,
  Position,
  PriceLevel,
  QualityEvent,
  Quote,
  RiskDecision,
  RunningVolume,
  Signal,
  Trade,
} from '../../schemas/types.generated';
import type { Sender } from '@questdb/nodejs-client';
import { Decimal } from '../../schemas/decimal';

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
  /**
   * The value a row was written from (the inverse of `row`), for tables a replay can read back
   * (`tickflow replay --table`); the row's columns by name, as QuestDB's /exec returns them.
   */
  fromRow?(row: Readonly<Record<string, unknown>>): V;
}

/** A timestamp column as QuestDB's /exec returns it (ISO with microseconds) in microseconds since the epoch. */
export function microsOfIso(text: unknown): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(String(text));
  if (!m) throw new Error(`not a QuestDB timestamp: ${String(text)}`);
  return Date.parse(`${m[1]}Z`) * 1000 + Number((m[2] ?? '').padEnd(6, '0'));
}

/** The identity columns every market table leads with, back as a value's fields. */
function identityOf(row: Readonly<Record<string, unknown>>): {
  instrumentId: string;
  venue: string;
  symbol: string;
  source: string;
  tsEvent: number;
  tsRecv: number;
} {
  return {
    instrumentId: String(row.instrument_id),
    venue: String(row.venue),
    symbol: String(row.symbol),
    source: String(row.source),
    tsEvent: microsOfIso(row.ts),
    tsRecv: microsOfIso(row.ts_recv),
  };
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
  fromRow: (row) => ({
    ...identityOf(row),
    price: new Decimal(String(row.price)),
    size: new Decimal(String(row.size)),
    side: row.side as Trade['side'],
    tradeId: String(row.trade_id),
  }),
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
  fromRow: (row) => ({
    ...identityOf(row),
    bidPrice: new Decimal(String(row.bid_price)),
    bidSize: new Decimal(String(row.bid_size)),
    askPrice: new Decimal(String(row.ask_price)),
    askSize: new Decimal(String(row.ask_size)),
    sequence: row.sequence === null || row.sequence === undefined ? null : Number(row.sequence),
  }),
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

/** Every trading table's leading symbols: the account and the instrument. */
function trading(sender: Sender, r: { account: string; instrumentId: string }): Sender {
  return sender.symbol('account', r.account).symbol('instrument_id', r.instrumentId);
}

function optionalDecimal(sender: Sender, column: string, value: Decimal | null): void {
  if (value !== null) sender.decimalColumnText(column, value.toFixed());
}

/** One row per decision (signal and account); the failed rules' codes in `reason_codes`, their details as JSON. */
export const RISK_DECISIONS: TableSpec<RiskDecision> = {
  name: 'risk_decisions',
  topic: 'risk.decisions.v1',
  ddl: (name) => `CREATE TABLE IF NOT EXISTS ${name} (
    ts TIMESTAMP, account SYMBOL, instrument_id SYMBOL, venue SYMBOL, symbol SYMBOL, strategy SYMBOL, side SYMBOL,
    approved BOOLEAN, trading_state SYMBOL, reason_codes VARCHAR, reasons VARCHAR, confidence DOUBLE,
    quantity ${PRICE}, price ${PRICE}, order_id VARCHAR, signal_id VARCHAR, decision_id VARCHAR, ts_decided TIMESTAMP
  ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, decision_id)`,
  row(sender, d) {
    trading(sender, d)
      .symbol('venue', d.venue)
      .symbol('symbol', d.symbol)
      .symbol('strategy', d.strategy)
      .symbol('side', d.side)
      .symbol('trading_state', d.tradingState);
    sender
      .booleanColumn('approved', d.approved)
      .stringColumn('reason_codes', d.reasons.map((r) => r.code).join(','))
      .stringColumn('reasons', JSON.stringify(d.reasons))
      .floatColumn('confidence', d.confidence);
    optionalDecimal(sender, 'quantity', d.quantity);
    optionalDecimal(sender, 'price', d.price);
    if (d.orderId !== null) sender.stringColumn('order_id', d.orderId);
    sender
      .stringColumn('signal_id', d.signalId)
      .stringColumn('decision_id', d.decisionId)
      .timestampColumn('ts_decided', BigInt(d.tsDecided), 'us');
  },
  ts: (d) => d.tsEvent,
};

/** Every order event (one row per state change): an order's rows, latest last, tell its life. */
export const ORDERS: TableSpec<OrderEvent> = {
  name: 'orders',
  topic: 'orders.events.v1',
  ddl: (name) => `CREATE TABLE IF NOT EXISTS ${name} (
    ts TIMESTAMP, account SYMBOL, instrument_id SYMBOL, venue SYMBOL, symbol SYMBOL, side SYMBOL, type SYMBOL,
    time_in_force SYMBOL, kind SYMBOL, status SYMBOL, reason_code SYMBOL, strategy SYMBOL, quantity ${PRICE},
    filled_quantity ${PRICE}, leaves_quantity ${PRICE}, avg_fill_price ${PRICE}, limit_price ${PRICE}, stop_price ${PRICE},
    last_quantity ${PRICE}, last_price ${PRICE}, fee ${PRICE}, liquidity SYMBOL, reduce_only BOOLEAN, order_id VARCHAR,
    parent_order_id VARCHAR, request_id VARCHAR, fill_id VARCHAR, signal_id VARCHAR, detail VARCHAR, event_id VARCHAR,
    seq INT, ts_processed TIMESTAMP
  ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, event_id)`,
  row(sender, e) {
    trading(sender, e)
      .symbol('venue', e.venue)
      .symbol('symbol', e.symbol)
      .symbol('side', e.side)
      .symbol('type', e.type)
      .symbol('time_in_force', e.timeInForce)
      .symbol('kind', e.kind)
      .symbol('status', e.status);
    if (e.reasonCode !== null) sender.symbol('reason_code', e.reasonCode);
    if (e.strategy !== null) sender.symbol('strategy', e.strategy);
    if (e.liquidity !== null) sender.symbol('liquidity', e.liquidity);
    sender
      .decimalColumnText('quantity', e.quantity.toFixed())
      .decimalColumnText('filled_quantity', e.filledQuantity.toFixed())
      .decimalColumnText('leaves_quantity', e.leavesQuantity.toFixed());
    optionalDecimal(sender, 'avg_fill_price', e.avgFillPrice);
    optionalDecimal(sender, 'limit_price', e.limitPrice);
    optionalDecimal(sender, 'stop_price', e.stopPrice);
    optionalDecimal(sender, 'last_quantity', e.lastQuantity);
    optionalDecimal(sender, 'last_price', e.lastPrice);
    optionalDecimal(sender, 'fee', e.fee);
    sender.booleanColumn('reduce_only', e.reduceOnly).stringColumn('order_id', e.orderId);
    if (e.parentOrderId !== null) sender.stringColumn('parent_order_id', e.parentOrderId);
    if (e.requestId !== null) sender.stringColumn('request_id', e.requestId);
    if (e.fillId !== null) sender.stringColumn('fill_id', e.fillId);
    if (e.signalId !== null) sender.stringColumn('signal_id', e.signalId);
    if (e.detail !== null) sender.stringColumn('detail', e.detail);
    sender
      .stringColumn('event_id', e.eventId)
      .intColumn('seq', e.seq)
      .timestampColumn('ts_processed', BigInt(e.tsProcessed), 'us');
  },
  ts: (e) => e.tsEvent,
};

export const FILLS: TableSpec<Fill> = {
  name: 'fills',
  topic: 'fills.v1',
  ddl: (name) => `CREATE TABLE IF NOT EXISTS ${name} (
    ts TIMESTAMP, account SYMBOL, instrument_id SYMBOL, venue SYMBOL, symbol SYMBOL, side SYMBOL, liquidity SYMBOL,
    strategy SYMBOL, quantity ${PRICE}, price ${PRICE}, fee ${PRICE}, slippage ${PRICE}, order_id VARCHAR,
    parent_order_id VARCHAR, signal_id VARCHAR, fill_id VARCHAR, ts_processed TIMESTAMP
  ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, fill_id)`,
  row(sender, f) {
    trading(sender, f)
      .symbol('venue', f.venue)
      .symbol('symbol', f.symbol)
      .symbol('side', f.side)
      .symbol('liquidity', f.liquidity);
    if (f.strategy !== null) sender.symbol('strategy', f.strategy);
    sender
      .decimalColumnText('quantity', f.quantity.toFixed())
      .decimalColumnText('price', f.price.toFixed())
      .decimalColumnText('fee', f.fee.toFixed())
      .decimalColumnText('slippage', f.slippage.toFixed())
      .stringColumn('order_id', f.orderId);
    if (f.parentOrderId !== null) sender.stringColumn('parent_order_id', f.parentOrderId);
    if (f.signalId !== null) sender.stringColumn('signal_id', f.signalId);
    sender.stringColumn('fill_id', f.fillId).timestampColumn('ts_processed', BigInt(f.tsProcessed), 'us');
  },
  ts: (f) => f.tsEvent,
};

/** An account's position per instrument after each change; the latest row per (account, instrument) is the book. */
export const POSITIONS: TableSpec<Position> = {
  name: 'positions',
  topic: 'positions.v1',
  ddl: (name) => `CREATE TABLE IF NOT EXISTS ${name} (
    ts TIMESTAMP, account SYMBOL, instrument_id SYMBOL, quantity ${PRICE}, avg_cost ${PRICE}, realized_pnl ${PRICE},
    fees ${PRICE}, mark_price ${PRICE}, unrealized_pnl ${PRICE}, day_trades INT, ts_processed TIMESTAMP
  ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, account, instrument_id)`,
  row(sender, p) {
    trading(sender, p)
      .decimalColumnText('quantity', p.quantity.toFixed())
      .decimalColumnText('avg_cost', p.avgCost.toFixed())
      .decimalColumnText('realized_pnl', p.realizedPnl.toFixed())
      .decimalColumnText('fees', p.fees.toFixed());
    optionalDecimal(sender, 'mark_price', p.markPrice);
    sender
      .decimalColumnText('unrealized_pnl', p.unrealizedPnl.toFixed())
      .intColumn('day_trades', p.dayTrades)
      .timestampColumn('ts_processed', BigInt(p.tsProcessed), 'us');
  },
  ts: (p) => p.tsEvent,
};

/** An account's cash, equity and P&L after each change (the equity curve and drawdown come from here). */
export const PNL: TableSpec<Pnl> = {
  name: 'pnl',
  topic: 'pnl.v1',
  ddl: (name) => `CREATE TABLE IF NOT EXISTS ${name} (
    ts TIMESTAMP, account SYMBOL, trading_state SYMBOL, trade_date SYMBOL, cash ${PRICE}, equity ${PRICE},
    realized_pnl ${PRICE}, unrealized_pnl ${PRICE}, fees ${PRICE}, day_start_equity ${PRICE}, day_pnl ${PRICE},
    peak_equity ${PRICE}, drawdown ${PRICE}, gross_exposure ${PRICE}, net_exposure ${PRICE}, ts_processed TIMESTAMP
  ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, account)`,
  row(sender, p) {
    sender.symbol('account', p.account).symbol('trading_state', p.tradingState).symbol('trade_date', p.tradeDate);
    for (const [column, value] of [
      ['cash', p.cash],
      ['equity', p.equity],
      ['realized_pnl', p.realizedPnl],
      ['unrealized_pnl', p.unrealizedPnl],
      ['fees', p.fees],
      ['day_start_equity', p.dayStartEquity],
      ['day_pnl', p.dayPnl],
      ['peak_equity', p.peakEquity],
      ['drawdown', p.drawdown],
      ['gross_exposure', p.grossExposure],
      ['net_exposure', p.netExposure],
    ] as const)
      sender.decimalColumnText(column, value.toFixed());
    sender.timestampColumn('ts_processed', BigInt(p.tsProcessed), 'us');
  },
  ts: (p) => p.tsEvent,
};

/** The append-only audit trail: decisions, order events, fills, halts, resumes, breaker changes. */
export const AUDIT: TableSpec<AuditEvent> = {
  name: 'audit',
  topic: 'audit.v1',
  ddl: (name) => `CREATE TABLE IF NOT EXISTS ${name} (
    ts TIMESTAMP, account SYMBOL, kind SYMBOL, actor SYMBOL, instrument_id SYMBOL, ref_id VARCHAR, summary VARCHAR,
    audit_id VARCHAR, ts_recorded TIMESTAMP
  ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, audit_id)`,
  row(sender, a) {
    sender.symbol('account', a.account).symbol('kind', a.kind).symbol('actor', a.actor);
    if (a.instrumentId !== null) sender.symbol('instrument_id', a.instrumentId);
    sender
      .stringColumn('ref_id', a.refId)
      .stringColumn('summary', a.summary)
      .stringColumn('audit_id', a.auditId)
      .timestampColumn('ts_recorded', BigInt(a.tsRecorded), 'us');
  },
  ts: (a) => a.tsEvent,
};

/** Every settings change made on a running pipeline (ops.config.v1 keeps only the latest per key). */
export const CONFIG_CHANGES: TableSpec<ConfigChange> = {
  name: 'config_changes',
  topic: 'ops.config.v1',
  ddl: (name) => `CREATE TABLE IF NOT EXISTS ${name} (
    ts TIMESTAMP, stage SYMBOL, setting SYMBOL, actor SYMBOL, value VARCHAR, previous VARCHAR, reason VARCHAR,
    change_id VARCHAR
  ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, change_id)`,
  row(sender, c) {
    sender.symbol('stage', c.stage).symbol('setting', c.setting).symbol('actor', c.actor);
    if (c.value !== null) sender.stringColumn('value', c.value);
    if (c.previous !== null) sender.stringColumn('previous', c.previous);
    sender.stringColumn('reason', c.reason).stringColumn('change_id', c.changeId);
  },
  ts: (c) => c.tsChanged,
};

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
  RISK_DECISIONS,
  ORDERS,
  FILLS,
  POSITIONS,
  PNL,
  AUDIT,
  CONFIG_CHANGES,
] as unknown as TableSpec<never>[];

export function tableForTopic(topic: string): TableSpec<unknown> | undefined {
  return (TABLES as unknown as TableSpec<unknown>[]).find((t) => t.topic === topic);
}
