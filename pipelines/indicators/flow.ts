import type { Indicator } from './indicator';
import { requirePeriod } from './indicator';
import { TickflowError } from '../runtime/errors';

/** Top of book as flow indicators see it (float64). */
export interface QuoteInput {
  readonly bidPrice: number;
  readonly bidSize: number;
  readonly askPrice: number;
  readonly askSize: number;
}

/** A trade as flow indicators see it: side is the aggressor's (+1 buy, -1 sell, 0 unknown); time in microseconds. */
export interface TradeInput {
  readonly price: number;
  readonly size: number;
  readonly side: 1 | -1 | 0;
  readonly tsEvent: number;
}

/**
 * Order-flow imbalance (Cont, Kukanov and Stoikov, "The price impact of order book events", 2014):
 * per quote update n, e(n) = [b(n) >= b(n-1)] qb(n) - [b(n) <= b(n-1)] qb(n-1)
 *                          - [a(n) <= a(n-1)] qa(n) + [a(n) >= a(n-1)] qa(n-1),
 * and OFI is the sum of e over the last `window` updates. Positive: net buying pressure.
 */
export class OrderFlowImbalance implements Indicator<QuoteInput, number> {
  readonly name = 'ofi';
  private previous: QuoteInput | undefined;
  private events: number[] = [];

  constructor(readonly window = 50) {
    requirePeriod('ofi', window);
  }

  update(q: QuoteInput): void {
    const p = this.previous;
    this.previous = { bidPrice: q.bidPrice, bidSize: q.bidSize, askPrice: q.askPrice, askSize: q.askSize };
    if (!p) return;
    const e =
      (q.bidPrice >= p.bidPrice ? q.bidSize : 0) -
      (q.bidPrice <= p.bidPrice ? p.bidSize : 0) -
      (q.askPrice <= p.askPrice ? q.askSize : 0) +
      (q.askPrice >= p.askPrice ? p.askSize : 0);
    this.events.push(e);
    if (this.events.length > this.window) this.events.shift();
  }

  get value(): number | undefined {
    return this.initialized ? this.events.reduce((a, e) => a + e, 0) : undefined;
  }

  get initialized(): boolean {
    return this.events.length === this.window;
  }

  reset(): void {
    this.previous = undefined;
    this.events = [];
  }

  snapshot(): unknown {
    return { previous: this.previous ?? null, events: [...this.events] };
  }

  restore(state: unknown): void {
    const s = state as { previous: QuoteInput | null; events: number[] };
    this.previous = s.previous ?? undefined;
    this.events = [...s.events];
  }
}

/**
 * The standard normal cumulative distribution, to about 1e-15: Phi(x) = erfc(-x / sqrt 2) / 2, with
 * erf by its Maclaurin series for |z| < 2 and erfc by its continued fraction beyond (where 1 - erf
 * would cancel).
 */
export function normalCdf(x: number): number {
  const z = -x / Math.SQRT2;
  return erfc(z) / 2;
}

function erfc(z: number): number {
  if (Math.abs(z) < 2) return 1 - erfSeries(z);
  // Continued fraction (Lentz), for |z| >= 2; erfc(-z) = 2 - erfc(z).
  const a = Math.abs(z);
  let f = a;
  let c = a;
  let d = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    d = a + an * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = a + an / c;
    if (c === 0) c = 1e-300;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const value = Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  return z > 0 ? value : 2 - value;
}

