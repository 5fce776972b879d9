/**
 * Every indicator against an independent oracle, the technicalindicators package (a test-only
 * dependency; its RSI output is rounded to 2 places, so RSI is checked against its Wilder average
 * gain and loss, which are not), within 1e-9 relative: on a fixed vector and on the 1m bars of the
 * recorded trades file.
 */
import { ATR as TiATR, AverageGain, AverageLoss, BollingerBands as TiBB, EMA as TiEMA, MACD as TiMACD, SMA as TiSMA } from 'technicalindicators';
import { oracleBars } from '../../../tests/support/bars-oracle';
import { TRADES_FILE } from '../../../tests/support/helpers';
import type { HLC, Indicator } from './indicator';
import type { BandsValue, MacdValue } from './oscillators';
import { INDICATORS, createIndicator } from './registry';

const FIXED = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.1, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28, 46.0, 46.03, 46.41, 46.22, 45.64, 46.21, 46.25, 45.71, 46.45, 45.78, 45.35, 44.03, 44.18, 44.22, 44.57, 43.42, 42.66, 43.13];
const FIXED_HLC: HLC[] = FIXED.map((close, i) => ({ high: close + 0.3 + (i % 4) * 0.11, low: close - 0.25 - (i % 3) * 0.07, close }));

function fileBars(): HLC[] {
  return [...oracleBars(TRADES_FILE, 60_000_000).values()].sort((a, b) => a.start - b.start).map((b) => ({ high: Number(b.high), low: Number(b.low), close: Number(b.close) }));
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

const SERIES: [string, () => HLC[]][] = [
  ['a fixed vector', () => FIXED_HLC],
  ['the 1m bars of the recorded file', fileBars],
];

describe.each(SERIES)('indicators on %s match technicalindicators within 1e-9', (_label, series) => {
  const bars = series();
  const closes = bars.map((b) => b.close);

  it('SMA', () => expectClose(outputs(createIndicator('sma', { period: 5 }) as Indicator<number, number>, closes), TiSMA.calculate({ period: 5, values: closes })));
  it('EMA', () => expectClose(outputs(createIndicator('ema', { period: 5 }) as Indicator<number, number>, closes), TiEMA.calculate({ period: 5, values: closes })));
  it('RSI (Wilder)', () => {
    const gain = AverageGain.calculate({ period: 14, values: closes });
    const loss = AverageLoss.calculate({ period: 14, values: closes });
    expectClose(outputs(createIndicator('rsi', { period: 14 }) as Indicator<number, number>, closes), gain.map((g, i) => 100 - 100 / (1 + g / loss[i])));
  });
  it('MACD (line, signal, histogram)', () => {
    const want = TiMACD.calculate({ values: closes, fastPeriod: 3, slowPeriod: 6, signalPeriod: 4, SimpleMAOscillator: false, SimpleMASignal: false }).filter((v) => v.signal !== undefined);
    const got = outputs(createIndicator('macd', { fast: 3, slow: 6, signal: 4 }) as Indicator<number, MacdValue>, closes);
    expectClose(got.map((v) => v.macd), want.map((v) => v.MACD as number));
    expectClose(got.map((v) => v.signal), want.map((v) => v.signal as number));
    expectClose(got.map((v) => v.histogram), want.map((v) => v.histogram as number));
  });
  it('Bollinger bands', () => {
    const want = TiBB.calculate({ period: 5, stdDev: 2, values: closes });
    const got = outputs(createIndicator('bollinger', { period: 5, k: 2 }) as Indicator<number, BandsValue>, closes);
    expectClose(got.map((v) => v.upper), want.map((v) => v.upper));
    expectClose(got.map((v) => v.middle), want.map((v) => v.middle));
    expectClose(got.map((v) => v.lower), want.map((v) => v.lower));
  });
  it('ATR (Wilder)', () => {
    const want = TiATR.calculate({ period: 3, high: bars.map((b) => b.high), low: bars.map((b) => b.low), close: closes });
    expectClose(outputs(createIndicator('atr', { period: 3 }) as Indicator<HLC, number>, bars), want);
  });
});

describe('indicator contract', () => {
  it('every registered indicator starts uninitialized, initializes, and resets', () => {
    for (const name of Object.keys(INDICATORS)) {
      const indicator = createIndicator(name) as Indicator<unknown, unknown>;
      expect([indicator.initialized, indicator.value]).toEqual([false, undefined]);
      for (const bar of [...FIXED_HLC, ...FIXED_HLC]) indicator.update(INDICATORS[name].input === 'hlc' ? bar : bar.close);
      expect(indicator.initialized).toBe(true);
      indicator.reset();
      expect([indicator.initialized, indicator.value]).toEqual([false, undefined]);
    }
  });

  it('names unknown indicators and parameters', () => {
    expect(() => createIndicator('nope')).toThrow(/unknown indicator 'nope': use one of sma, ema/);
    expect(() => createIndicator('sma', { length: 3 })).toThrow(/has no parameter 'length': its parameters are period/);
  });
});
