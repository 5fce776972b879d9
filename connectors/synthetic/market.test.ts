import type { Bar, QualityEvent, RawRecord, Trade } from '../../schemas/types.generated';
import { AGGREGATE_CONFIG, aggregateStage } from '../../pipelines/aggregate/aggregate';
import { NORMALIZE_CONFIG, normalizeStage } from '../../pipelines/normalize/normalize';
import { parseConfig } from '../../pipelines/runtime/config';
import { StageDriver } from '../../pipelines/runtime/test-driver';
import { oracleBarsOf } from '../../tests/support/bars-oracle';
import type { MarketEvent, MarketOptions } from './market';
import { MARKET_DEFAULTS, syntheticMarket } from './market';

const START = Date.UTC(2024, 0, 2, 12) * 1000;
const FAULTY: MarketOptions = {
  ...MARKET_DEFAULTS,
  seed: 7,
  startMicros: START,
  faults: {
    badPrint: 0.01,
    nonPositive: 0.005,
    crossed: 0.01,
    locked: 0.005,
    duplicate: 0.01,
    outOfOrder: 0.01,
    gap: 0.01,
  },
  silences: [{ instrument: 1, fromMs: 30_000, durationMs: 15_000 }],
};

const raw = (e: MarketEvent, i: number): RawRecord => ({
  source: 'synthetic',
  format: 'tickflow-ndjson',
  tsRecv: e.tsEvent,
  origin: `synthetic:${i}`,
  sequence: i,
  payload: e.line,
});

describe('synthetic market generator', () => {
  const events = [...syntheticMarket(FAULTY, 20_000)];

  it('is deterministic by seed and injects every kind of fault', () => {
    expect([...syntheticMarket(FAULTY, 20_000)].map((e) => e.line)).toEqual(events.map((e) => e.line));
    expect([...syntheticMarket({ ...FAULTY, seed: 8 }, 100)].map((e) => e.line)).not.toEqual(
      events.slice(0, 100).map((e) => e.line),
    );
    const rules = new Map<string, number>();
    for (const e of events) for (const r of e.expected) rules.set(r, (rules.get(r) ?? 0) + 1);
    for (const rule of [
      'PRICE_OUTLIER',
      'NON_POSITIVE',
      'CROSSED_QUOTE',
      'LOCKED_QUOTE',
      'DUPLICATE_TRADE',
      'OUT_OF_ORDER',
      'SEQUENCE_GAP',
      'STALE_FEED',
      'FEED_RESUMED',
    ]) {
      expect([rule, (rules.get(rule) ?? 0) > 0]).toEqual([rule, true]);
    }
  });

  it('through normalize: each line gets exactly its expected findings, flagged lines reach no canonical topic, and bars over the rest are exact', () => {
    const normalize = new StageDriver(normalizeStage(parseConfig('normalize', NORMALIZE_CONFIG, {})), {
      topic: 'md.raw.tickflow.v1',
    });
    const result = normalize.run(events.map(raw));
    expect(result.failed).toEqual([]);
    const findings = new Map<string, string[]>();
    for (const o of result.out.filter((o) => o.topic === 'md.quality.v1')) {
      const q = o.value as QualityEvent;
      findings.set(q.origin, [...(findings.get(q.origin) ?? []), q.rule]);
    }
    const mismatches = events.flatMap((e, i) => {
      const found = findings.get(`synthetic:${i}`) ?? [];
      return JSON.stringify(found) === JSON.stringify(e.expected)
        ? []
        : [{ i, line: e.line, expected: e.expected, found }];
    });
    expect(mismatches.slice(0, 5)).toEqual([]);

    const trades = result.out.filter((o) => o.topic === 'md.trades.v1').map((o) => o.value as Trade);
    const clean = events.filter((e) => e.kind === 'trade' && !e.flagged);
    expect(trades.map((t) => t.tradeId)).toEqual(clean.map((e) => JSON.parse(e.line).tradeId));
    expect(result.out.filter((o) => o.topic === 'md.quotes.v1').length).toBe(
      events.filter((e) => e.kind === 'quote' && !e.flagged).length,
    );

    const aggregate = new StageDriver(aggregateStage(parseConfig('aggregate', AGGREGATE_CONFIG, { intervals: '1s' })), {
      topic: 'md.trades.v1',
    });
    const bars = aggregate
      .run(trades)
      .out.filter((o) => o.topic === 'md.bars.v1')
      .map((o) => o.value as Bar)
      .filter((b) => b.final);
    for (const id of new Set(clean.map((e) => e.key))) {
      const expected = oracleBarsOf(
        clean
          .filter((e) => e.key === id)
          .map((e) => JSON.parse(e.line))
          .map((t) => ({ ts: t.tsEvent, price: t.price, size: t.size })),
        1_000_000,
      );
      const mine = bars.filter((b) => b.instrumentId === id);
      expect(mine.length).toBeGreaterThan(50);
      for (const b of mine) {
        const o = expected.get(b.tsStart);
        expect([
          id,
          b.tsStart,
          b.open.toFixed(),
          b.high.toFixed(),
          b.low.toFixed(),
          b.close.toFixed(),
          b.volume.toFixed(),
          b.vwap.toFixed(),
          b.tradeCount,
        ]).toEqual([id, b.tsStart, o?.open, o?.high, o?.low, o?.close, o?.volume, o?.vwap, o?.count]);
      }
    }
  });
});
