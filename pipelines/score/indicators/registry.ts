import { SMA, ema } from './averages';
import type { HLC, Indicator } from './indicator';
import { ATR, BollingerBands, MACD, RSI } from './oscillators';

/**
 * Indicators by name, each with its parameters and their defaults: what a score stage configures
 * per instrument and interval. Register new ones here, explicitly.
 */
export interface IndicatorSpec {
  readonly description: string;
  /** What it is fed: a bar's close, or its high, low and close. */
  readonly input: 'close' | 'hlc';
  readonly params: Readonly<Record<string, number>>;
  create(params: Readonly<Record<string, number>>): Indicator<number, unknown> | Indicator<HLC, unknown>;
}

export const INDICATORS: Readonly<Record<string, IndicatorSpec>> = {
  sma: { description: 'simple moving average', input: 'close', params: { period: 20 }, create: (p) => new SMA(p.period) },
  ema: { description: 'exponential moving average (alpha 2/(period+1), seeded with the SMA)', input: 'close', params: { period: 20 }, create: (p) => ema(p.period) },
  rsi: { description: "Wilder's relative strength index", input: 'close', params: { period: 14 }, create: (p) => new RSI(p.period) },
  macd: { description: 'MACD line, signal and histogram', input: 'close', params: { fast: 12, slow: 26, signal: 9 }, create: (p) => new MACD(p.fast, p.slow, p.signal) },
  bollinger: { description: 'Bollinger bands (SMA +- k population standard deviations)', input: 'close', params: { period: 20, k: 2 }, create: (p) => new BollingerBands(p.period, p.k) },
  atr: { description: "Wilder's average true range", input: 'hlc', params: { period: 14 }, create: (p) => new ATR(p.period) },
};

/** An indicator by name with `overrides` on its default parameters; names the problem otherwise. */
export function createIndicator(name: string, overrides: Readonly<Record<string, number>> = {}): Indicator<number, unknown> | Indicator<HLC, unknown> {
  const spec = INDICATORS[name];
  if (!spec) throw new RangeError(`unknown indicator '${name}': use one of ${Object.keys(INDICATORS).join(', ')}`);
  for (const key of Object.keys(overrides)) {
    if (!(key in spec.params)) throw new RangeError(`indicator ${name} has no parameter '${key}': its parameters are ${Object.keys(spec.params).join(', ')}`);
  }
  return spec.create({ ...spec.params, ...overrides });
}
