import type { Strategy } from './strategy';
import { fmt, has } from './strategy';

/**
 * Trend: EMA cross with an RSI filter. BUY when the fast EMA crosses above the slow one (it was at
 * or below it at the previous bar) while RSI is in [50, rsiUpper): momentum agrees and the market
 * is not overbought. SELL on the mirror: a cross below with RSI in (rsiLower, 50].
 * Confidence grows from 0.5 at RSI 50 to 1 at the filter's edge: 0.5 + 0.5 x (RSI - 50) / (rsiUpper - 50)
 * for a BUY, 0.5 + 0.5 x (50 - RSI) / (50 - rsiLower) for a SELL.
 */
export const emaCrossRsi: Strategy = {
  name: 'ema-cross-rsi',
  description: 'trend: fast EMA crossing the slow EMA, confirmed by RSI between 50 and the overbought/oversold limit',
  params: {
    fast: { default: 12, description: 'fast EMA period (bars)' },
    slow: { default: 26, description: 'slow EMA period (bars)' },
    rsiPeriod: { default: 14, description: 'RSI period (bars)' },
    rsiUpper: { default: 70, description: 'no BUY at or above this RSI (overbought)' },
    rsiLower: { default: 30, description: 'no SELL at or below this RSI (oversold)' },
  },
  indicators: (p) => ({
    fast: { indicator: 'ema', params: { period: p.fast } },
    slow: { indicator: 'ema', params: { period: p.slow } },
    rsi: { indicator: 'rsi', params: { period: p.rsiPeriod } },
  }),
  evaluate({ values, previous }, p) {
    if (!has(values, 'fast', 'slow', 'rsi') || !has(previous, 'fast', 'slow')) return undefined;
    const rsi = values.rsi;
    const used = ['fast', 'slow', 'rsi'];
    if (previous.fast <= previous.slow && values.fast > values.slow && rsi >= 50 && rsi < p.rsiUpper) {
      return {
        side: 'BUY',
        confidence: 0.5 + (0.5 * (rsi - 50)) / (p.rsiUpper - 50),
        reason: `EMA(${p.fast}) ${fmt(values.fast)} crossed above EMA(${p.slow}) ${fmt(values.slow)}; RSI(${p.rsiPeriod}) ${rsi.toFixed(1)} in [50, ${p.rsiUpper})`,
        used,
      };
    }
    if (previous.fast >= previous.slow && values.fast < values.slow && rsi <= 50 && rsi > p.rsiLower) {
      return {
        side: 'SELL',
        confidence: 0.5 + (0.5 * (50 - rsi)) / (50 - p.rsiLower),
        reason: `EMA(${p.fast}) ${fmt(values.fast)} crossed below EMA(${p.slow}) ${fmt(values.slow)}; RSI(${p.rsiPeriod}) ${rsi.toFixed(1)} in (${p.rsiLower}, 50]`,
        used,
      };
    }
    return undefined;
  },
};
