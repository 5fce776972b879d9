/**
 * Template for a new indicator: copy this folder's file next to the others, rename, and fill in.
 *
 * Checklist:
 * 1. Implement `Indicator` (../indicator.ts): `update`, `value` (undefined until `initialized`),
 *    `reset`, and `snapshot`/`restore` returning and taking back the whole state as JSON data (the
 *    score stage keeps indicators in a state store; a restored one must continue exactly).
 * 2. Register it with its parameters and defaults in ../registry.ts (`input: 'close'` or `'bar'`).
 *    Its values become features named `<name>_<parameter values>` (`.field` for object values).
 * 3. Test it against an independent oracle within 1e-9 relative, never against its own output:
 *    the `technicalindicators` package (test-only) or a published worked example, on a fixed
 *    vector and on the 1m bars of the recorded file (see ../indicators.test.ts). The registry-wide
 *    tests check the contract and the snapshot round trip of every registered indicator.
 *
 * This template is the rate of change over `period` closes, in percent; it is not registered.
 */
import type { Indicator } from '../indicator';
import { requirePeriod } from '../indicator';

export class RateOfChange implements Indicator {
  readonly name = 'roc';
  private window: number[] = [];

  constructor(readonly period = 10) {
    requirePeriod('roc', period);
  }

  update(close: number): void {
    this.window.push(close);
    if (this.window.length > this.period + 1) this.window.shift();
  }

  get value(): number | undefined {
    return this.initialized ? ((this.window[this.period] - this.window[0]) / this.window[0]) * 100 : undefined;
  }

  get initialized(): boolean {
    return this.window.length === this.period + 1;
  }

  reset(): void {
    this.window = [];
  }

  snapshot(): unknown {
    return { window: [...this.window] };
  }

  restore(state: unknown): void {
    this.window = [...(state as { window: number[] }).window];
  }
}
