/**
 * Template for a new strategy: copy this file next to the others, rename, and fill in.
 *
 * Checklist:
 * 1. Declare its parameters with defaults and a description each (they are its documentation and
 *    what `--set score.params=<name>.<param>=<value>` accepts).
 * 2. `indicators(params)`: the registered indicators it needs, under its own aliases.
 * 3. `evaluate({ bar, values, previous }, params)`: pure; at most one draft per final bar, with a
 *    side, a confidence in [0, 1], a reason for people that names the deciding values, and `used`
 *    (the keys of `values` it decided on: the candidate carries them as features).
 * 4. Register it in ../registry.ts; list it in pipelines/score/README.md with its parameters.
 * 5. Test it on a series designed to trigger it and one designed not to (see ../../score.test.ts).
 *
 * This template buys when RSI climbs back above `oversold` and sells when it falls back below
 * `overbought`; it is not registered.
 */
import type { Strategy } from '../strategy';
import { clamp01, has } from '../strategy';

export const rsiReentry: Strategy = {
  name: 'rsi-reentry',
  description: 'template: RSI leaving the oversold or overbought zone',
  params: {
    period: { default: 14, description: 'RSI period (bars)' },
    oversold: { default: 30, description: 'BUY when RSI rises back above this' },
    overbought: { default: 70, description: 'SELL when RSI falls back below this' },
  },
  indicators: (p) => ({ rsi: { indicator: 'rsi', params: { period: p.period } } }),
  evaluate({ values, previous }, p) {
    if (!has(values, 'rsi') || !has(previous, 'rsi')) return undefined;
    if (previous.rsi <= p.oversold && values.rsi > p.oversold) {
      return {
        side: 'BUY',
        confidence: clamp01(0.5 + (values.rsi - p.oversold) / 20),
        reason: `RSI(${p.period}) rose from ${previous.rsi.toFixed(1)} to ${values.rsi.toFixed(1)}, above ${p.oversold}`,
        used: ['rsi'],
      };
    }
    if (previous.rsi >= p.overbought && values.rsi < p.overbought) {
      return {
        side: 'SELL',
        confidence: clamp01(0.5 + (p.overbought - values.rsi) / 20),
        reason: `RSI(${p.period}) fell from ${previous.rsi.toFixed(1)} to ${values.rsi.toFixed(1)}, below ${p.overbought}`,
        used: ['rsi'],
      };
    }
    return undefined;
  },
};
