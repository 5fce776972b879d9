import type { Indicator } from './indicator';
import { requirePeriod } from './indicator';

/** Simple moving average over the last `period` inputs (a ring buffer with a running sum). */
export class SMA implements Indicator {
  readonly name = 'sma';
  private readonly window: number[] = [];
  private sum = 0;
  private updates = 0;
  private current: number | undefined;

  constructor(readonly period: number) {
    requirePeriod('sma', period);
  }

  update(x: number): void {
    this.window.push(x);
    this.sum += x;
    if (this.window.length > this.period) this.sum -= this.window.shift() as number;
    // Recomputed from the window now and then, so float error from the running sum cannot build up.
    this.updates += 1;
    if (this.window.length === this.period)
      this.current = this.updates % 1024 === 0 ? this.recompute() : this.sum / this.period;
  }

  private recompute(): number {
    this.sum = this.window.reduce((a, b) => a + b, 0);
    return this.sum / this.period;
  }

  get value(): number | undefined {
    return this.current;
  }

  get initialized(): boolean {
    return this.current !== undefined;
  }

  reset(): void {
    this.window.length = 0;
    this.sum = 0;
    this.updates = 0;
    this.current = undefined;
  }

  snapshot(): unknown {
    return { window: [...this.window], sum: this.sum, updates: this.updates, current: this.current ?? null };
  }

  restore(state: unknown): void {
    const s = state as { window: number[]; sum: number; updates: number; current: number | null };
    this.window.splice(0, this.window.length, ...s.window);
    this.sum = s.sum;
    this.updates = s.updates;
    this.current = s.current ?? undefined;
  }
}

/**
 * Exponential average with smoothing `alpha`, seeded with the simple average of the first `period`
 * inputs. EMA uses alpha = 2 / (period + 1); Wilder's average (RSI, ATR) uses 1 / period.
 */
export class ExponentialAverage implements Indicator {
  private seed: number[] = [];
  private current: number | undefined;

  constructor(
    readonly name: string,
    readonly period: number,
    private readonly alpha: number,
  ) {
    requirePeriod(name, period);
  }

  update(x: number): void {
    if (this.current === undefined) {
      this.seed.push(x);
      if (this.seed.length === this.period) {
        this.current = this.seed.reduce((a, b) => a + b, 0) / this.period;
        this.seed = [];
      }
      return;
    }
    this.current = this.current + this.alpha * (x - this.current);
  }

  get value(): number | undefined {
    return this.current;
  }

  get initialized(): boolean {
    return this.current !== undefined;
  }

  reset(): void {
    this.seed = [];
    this.current = undefined;
  }

  snapshot(): unknown {
    return { seed: [...this.seed], current: this.current ?? null };
  }

  restore(state: unknown): void {
    const s = state as { seed: number[]; current: number | null };
    this.seed = [...s.seed];
    this.current = s.current ?? undefined;
  }
}

export const ema = (period: number): ExponentialAverage => new ExponentialAverage('ema', period, 2 / (period + 1));
export const wilder = (period: number): ExponentialAverage => new ExponentialAverage('wilder', period, 1 / period);
