import { sql, waitForWalApplied } from '../../connectors/questdb/sql';

export const TRADING_TABLES = ['risk_decisions', 'orders', 'fills', 'positions', 'pnl', 'audit'];

const text = (v: unknown): string => (v === null || v === undefined ? '-' : String(v));
/** A DECIMAL as QuestDB returns it (a string), shortened for people: at most `places` decimals, no float on the way. */
function money(v: unknown, places = 2): string {
  if (v === null || v === undefined) return '-';
  const s = String(v);
  const point = s.indexOf('.');
  return point < 0 ? s : s.slice(0, point + 1 + places).replace(/\.$/, '');
}

/**
 * The trading half of the demo summary from QuestDB: decisions by reason, orders by type and final
 * state, fills, each account's final positions and P&L, and the audit trail's size by kind. `since`
 * (microseconds) limits it to this run's rows.
 */
export async function tradingSummary(sinceMicros: number): Promise<string[]> {
  await waitForWalApplied(TRADING_TABLES);
  const since = `ts_processed >= ${sinceMicros}`;
  // Independent reads: at once.
  const [decisions, orders, fills, positions, pnl, audit] = await Promise.all([
    sql(
      `SELECT approved, reason_codes, count() AS n FROM risk_decisions WHERE ts_decided >= ${sinceMicros} GROUP BY approved, reason_codes ORDER BY n DESC LIMIT 12`,
    ),
    sql(
      `SELECT type, status, count() AS n FROM (SELECT order_id, last(type) AS type, last(status) AS status FROM orders WHERE ${since} GROUP BY order_id) GROUP BY type, status ORDER BY type, status`,
    ),
    sql(
      `SELECT count() AS n, sum(quantity) AS qty, sum(fee) AS fees, sum(CASE WHEN liquidity = 'MAKER' THEN 1 ELSE 0 END) AS maker FROM fills WHERE ${since}`,
    ),
    sql(
      `SELECT account, instrument_id, last(quantity), last(avg_cost), last(realized_pnl), last(unrealized_pnl) FROM positions WHERE ${since} GROUP BY account, instrument_id ORDER BY account, instrument_id LIMIT 20`,
    ),
    sql(
      `SELECT account, last(cash), last(equity), last(realized_pnl), last(unrealized_pnl), last(fees), max(drawdown), last(trading_state) FROM pnl WHERE ${since} GROUP BY account ORDER BY account`,
    ),
    sql(`SELECT kind, count() AS n FROM audit WHERE ts_recorded >= ${sinceMicros} GROUP BY kind ORDER BY kind`),
  ]);
  const [fillCount, fillQty, fillFees, maker] = fills.dataset[0] ?? [];
  const auditTotal = audit.dataset.reduce((sum, [, n]) => sum + Number(n), 0);
  return [
    'trading (route -> risk -> execution, paper broker; positions and P&L from risk):',
    `  decisions  ${decisions.dataset.map(([approved, codes, n]) => `${approved ? 'approved' : `rejected ${text(codes)}`} ${text(n)}`).join(', ') || 'none'}`,
    `  orders     ${orders.dataset.map(([type, status, n]) => `${text(type)} ${text(status)} ${text(n)}`).join(', ') || 'none'}`,
    `  fills      ${text(fillCount)} (${text(maker)} as maker), quantity ${money(fillQty, 6)}, fees ${money(fillFees)}`,
    ...positions.dataset.map(
      ([account, id, qty, avg, realized, unrealized]) =>
        `  position   ${text(account)} ${text(id)}: ${money(qty, 6)} at ${money(avg, 4)}, realized ${money(realized)}, unrealized ${money(unrealized)}`,
    ),
    ...pnl.dataset.map(
      ([account, cash, equity, realized, unrealized, fees, drawdown, state]) =>
        `  account    ${text(account)} ${text(state)}: cash ${money(cash)}, equity ${money(equity)}, realized ${money(realized)} (net of fees ${money(fees)}), unrealized ${money(unrealized)}, max drawdown ${money(drawdown)}`,
    ),
    `  audit      ${auditTotal} events: ${audit.dataset.map(([kind, n]) => `${text(kind)} ${text(n)}`).join(', ') || 'none'}`,
  ];
}
