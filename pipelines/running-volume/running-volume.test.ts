import { Decimal } from '../../schemas/decimal';
import type { RunningVolume, Trade } from '../../schemas/types.generated';
import { expectedTotals, syntheticTrades } from '../../connectors/synthetic/trades';
import { StageDriver } from '../runtime/test-driver';
import { runningVolumeStage } from './running-volume';

const trades = [
  ...syntheticTrades({ seed: 7, instruments: 5, prefix: 'RV', startMicros: 1_700_000_000_000_000 }, 2000),
];

describe('running-volume stage', () => {
  it('emits one record per trade with the exact cumulative volume and count', () => {
    const driver = new StageDriver(runningVolumeStage, { key: (t: Trade) => t.instrumentId });
    const result = driver.run(trades);
    expect(result.out).toHaveLength(2000);
    expect(result.failed).toHaveLength(0);
    const last = new Map<string, RunningVolume>();
    for (const o of result.out) last.set(o.key as string, o.value as RunningVolume);
    for (const [id, total] of expectedTotals(trades)) {
      expect(last.get(id)?.tradeCount).toBe(total.count);
      expect(last.get(id)?.volume.equals(total.volume)).toBe(true);
    }
  });

  it('continues from its state: two runs equal one run', () => {
    const once = new StageDriver(runningVolumeStage);
    once.run(trades);
    const twice = new StageDriver(runningVolumeStage);
    twice.run(trades.slice(0, 777));
    twice.run(trades.slice(777));
    expect(twice.snapshot('totals')).toEqual(once.snapshot('totals'));
  });

  it('rejects non-positive sizes as INVALID_VALUE without touching the state', () => {
    const driver = new StageDriver(runningVolumeStage);
    const bad = { ...trades[0], size: new Decimal('-1') };
    const result = driver.run([trades[0], bad]);
    expect(result.out).toHaveLength(1);
    expect(result.failed.map((f) => f.code)).toEqual(['INVALID_VALUE']);
    expect(driver.snapshot('totals')).toEqual({
      [trades[0].instrumentId]: { count: 1, volume: trades[0].size.toFixed() },
    });
  });
});
