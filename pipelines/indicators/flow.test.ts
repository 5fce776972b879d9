import { QUOTES_FILE, TRADES_FILE, csvRows } from '../../tests/support/helpers';
import { scaled } from '../../tests/support/bars-oracle';
import type { QuoteInput, SweepValue, TradeInput, VpinValue } from './flow';
import { OrderFlowImbalance, SweepDetector, Vpin, normalCdf } from './flow';

/** Within 1e-9 relative; `scale` is the magnitude below which a difference is float noise (sums that cancel to 0). */
function close(got: number, want: number, what: string, scale = 1e-12): void {
  const relative = Math.abs(got - want) / Math.max(Math.abs(want), scale);
  if (relative > 1e-9) throw new Error(`${what}: got ${got}, want ${want} (relative ${relative})`);
}

describe('flow indicators', () => {
  it('normalCdf matches published values of the standard normal distribution', () => {
    for (const [x, want] of [
      [0, 0.5],
      [1, 0.8413447460685429],
      [1.96, 0.9750021048517795],
      [-1.5, 0.06680720126885807],
      [3, 0.9986501019683699],
      [-4, 3.1671241833119863e-5],
      [-6, 9.86587645037698e-10],
    ])
      close(normalCdf(x), want, `Phi(${x})`);
  });

  it("order-flow imbalance equals the paper's case-by-case definition on the recorded quotes", () => {
    // Cont, Kukanov and Stoikov (2014), eq. 10, in its case form per side.
    const rows = csvRows(QUOTES_FILE).map((r) => ({
      askSize: Number(r[4]),
      askPrice: Number(r[5]),
      bidPrice: Number(r[6]),
      bidSize: Number(r[7]),
    }));
    const e = rows.slice(1).map((q, i) => {
      const p = rows[i];
      const bid = q.bidPrice > p.bidPrice ? q.bidSize : q.bidPrice === p.bidPrice ? q.bidSize - p.bidSize : -p.bidSize;
      const ask = q.askPrice < p.askPrice ? q.askSize : q.askPrice === p.askPrice ? q.askSize - p.askSize : -p.askSize;
      return bid - ask;
    });
    const ofi = new OrderFlowImbalance(20);
    const got: number[] = [];
    for (const q of rows) {
      ofi.update(q satisfies QuoteInput);
      if (ofi.initialized) got.push(ofi.value as number);
    }
    expect(got).toHaveLength(e.length - 19);
    got.forEach((g, i) =>
      close(
        g,
        e.slice(i, i + 20).reduce((a, v) => a + v, 0),
        `ofi ${i}`,
        1e-3,
      ),
    );
  });

  it('VPIN equals a computation on exact volume units over the recorded trades', () => {
    const rows = csvRows(TRADES_FILE);
    const trades: TradeInput[] = rows.map((r) => ({
      price: Number(r[6]),
      size: Number(r[7]),
      side: r[5] === 'buy' ? 1 : -1,
      tsEvent: Number(r[2]),
    }));
    // Reference: volume in exact thousandths; a bucket of 10 BTC is 10,000 of them.
    const bucket = scaled('10') / 1_000_000_000n;
    const closes: number[] = [];
    /** Buckets completed after each trade (a large trade can complete several). */
    const completedAfter: number[] = [];
    let filled = 0n;
    for (const r of rows) {
      let units = scaled(r[7]) / 1_000_000_000n;
      while (units > 0n) {
        const take = units < bucket - filled ? units : bucket - filled;
        filled += take;
        units -= take;
        if (filled === bucket) {
          closes.push(Number(r[6]));
          filled = 0n;
        }
      }
      completedAfter.push(closes.length);
    }
    const changes = closes.slice(1).map((c, i) => c - closes[i]);
    const imbalances = changes.map((dp, i) => {
      const seen = changes.slice(0, i + 1);
      const mean = seen.reduce((a, v) => a + v, 0) / seen.length;
      const sd = seen.length > 1 ? Math.sqrt(seen.reduce((a, v) => a + (v - mean) ** 2, 0) / (seen.length - 1)) : 0;
      const buy = sd > 0 ? normalCdf(dp / sd) : 0.5;
      return Math.abs(2 * buy - 1);
    });
    // After n buckets there are n - 1 imbalances; VPIN is the mean of the last 30.
    const vpinAfter = (n: number): number | undefined =>
      n - 1 >= 30 ? imbalances.slice(n - 1 - 30, n - 1).reduce((a, v) => a + v, 0) / 30 : undefined;
    const vpin = new Vpin(10, 30);
    let compared = 0;
    trades.forEach((t, i) => {
      vpin.update(t);
      const v = vpin.value as VpinValue | undefined;
      const want = vpinAfter(completedAfter[i]);
      expect([i, v?.buckets ?? completedAfter[i], v === undefined]).toEqual([i, completedAfter[i], want === undefined]);
      if (v && want !== undefined) {
        close(v.vpin, want, `vpin after trade ${i}`);
        compared += 1;
      }
    });
    expect(closes.length).toBeGreaterThan(300);
    expect(compared).toBeGreaterThan(9000);
  });

  it('VPIN takes a trade of any size in constant time: one huge trade fills its buckets at once, with no price change after the first', () => {
    for (const size of [1e9, 1e15, 1e300]) {
      const vpin = new Vpin(10, 50);
      const started = process.hrtime.bigint();
      vpin.update({ price: 100, size: 25, side: 1, tsEvent: 1 });
      vpin.update({ price: 101, size, side: 1, tsEvent: 2 });
      vpin.update({ price: 101.5, size: 4, side: 1, tsEvent: 3 });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      expect(ms).toBeLessThan(50);
      const value = vpin.value as VpinValue;
      // Every bucket the huge trade closed after the first has no price change: imbalance 0.
      expect(value.vpin).toBe(0);
      expect(value.buckets).toBeGreaterThanOrEqual(Math.floor((25 + size) / 10));
    }
    // Small trades still step through buckets exactly as before.
    const small = new Vpin(10, 2);
    for (const [price, size] of [
      [100, 6],
      [101, 6],
      [99, 9],
      [100, 9],
    ] as const)
      small.update({ price, size, side: 1, tsEvent: 0 });
    expect((small.value as VpinValue).buckets).toBe(3);
  });

  it('detects a sweep once per run, and not when the run pauses, turns back or changes side', () => {
    const ms = 1000;
    const t = (price: number, side: 1 | -1, at: number, size = 1): TradeInput => ({
      price,
      size,
      side,
      tsEvent: at * ms,
    });
    const sweeps = (trades: TradeInput[]): (SweepValue | undefined)[] => {
      const d = new SweepDetector(50, 3);
      return trades.map((x) => {
        d.update(x);
        return d.value as SweepValue | undefined;
      });
    };
    expect(sweeps([t(100, 1, 0), t(100, 1, 1, 2), t(100.5, 1, 2), t(101, 1, 3, 3), t(101.5, 1, 4)])).toEqual([
      undefined,
      undefined,
      undefined,
      { side: 1, levels: 3, volume: 7 },
      undefined,
    ]);
    expect(sweeps([t(100, -1, 0), t(99.5, -1, 10), t(99, -1, 20)]).pop()).toEqual({ side: -1, levels: 3, volume: 3 });
    expect(sweeps([t(100, 1, 0), t(100.5, 1, 100), t(101, 1, 200)]).every((v) => v === undefined)).toBe(true);
    expect(sweeps([t(100, 1, 0), t(100.5, 1, 1), t(100.2, 1, 2), t(101, 1, 3)]).every((v) => v === undefined)).toBe(
      true,
    );
    expect(sweeps([t(100, 1, 0), t(100.5, -1, 1), t(101, 1, 2)]).every((v) => v === undefined)).toBe(true);
  });
});
