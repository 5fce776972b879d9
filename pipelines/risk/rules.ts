import { Decimal } from '../../schemas/decimal';
import type { RiskReason, TradingState } from '../../schemas/types.generated';
import type { AccountSettings, DayTradingRegime, InstrumentSettings } from './risk-config';
import type { ReturnSeries } from './analytics';
import { align, correlation, stdev, valueAtRisk } from './analytics';

/**
 * The pre-trade rules (README.md "Reason codes"). Every rule is evaluated and every failure is
 * reported with the value checked and its limit; a value equal to its limit passes. Position,
 * exposure, concentration and VaR limits reject only an order that raises the measure past the
 * limit (an order that lowers an over-limit measure passes); loss and day-trading limits reject
 * only orders that do not reduce a position.
 */
export type RiskCode =
  | 'STATE_HALTED'
  | 'STATE_REDUCING'
  | 'INSTRUMENT_HALTED'
  | 'INSTRUMENT_REDUCING'
  | 'OUTSIDE_SESSION'
  | 'ZERO_QUANTITY'
  | 'MAX_QUANTITY'
  | 'MAX_NOTIONAL'
  | 'PRICE_COLLAR'
  | 'TICK_SIZE'
  | 'LOT_SIZE'
  | 'MAX_OPEN_ORDERS'
  | 'SUBMIT_RATE'
  | 'MODIFY_RATE'
  | 'MAX_POSITION'
  | 'GROSS_EXPOSURE'
  | 'NET_EXPOSURE'
  | 'CORRELATED_CONCENTRATION'
  | 'DAILY_LOSS'
  | 'MAX_DRAWDOWN'
  | 'VAR_LIMIT'
  | 'INSUFFICIENT_CASH'
  | 'PATTERN_DAY_TRADER'
  | 'INTRADAY_MARGIN';

export interface TypedReason extends RiskReason {
  readonly code: RiskCode;
}

export interface OrderCheck {
  readonly account: AccountSettings;
  readonly instrument: InstrumentSettings;
  readonly instrumentId: string;
  readonly side: 'BUY' | 'SELL';
  readonly quantity: Decimal;
  /** the reference price (the signal's) */
  readonly price: Decimal;
  readonly mark: Decimal | null;
  readonly sessionOpen: boolean;
  readonly sessionName: string;
  /** the account's effective state (operator, partition control, breaker) and why */
  readonly accountState: TradingState;
  readonly stateCause: string;
  /** why the instrument's state (`instrument.tradingState`) is what it is: the config, or an operator's halt */
  readonly instrumentCause?: string;
  /** signed position in the instrument before the order */
  readonly position: Decimal;
  readonly openOrders: number;
  /** NEW requests and CANCEL/REPLACE requests in the last second (event time), before this order */
  readonly submitsLastSecond: number;
  readonly modifiesLastSecond: number;
  /** cancels or replaces this decision sends with its order */
  readonly modifiesNeeded: number;
  /** signed market value per instrument held, before the order */
  readonly exposures: ReadonlyMap<string, Decimal>;
  readonly equity: Decimal;
  readonly cash: Decimal;
  readonly dayLoss: Decimal;
  readonly drawdown: Decimal;
  readonly regime: DayTradingRegime;
  readonly dayTradesInWindow: number;
  readonly returnsOf: (instrumentId: string) => ReturnSeries | undefined;
  readonly marginRateOf: (instrumentId: string) => Decimal;
}

const ZERO = new Decimal(0);

export function signedQuantity(side: 'BUY' | 'SELL', quantity: Decimal): Decimal {
  return side === 'BUY' ? quantity : quantity.neg();
}

/** An order that moves the position toward zero without crossing it. */
export function isReducing(position: Decimal, side: 'BUY' | 'SELL', quantity: Decimal): boolean {
  return !position.isZero() && position.isNeg() === (side === 'BUY') && quantity.lte(position.abs());
}

function reason(code: RiskCode, detail: string, value: string | null, limit: string | null): TypedReason {
  return { code, detail, value, limit };
}

const money = (d: Decimal): string => d.toDecimalPlaces(2, Decimal.ROUND_HALF_EVEN).toFixed(2);
const fraction = (d: Decimal): string => d.toDecimalPlaces(6, Decimal.ROUND_HALF_EVEN).toFixed();

function sumAbs(values: Iterable<Decimal>): Decimal {
  let s = ZERO;
  for (const v of values) s = s.add(v.abs());
  return s;
}

function sum(values: Iterable<Decimal>): Decimal {
  let s = ZERO;
  for (const v of values) s = s.add(v);
  return s;
}

