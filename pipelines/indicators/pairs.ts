import type { Indicator } from './indicator';
import { requirePeriod } from './indicator';
import { TickflowError } from '../runtime/errors';

/** A pair of aligned observations, e.g. two instruments' returns over the same bar. */
export interface PairInput {
  readonly x: number;
  readonly y: number;
}

/**
 * Pearson correlation of the last `window` pairs (two-pass over the window; undefined while a side has no variance).
 */
export class RollingCorrelation implements Indicator<PairInput, number> {
  readonly name = 'corr';
  private xs: number[] = [];
  private ys: number[] = [];

  constructor(readonly window = 30) {
    requirePeriod('corr', window);
    if (window < 2) throw new TickflowError('CONFIG', `corr: window must be at least 2, got ${window}`);
  }

  update(p: PairInput): void {
    this.xs.push(p.x);
    this.ys.push(p.y);
    if (this.xs.length > this.window) {
      this.xs.shift();
      this.ys.shift();
    }
  }

  get value(): number | undefined {
    if (this.xs.length < this.window) return undefined;
    const n = this.xs.length;
    const mx = this.xs.reduce((a, v) => a + v, 0) / n;
    const my = this.ys.reduce((a, v) => a + v, 0) / n;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < n; i++) {
      const dx = this.xs[i] - mx;
      const dy = this.ys[i] - my;
      sxy += dx * dy;
      sxx += dx * dx;
      syy += dy * dy;
    }
    return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : undefined;
  }

  get initialized(): boolean {
    return this.value !== undefined;
  }

  reset(): void {
    this.xs = [];
    this.ys = [];
  }

  snapshot(): unknown {
    return { xs: [...this.xs], ys: [...this.ys] };
  }

  restore(state: unknown): void {
    const s = state as { xs: number[]; ys: number[] };
    this.xs = [...s.xs];
    this.ys = [...s.ys];
  }
}
