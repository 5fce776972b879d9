import { syntheticTrades } from '../../connectors/synthetic/trades';
import { StageDriver } from '../runtime/test-driver';
import { templateStage } from './template';

describe('the stage template', () => {
  it('passes trades on and counts them per instrument', () => {
    const trades = [...syntheticTrades({ seed: 1, instruments: 2, prefix: 'T', startMicros: 0 }, 10)];
    const driver = new StageDriver(templateStage);
    const result = driver.run(trades);
    expect(result.out).toHaveLength(10);
    const counts = Object.values(driver.snapshot('seen')) as { count: number }[];
    expect(counts.reduce((a, c) => a + c.count, 0)).toBe(10);
  });
});
