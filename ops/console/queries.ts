import type { QueryResult } from '../../connectors/questdb/sql';
import { TickflowError } from '../../pipelines/runtime/errors';
import { ACCOUNT, INSTRUMENT, INTERVAL, OPEN_ORDER_STATUSES, UPPER_WORD } from './validation';

/**
 * SQL for the console's reads, built from validated values only (./validation.ts). QuestDB's /exec takes no bind
 * parameters, so each value goes through `literal`, which re-checks it against its pattern and refuses anything that
 * could end a string literal; times are rendered by us from numbers. Column lists are explicit so the API's shape does
 * not follow the tables' (connectors/questdb/tables.ts).
 */
export type Sql = (query: string) => Promise<QueryResult>;

export type Row = Record<string, unknown>;

/** A string literal for a value that matched `pattern`; anything else is a bug in the caller (validate first). */
export function literal(value: string, pattern: RegExp): string {
  if (!pattern.test(value) || /['"\\\s;]/.test(value))
    throw new TickflowError('INVARIANT', 'an unvalidated value reached SQL', 'validate request values first');
  return `'${value}'`;
}

export function timeLiteral(ms: number): string {
  if (!Number.isFinite(ms)) throw new TickflowError('INVARIANT', 'a time that is not a number', 'validate first');
  return `'${new Date(ms).toISOString()}'`;
}

/** An exact decimal as QuestDB prints it ('9682.310000000000'), without the scale's trailing zeros ('9682.31'). */
export function decimalText(value: string): string {
  let text = value;
  if (text.includes('.')) text = text.replace(/0+$/, '').replace(/\.$/, '');
  return text === '-0' ? '0' : text;
}

function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Rows as objects with camelCase keys; DECIMAL columns become decimal strings (money is never a float in the API),
 * everything else stays as QuestDB's JSON gives it (timestamps as ISO strings, null as null).
 */
export function rowsOf(result: QueryResult): Row[] {
  const names = result.columns.map((c) => camel(c.name));
  const decimal = result.columns.map((c) => c.type.startsWith('DECIMAL'));
  return result.dataset.map((values) => {
    const row: Row = {};
    values.forEach((value, i) => {
      row[names[i]] = decimal[i] && value !== null && value !== undefined ? decimalText(String(value)) : value;
    });
    return row;
  });
}

function where(clauses: (string | undefined | false)[]): string {
  const kept = clauses.filter((c): c is string => typeof c === 'string' && c.length > 0);
  return kept.length > 0 ? ` WHERE ${kept.join(' AND ')}` : '';
}

function range(column: string, from?: number, to?: number): string[] {
  return [
    ...(from !== undefined ? [`${column} >= ${timeLiteral(from)}`] : []),
    ...(to !== undefined ? [`${column} < ${timeLiteral(to)}`] : []),
  ];
}

function whole(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000)
    throw new TickflowError('INVARIANT', 'a limit that is not a small whole number', 'validate first');
  return n;
}

const eq = (column: string, value: string | undefined, pattern: RegExp): string | undefined =>
  value === undefined ? undefined : `${column} = ${literal(value, pattern)}`;

export const BAR_COLUMNS = 'ts, open, high, low, close, volume, vwap, trade_count, revision, final';

export function barsSql(o: {
  instrument: string;
  interval: string;
  from?: number;
  to?: number;
  limit: number;
}): string {
  const filter = where([
    eq('instrument_id', o.instrument, INSTRUMENT),
    eq('interval', o.interval, INTERVAL),
    ...range('ts', o.from, o.to),
  ]);
  // The newest `limit` bars of the range, returned oldest first (what a chart wants).
  return `SELECT * FROM (SELECT ${BAR_COLUMNS} FROM bars${filter} ORDER BY ts DESC LIMIT ${whole(o.limit)}) ORDER BY ts`;
}

export const INSTRUMENT_SQL = {
  bars: 'SELECT instrument_id, interval, count() bars, min(ts) first_ts, max(ts) last_ts FROM bars GROUP BY instrument_id, interval ORDER BY instrument_id, interval',
  signals: 'SELECT instrument_id, count() n FROM signals GROUP BY instrument_id',
  fills: 'SELECT instrument_id, count() n FROM fills GROUP BY instrument_id',
};

export const SIGNAL_COLUMNS =
  'ts, id, instrument_id, strategy, interval, side, status, reject_code, confidence, price, reason, reject_detail, bar_start, ts_validated';

export function signalsSql(o: {
  instrument?: string;
  status?: string;
  from?: number;
  to?: number;
  limit: number;
}): string {
  const filter = where([
    eq('instrument_id', o.instrument, INSTRUMENT),
    eq('status', o.status, UPPER_WORD),
    ...range('ts', o.from, o.to),
  ]);
  return `SELECT ${SIGNAL_COLUMNS} FROM signals${filter} ORDER BY ts DESC LIMIT ${whole(o.limit)}`;
}

export const ORDER_COLUMNS =
  'ts, order_id, seq, account, instrument_id, side, type, time_in_force, kind, status, reason_code, strategy, quantity, filled_quantity, leaves_quantity, avg_fill_price, limit_price, stop_price, last_quantity, last_price, fee, liquidity, reduce_only, parent_order_id, signal_id, detail, event_id, ts_processed';

export function ordersSql(o: {
  account?: string;
  instrument?: string;
  status?: string;
  open?: boolean;
  limit: number;
}): string {
  const filters = [eq('account', o.account, ACCOUNT), eq('instrument_id', o.instrument, INSTRUMENT)];
  if (!o.open) {
    const filter = where([...filters, eq('status', o.status, UPPER_WORD)]);
    return `SELECT ${ORDER_COLUMNS} FROM orders${filter} ORDER BY ts DESC, seq DESC LIMIT ${whole(o.limit)}`;
  }
  // Open: each order's latest event (highest seq; events of one order may share a timestamp) is not terminal.
  const open = OPEN_ORDER_STATUSES.map((s) => `'${s}'`).join(', ');
  const columns = ORDER_COLUMNS.split(', ')
    .map((c) => `o.${c}`)
    .join(', ');
  const inner = where(filters);
  const outer = where([
    `o.status IN (${open})`,
    eq('o.account', o.account, ACCOUNT),
    eq('o.instrument_id', o.instrument, INSTRUMENT),
  ]);
  return (
    `WITH latest AS (SELECT order_id, max(seq) seq FROM orders${inner} GROUP BY order_id) ` +
    `SELECT ${columns} FROM orders o JOIN latest l ON o.order_id = l.order_id AND o.seq = l.seq${outer} ` +
    `ORDER BY o.ts DESC LIMIT ${whole(o.limit)}`
  );
}

export const FILL_COLUMNS =
  'ts, fill_id, order_id, account, instrument_id, side, liquidity, strategy, quantity, price, fee, slippage, signal_id, ts_processed';

export function fillsSql(o: {
  account?: string;
  instrument?: string;
  from?: number;
  to?: number;
  limit: number;
}): string {
  const filter = where([
    eq('account', o.account, ACCOUNT),
    eq('instrument_id', o.instrument, INSTRUMENT),
    ...range('ts', o.from, o.to),
  ]);
  return `SELECT ${FILL_COLUMNS} FROM fills${filter} ORDER BY ts DESC LIMIT ${whole(o.limit)}`;
}

export const POSITION_COLUMNS =
  'ts, account, instrument_id, quantity, avg_cost, realized_pnl, fees, mark_price, unrealized_pnl, day_trades, ts_processed';

/** The book: each (account, instrument)'s latest row (rows are unique per ts within that pair: DEDUP keys). */
export function positionsSql(o: { account?: string; instrument?: string }): string {
  const filter = where([eq('account', o.account, ACCOUNT), eq('instrument_id', o.instrument, INSTRUMENT)]);
  return `SELECT ${POSITION_COLUMNS} FROM positions${filter} LATEST ON ts PARTITION BY account, instrument_id ORDER BY account, instrument_id`;
}

export const PNL_COLUMNS =
  'ts, account, trading_state, trade_date, cash, equity, realized_pnl, unrealized_pnl, fees, day_pnl, peak_equity, drawdown, gross_exposure, net_exposure, ts_processed';

export function pnlSql(o: { account?: string; from?: number; to?: number; limit: number }): string {
  const filter = where([eq('account', o.account, ACCOUNT), ...range('ts', o.from, o.to)]);
  return `SELECT * FROM (SELECT ${PNL_COLUMNS} FROM pnl${filter} ORDER BY ts DESC LIMIT ${whole(o.limit)}) ORDER BY ts`;
}

export function latestPnlSql(o: { account?: string }): string {
  const filter = where([eq('account', o.account, ACCOUNT)]);
  return `SELECT ${PNL_COLUMNS} FROM pnl${filter} LATEST ON ts PARTITION BY account ORDER BY account`;
}

export const DECISION_COLUMNS =
  'ts, decision_id, account, instrument_id, strategy, side, approved, trading_state, reason_codes, reasons, confidence, quantity, price, order_id, signal_id, ts_decided';

export function decisionsSql(o: { account?: string; instrument?: string; approved?: boolean; limit: number }): string {
  const filter = where([
    eq('account', o.account, ACCOUNT),
    eq('instrument_id', o.instrument, INSTRUMENT),
    o.approved === undefined ? undefined : `approved = ${o.approved ? 'true' : 'false'}`,
  ]);
  return `SELECT ${DECISION_COLUMNS} FROM risk_decisions${filter} ORDER BY ts DESC LIMIT ${whole(o.limit)}`;
}

export const AUDIT_COLUMNS = 'ts, audit_id, account, kind, actor, instrument_id, ref_id, summary, ts_recorded';

export function auditSql(o: { account?: string; kind?: string; limit: number }): string {
  const filter = where([eq('account', o.account, ACCOUNT), eq('kind', o.kind, UPPER_WORD)]);
  // Newest recorded first: operator commands recorded now sort above replayed market time.
  return `SELECT ${AUDIT_COLUMNS} FROM audit${filter} ORDER BY ts_recorded DESC, ts DESC LIMIT ${whole(o.limit)}`;
}

export const QUALITY_COLUMNS = 'ts, instrument_id, source, rule, flagged, kind, stage, detail, origin, ts_recv';

export function qualitySql(o: { instrument?: string; rule?: string; limit: number }): string {
  const filter = where([eq('instrument_id', o.instrument, INSTRUMENT), eq('rule', o.rule, UPPER_WORD)]);
  return `SELECT ${QUALITY_COLUMNS} FROM quality_events${filter} ORDER BY ts DESC LIMIT ${whole(o.limit)}`;
}

export function qualitySummarySql(o: { instrument?: string }): string {
  const filter = where([eq('instrument_id', o.instrument, INSTRUMENT)]);
  return `SELECT rule, count() findings, max(ts) last_ts FROM quality_events${filter} GROUP BY rule ORDER BY findings DESC`;
}

/** Risk decisions with their reason codes as a list and their reasons parsed (stored as JSON text). */
export function decisionRow(row: Row): Row {
  const codes = typeof row.reasonCodes === 'string' && row.reasonCodes !== '' ? row.reasonCodes.split(',') : [];
  let reasons: unknown = [];
  try {
    reasons = typeof row.reasons === 'string' ? JSON.parse(row.reasons) : [];
  } catch {
    reasons = [];
  }
  return { ...row, reasonCodes: codes, reasons };
}
