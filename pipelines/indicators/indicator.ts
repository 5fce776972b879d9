import { TickflowError } from '../runtime/errors';
/**
 * The indicator contract (DESIGN.md convention 5): feed values one at a time with `update`; `value`
 * is undefined until `initialized`; `reset` forgets everything. `snapshot` returns the whole state
 * as JSON-able data and `restore` takes it back (a stage keeps indicators in a state store), so an
 * indicator restored from a snapshot continues exactly as the original would. Indicators compute in float64
 * (DESIGN allows it; money stays decimal elsewhere). Conventions follow TA-Lib where it has one:
 * exponential averages are seeded with the simple average of their first `period` inputs.
 */
export interface Indicator<In = number, Out = number> {
  readonly name: string;
  update(input: In): void;
  readonly value: Out | undefined;
  readonly initialized: boolean;
  reset(): void;
  snapshot(): unknown;
  restore(state: unknown): void;
}

/** A bar's prices, for indicators that need more than the close. */
export interface HLC {
  readonly high: number;
  readonly low: number;
  readonly close: number;
}

/** A whole bar as indicators see it (float64). */
export interface BarInput extends HLC {
  readonly open: number;
  readonly volume: number;
  readonly vwap: number;
}

/** Longest window an indicator may keep: its state (a store value) stays bounded. */
export const MAX_PERIOD = 10_000;

export function requirePeriod(name: string, period: number): void {
  if (!Number.isInteger(period) || period < 1 || period > MAX_PERIOD)
    throw new TickflowError('CONFIG', `${name}: period must be a whole number from 1 to ${MAX_PERIOD}, got ${period}`);
}
