import { Decimal } from '../../schemas/decimal';
import type { OrderCheck } from './rules';
import { evaluateOrder, floorToLot, sizeOrder } from './rules';
import { correlation, normalQuantile, valueAtRisk } from './analytics';
import type { ReturnSeries } from './analytics';
import { T, rulesOf, seeded } from './fixtures';

const D = (s: string): Decimal => new Decimal(s);

/** Returns of 40 intervals: `a` random, `b` = a (perfectly correlated), `c` independent. */
const rnd = seeded(7);
const RA = Array.from({ length: 40 }, () => (rnd() - 0.5) * 0.02);
const RC = Array.from({ length: 40 }, () => (rnd() - 0.5) * 0.02);
const SERIES: Record<string, ReturnSeries> = {
  'SYN:A': { returns: RA, end: T, intervalMs: 60_000 },
  'SYN:B': { returns: RA.map((r) => r * 1.5), end: T, intervalMs: 60_000 },
  'SYN:C': { returns: RC, end: T, intervalMs: 60_000 },
};

function base(defaults: Record<string, unknown> = {}, overrides: Partial<OrderCheck> = {}): OrderCheck {
  const rules = rulesOf(defaults);
  const account = rules.account('paper-1')!;
  const instrument = rules.instrument('paper-1', 'SYN:A');
  return {
    account,
    instrument,
    instrumentId: 'SYN:A',
    side: 'BUY',
    quantity: D('10'),
    price: D('100'),
    mark: D('100'),
    sessionOpen: true,
    sessionName: '24x7',
    accountState: 'ACTIVE',
    stateCause: 'active',
    position: D('0'),
    openOrders: 0,
    submitsLastSecond: 0,
    modifiesLastSecond: 0,
    modifiesNeeded: 0,
    exposures: new Map(),
    equity: D('100000'),
    cash: D('100000'),
    dayLoss: D('0'),
    drawdown: D('0'),
    regime: rules.regimeAt('2024-01-03'),
    dayTradesInWindow: 0,
    returnsOf: (id) => SERIES[id],
    marginRateOf: () => D('0.25'),
    ...overrides,
  };
}

const PDT = {
  dayTrading: {
    regimes: [
      { from: '2001-09-28', rule: 'PATTERN_DAY_TRADER' },
      { from: '2026-06-04', rule: 'INTRADAY_MARGIN' },
    ],
  },
};

function codes(
  defaults: Record<string, unknown>,
  overrides: Partial<OrderCheck>,
  extra?: Record<string, unknown>,
): string[] {
  let check = base(defaults, overrides);
  if (extra) {
    const rules = rulesOf(defaults, extra);
    const tradeDate = (overrides as { tradeDate?: string }).tradeDate ?? '2024-01-03';
    check = { ...check, account: rules.account('paper-1')!, regime: rules.regimeAt(tradeDate) };
  }
  return evaluateOrder(check).map((r) => r.code);
}

// [name, defaults (limits), order overrides, expected codes]
type Case = [string, Record<string, unknown>, Partial<OrderCheck>, string[]];

