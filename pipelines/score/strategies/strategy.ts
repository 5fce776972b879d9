import type { Bar } from '../../../schemas/types.generated';

/**
 * The strategy contract. A strategy names the indicators it needs (by registered indicator name and
 * parameters, under its own aliases) and turns one final bar plus their values into at most one
 * candidate: a side, a confidence in [0, 1], the reason, and which values it used. Pure: the score
 * stage owns the indicators, their state and the records; a strategy keeps no state of its own (it
 * sees the previous bar's values for crossings).
 */
export interface IndicatorUse {
  readonly indicator: string;
  readonly params: Readonly<Record<string, number>>;
}

/**
 * Values by `<alias>` (single-valued indicators) or `<alias>.<field>` (e.g. `bands.lower`), plus `close` and `volume`.
 */
export type Values = Readonly<Record<string, number>>;

export interface StrategyInput {
  readonly bar: Bar;
  readonly values: Values;
  /** The values at the previous final bar of the same instrument and interval (undefined at the first). */
  readonly previous: Values | undefined;
}

export interface Draft {
  readonly side: 'BUY' | 'SELL';
  readonly confidence: number;
  readonly reason: string;
  /** Keys of `values` that decided it; the candidate carries them as features. */
  readonly used: readonly string[];
}

export interface ParamSpec {
  readonly default: number;
  readonly description: string;
}

export interface Strategy {
  readonly name: string;
  readonly description: string;
  readonly params: Readonly<Record<string, ParamSpec>>;
  indicators(params: Readonly<Record<string, number>>): Readonly<Record<string, IndicatorUse>>;
  evaluate(input: StrategyInput, params: Readonly<Record<string, number>>): Draft | undefined;
}

export function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

/** Whether every key has a value now (and, for `previous`, at the previous bar). */
export function has(values: Values | undefined, ...keys: string[]): values is Values {
  return values !== undefined && keys.every((k) => Number.isFinite(values[k]));
}

export const fmt = (x: number): string => (Math.abs(x) >= 1000 ? x.toFixed(2) : x.toPrecision(6));
