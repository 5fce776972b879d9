import { ema, wilder } from './averages';
import type { HLC, Indicator } from './indicator';
import { requirePeriod } from './indicator';
import { TickflowError } from '../runtime/errors';

/**
 * Wilder's RSI: Wilder averages of gains and losses over `period` changes; 100 when there were no losses (50 when
 * nothing moved).
 */
export class RSI implements Indicator {
  readonly name = 'rsi';
  private previous: number | undefined;
  private readonly gains;
  private readonly losses;

  constructor(readonly period: number) {
    requirePeriod('rsi', period);
    this.gains = wilder(period);
    this.losses = wilder(period);
  }

  update(x: number): void {
    if (this.previous !== undefined) {
      const change = x - this.previous;
      this.gains.update(change > 0 ? change : 0);
      this.losses.update(change < 0 ? -change : 0);
    }
    this.previous = x;
  }

  get value(): number | undefined {
    const gain = this.gains.value;
    const loss = this.losses.value;
    if (gain === undefined || loss === undefined) return undefined;
    if (loss === 0) return gain === 0 ? 50 : 100;
    return 100 - 100 / (1 + gain / loss);
  }

  get initialized(): boolean {
    return this.gains.initialized;
  }

  reset(): void {
    this.previous = undefined;
    this.gains.reset();
    this.losses.reset();
  }

  snapshot(): unknown {
    return { previous: this.previous ?? null, gains: this.gains.snapshot(), losses: this.losses.snapshot() };
  }

  restore(state: unknown): void {
    const s = state as { previous: number | null; gains: unknown; losses: unknown };
    this.previous = s.previous ?? undefined;
    this.gains.restore(s.gains);
    this.losses.restore(s.losses);
  }
}

export interface MacdValue {
  readonly macd: number;
  readonly signal: number;
  readonly histogram: number;
}

/** MACD: EMA(fast) - EMA(slow), from the first input where the slow EMA exists; signal = EMA(signal) of it. */
export class MACD implements Indicator<number, MacdValue> {
  readonly name = 'macd';
  private readonly fastEma;
  private readonly slowEma;
  private readonly signalEma;
  private line: number | undefined;

  constructor(
    readonly fast = 12,
    readonly slow = 26,
    readonly signal = 9,
  ) {
    if (!(fast < slow))
      throw new TickflowError('CONFIG', `macd: the fast period (${fast}) must be shorter than the slow one (${slow})`);
    this.fastEma = ema(fast);
    this.slowEma = ema(slow);
    this.signalEma = ema(signal);
  }

  update(x: number): void {
    this.fastEma.update(x);
    this.slowEma.update(x);
    if (this.slowEma.value === undefined || this.fastEma.value === undefined) return;
    this.line = this.fastEma.value - this.slowEma.value;
    this.signalEma.update(this.line);
  }

  get value(): MacdValue | undefined {
    const signal = this.signalEma.value;
    if (this.line === undefined || signal === undefined) return undefined;
    return { macd: this.line, signal, histogram: this.line - signal };
  }

  get initialized(): boolean {
    return this.signalEma.initialized;
  }

  reset(): void {
    this.fastEma.reset();
    this.slowEma.reset();
    this.signalEma.reset();
    this.line = undefined;
  }

  snapshot(): unknown {
    return {
      fast: this.fastEma.snapshot(),
      slow: this.slowEma.snapshot(),
      signal: this.signalEma.snapshot(),
      line: this.line ?? null,
    };
  }

  restore(state: unknown): void {
    const s = state as { fast: unknown; slow: unknown; signal: unknown; line: number | null };
    this.fastEma.restore(s.fast);
    this.slowEma.restore(s.slow);
    this.signalEma.restore(s.signal);
    this.line = s.line ?? undefined;
  }
}

export interface BandsValue {
  readonly middle: number;
  readonly upper: number;
  readonly lower: number;
}

/** Bollinger bands: the window's mean (the SMA) +- k x the population standard deviation of the same window. */
export class BollingerBands implements Indicator<number, BandsValue> {
  readonly name = 'bollinger';
  private readonly window: number[] = [];

  constructor(
    readonly period = 20,
    readonly k = 2,
  ) {
    requirePeriod('bollinger', period);
  }

  update(x: number): void {
    this.window.push(x);
    if (this.window.length > this.period) this.window.shift();
  }

  get value(): BandsValue | undefined {
    if (!this.initialized) return undefined;
    const middle = this.window.reduce((a, v) => a + v, 0) / this.period;
    const variance = this.window.reduce((a, v) => a + (v - middle) ** 2, 0) / this.period;
    const deviation = this.k * Math.sqrt(variance);
    return { middle, upper: middle + deviation, lower: middle - deviation };
  }

  get initialized(): boolean {
    return this.window.length === this.period;
  }

  reset(): void {
    this.window.length = 0;
  }

  snapshot(): unknown {
    return { window: [...this.window] };
  }

  restore(state: unknown): void {
    this.window.splice(0, this.window.length, ...(state as { window: number[] }).window);
  }
}

/**
 * Wilder's ATR: the Wilder average of the true range max(high - low, |high - previous close|,
 * |low - previous close|), which needs a previous close, so the first bar only primes it.
 */
export class ATR implements Indicator<HLC> {
  readonly name = 'atr';
  private previousClose: number | undefined;
  private readonly average;

  constructor(readonly period = 14) {
    requirePeriod('atr', period);
    this.average = wilder(period);
  }

  update(bar: HLC): void {
    if (this.previousClose !== undefined) {
      const p = this.previousClose;
      this.average.update(Math.max(bar.high - bar.low, Math.abs(bar.high - p), Math.abs(bar.low - p)));
    }
    this.previousClose = bar.close;
  }

  get value(): number | undefined {
    return this.average.value;
  }

  get initialized(): boolean {
    return this.average.initialized;
  }

  reset(): void {
    this.previousClose = undefined;
    this.average.reset();
  }

  snapshot(): unknown {
    return { previousClose: this.previousClose ?? null, average: this.average.snapshot() };
  }

  restore(state: unknown): void {
    const s = state as { previousClose: number | null; average: unknown };
    this.previousClose = s.previousClose ?? undefined;
    this.average.restore(s.average);
  }
}
