/**
 * Every indicator against an independent oracle, the technicalindicators package (a test-only
 * dependency; its RSI output is rounded to 2 places, so RSI is checked against its Wilder average
 * gain and loss, which are not), within 1e-9 relative: on a fixed vector and on the 1m bars of the
 * recorded trades file.
 */
import {
  ATR as TiATR,
  AverageGain,
  AverageLoss,
  BollingerBands as TiBB,
  EMA as TiEMA,
  Highest,
  Lowest,
  MACD as TiMACD,
  SD as TiSD,
  SMA as TiSMA,
} from 'technicalindicators';
import { oracleBars } from '../../tests/support/bars-oracle';
import { TRADES_FILE } from '../../tests/support/helpers';
import type { ChannelValue, UnusualVolumeValue, VolatilityValue, VwapBandsValue } from './bars';
import type { QuoteInput, TradeInput } from './flow';
import type { PairInput } from './pairs';
import type { BarInput, HLC, Indicator } from './indicator';
import type { BandsValue, MacdValue } from './oscillators';
import { INDICATORS, createIndicator } from './registry';

const FIXED = [
  44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.1, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28, 46.0, 46.03,
  46.41, 46.22, 45.64, 46.21, 46.25, 45.71, 46.45, 45.78, 45.35, 44.03, 44.18, 44.22, 44.57, 43.42, 42.66, 43.13,
];
const FIXED_HLC: BarInput[] = FIXED.map((close, i) => {
  const high = close + 0.3 + (i % 4) * 0.11;
  const low = close - 0.25 - (i % 3) * 0.07;
  return {
    open: FIXED[Math.max(0, i - 1)],
    high,
    low,
    close,
    volume: 100 + (i % 5) * 37 + (i % 7) * 11,
    vwap: (high + low + close) / 3,
  };
});

function fileBars(): BarInput[] {
  return [...oracleBars(TRADES_FILE, 60_000_000).values()]
    .sort((a, b) => a.start - b.start)
    .map((b) => ({
      open: Number(b.open),
      high: Number(b.high),
      low: Number(b.low),
      close: Number(b.close),
      volume: Number(b.volume),
      vwap: Number(b.vwap),
    }));
}

/** Feeds inputs and collects the value after each, from the first initialized one. */
function outputs<In, Out>(indicator: Indicator<In, Out>, inputs: readonly In[]): Out[] {
  const values: Out[] = [];
  for (const x of inputs) {
    indicator.update(x);
    if (indicator.initialized) values.push(indicator.value as Out);
  }
  return values;
}

function expectClose(got: readonly number[], want: readonly number[]): void {
  expect(got.length).toBe(want.length);
  expect(want.length).toBeGreaterThan(0);
  got.forEach((g, i) => {
    const w = want[i];
    const relative = Math.abs(g - w) / Math.max(Math.abs(w), 1e-12);
    if (relative > 1e-9) throw new Error(`value ${i}: got ${g}, want ${w} (relative error ${relative})`);
  });
}

const SERIES: [string, () => BarInput[]][] = [
  ['a fixed vector', () => FIXED_HLC],
  ['the 1m bars of the recorded file', fileBars],
];

