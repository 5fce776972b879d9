import { ROC } from 'technicalindicators';
import { RateOfChange } from './indicator';

describe('template indicator (rate of change) against technicalindicators', () => {
  it('matches within 1e-9 and continues from a snapshot', () => {
    const closes = [
      44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.1, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28, 46.0,
    ];
    const want = ROC.calculate({ period: 5, values: closes });
    const roc = new RateOfChange(5);
    const got: number[] = [];
    for (const close of closes) {
      roc.update(close);
      if (roc.initialized) got.push(roc.value as number);
    }
    expect(got).toHaveLength(want.length);
    got.forEach((g, i) => expect(Math.abs(g - want[i]) / Math.abs(want[i])).toBeLessThan(1e-9));
    const copy = new RateOfChange(5);
    copy.restore(JSON.parse(JSON.stringify(roc.snapshot())));
    roc.update(47);
    copy.update(47);
    expect(copy.value).toBe(roc.value);
  });
});
