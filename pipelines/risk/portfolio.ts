import { Decimal } from '../../schemas/decimal';

/**
 * An account's portfolio, kept exactly (decimal strings in the JSON state, Decimal in the math).
 *
 * Accounting contract (cost-basis method, no division in the books):
 * - a fill of signed quantity q (buy > 0, sell < 0) at price p with fee f changes cash by -(q x p) - f;
 * - each position keeps its open quantity and its cost basis C (signed money paid for the open
 *   quantity); opening or adding adds q x p to C; closing part of it removes C x closed / |qty|,
 *   rounded to COST_SCALE places, and realizes the proceeds minus that cost; closing it all removes C;
 *   a fill through zero closes the whole position, then opens the rest;
 * - realized P&L is net of fees, so cash + C - realized stays equal to the starting cash, and
 *   therefore equity - starting cash = realized + unrealized exactly, with
 *   unrealized = sum(qty x price - C) and equity = cash + sum(qty x price);
 * - the price of a position is the mark when one is given, else its last fill price.
 * Day trades: a fill that reduces a position on the same trade date as the position's last opening
 * (or adding) fill counts one day trade, once per such open-then-close turn.
 */
export const COST_SCALE = 12;

export interface PositionBook {
  /** signed open quantity */
  qty: string;
  /** signed cost basis of the open quantity */
  cost: string;
  /** realized P&L of this instrument, net of its fees */
  realized: string;
  fees: string;
  lastPrice: string;
  /** trade date of the last opening or adding fill */
  openDate: string | null;
  /** whether the turn opened on `openDate` has already counted a day trade */
  dayTradeCounted: boolean;
  dayTrades: string[];
}

export interface PortfolioState {
  startingCash: string;
  cash: string;
  realized: string;
  fees: string;
  positions: Record<string, PositionBook>;
  /** the trade date the day figures belong to (null before the first event) */
  tradeDate: string | null;
  dayStartEquity: string;
  peakEquity: string;
  /** trade dates of the account's day trades, one entry per day trade (bounded) */
  dayTrades: string[];
}

export interface FillInput {
  readonly instrumentId: string;
  readonly side: 'BUY' | 'SELL';
  readonly quantity: Decimal;
  readonly price: Decimal;
  readonly fee: Decimal;
  readonly tradeDate: string;
}

export interface Valuation {
  readonly equity: Decimal;
  readonly unrealized: Decimal;
  readonly gross: Decimal;
  readonly net: Decimal;
  /** per instrument with an open quantity: signed quantity, price used, signed market value */
  readonly positions: ReadonlyMap<string, { qty: Decimal; price: Decimal; value: Decimal }>;
}

/** Day-trade dates older than this many entries are dropped (the rule looks back a few days only). */
const MAX_DAY_TRADES_KEPT = 200;

const ZERO = new Decimal(0);

export function newPortfolio(startingCash: Decimal): PortfolioState {
  const cash = startingCash.toFixed();
  return {
    startingCash: cash,
    cash,
    realized: '0',
    fees: '0',
    positions: {},
    tradeDate: null,
    dayStartEquity: cash,
    peakEquity: cash,
    dayTrades: [],
  };
}

function book(p: PortfolioState, instrumentId: string, price: Decimal): PositionBook {
  let b = p.positions[instrumentId];
  if (!b) {
    b = {
      qty: '0',
      cost: '0',
      realized: '0',
      fees: '0',
      lastPrice: price.toFixed(),
      openDate: null,
      dayTradeCounted: false,
      dayTrades: [],
    };
    p.positions[instrumentId] = b;
  }
  return b;
}