/** Every failed rule for the order (empty: approved). */
export function evaluateOrder(c: OrderCheck): TypedReason[] {
  const out: TypedReason[] = [];
  const { account: a, instrument: ins } = c;
  const signed = signedQuantity(c.side, c.quantity);
  const reducing = isReducing(c.position, c.side, c.quantity);
  const after = c.position.add(signed);
  const increases = after.abs().gt(c.position.abs());

  // Trading states.
  if (c.accountState === 'HALTED')
    out.push(reason('STATE_HALTED', `the account is halted (${c.stateCause}): cancels only`, 'HALTED', 'ACTIVE'));
  else if (c.accountState === 'REDUCING' && !reducing)
    out.push(
      reason(
        'STATE_REDUCING',
        `the account only reduces positions (${c.stateCause}); position ${c.position.toFixed()}`,
        'REDUCING',
        'ACTIVE',
      ),
    );
  if (ins.tradingState === 'HALTED')
    out.push(
      reason(
        'INSTRUMENT_HALTED',
        `${c.instrumentId} is halted (${c.instrumentCause ?? 'the risk config'})`,
        'HALTED',
        'ACTIVE',
      ),
    );
  else if (ins.tradingState === 'REDUCING' && !reducing)
    out.push(
      reason(
        'INSTRUMENT_REDUCING',
        `${c.instrumentId} only takes reducing orders (${c.instrumentCause ?? 'the risk config'})`,
        'REDUCING',
        'ACTIVE',
      ),
    );
  if (!c.sessionOpen)
    out.push(
      reason('OUTSIDE_SESSION', `the ${c.sessionName} session of ${c.instrumentId} is closed`, 'closed', 'open'),
    );

  // Order.
  const notional = c.quantity.mul(c.price);
  if (!c.quantity.gt(0))
    out.push(
      reason('ZERO_QUANTITY', 'the sized quantity is below one lot', c.quantity.toFixed(), ins.lotSize.toFixed()),
    );
  if (ins.maxOrderQuantity && c.quantity.gt(ins.maxOrderQuantity))
    out.push(
      reason(
        'MAX_QUANTITY',
        `quantity ${c.quantity.toFixed()} over ${ins.maxOrderQuantity.toFixed()}`,
        c.quantity.toFixed(),
        ins.maxOrderQuantity.toFixed(),
      ),
    );
  if (ins.maxOrderNotional && notional.gt(ins.maxOrderNotional))
    out.push(
      reason(
        'MAX_NOTIONAL',
        `notional ${money(notional)} over ${money(ins.maxOrderNotional)}`,
        notional.toFixed(),
        ins.maxOrderNotional.toFixed(),
      ),
    );
  if (ins.priceCollarFraction && c.mark && c.mark.gt(0)) {
    const off = c.price.sub(c.mark).abs().div(c.mark);
    if (off.gt(ins.priceCollarFraction))
      out.push(
        reason(
          'PRICE_COLLAR',
          `price ${c.price.toFixed()} is ${fraction(off)} away from the mark ${c.mark.toFixed()}`,
          fraction(off),
          ins.priceCollarFraction.toFixed(),
        ),
      );
  }
  if (ins.tickSize && !c.price.mod(ins.tickSize).isZero())
    out.push(
      reason(
        'TICK_SIZE',
        `price ${c.price.toFixed()} is not a multiple of the tick ${ins.tickSize.toFixed()}`,
        c.price.toFixed(),
        ins.tickSize.toFixed(),
      ),
    );
  if (!c.quantity.mod(ins.lotSize).isZero())
    out.push(
      reason(
        'LOT_SIZE',
        `quantity ${c.quantity.toFixed()} is not a multiple of the lot ${ins.lotSize.toFixed()}`,
        c.quantity.toFixed(),
        ins.lotSize.toFixed(),
      ),
    );
  if (a.maxOpenOrders !== null && c.openOrders + 1 > a.maxOpenOrders)
    out.push(
      reason(
        'MAX_OPEN_ORDERS',
        `${c.openOrders} orders open already`,
        String(c.openOrders + 1),
        String(a.maxOpenOrders),
      ),
    );
  if (a.maxSubmitsPerSecond !== null && c.submitsLastSecond + 1 > a.maxSubmitsPerSecond)
    out.push(
      reason(
        'SUBMIT_RATE',
        `${c.submitsLastSecond} orders submitted in the last second`,
        String(c.submitsLastSecond + 1),
        String(a.maxSubmitsPerSecond),
      ),
    );
  if (
    a.maxModifiesPerSecond !== null &&
    c.modifiesNeeded > 0 &&
    c.modifiesLastSecond + c.modifiesNeeded > a.maxModifiesPerSecond
  )
    out.push(
      reason(
        'MODIFY_RATE',
        `${c.modifiesLastSecond} cancels or replaces in the last second, ${c.modifiesNeeded} more needed`,
        String(c.modifiesLastSecond + c.modifiesNeeded),
        String(a.maxModifiesPerSecond),
      ),
    );

  // Position and exposure after the order; the order's instrument is valued at the reference price.
  const afterExposures = new Map(c.exposures);
  const beforeValue = c.position.mul(c.price);
  const afterValue = after.mul(c.price);
  afterExposures.set(c.instrumentId, afterValue);
  const beforeExposures = new Map(c.exposures);
  beforeExposures.set(c.instrumentId, beforeValue);
  if (increases) {
    if (ins.maxPositionQuantity && after.abs().gt(ins.maxPositionQuantity))
      out.push(
        reason(
          'MAX_POSITION',
          `position after the order ${after.toFixed()}`,
          after.abs().toFixed(),
          ins.maxPositionQuantity.toFixed(),
        ),
      );
    if (ins.maxPositionNotional && afterValue.abs().gt(ins.maxPositionNotional))
      out.push(
        reason(
          'MAX_POSITION',
          `position value after the order ${money(afterValue)}`,
          afterValue.abs().toFixed(),
          ins.maxPositionNotional.toFixed(),
        ),
      );
  }
  const grossBefore = sumAbs(beforeExposures.values());
  const grossAfter = sumAbs(afterExposures.values());
  if (a.maxGrossExposure && grossAfter.gt(a.maxGrossExposure) && grossAfter.gt(grossBefore))
    out.push(
      reason(
        'GROSS_EXPOSURE',
        `gross exposure after the order ${money(grossAfter)}`,
        grossAfter.toFixed(),
        a.maxGrossExposure.toFixed(),
      ),
    );
  const netBefore = sum(beforeExposures.values()).abs();
  const netAfter = sum(afterExposures.values()).abs();
  if (a.maxNetExposure && netAfter.gt(a.maxNetExposure) && netAfter.gt(netBefore))
    out.push(
      reason(
        'NET_EXPOSURE',
        `net exposure after the order ${money(netAfter)}`,
        netAfter.toFixed(),
        a.maxNetExposure.toFixed(),
      ),
    );

  if (a.maxCorrelatedFraction && increases) {
    const own = c.returnsOf(c.instrumentId);
    const group = [c.instrumentId];
    for (const id of afterExposures.keys()) {
      if (id === c.instrumentId) continue;
      const [x, y] = align([own, c.returnsOf(id)]);
      if (x.length >= a.minReturnObservations && correlation(x, y) > a.correlationThreshold) group.push(id);
    }
    const exposure = sumAbs(group.map((id) => afterExposures.get(id) ?? ZERO));
    const share = c.equity.gt(0) ? exposure.div(c.equity) : null;
    if (share === null || share.gt(a.maxCorrelatedFraction))
      out.push(
        reason(
          'CORRELATED_CONCENTRATION',
          `exposure ${money(exposure)} in ${group.join(', ')} ` +
            `(correlation above ${a.correlationThreshold}) against equity ${money(c.equity)}`,
          share === null ? 'Infinity' : fraction(share),
          a.maxCorrelatedFraction.toFixed(),
        ),
      );
  }

  // Losses.
  if (!reducing && a.maxDailyLoss && c.dayLoss.gt(a.maxDailyLoss))
    out.push(
      reason(
        'DAILY_LOSS',
        `day loss ${money(c.dayLoss)} (realized and unrealized)`,
        c.dayLoss.toFixed(),
        a.maxDailyLoss.toFixed(),
      ),
    );
  if (!reducing && a.maxDrawdown && c.drawdown.gt(a.maxDrawdown))
    out.push(
      reason(
        'MAX_DRAWDOWN',
        `drawdown from the equity peak ${money(c.drawdown)}`,
        c.drawdown.toFixed(),
        a.maxDrawdown.toFixed(),
      ),
    );

  // Value at risk of the portfolio after the order.
  if (a.maxVar && increases) {
    const ids = [...afterExposures.keys()].filter(
      (id) => !(afterExposures.get(id) as Decimal).isZero() || id === c.instrumentId,
    );
    const series = ids.map((id) => c.returnsOf(id));
    const columns = align(series);
    const usable = ids.map((_, i) => columns[i].length >= a.minReturnObservations);
    const ownIndex = ids.indexOf(c.instrumentId);
    if (usable[ownIndex]) {
      const kept = ids.map((_, i) => i).filter((i) => usable[i]);
      const cols = kept.map((i) => columns[i]);
      const varAfter = valueAtRisk(
        kept.map((i) => (afterExposures.get(ids[i]) as Decimal).toNumber()),
        cols,
        a.varMethod,
        a.varConfidence,
      );
      const varBefore = valueAtRisk(
        kept.map((i) => (beforeExposures.get(ids[i]) ?? ZERO).toNumber()),
        cols,
        a.varMethod,
        a.varConfidence,
      );
      if (varAfter > a.maxVar.toNumber() && varAfter > varBefore)
        out.push(
          reason(
            'VAR_LIMIT',
            `${a.varMethod} VaR at ${a.varConfidence} after the order ${varAfter.toFixed(2)} ` +
              `(before ${varBefore.toFixed(2)})`,
            varAfter.toFixed(2),
            a.maxVar.toFixed(),
          ),
        );
    }
  }

  // Cash accounts: buys within the cash. Margin accounts: the day-trading regime of the trade date.
  if (!a.margin) {
    if (c.side === 'BUY' && !reducing && notional.gt(c.cash))
      out.push(
        reason(
          'INSUFFICIENT_CASH',
          `a cash account buying ${money(notional)} with ${money(c.cash)}`,
          notional.toFixed(),
          c.cash.toFixed(),
        ),
      );
  } else if (c.regime.rule === 'PATTERN_DAY_TRADER') {
    const r = c.regime;
    if (increases && c.equity.lt(r.minEquity) && c.dayTradesInWindow >= r.maxDayTrades)
      out.push(
        reason(
          'PATTERN_DAY_TRADER',
          `${c.dayTradesInWindow} day trades in ${r.windowBusinessDays} business days with equity ` +
            `${money(c.equity)} under ${money(r.minEquity)}: an opening order could make the next day trade ` +
            `(rule since ${r.from})`,
          String(c.dayTradesInWindow + 1),
          String(r.maxDayTrades),
        ),
      );
  } else if (c.regime.rule === 'INTRADAY_MARGIN' && !reducing) {
    let requirement = ZERO;
    for (const [id, value] of afterExposures) requirement = requirement.add(value.abs().mul(c.marginRateOf(id)));
    if (requirement.gt(c.equity))
      out.push(
        reason(
          'INTRADAY_MARGIN',
          `intraday margin requirement ${money(requirement)} over equity ${money(c.equity)} ` +
            `(rule since ${c.regime.from})`,
          requirement.toFixed(),
          c.equity.toFixed(),
        ),
      );
  }
  return out;
}

