import type { BarInput, Indicator } from './indicator';
import { requirePeriod } from './indicator';
import { TickflowError } from '../runtime/errors';

/** A window of the last `period` items with JSON snapshots. */
class Window<T> {
  items: T[] = [];
  constructor(readonly period: number) {}
  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.period) this.items.shift();
  }
  get full(): boolean {
    return this.items.length === this.period;
  }
}

export interface VwapBandsValue {
  readonly vwap: number;
  readonly upper: number;
  readonly lower: number;
  /** Volume-weighted standard deviation of the closes around the VWAP. */
  readonly deviation: number;
}

/**
 * Rolling VWAP bands over the last `period` bars: VWAP = sum(bar vwap x volume) / sum(volume) (the
 * exact traded value over the window), deviation = sqrt(sum(volume x (close - VWAP)^2) / sum(volume)),
 * bands = VWAP +- k x deviation. Bars without volume count for nothing.
 */
export class VwapBands implements Indicator<BarInput, VwapBandsValue> {
  readonly name = 'vwap_bands';
  private readonly window: Window<{ close: number; vwap: number; volume: number }>;

  constructor(
    readonly period = 20,
    readonly k = 2,
  ) {
    requirePeriod('vwap_bands', period);
    this.window = new Window(period);
  }

  update(bar: BarInput): void {
    this.window.push({ close: bar.close, vwap: bar.vwap, volume: bar.volume });
  }

  get value(): VwapBandsValue | undefined {
    if (!this.initialized) return undefined;
    let volume = 0;
    let traded = 0;
    for (const b of this.window.items) {
      volume += b.volume;
      traded += b.vwap * b.volume;
    }
    if (volume === 0) return undefined;
    const vwap = traded / volume;
    let squares = 0;
    for (const b of this.window.items) squares += b.volume * (b.close - vwap) ** 2;
    const deviation = Math.sqrt(squares / volume);
    return { vwap, upper: vwap + this.k * deviation, lower: vwap - this.k * deviation, deviation };
  }

  get initialized(): boolean {
    return this.window.full;
  }

  reset(): void {
    this.window.items = [];
  }

  snapshot(): unknown {
    return { items: this.window.items.map((b) => ({ ...b })) };
  }

  restore(state: unknown): void {
    this.window.items = (state as { items: { close: number; vwap: number; volume: number }[] }).items.map((b) => ({
      ...b,
    }));
  }
}

export interface ChannelValue {
  readonly upper: number;
  readonly lower: number;
}

/**
 * Donchian channel of the `period` bars before the current one: the highest high and lowest low
 * (excluding the current bar, so a close above `upper` is a breakout).
 */
export class DonchianChannel implements Indicator<BarInput, ChannelValue> {
  readonly name = 'donchian';
  private readonly window: Window<{ high: number; low: number }>;
  private current: ChannelValue | undefined;

  constructor(readonly period = 20) {
    requirePeriod('donchian', period);
    this.window = new Window(period);
  }

  update(bar: BarInput): void {
    this.current = this.window.full
      ? {
          upper: Math.max(...this.window.items.map((b) => b.high)),
          lower: Math.min(...this.window.items.map((b) => b.low)),
        }
      : undefined;
    this.window.push({ high: bar.high, low: bar.low });
  }

  get value(): ChannelValue | undefined {
    return this.current;
  }

  get initialized(): boolean {
    return this.current !== undefined;
  }

  reset(): void {
    this.window.items = [];
    this.current = undefined;
  }

  snapshot(): unknown {
    return { items: this.window.items.map((b) => ({ ...b })), current: this.current ?? null };
  }

  restore(state: unknown): void {
    const s = state as { items: { high: number; low: number }[]; current: ChannelValue | null };
    this.window.items = s.items.map((b) => ({ ...b }));
    this.current = s.current ?? undefined;
  }
}

export interface UnusualVolumeValue {
  /** Current volume / mean volume of the previous `period` bars. */
  readonly ratio: number;
  /** (current - mean) / population standard deviation of the previous bars (0 when they are all equal). */
  readonly zscore: number;
  readonly mean: number;
}

