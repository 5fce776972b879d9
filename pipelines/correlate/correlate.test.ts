import type { BarReturn, Feature } from '../../schemas/types.generated';
import { Decimal } from '../../schemas/decimal';
import { rng } from '../../connectors/synthetic/trades';
import { parseConfig } from '../runtime/config';
import { StageDriver } from '../runtime/test-driver';
import { CORRELATE_CONFIG, correlateStage } from './correlate';

const MINUTE = 60_000_000;
const ret = (id: string, i: number, logReturn: number): BarReturn => ({
  instrumentId: id,
  venue: id.split(':')[0],
  symbol: id.split(':')[1],
  source: 's',
  interval: '1m',
  tsStart: i * MINUTE,
  tsRecv: i * MINUTE,
  logReturn,
  close: new Decimal(1),
});

/** Pearson's r by the raw-moment formula (not the stage's two-pass one). */
function pearson(xs: number[], ys: number[]): number {
  const n = xs.length;
  const sx = xs.reduce((a, v) => a + v, 0);
  const sy = ys.reduce((a, v) => a + v, 0);
  const sxy = xs.reduce((a, v, i) => a + v * ys[i], 0);
  const sxx = xs.reduce((a, v) => a + v * v, 0);
  const syy = ys.reduce((a, v) => a + v * v, 0);
  return (n * sxy - sx * sy) / Math.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
}

describe('correlate stage', () => {
  it('correlates aligned returns of a pair, for both instruments, whatever the arrival order and batching', () => {
    const random = rng(4);
    const a: number[] = [];
    const b: number[] = [];
    const records: BarReturn[] = [];
    for (let i = 0; i < 80; i++) {
      const common = random() - 0.5;
      a.push(common + 0.3 * (random() - 0.5));
      b.push(0.8 * common + 0.5 * (random() - 0.5));
      // B's return of a bar sometimes arrives a bar later; bar 40 of B never arrives.
      if (i % 3 === 0 && i > 0) records.push(ret('X:B', i - 1, b[i - 1]), ret('X:A', i, a[i]));
      else records.push(ret('X:A', i, a[i]));
      if (i % 3 !== 2 && i !== 40) records.push(ret('X:B', i, b[i]));
    }
    const stage = correlateStage(parseConfig('correlate', CORRELATE_CONFIG, { pairs: 'X:A~X:B', window: '20' }));
    const run = (batchSize: number): Feature[] =>
      new StageDriver(stage, { batchSize }).run(records).out.map((o) => o.value as Feature);
    const features = run(1000);
    const aligned = [...Array(80).keys()].filter((i) => i !== 40);
    const forA = features.filter((f) => f.instrumentId === 'X:A');
    expect(forA.length).toBe(aligned.length - 19);
    for (const f of forA) {
      const upTo = aligned.filter((i) => i <= f.tsEvent / MINUTE).slice(-20);
      const want = pearson(
        upTo.map((i) => a[i]),
        upTo.map((i) => b[i]),
      );
      expect(Math.abs(f.value - want) / Math.abs(want)).toBeLessThan(1e-9);
      expect([f.name, f.basis]).toEqual(['corr_20', '1m~X:B']);
    }
    expect(features.filter((f) => f.instrumentId === 'X:B').map((f) => f.value)).toEqual(forA.map((f) => f.value));
    expect(run(7)).toEqual(features);
    expect(forA[forA.length - 1].value).toBeGreaterThan(0.5);
  });

  it('names a malformed pair', () => {
    expect(() => correlateStage(parseConfig('correlate', CORRELATE_CONFIG, { pairs: 'X:A' }))).toThrow(
      /'X:A' is not <instrument>~<other instrument>/,
    );
  });
});