const CASES: Case[] = [
  ['no limits: approved', {}, {}, []],
  ['halted account', {}, { accountState: 'HALTED' }, ['STATE_HALTED']],
  ['reducing account, opening order', {}, { accountState: 'REDUCING' }, ['STATE_REDUCING']],
  ['reducing account, reducing order', {}, { accountState: 'REDUCING', position: D('-10') }, []],
  [
    'reducing account, order larger than the position',
    {},
    { accountState: 'REDUCING', position: D('-5') },
    ['STATE_REDUCING'],
  ],
  ['halted instrument', { tradingState: 'HALTED' }, {}, ['INSTRUMENT_HALTED']],
  ['reducing instrument', { tradingState: 'REDUCING' }, {}, ['INSTRUMENT_REDUCING']],
  ['outside the session', {}, { sessionOpen: false }, ['OUTSIDE_SESSION']],
  ['zero quantity', {}, { quantity: D('0') }, ['ZERO_QUANTITY']],
  ['quantity at the limit', { maxOrderQuantity: '10' }, {}, []],
  ['quantity over the limit', { maxOrderQuantity: '9' }, {}, ['MAX_QUANTITY']],
  ['notional at the limit', { maxOrderNotional: '1000' }, {}, []],
  ['notional over the limit', { maxOrderNotional: '999.99' }, {}, ['MAX_NOTIONAL']],
  ['price at the collar', { priceCollarFraction: '0.05' }, { mark: D('95.238095238095238095') }, ['PRICE_COLLAR']],
  ['price inside the collar', { priceCollarFraction: '0.05' }, { mark: D('105') }, []],
  ['price 5% from the mark exactly', { priceCollarFraction: '0.05' }, { price: D('105'), mark: D('100') }, []],
  ['price past the collar', { priceCollarFraction: '0.05' }, { price: D('105.01'), mark: D('100') }, ['PRICE_COLLAR']],
  ['no mark: no collar', { priceCollarFraction: '0.05' }, { price: D('200'), mark: null }, []],
  ['price off the tick', {}, { price: D('100.005') }, ['TICK_SIZE']],
  ['quantity off the lot', {}, { quantity: D('10.5') }, ['LOT_SIZE']],
  ['open orders at the limit', { maxOpenOrders: 3 }, { openOrders: 2 }, []],
  ['open orders over the limit', { maxOpenOrders: 3 }, { openOrders: 3 }, ['MAX_OPEN_ORDERS']],
  ['submit rate at the limit', { maxSubmitsPerSecond: 5 }, { submitsLastSecond: 4 }, []],
  ['submit rate over the limit', { maxSubmitsPerSecond: 5 }, { submitsLastSecond: 5 }, ['SUBMIT_RATE']],
  ['modify rate at the limit', { maxModifiesPerSecond: 2 }, { modifiesLastSecond: 1, modifiesNeeded: 1 }, []],
  [
    'modify rate over the limit',
    { maxModifiesPerSecond: 2 },
    { modifiesLastSecond: 2, modifiesNeeded: 1 },
    ['MODIFY_RATE'],
  ],
  ['modify rate: no modify needed', { maxModifiesPerSecond: 2 }, { modifiesLastSecond: 5 }, []],
  ['position at the quantity limit', { maxPositionQuantity: '15' }, { position: D('5') }, []],
  ['position over the quantity limit', { maxPositionQuantity: '14' }, { position: D('5') }, ['MAX_POSITION']],
  ['position over the notional limit', { maxPositionNotional: '1499' }, { position: D('5') }, ['MAX_POSITION']],
  ['over the position limit but reducing', { maxPositionQuantity: '5' }, { position: D('-30') }, []],
  ['gross exposure at the limit', { maxGrossExposure: '3000' }, { exposures: new Map([['SYN:C', D('-2000')]]) }, []],
  [
    'gross exposure over the limit',
    { maxGrossExposure: '2999' },
    { exposures: new Map([['SYN:C', D('-2000')]]) },
    ['GROSS_EXPOSURE'],
  ],
  ['net exposure at the limit', { maxNetExposure: '1000' }, { exposures: new Map([['SYN:C', D('-2000')]]) }, []],
  [
    'net exposure over the limit',
    { maxNetExposure: '1000' },
    { exposures: new Map([['SYN:C', D('1')]]) },
    ['NET_EXPOSURE'],
  ],
  [
    'correlated: own plus a correlated holding at the limit',
    { maxCorrelatedFraction: '0.02' },
    { exposures: new Map([['SYN:B', D('1000')]]) },
    [],
  ],
  [
    'correlated: over the limit',
    { maxCorrelatedFraction: '0.0199' },
    { exposures: new Map([['SYN:B', D('1000')]]) },
    ['CORRELATED_CONCENTRATION'],
  ],
  [
    'correlated: an uncorrelated holding does not count',
    { maxCorrelatedFraction: '0.011' },
    { exposures: new Map([['SYN:C', D('5000')]]) },
    [],
  ],
  ['daily loss at the limit', { maxDailyLoss: '500' }, { dayLoss: D('500') }, []],
  ['daily loss over the limit', { maxDailyLoss: '500' }, { dayLoss: D('500.01') }, ['DAILY_LOSS']],
  ['daily loss over the limit, reducing order', { maxDailyLoss: '500' }, { dayLoss: D('600'), position: D('-10') }, []],
  ['drawdown at the limit', { maxDrawdown: '800' }, { drawdown: D('800') }, []],
  ['drawdown over the limit', { maxDrawdown: '800' }, { drawdown: D('800.5') }, ['MAX_DRAWDOWN']],
  ['VaR under the limit', { maxVar: '1000' }, {}, []],
  ['VaR over the limit', { maxVar: '1' }, {}, ['VAR_LIMIT']],
  ['VaR parametric over the limit', { maxVar: '1', varMethod: 'parametric', varConfidence: 0.95 }, {}, ['VAR_LIMIT']],
  ['VaR: a hedge lowers it', { maxVar: '1' }, { side: 'SELL', exposures: new Map([['SYN:B', D('1500')]]) }, []],
  ['cash account within its cash', { margin: false }, { cash: D('1000') }, []],
  ['cash account beyond its cash', { margin: false }, { cash: D('999') }, ['INSUFFICIENT_CASH']],
];

