import type { Strategy } from './strategy';
import { clamp01, fmt, has } from './strategy';

/**
 * Mean reversion on VWAP bands: BUY when the close falls below the lower band (it was inside at the
 * previous bar), expecting a return toward the rolling VWAP; SELL when it rises above the upper
 * band. Only the bar that leaves the bands fires. Confidence is 0.5 at the band and grows with the
 * stretch: 0.5 + 0.5 x (z - k) / k, where z = |close - VWAP| / deviation, capped at 1.
 */
export const vwapReversion: Strategy = {
  name: 'vwap-reversion',
  description: 'mean reversion: a close leaving the rolling VWAP bands, expecting a return to the VWAP',
  params: {
    period: { default: 20, description: 'bars in the rolling VWAP and its deviation' },
    k: { default: 2, description: 'band width in volume-weighted standard deviations' },
  },
  indicators: (p) => ({ bands: { indicator: 'vwap_bands', params: { period: p.period, k: p.k } } }),
  evaluate({ values, previous }, p) {
    if (
      !has(values, 'close', 'bands.vwap', 'bands.upper', 'bands.lower', 'bands.deviation') ||
      !has(previous, 'close', 'bands.upper', 'bands.lower')
    )
      return undefined;
    const deviation = values['bands.deviation'];
    if (!(deviation > 0)) return undefined;
    const z = Math.abs(values.close - values['bands.vwap']) / deviation;
    const confidence = clamp01(0.5 + (0.5 * (z - p.k)) / p.k);
    const used = ['close', 'bands.vwap', 'bands.lower', 'bands.upper', 'bands.deviation'];
    if (values.close < values['bands.lower'] && previous.close >= previous['bands.lower']) {
      return {
        side: 'BUY',
        confidence,
        reason: `close ${fmt(values.close)} fell below the lower VWAP band ${fmt(values['bands.lower'])} (VWAP ${fmt(values['bands.vwap'])}, ${z.toFixed(2)} deviations)`,
        used,
      };
    }
    if (values.close > values['bands.upper'] && previous.close <= previous['bands.upper']) {
      return {
        side: 'SELL',
        confidence,
        reason: `close ${fmt(values.close)} rose above the upper VWAP band ${fmt(values['bands.upper'])} (VWAP ${fmt(values['bands.vwap'])}, ${z.toFixed(2)} deviations)`,
        used,
      };
    }
    return undefined;
  },
};