export interface SizingInput {
  readonly account: AccountSettings;
  readonly instrument: InstrumentSettings;
  readonly side: 'BUY' | 'SELL';
  readonly confidence: number;
  readonly price: Decimal;
  readonly equity: Decimal;
  readonly position: Decimal;
  readonly returns: readonly number[];
}

/** Rounds down to a whole number of lots (never below 0). */
export function floorToLot(quantity: Decimal, lot: Decimal): Decimal {
  if (!quantity.gt(0)) return new Decimal(0);
  return quantity.div(lot).floor().mul(lot);
}

/**
 * Confidence to quantity: fixed-fraction (notional = equity x sizingFraction x confidence) or
 * volatility-target (notional = equity x targetVolatility x confidence / stdev of the mark's returns;
 * fixed-fraction when there are fewer than minReturnObservations returns or they do not vary),
 * divided by the price, rounded down to the lot, then (clampToLimits) cut to the order quantity and
 * notional limits and to the room under the position limits.
 */
export function sizeOrder(s: SizingInput): { quantity: Decimal; method: string } {
  const { account: a, instrument: ins } = s;
  if (!s.equity.gt(0) || !s.price.gt(0)) return { quantity: new Decimal(0), method: 'no equity' };
  const confidence = new Decimal(String(Math.min(1, Math.max(0, s.confidence))));
  let method = 'fixed-fraction';
  let notional = s.equity.mul(a.sizingFraction).mul(confidence);
  if (a.sizingMethod === 'volatility-target') {
    const sigma = s.returns.length >= a.minReturnObservations ? stdev(s.returns) : NaN;
    if (sigma > 0) {
      method = 'volatility-target';
      notional = s.equity
        .mul(new Decimal(a.targetVolatility.toPrecision(15)))
        .mul(confidence)
        .div(new Decimal(sigma.toPrecision(15)));
    }
  }
  let quantity = notional.div(s.price);
  if (a.clampToLimits) {
    if (ins.maxOrderQuantity) quantity = Decimal.min(quantity, ins.maxOrderQuantity);
    if (ins.maxOrderNotional) quantity = Decimal.min(quantity, ins.maxOrderNotional.div(s.price));
    // Room under the position limits in the order's direction (through zero: the close plus the limit).
    const toward = s.position.isZero() || s.position.isNeg() === (s.side === 'SELL');
    const held = s.position.abs();
    if (ins.maxPositionQuantity)
      quantity = Decimal.min(quantity, toward ? ins.maxPositionQuantity.sub(held) : ins.maxPositionQuantity.add(held));
    if (ins.maxPositionNotional) {
      const room = ins.maxPositionNotional.div(s.price);
      quantity = Decimal.min(quantity, toward ? room.sub(held) : room.add(held));
    }
  }
  return { quantity: floorToLot(quantity, ins.lotSize), method };
}
