import type { Bar, Candidate, Feature } from '../../schemas/types.generated';
import { parseConfig } from '../runtime/config';
import { StageDriver } from '../runtime/test-driver';
import { SCORE_CONFIG, scoreStage } from './score';
import { BREAKOUT_VOLUMES, DESIGN_START, SERIES, designedBars } from '../../tests/support/designed-series';

const START = DESIGN_START;
const MINUTE = 60_000_000;

function score(bars: Bar[], settings: Record<string, string> = {}): { candidates: Candidate[]; features: Feature[] } {
  const driver = new StageDriver(scoreStage(parseConfig('score', SCORE_CONFIG, settings)));
  const out = driver.run(bars).out;
  return {
    candidates: out.filter((o) => o.topic === 'strategy.candidates.v1').map((o) => o.value as Candidate),
    features: out.filter((o) => o.topic === 'md.features.v1').map((o) => o.value as Feature),
  };
}

const mirror = (closes: readonly number[]): number[] => closes.map((c) => 200 - c);
const fired = (strategy: string, closes: readonly number[], volumes?: readonly number[]): [string, number][] =>
  score(designedBars('T:X', closes, volumes), { strategies: strategy }).candidates.map((c) => [
    c.side,
    (c.barStart - START) / MINUTE,
  ]);

describe('score: each strategy fires on the series designed for it, and not on the one designed not to', () => {
  it('ema-cross-rsi: the upward cross (BUY, and SELL on the mirror); nothing on a steady trend', () => {
    expect(fired('ema-cross-rsi', SERIES.emaCross)).toEqual([['BUY', 56]]);
    expect(fired('ema-cross-rsi', mirror(SERIES.emaCross))).toEqual([['SELL', 56]]);
    expect(fired('ema-cross-rsi', SERIES.steadyTrend)).toEqual([]);
    expect(fired('ema-cross-rsi', mirror(SERIES.steadyTrend))).toEqual([]);
  });

  it('vwap-reversion: the bar that leaves the bands (BUY below, SELL above); nothing on quiet noise', () => {
    expect(fired('vwap-reversion', SERIES.reversion)).toEqual([['BUY', 30]]);
    expect(fired('vwap-reversion', mirror(SERIES.reversion))).toEqual([['SELL', 30]]);
    expect(fired('vwap-reversion', SERIES.quiet)).toEqual([]);
  });

  it('breakout-volume: the breakout on 4x volume (BUY, SELL on the mirror); nothing on ordinary volume or inside the range', () => {
    expect(fired('breakout-volume', SERIES.breakout, BREAKOUT_VOLUMES.confirmed)).toEqual([['BUY', 25]]);
    expect(fired('breakout-volume', mirror(SERIES.breakout), BREAKOUT_VOLUMES.confirmed)).toEqual([['SELL', 25]]);
    expect(fired('breakout-volume', SERIES.breakout, BREAKOUT_VOLUMES.ordinary)).toEqual([]);
    expect(fired('breakout-volume', SERIES.quiet, BREAKOUT_VOLUMES.confirmed.concat(100, 100, 100, 100, 100))).toEqual(
      [],
    );
  });
});

describe('score stage', () => {
  it('a candidate carries its side, confidence, reason, bar revision and the feature values it used, as published', () => {
    const bars = designedBars('T:X', SERIES.breakout, BREAKOUT_VOLUMES.confirmed);
    bars[bars.length - 1] = { ...bars[bars.length - 1], revision: 2 };
    const { candidates, features } = score(bars, { strategies: 'breakout-volume' });
    expect(candidates).toHaveLength(1);
    const c = candidates[0];
    expect([c.id, c.side, c.confidence, c.barRevision, c.price.toFixed(), c.tsEvent - c.barStart]).toEqual([
      `breakout-volume:T:X:1m:${START + 25 * MINUTE}`,
      'BUY',
      1,
      2,
      '101.5',
      MINUTE,
    ]);
    expect(c.reason).toBe('close 101.500 broke above the 20-bar high 100.400 on 4.00x the mean volume');
    expect(Object.keys(c.features).sort()).toEqual([
      'close',
      'donchian_20.lower',
      'donchian_20.upper',
      'unusual_volume_20.ratio',
    ]);
    const published = new Map(features.filter((f) => f.tsEvent === c.barStart).map((f) => [f.name, f.value]));
    for (const name of ['donchian_20.upper', 'donchian_20.lower', 'unusual_volume_20.ratio'])
      expect([name, c.features[name]]).toEqual([name, published.get(name)]);
    expect(c.features['unusual_volume_20.ratio']).toBe(4);
  });

  it('scores final bars only, each once, and continues from its stored state across batches', () => {
    const bars = designedBars('T:X', SERIES.emaCross);
    const withRevisions = bars.flatMap((b) => [{ ...b, final: false }, b, b]);
    const whole = score(bars, { strategies: 'ema-cross-rsi' });
    const driver = new StageDriver(scoreStage(parseConfig('score', SCORE_CONFIG, { strategies: 'ema-cross-rsi' })), {
      batchSize: 7,
    });
    const out = driver.run(withRevisions).out;
    expect(out.filter((o) => o.topic === 'strategy.candidates.v1').map((o) => o.value)).toEqual(whole.candidates);
    expect(out.filter((o) => o.topic === 'md.features.v1').map((o) => o.value)).toEqual(whole.features);
  });

  it('publishes every indicator value as a feature of the bar interval', () => {
    const { features } = score(designedBars('T:X', SERIES.emaCross), {
      strategies: 'ema-cross-rsi',
      indicators: 'sma:period=5',
    });
    const names = new Set(features.map((f) => f.name));
    expect([...names].sort()).toEqual(['ema_12', 'ema_26', 'rsi_14', 'sma_5']);
    expect(features.every((f) => f.basis === '1m' && f.exact === null)).toBe(true);
    // sma_5 of the first five closes
    const first = features.find((f) => f.name === 'sma_5') as Feature;
    expect(first.value).toBeCloseTo(
      SERIES.emaCross
        .slice(0, 5)
        .map((c) => Number(c.toFixed(2)))
        .reduce((a, b) => a + b) / 5,
      12,
    );
  });

  it('names a bad strategy, parameter or indicator in its config error', () => {
    const make = (settings: Record<string, string>) => () => scoreStage(parseConfig('score', SCORE_CONFIG, settings));
    expect(make({ strategies: 'nope' })).toThrow(/unknown strategy 'nope'/);
    expect(make({ params: 'ema-cross-rsi.speed=3' })).toThrow(/has no parameter 'speed'/);
    expect(make({ params: 'ema-cross-rsi.fast=x' })).toThrow(/'x' is not a number/);
    expect(make({ indicators: 'nope' })).toThrow(/unknown indicator 'nope'/);
    expect(make({ intervals: '7m' })).toThrow(/interval '7m'/);
  });
});