/** Applies one fill in place; returns whether it completed a day trade. */
export function applyFill(p: PortfolioState, fill: FillInput): { dayTrade: boolean } {
  const b = book(p, fill.instrumentId, fill.price);
  const q = fill.side === 'BUY' ? fill.quantity : fill.quantity.neg();
  let qty = new Decimal(b.qty);
  let cost = new Decimal(b.cost);
  let realized = new Decimal(b.realized);
  let dayTrade = false;
  let remaining = q;
  // Closing part: the fill opposes the open quantity.
  if (!qty.isZero() && qty.isNeg() !== q.isNeg()) {
    const closing = Decimal.min(q.abs(), qty.abs());
    const closedSigned = qty.isNeg() ? closing.neg() : closing; // quantity leaving the position
    const removed = closing.eq(qty.abs())
      ? cost
      : cost.mul(closing).div(qty.abs()).toDecimalPlaces(COST_SCALE, Decimal.ROUND_HALF_EVEN);
    // proceeds of closing closedSigned at the fill price, less its cost
    realized = realized.add(closedSigned.mul(fill.price)).sub(removed);
    cost = cost.sub(removed);
    qty = qty.sub(closedSigned);
    remaining = q.add(closedSigned);
    if (b.openDate === fill.tradeDate && !b.dayTradeCounted) {
      dayTrade = true;
      b.dayTradeCounted = true;
    }
  }
  // Opening or adding part.
  if (!remaining.isZero()) {
    cost = cost.add(remaining.mul(fill.price));
    qty = qty.add(remaining);
    b.openDate = fill.tradeDate;
    b.dayTradeCounted = false;
  }
  realized = realized.sub(fill.fee);
  p.realized = new Decimal(p.realized).add(realized.sub(new Decimal(b.realized))).toFixed();
  b.qty = qty.toFixed();
  b.cost = cost.toFixed();
  b.realized = realized.toFixed();
  b.fees = new Decimal(b.fees).add(fill.fee).toFixed();
  b.lastPrice = fill.price.toFixed();
  p.cash = new Decimal(p.cash).sub(q.mul(fill.price)).sub(fill.fee).toFixed();
  p.fees = new Decimal(p.fees).add(fill.fee).toFixed();
  if (dayTrade) {
    p.dayTrades.push(fill.tradeDate);
    b.dayTrades.push(fill.tradeDate);
    if (p.dayTrades.length > MAX_DAY_TRADES_KEPT) p.dayTrades.splice(0, p.dayTrades.length - MAX_DAY_TRADES_KEPT);
    if (b.dayTrades.length > MAX_DAY_TRADES_KEPT) b.dayTrades.splice(0, b.dayTrades.length - MAX_DAY_TRADES_KEPT);
  }
  return { dayTrade };
}

/** Values the portfolio with `priceOf` (the mark), falling back to each position's last fill price. */
export function valuation(p: PortfolioState, priceOf: (instrumentId: string) => Decimal | undefined): Valuation {
  let unrealized = ZERO;
  let market = ZERO;
  let gross = ZERO;
  const positions = new Map<string, { qty: Decimal; price: Decimal; value: Decimal }>();
  for (const [id, b] of Object.entries(p.positions)) {
    const qty = new Decimal(b.qty);
    if (qty.isZero()) continue;
    const price = priceOf(id) ?? new Decimal(b.lastPrice);
    const value = qty.mul(price);
    market = market.add(value);
    gross = gross.add(value.abs());
    unrealized = unrealized.add(value.sub(new Decimal(b.cost)));
    positions.set(id, { qty, price, value });
  }
  return { equity: new Decimal(p.cash).add(market), unrealized, gross, net: market, positions };
}

/** Unrealized P&L of one position at `price`. */
export function positionUnrealized(b: PositionBook, price: Decimal): Decimal {
  return new Decimal(b.qty).mul(price).sub(new Decimal(b.cost));
}

/**
 * Moves the day figures to `tradeDate` when it is later than the current one (the day-start equity
 * becomes `equity`, valued before the event of the new day applies), and raises the peak.
 */
export function markDay(p: PortfolioState, tradeDate: string, equity: Decimal): void {
  if (p.tradeDate === null || tradeDate > p.tradeDate) {
    p.tradeDate = tradeDate;
    p.dayStartEquity = equity.toFixed();
  }
  notePeak(p, equity);
}

export function notePeak(p: PortfolioState, equity: Decimal): void {
  if (equity.gt(new Decimal(p.peakEquity))) p.peakEquity = equity.toFixed();
}

/** The weekdays ending with `tradeDate` (inclusive), `count` of them, oldest first. Holidays are not skipped. */
export function businessDaysEnding(tradeDate: string, count: number): string[] {
  const days: string[] = [];
  let t = Date.parse(`${tradeDate}T00:00:00Z`);
  while (days.length < count) {
    const weekday = new Date(t).getUTCDay();
    if (weekday !== 0 && weekday !== 6) days.unshift(new Date(t).toISOString().slice(0, 10));
    t -= 86_400_000;
  }
  return days;
}

/** Day trades of the account within the `windowDays` business days ending with `tradeDate`. */
export function dayTradesWithin(p: PortfolioState, tradeDate: string, windowDays: number): number {
  const days = new Set(businessDaysEnding(tradeDate, windowDays));
  return p.dayTrades.filter((d) => days.has(d)).length;
}