describe.each(SERIES)('indicators on %s match technicalindicators within 1e-9', (_label, series) => {
  const bars = series();
  const closes = bars.map((b) => b.close);

  it('SMA', () =>
    expectClose(
      outputs(createIndicator('sma', { period: 5 }) as Indicator<number, number>, closes),
      TiSMA.calculate({ period: 5, values: closes }),
    ));
  it('EMA', () =>
    expectClose(
      outputs(createIndicator('ema', { period: 5 }) as Indicator<number, number>, closes),
      TiEMA.calculate({ period: 5, values: closes }),
    ));
  it('RSI (Wilder)', () => {
    const gain = AverageGain.calculate({ period: 14, values: closes });
    const loss = AverageLoss.calculate({ period: 14, values: closes });
    expectClose(
      outputs(createIndicator('rsi', { period: 14 }) as Indicator<number, number>, closes),
      gain.map((g, i) => 100 - 100 / (1 + g / loss[i])),
    );
  });
  it('MACD (line, signal, histogram)', () => {
    const want = TiMACD.calculate({
      values: closes,
      fastPeriod: 3,
      slowPeriod: 6,
      signalPeriod: 4,
      SimpleMAOscillator: false,
      SimpleMASignal: false,
    }).filter((v) => v.signal !== undefined);
    const got = outputs(
      createIndicator('macd', { fast: 3, slow: 6, signal: 4 }) as Indicator<number, MacdValue>,
      closes,
    );
    expectClose(
      got.map((v) => v.macd),
      want.map((v) => v.MACD as number),
    );
    expectClose(
      got.map((v) => v.signal),
      want.map((v) => v.signal as number),
    );
    expectClose(
      got.map((v) => v.histogram),
      want.map((v) => v.histogram as number),
    );
  });
  it('Bollinger bands', () => {
    const want = TiBB.calculate({ period: 5, stdDev: 2, values: closes });
    const got = outputs(createIndicator('bollinger', { period: 5, k: 2 }) as Indicator<number, BandsValue>, closes);
    expectClose(
      got.map((v) => v.upper),
      want.map((v) => v.upper),
    );
    expectClose(
      got.map((v) => v.middle),
      want.map((v) => v.middle),
    );
    expectClose(
      got.map((v) => v.lower),
      want.map((v) => v.lower),
    );
  });
  it('ATR (Wilder)', () => {
    const want = TiATR.calculate({
      period: 3,
      high: bars.map((b) => b.high),
      low: bars.map((b) => b.low),
      close: closes,
    });
    expectClose(outputs(createIndicator('atr', { period: 3 }) as Indicator<HLC, number>, bars), want);
  });
  // The channel and the volume baseline cover the bars before the current one: the oracle's window ending one bar
  // earlier.
  it('Donchian channel (previous bars)', () => {
    const got = outputs(createIndicator('donchian', { period: 5 }) as Indicator<BarInput, ChannelValue>, bars);
    expectClose(
      got.map((v) => v.upper),
      Highest.calculate({ period: 5, values: bars.map((b) => b.high) }).slice(0, -1),
    );
    expectClose(
      got.map((v) => v.lower),
      Lowest.calculate({ period: 5, values: bars.map((b) => b.low) }).slice(0, -1),
    );
  });
  it('unusual volume (ratio and z-score against the previous bars)', () => {
    const volumes = bars.map((b) => b.volume);
    const mean = TiSMA.calculate({ period: 5, values: volumes }).slice(0, -1);
    const sd = TiSD.calculate({ period: 5, values: volumes }).slice(0, -1);
    const current = volumes.slice(5);
    const got = outputs(
      createIndicator('unusual_volume', { period: 5 }) as Indicator<BarInput, UnusualVolumeValue>,
      bars,
    );
    expectClose(
      got.map((v) => v.mean),
      mean,
    );
    expectClose(
      got.map((v) => v.ratio),
      current.map((v, i) => v / mean[i]),
    );
    expectClose(
      got.map((v) => v.zscore),
      current.map((v, i) => (v - mean[i]) / sd[i]),
    );
  });
  it('realized volatility (sample deviation of log returns) and its regime', () => {
    const returns = closes.slice(1).map((c, i) => Math.log(c / closes[i]));
    // technicalindicators' SD is the population deviation; the sample one is sqrt(n / (n - 1)) times it.
    // Its SD goes wrong on windows that hold a 0 (an unchanged close), so the returns are shifted by
    // 0.1 for it, which leaves a deviation unchanged (and none of these returns is -0.1).
    const want = TiSD.calculate({ period: 5, values: returns.map((r) => r + 0.1) }).map((v) => v * Math.sqrt(5 / 4));
    const got = outputs(
      createIndicator('realized_vol', { period: 5, history: 8 }) as Indicator<number, VolatilityValue>,
      closes,
    );
    expectClose(
      got.map((v) => v.volatility),
      want,
    );
    const regimes = want.map((v, i) => {
      if (i < 8) return 1;
      const previous = want.slice(i - 8, i).sort((a, b) => a - b);
      const median = (previous[3] + previous[4]) / 2;
      return v < 0.75 * median ? 0 : v > 1.5 * median ? 2 : 1;
    });
    expect(got.map((v) => v.regime)).toEqual(regimes);
  });
  it('VWAP bands (rolling traded value over volume, volume-weighted deviation of the closes)', () => {
    // Independent two-pass computation straight from the definition, per window.
    const want = bars.slice(4).map((_, i) => {
      const w = bars.slice(i, i + 5);
      const volume = w.reduce((a, b) => a + b.volume, 0);
      const vwap = w.reduce((a, b) => a + b.vwap * b.volume, 0) / volume;
      const deviation = Math.sqrt(w.reduce((a, b) => a + b.volume * (b.close - vwap) * (b.close - vwap), 0) / volume);
      return { vwap, upper: vwap + 2 * deviation, lower: vwap - 2 * deviation };
    });
    const got = outputs(
      createIndicator('vwap_bands', { period: 5, k: 2 }) as Indicator<BarInput, VwapBandsValue>,
      bars,
    );
    expectClose(
      got.map((v) => v.vwap),
      want.map((v) => v.vwap),
    );
    expectClose(
      got.map((v) => v.upper),
      want.map((v) => v.upper),
    );
    expectClose(
      got.map((v) => v.lower),
      want.map((v) => v.lower),
    );
  });
});