/** Unusual volume: the current bar's volume against the `period` bars before it. */
export class UnusualVolume implements Indicator<BarInput, UnusualVolumeValue> {
  readonly name = 'unusual_volume';
  private readonly window: Window<number>;
  private current: UnusualVolumeValue | undefined;

  constructor(readonly period = 20) {
    requirePeriod('unusual_volume', period);
    this.window = new Window(period);
  }

  update(bar: BarInput): void {
    if (this.window.full) {
      const mean = this.window.items.reduce((a, v) => a + v, 0) / this.period;
      const sd = Math.sqrt(this.window.items.reduce((a, v) => a + (v - mean) ** 2, 0) / this.period);
      this.current = {
        ratio: mean === 0 ? 0 : bar.volume / mean,
        zscore: sd === 0 ? 0 : (bar.volume - mean) / sd,
        mean,
      };
    }
    this.window.push(bar.volume);
  }

  get value(): UnusualVolumeValue | undefined {
    return this.current;
  }

  get initialized(): boolean {
    return this.current !== undefined;
  }

  reset(): void {
    this.window.items = [];
    this.current = undefined;
  }

  snapshot(): unknown {
    return { items: [...this.window.items], current: this.current ?? null };
  }

  restore(state: unknown): void {
    const s = state as { items: number[]; current: UnusualVolumeValue | null };
    this.window.items = [...s.items];
    this.current = s.current ?? undefined;
  }
}

export interface VolatilityValue {
  /** Sample standard deviation of the last `period` log returns of the close (per bar, not annualised). */
  readonly volatility: number;
  /** 0 low, 1 normal, 2 high: the volatility against the median of its own last `history` values. */
  readonly regime: number;
}

/**
 * Realized volatility with a regime: low below `low` x the median of the last `history`
 * volatilities, high above `high` x that median, normal otherwise (normal until `history` exist).
 */
export class RealizedVolatility implements Indicator<number, VolatilityValue> {
  readonly name = 'realized_vol';
  private previous: number | undefined;
  private readonly returns: Window<number>;
  private readonly history: Window<number>;
  private current: VolatilityValue | undefined;

  constructor(
    readonly period = 20,
    readonly historyLength = 50,
    readonly low = 0.75,
    readonly high = 1.5,
  ) {
    requirePeriod('realized_vol', period);
    requirePeriod('realized_vol history', historyLength);
    if (period < 2) throw new TickflowError('CONFIG', `realized_vol: period must be at least 2, got ${period}`);
    this.returns = new Window(period);
    this.history = new Window(historyLength);
  }

  update(close: number): void {
    if (this.previous !== undefined && this.previous > 0 && close > 0)
      this.returns.push(Math.log(close / this.previous));
    this.previous = close;
    if (!this.returns.full) return;
    const mean = this.returns.items.reduce((a, v) => a + v, 0) / this.period;
    const volatility = Math.sqrt(this.returns.items.reduce((a, v) => a + (v - mean) ** 2, 0) / (this.period - 1));
    let regime = 1;
    if (this.history.full) {
      const sorted = [...this.history.items].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
      regime = volatility < this.low * median ? 0 : volatility > this.high * median ? 2 : 1;
    }
    this.history.push(volatility);
    this.current = { volatility, regime };
  }

  get value(): VolatilityValue | undefined {
    return this.current;
  }

  get initialized(): boolean {
    return this.current !== undefined;
  }

  reset(): void {
    this.previous = undefined;
    this.returns.items = [];
    this.history.items = [];
    this.current = undefined;
  }

  snapshot(): unknown {
    return {
      previous: this.previous ?? null,
      returns: [...this.returns.items],
      history: [...this.history.items],
      current: this.current ?? null,
    };
  }

  restore(state: unknown): void {
    const s = state as {
      previous: number | null;
      returns: number[];
      history: number[];
      current: VolatilityValue | null;
    };
    this.previous = s.previous ?? undefined;
    this.returns.items = [...s.returns];
    this.history.items = [...s.history];
    this.current = s.current ?? undefined;
  }
}
