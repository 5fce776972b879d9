import type { Trade } from '../../schemas/types.generated';
import { Decimal, decimalFromUnscaled } from '../../schemas/decimal';

/**
 * A deterministic synthetic trade stream: the same seed gives the same trades. Prices random-walk
 * in whole ticks (0.01) around 100..1000, sizes are multiples of 0.001. It is the load source for
 * runtime tests and benchmarks (the full market generator, with sessions and faults, builds on it).
 */
export interface SyntheticOptions {
  seed: number;
  instruments: number;
  /** Instrument ids are `SYN:<prefix><n>`, so concurrent runs do not collide. */
  prefix: string;
  startMicros: number;
  /** Exchange-time step between trades. */
  stepMicros?: number;
}

/** mulberry32: tiny, fast, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function instrumentIds(options: Pick<SyntheticOptions, 'instruments' | 'prefix'>): string[] {
  return Array.from({ length: options.instruments }, (_, i) => `SYN:${options.prefix}${i}`);
}

export function* syntheticTrades(options: SyntheticOptions, count: number): Generator<Trade> {
  const random = rng(options.seed);
  const ids = instrumentIds(options);
  const ticks = ids.map(() => 10_000 + Math.floor(random() * 90_000));
  const step = options.stepMicros ?? 1000;
  for (let i = 0; i < count; i++) {
    const n = Math.floor(random() * ids.length);
    ticks[n] = Math.max(100, ticks[n] + Math.floor(random() * 7) - 3);
    const tsEvent = options.startMicros + i * step;
    yield {
      instrumentId: ids[n],
      venue: 'SYN',
      symbol: `${options.prefix}${n}`,
      source: 'synthetic',
      tsEvent,
      tsRecv: tsEvent + 150,
      price: decimalFromUnscaled(BigInt(ticks[n]), 2),
      size: decimalFromUnscaled(BigInt(1 + Math.floor(random() * 5000)), 3),
      side: random() < 0.5 ? 'BUY' : 'SELL',
      tradeId: String(i),
    };
  }
}

/** Expected running-volume totals of a trade list: instrument -> { count, volume }. */
export function expectedTotals(trades: Iterable<Trade>): Map<string, { count: number; volume: Decimal }> {
  const totals = new Map<string, { count: number; volume: Decimal }>();
  for (const t of trades) {
    const before = totals.get(t.instrumentId) ?? { count: 0, volume: new Decimal(0) };
    totals.set(t.instrumentId, { count: before.count + 1, volume: before.volume.plus(t.size) });
  }
  return totals;
}