function erfSeries(z: number): number {
  let term = z;
  let sum = z;
  for (let n = 1; n < 200; n++) {
    term *= (-z * z) / n;
    const next = term / (2 * n + 1);
    sum += next;
    if (Math.abs(next) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

export interface VpinValue {
  readonly vpin: number;
  /** Buckets completed so far. */
  readonly buckets: number;
}

/**
 * VPIN (Easley, Lopez de Prado and O'Hara, 2012) with bulk volume classification: trades fill
 * volume buckets of `bucketVolume` (a trade that overflows one continues in the next); when a bucket
 * is full, its buy volume is V x Phi(dP / sigma), dP its price change (its last price minus the
 * previous bucket's last), sigma the standard deviation of the bucket price changes seen so far; VPIN
 * is the mean of |V_buy - V_sell| / V over the last `buckets` buckets. Initialized once there are
 * `buckets` buckets (and two price changes for sigma).
 */
export class Vpin implements Indicator<TradeInput, VpinValue> {
  readonly name = 'vpin';
  private filled = 0;
  private lastPrice: number | undefined;
  private bucketClose: number | undefined;
  private changes = { n: 0, mean: 0, m2: 0 };
  private imbalances: number[] = [];
  private completed = 0;

  constructor(
    readonly bucketVolume = 10,
    readonly buckets = 50,
  ) {
    if (!(bucketVolume > 0))
      throw new TickflowError('CONFIG', `vpin: bucketVolume must be positive, got ${bucketVolume}`);
    requirePeriod('vpin', buckets);
  }

  /**
   * O(1) in the trade's size: a trade that fills the open bucket closes it with its price change,
   * and every further whole bucket it fills has the same last price, so no price change (imbalance
   * 0): those are added at once (a loop of `size / bucketVolume` steps would run for seconds, or
   * forever once the float subtraction stops changing the size).
   */
  update(t: TradeInput): void {
    this.lastPrice = t.price;
    if (!(t.size > 0) || !Number.isFinite(t.size)) return;
    const take = Math.min(t.size, this.bucketVolume - this.filled);
    this.filled += take;
    if (this.filled < this.bucketVolume - 1e-12) return;
    this.closeBucket();
    const rest = t.size - take;
    if (!(rest > 0)) return;
    let whole = Math.floor(rest / this.bucketVolume);
    let remainder = Math.max(0, rest - whole * this.bucketVolume);
    if (remainder >= this.bucketVolume - 1e-12) {
      whole += 1;
      remainder = 0;
    }
    this.closeUnchangedBuckets(whole);
    this.filled = remainder;
  }

  /** Closes `count` buckets whose price did not change (one trade filled them all). */
  private closeUnchangedBuckets(count: number): void {
    if (count <= 0) return;
    if (count <= 64) {
      for (let i = 0; i < count; i++) this.closeBucket();
      return;
    }
    // Welford's running variance merged with `count` zero changes (Chan et al.'s pairwise update).
    const c = this.changes;
    const n = c.n + count;
    const delta = -c.mean;
    c.m2 += (delta * delta * c.n * count) / n;
    c.mean += (delta * count) / n;
    c.n = n;
    for (let i = 0; i < Math.min(count, this.buckets); i++) this.imbalances.push(0);
    if (this.imbalances.length > this.buckets) this.imbalances.splice(0, this.imbalances.length - this.buckets);
    this.completed += count;
  }

  private closeBucket(): void {
    const close = this.lastPrice as number;
    if (this.bucketClose !== undefined) {
      const change = close - this.bucketClose;
      // Welford's running variance of the bucket price changes.
      const c = this.changes;
      c.n += 1;
      const delta = change - c.mean;
      c.mean += delta / c.n;
      c.m2 += delta * (change - c.mean);
      const sigma = c.n > 1 ? Math.sqrt(c.m2 / (c.n - 1)) : 0;
      const buyShare = sigma > 0 ? normalCdf(change / sigma) : 0.5;
      this.imbalances.push(Math.abs(2 * buyShare - 1));
      if (this.imbalances.length > this.buckets) this.imbalances.shift();
    }
    this.bucketClose = close;
    this.filled = 0;
    this.completed += 1;
  }

  get value(): VpinValue | undefined {
    if (!this.initialized) return undefined;
    return { vpin: this.imbalances.reduce((a, v) => a + v, 0) / this.imbalances.length, buckets: this.completed };
  }

  get initialized(): boolean {
    return this.imbalances.length === this.buckets;
  }

  reset(): void {
    this.filled = 0;
    this.lastPrice = undefined;
    this.bucketClose = undefined;
    this.changes = { n: 0, mean: 0, m2: 0 };
    this.imbalances = [];
    this.completed = 0;
  }

  snapshot(): unknown {
    return {
      filled: this.filled,
      lastPrice: this.lastPrice ?? null,
      bucketClose: this.bucketClose ?? null,
      changes: { ...this.changes },
      imbalances: [...this.imbalances],
      completed: this.completed,
    };
  }

  restore(state: unknown): void {
    const s = state as {
      filled: number;
      lastPrice: number | null;
      bucketClose: number | null;
      changes: { n: number; mean: number; m2: number };
      imbalances: number[];
      completed: number;
    };
    this.filled = s.filled;
    this.lastPrice = s.lastPrice ?? undefined;
    this.bucketClose = s.bucketClose ?? undefined;
    this.changes = { ...s.changes };
    this.imbalances = [...s.imbalances];
    this.completed = s.completed;
  }
}

export interface SweepValue {
  /** +1 a buy sweep (up through the asks), -1 a sell sweep. */
  readonly side: number;
  /** Distinct prices the run of aggressive trades went through. */
  readonly levels: number;
  readonly volume: number;
}

/**
 * Sweep detection: a run of trades with the same aggressor side, each within `windowMs` of the
 * previous, whose prices never move against the aggressor (non-decreasing for buys, non-increasing
 * for sells). When such a run has gone through at least `minLevels` distinct prices, `value` is
 * the sweep (once per run, on the trade that reaches `minLevels`; `initialized` only then).
 */
export class SweepDetector implements Indicator<TradeInput, SweepValue> {
  readonly name = 'sweep';
  private run:
    { side: 1 | -1; last: number; lastTs: number; levels: number; volume: number; reported: boolean } | undefined;
  private current: SweepValue | undefined;

  constructor(
    readonly windowMs = 50,
    readonly minLevels = 3,
  ) {
    requirePeriod('sweep', minLevels);
  }

  update(t: TradeInput): void {
    this.current = undefined;
    const r = this.run;
    const continues =
      r !== undefined &&
      t.side === r.side &&
      t.tsEvent - r.lastTs <= this.windowMs * 1000 &&
      (r.side === 1 ? t.price >= r.last : t.price <= r.last);
    if (!continues) {
      this.run =
        t.side === 0
          ? undefined
          : { side: t.side, last: t.price, lastTs: t.tsEvent, levels: 1, volume: t.size, reported: false };
    } else {
      r.levels += t.price !== r.last ? 1 : 0;
      r.last = t.price;
      r.lastTs = t.tsEvent;
      r.volume += t.size;
    }
    const run = this.run;
    if (run && !run.reported && run.levels >= this.minLevels) {
      run.reported = true;
      this.current = { side: run.side, levels: run.levels, volume: run.volume };
    }
  }

  get value(): SweepValue | undefined {
    return this.current;
  }

  get initialized(): boolean {
    return this.current !== undefined;
  }

  reset(): void {
    this.run = undefined;
    this.current = undefined;
  }

  snapshot(): unknown {
    return { run: this.run ?? null, current: this.current ?? null };
  }

  restore(state: unknown): void {
    const s = state as { run: SweepDetector['run'] | null; current: SweepValue | null };
    this.run = s.run ? { ...s.run } : undefined;
    this.current = s.current ?? undefined;
  }
}
