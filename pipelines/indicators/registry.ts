import { SMA, ema } from './averages';
import type { BarInput, HLC, Indicator } from './indicator';
import { DonchianChannel, RealizedVolatility, UnusualVolume, VwapBands } from './bars';
import type { QuoteInput, TradeInput } from './flow';
import { OrderFlowImbalance, SweepDetector, Vpin } from './flow';
import type { PairInput } from './pairs';
import { RollingCorrelation } from './pairs';
import { ATR, BollingerBands, MACD, RSI } from './oscillators';
import { TickflowError } from '../runtime/errors';

/**
 * Indicators by name, each with its parameters and their defaults: what a score stage configures
 * per instrument and interval. Register new ones here, explicitly.
 */
export interface IndicatorSpec {
  readonly description: string;
  /**
   * What it is fed: a bar's close, or the whole bar (BarInput, which is also an HLC) — the score
   * stage runs those; or each quote (QuoteInput) or trade (TradeInput) — the flow stage runs those;
   * or aligned pairs of two instruments' returns (PairInput) — the correlate stage.
   */
  readonly input: 'close' | 'bar' | 'quote' | 'trade' | 'pair';
  readonly params: Readonly<Record<string, number>>;
  create(
    params: Readonly<Record<string, number>>,
  ):
    | Indicator<number, unknown>
    | Indicator<HLC, unknown>
    | Indicator<BarInput, unknown>
    | Indicator<QuoteInput, unknown>
    | Indicator<TradeInput, unknown>
    | Indicator<PairInput, unknown>;
}

export const INDICATORS: Readonly<Record<string, IndicatorSpec>> = {
  sma: {
    description: 'simple moving average',
    input: 'close',
    params: { period: 20 },
    create: (p) => new SMA(p.period),
  },
  ema: {
    description: 'exponential moving average (alpha 2/(period+1), seeded with the SMA)',
    input: 'close',
    params: { period: 20 },
    create: (p) => ema(p.period),
  },
  rsi: {
    description: "Wilder's relative strength index",
    input: 'close',
    params: { period: 14 },
    create: (p) => new RSI(p.period),
  },
  macd: {
    description: 'MACD line, signal and histogram',
    input: 'close',
    params: { fast: 12, slow: 26, signal: 9 },
    create: (p) => new MACD(p.fast, p.slow, p.signal),
  },
  bollinger: {
    description: 'Bollinger bands (SMA +- k population standard deviations)',
    input: 'close',
    params: { period: 20, k: 2 },
    create: (p) => new BollingerBands(p.period, p.k),
  },
  atr: {
    description: "Wilder's average true range",
    input: 'bar',
    params: { period: 14 },
    create: (p) => new ATR(p.period),
  },
  vwap_bands: {
    description: 'rolling VWAP over `period` bars +- k volume-weighted standard deviations of the close',
    input: 'bar',
    params: { period: 20, k: 2 },
    create: (p) => new VwapBands(p.period, p.k),
  },
  donchian: {
    description: 'highest high and lowest low of the `period` bars before the current one',
    input: 'bar',
    params: { period: 20 },
    create: (p) => new DonchianChannel(p.period),
  },
  unusual_volume: {
    description: 'volume against the `period` bars before: ratio to the mean and z-score',
    input: 'bar',
    params: { period: 20 },
    create: (p) => new UnusualVolume(p.period),
  },
  ofi: {
    description: 'order-flow imbalance (Cont, Kukanov, Stoikov) summed over the last `window` quote updates',
    input: 'quote',
    params: { window: 50 },
    create: (p) => new OrderFlowImbalance(p.window),
  },
  vpin: {
    description: 'VPIN over `buckets` volume buckets of `bucketVolume`, bulk volume classification',
    input: 'trade',
    params: { bucketVolume: 10, buckets: 50 },
    create: (p) => new Vpin(p.bucketVolume, p.buckets),
  },
  sweep: {
    description: 'a run of same-side trades within `windowMs` of each other through at least `minLevels` prices',
    input: 'trade',
    params: { windowMs: 50, minLevels: 3 },
    create: (p) => new SweepDetector(p.windowMs, p.minLevels),
  },
  corr: {
    description: "Pearson correlation of two instruments' bar returns over the last `window` common bars",
    input: 'pair',
    params: { window: 30 },
    create: (p) => new RollingCorrelation(p.window),
  },
  realized_vol: {
    description:
      'standard deviation of `period` log returns, with a low/normal/high regime against its median over `history`',
    input: 'close',
    params: { period: 20, history: 50, low: 0.75, high: 1.5 },
    create: (p) => new RealizedVolatility(p.period, p.history, p.low, p.high),
  },
};

/** An indicator by name with `overrides` on its default parameters; names the problem otherwise. */
export function createIndicator(
  name: string,
  overrides: Readonly<Record<string, number>> = {},
): ReturnType<IndicatorSpec['create']> {
  const spec = INDICATORS[name];
  if (!spec)
    throw new TickflowError('CONFIG', `unknown indicator '${name}': use one of ${Object.keys(INDICATORS).join(', ')}`);
  for (const key of Object.keys(overrides)) {
    if (!(key in spec.params))
      throw new TickflowError(
        'CONFIG',
        `indicator ${name} has no parameter '${key}': its parameters are ${Object.keys(spec.params).join(', ')}`,
      );
  }
  return spec.create({ ...spec.params, ...overrides });
}

/** `<indicator>_<parameter values>`, a decimal point written `p` (`.` separates an output's field). */
export function canonicalName(indicator: string, params: Readonly<Record<string, number>>): string {
  const order = Object.keys(INDICATORS[indicator].params);
  return [indicator, ...order.map((k) => String(params[k]).replace('.', 'p'))].join('_');
}