describe('VWAP bands on a worked example', () => {
  it('three bars: VWAP 10.5, deviation 0.5', () => {
    const bands = createIndicator('vwap_bands', { period: 3, k: 2 }) as Indicator<BarInput, VwapBandsValue>;
    // traded value 10 x 1 + 11 x 1 + 10.5 x 2 = 42 over volume 4: VWAP 10.5; closes 10, 11, 10.5 weigh 1, 1, 2:
    // variance (0.25 + 0.25 + 0) / 4 = 0.125.
    for (const [close, volume] of [
      [10, 1],
      [11, 1],
      [10.5, 2],
    ])
      bands.update({ open: close, high: close, low: close, close, volume, vwap: close });
    expect(bands.value?.vwap).toBe(10.5);
    expect(bands.value?.upper).toBeCloseTo(10.5 + 2 * Math.sqrt(0.125), 12);
  });
});

describe('indicator contract', () => {
  /** Feeds a bar in the indicator's kind of input: quotes and trades are made from the bar (all buys, 1 ms apart). */
  const feed = (indicator: Indicator<unknown, unknown>, bar: BarInput, name: string, i = 0): void => {
    const input = INDICATORS[name].input;
    if (input === 'bar') indicator.update(bar);
    else if (input === 'close') indicator.update(bar.close);
    else if (input === 'quote')
      indicator.update({
        bidPrice: bar.low,
        bidSize: bar.volume,
        askPrice: bar.high,
        askSize: bar.volume / 2,
      } satisfies QuoteInput);
    else if (input === 'pair') indicator.update({ x: bar.close, y: bar.high * 2 - bar.low } satisfies PairInput);
    else indicator.update({ price: bar.close, size: bar.volume, side: 1, tsEvent: i * 1000 } satisfies TradeInput);
  };

  it('every registered indicator starts uninitialized, initializes, and resets', () => {
    for (const name of Object.keys(INDICATORS)) {
      const indicator = createIndicator(name, name === 'vpin' ? { bucketVolume: 50, buckets: 5 } : {}) as Indicator<
        unknown,
        unknown
      >;
      expect([indicator.initialized, indicator.value]).toEqual([false, undefined]);
      let initialized = false;
      // A sweep is a moment: it is initialized on the trade that completes one, not after.
      [...FIXED_HLC, ...FIXED_HLC, ...FIXED_HLC].forEach((bar, i) => {
        feed(indicator, bar, name, i);
        initialized ||= indicator.initialized;
      });
      expect([name, initialized]).toEqual([name, true]);
      indicator.reset();
      expect([indicator.initialized, indicator.value]).toEqual([false, undefined]);
    }
  });

  it('every registered indicator continues exactly from a JSON snapshot of its state', () => {
    const series = [...fileBars(), ...FIXED_HLC];
    for (const name of Object.keys(INDICATORS)) {
      const params: Record<string, number> =
        name === 'realized_vol' ? { history: 10 } : name === 'vpin' ? { bucketVolume: 50, buckets: 5 } : {};
      const original = createIndicator(name, params) as Indicator<unknown, unknown>;
      const half = Math.floor(series.length / 2);
      series.slice(0, half).forEach((bar, i) => feed(original, bar, name, i));
      const copy = createIndicator(name, params) as Indicator<unknown, unknown>;
      copy.restore(JSON.parse(JSON.stringify(original.snapshot())));
      const a: unknown[] = [];
      const b: unknown[] = [];
      for (const [j, bar] of series.slice(half).entries()) {
        feed(original, bar, name, half + j);
        feed(copy, bar, name, half + j);
        a.push(original.value);
        b.push(copy.value);
      }
      expect([name, b]).toEqual([name, a]);
      expect(a.some((v) => v !== undefined)).toBe(true);
    }
  });

  it('names unknown indicators and parameters', () => {
    expect(() => createIndicator('nope')).toThrow(/unknown indicator 'nope': use one of sma, ema/);
    expect(() => createIndicator('sma', { length: 3 })).toThrow(/has no parameter 'length': its parameters are period/);
  });
});
