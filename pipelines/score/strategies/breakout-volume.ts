import type { Strategy } from './strategy';
import { clamp01, fmt, has } from './strategy';

/**
 * Breakout with volume confirmation: BUY when the close breaks above the highest high of the
 * previous `period` bars on at least `volumeRatio` times their mean volume; SELL when it breaks
 * below their lowest low on such volume. A breakout on ordinary volume is ignored. Confidence is
 * 0.5 at exactly `volumeRatio` and grows with the volume: 0.5 + 0.5 x (ratio - volumeRatio) / volumeRatio, capped at 1.
 */
export const breakoutVolume: Strategy = {
  name: 'breakout-volume',
  description: "breakout: a close beyond the previous bars' range on unusually high volume",
  params: {
    period: { default: 20, description: 'bars in the range and the volume baseline' },
    volumeRatio: { default: 2, description: 'minimum bar volume as a multiple of the baseline mean' },
  },
  indicators: (p) => ({
    range: { indicator: 'donchian', params: { period: p.period } },
    volume: { indicator: 'unusual_volume', params: { period: p.period } },
  }),
  evaluate({ values }, p) {
    if (!has(values, 'close', 'range.upper', 'range.lower', 'volume.ratio')) return undefined;
    const ratio = values['volume.ratio'];
    if (ratio < p.volumeRatio) return undefined;
    const confidence = clamp01(0.5 + (0.5 * (ratio - p.volumeRatio)) / p.volumeRatio);
    const used = ['close', 'range.upper', 'range.lower', 'volume.ratio'];
    if (values.close > values['range.upper']) {
      return {
        side: 'BUY',
        confidence,
        reason: `close ${fmt(values.close)} broke above the ${p.period}-bar high ${fmt(values['range.upper'])} on ${ratio.toFixed(2)}x the mean volume`,
        used,
      };
    }
    if (values.close < values['range.lower']) {
      return {
        side: 'SELL',
        confidence,
        reason: `close ${fmt(values.close)} broke below the ${p.period}-bar low ${fmt(values['range.lower'])} on ${ratio.toFixed(2)}x the mean volume`,
        used,
      };
    }
    return undefined;
  },
};