describe('evaluateOrder: each rule rejects exactly its cases', () => {
  it.each(CASES)('%s', (_name, defaults, overrides, expected) => {
    expect(codes(defaults, overrides)).toEqual(expected);
  });

  it('reports every failed rule with its value and limit, not only the first', () => {
    const reasons = evaluateOrder(
      base(
        { maxOrderQuantity: '5', maxOrderNotional: '100', maxOpenOrders: 0 },
        { accountState: 'HALTED', sessionOpen: false },
      ),
    );
    expect(reasons.map((r) => r.code)).toEqual([
      'STATE_HALTED',
      'OUTSIDE_SESSION',
      'MAX_QUANTITY',
      'MAX_NOTIONAL',
      'MAX_OPEN_ORDERS',
    ]);
    expect(reasons[2]).toMatchObject({ value: '10', limit: '5' });
    expect(reasons[3]).toMatchObject({ value: '1000', limit: '100' });
  });
});

describe('day trading regimes', () => {
  const small = { equity: D('20000'), dayTradesInWindow: 3 };
  it('PATTERN_DAY_TRADER before the effective date: blocks the opening order that could make the 4th day trade', () => {
    expect(codes({}, { ...small, dayTradesInWindow: 2 }, PDT)).toEqual([]);
    expect(codes({}, small, PDT)).toEqual(['PATTERN_DAY_TRADER']);
    expect(codes({}, { ...small, equity: D('25000') }, PDT)).toEqual([]);
    expect(codes({}, { ...small, position: D('-10') }, PDT)).toEqual([]); // closing is allowed
    expect(codes({ margin: false }, { ...small, cash: D('20000') }, PDT)).toEqual([]); // cash accounts
  });

  it('INTRADAY_MARGIN from the effective date: requirement over equity, day trades no longer counted', () => {
    const on = { ...small, tradeDate: '2026-06-04' } as Partial<OrderCheck>;
    expect(codes({}, { ...on, dayTradesInWindow: 9 }, PDT)).toEqual([]);
    // 10 x 100 at 25% = 250 required
    expect(codes({}, { ...on, equity: D('250') }, PDT)).toEqual([]);
    expect(codes({}, { ...on, equity: D('249.99') }, PDT)).toEqual(['INTRADAY_MARGIN']);
    expect(codes({}, { ...small, equity: D('249.99'), tradeDate: '2026-06-03' } as Partial<OrderCheck>, PDT)).toEqual([
      'PATTERN_DAY_TRADER',
    ]);
  });

  it('regimeAt picks the regime of the trade date', () => {
    const rules = rulesOf({}, PDT);
    expect(rules.regimeAt('2026-06-03').rule).toBe('PATTERN_DAY_TRADER');
    expect(rules.regimeAt('2026-06-04').rule).toBe('INTRADAY_MARGIN');
    expect(rules.regimeAt('1999-01-01').rule).toBe('NONE');
  });
});

