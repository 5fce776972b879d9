import { breakoutVolume } from './breakout-volume';
import { emaCrossRsi } from './ema-cross-rsi';
import type { Strategy } from './strategy';
import { vwapReversion } from './vwap-reversion';
import { TickflowError } from '../../runtime/errors';

/** Strategies by name: what `score.strategies` accepts. Register new ones here, explicitly. */
export const STRATEGIES: Readonly<Record<string, Strategy>> = {
  [emaCrossRsi.name]: emaCrossRsi,
  [vwapReversion.name]: vwapReversion,
  [breakoutVolume.name]: breakoutVolume,
};

/**
 * A strategy's parameters: its defaults with `overrides` (from `score.params` entries such as
 * `ema-cross-rsi.fast=5`). Errors name the unknown strategy or parameter and what exists.
 */
export function strategyParams(name: string, overrides: Readonly<Record<string, number>> = {}): Record<string, number> {
  const strategy = STRATEGIES[name];
  if (!strategy)
    throw new TickflowError('CONFIG', `unknown strategy '${name}': use one of ${Object.keys(STRATEGIES).join(', ')}`);
  for (const key of Object.keys(overrides)) {
    if (!(key in strategy.params))
      throw new TickflowError(
        'CONFIG',
        `strategy ${name} has no parameter '${key}': its parameters are ${Object.keys(strategy.params).join(', ')}`,
      );
  }
  return { ...Object.fromEntries(Object.entries(strategy.params).map(([k, spec]) => [k, spec.default])), ...overrides };
}