describe('sizing', () => {
  const rules = rulesOf({ lotSize: '0.01' });
  const account = rules.account('paper-1')!;
  const instrument = rules.instrument('paper-1', 'SYN:A');
  const input = {
    account,
    instrument,
    side: 'BUY' as const,
    confidence: 0.5,
    price: D('33'),
    equity: D('10000'),
    position: D('0'),
    returns: [],
  };

  it('fixed fraction: equity x fraction x confidence / price, rounded down to the lot', () => {
    // 10000 x 0.1 x 0.5 / 33 = 15.1515... -> 15.15
    expect(sizeOrder(input).quantity.toFixed()).toBe('15.15');
    expect(floorToLot(D('7.99'), D('2')).toFixed()).toBe('6');
    expect(sizeOrder({ ...input, equity: D('-5') }).quantity.toFixed()).toBe('0');
  });

  it('volatility target: equity x target x confidence / sigma, fixed fraction without enough returns', () => {
    const vol = rulesOf({
      lotSize: '1',
      sizingMethod: 'volatility-target',
      targetVolatility: 0.001,
      minReturnObservations: 4,
    });
    const a = vol.account('paper-1')!;
    const i = vol.instrument('paper-1', 'SYN:A');
    const returns = [0.01, -0.01, 0.01, -0.01]; // sample stdev 0.011547
    const sized = sizeOrder({ ...input, account: a, instrument: i, price: D('10'), returns });
    // 10000 x 0.001 x 0.5 / 0.0115470053837925 / 10 = 43.3 -> 43
    expect([sized.quantity.toFixed(), sized.method]).toEqual(['43', 'volatility-target']);
    expect(sizeOrder({ ...input, account: a, instrument: i, price: D('10'), returns: [0.01] }).method).toBe(
      'fixed-fraction',
    );
  });

  it('clamps to the order and position limits when configured', () => {
    const clamped = rulesOf({
      lotSize: '1',
      clampToLimits: true,
      maxOrderQuantity: '100',
      maxOrderNotional: '500',
      maxPositionQuantity: '12',
    });
    const a = clamped.account('paper-1')!;
    const i = clamped.instrument('paper-1', 'SYN:A');
    const s = { ...input, account: a, instrument: i, price: D('10'), confidence: 1 };
    expect(sizeOrder(s).quantity.toFixed()).toBe('12'); // 1000 wanted, 50 by notional, 12 by position
    expect(sizeOrder({ ...s, position: D('10') }).quantity.toFixed()).toBe('2');
    expect(sizeOrder({ ...s, side: 'SELL', position: D('10') }).quantity.toFixed()).toBe('22');
  });
});

describe('analytics', () => {
  it('correlation, normal quantiles and VaR', () => {
    expect(correlation([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(normalQuantile(0.95)).toBeCloseTo(1.644853627, 8);
    expect(normalQuantile(0.99)).toBeCloseTo(2.326347874, 8);
    const returns = Array.from({ length: 100 }, (_, i) => Math.log1p((i - 50) / 1000)); // -5% .. +4.9%
    // historical 99%: the worst interval, 1000 x -0.05; 95%: the 5th worst, -0.046
    expect(valueAtRisk([1000], [returns], 'historical', 0.99)).toBeCloseTo(50, 9);
    expect(valueAtRisk([1000], [returns], 'historical', 0.95)).toBeCloseTo(46, 9);
    expect(valueAtRisk([-1000], [returns], 'historical', 0.99)).toBeCloseTo(49, 9);
    const sd = Math.sqrt(returns.reduce((a, r) => a + (r - returns.reduce((x, y) => x + y) / 100) ** 2, 0) / 99);
    expect(valueAtRisk([1000], [returns], 'parametric', 0.99)).toBeCloseTo(2.326347874 * sd * 1000, 5);
  });
});
