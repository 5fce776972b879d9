import { sql, waitForWalApplied } from '../../connectors/questdb/sql';
import type { MarketEvent, MarketOptions } from '../../connectors/synthetic/market';
import { MARKET_DEFAULTS, syntheticMarket } from '../../connectors/synthetic/market';
import { publishMarket, syntheticRaw } from '../../connectors/synthetic/publish';
import { AGGREGATE_CONFIG } from '../../pipelines/aggregate/aggregate';
import { barRows, finalBarRows, oracleBarsOf } from '../support/bars-oracle';
import { unique } from '../support/helpers';
import type { TestPipeline } from '../support/test-pipeline';
import { startTestPipeline } from '../support/test-pipeline';

/**
 * A synthetic stream with injected faults (bad prints, zero sizes, crossed and locked quotes,
 * duplicates, out-of-order trades, sequence gaps, a silent instrument) through normalize, aggregate
 * and the sink: every injected fault is a row in quality_events with the right rule and the line's
 * origin, nothing else is; the trades table holds exactly the clean trades; and every finalized 1s
 * and 1m bar equals the bar computed independently from the clean trades alone.
 */
describe('quality: a faulty synthetic stream -> quality_events, and exact bars over the clean records (real stack)', () => {
  let t: TestPipeline;
  const options: MarketOptions = {
    ...MARKET_DEFAULTS,
    seed: 11,
    instruments: 3,
    prefix: `${unique('Q')}-`,
    startMicros: Date.UTC(2024, 0, 3, 9) * 1000,
    eventsPerSecond: 200,
    faults: {
      badPrint: 0.005,
      nonPositive: 0.005,
      crossed: 0.005,
      locked: 0.005,
      duplicate: 0.005,
      outOfOrder: 0.005,
      gap: 0.005,
    },
    // Instrument 2 pauses; instrument 0 stops trading for the last 15 s: only heartbeats can close its last bars.
    silences: [
      { instrument: 2, fromMs: 20_000, durationMs: 14_000 },
      { instrument: 0, fromMs: 60_000, durationMs: 3_600_000 },
    ],
  };
  const COUNT = 15_000;
  const events: MarketEvent[] = [...syntheticMarket(options, COUNT)];
  const ids = [...new Set(events.map((e) => e.key))];
  const inList = ids.map((id) => `'${id}'`).join(', ');

  beforeAll(async () => {
    t = await startTestPipeline('test-quality', ['normalize', 'aggregate', 'sink-questdb']);
    const result = await publishMarket(t.kafka, t.codec, options, COUNT, { kind: 'max' });
    expect(result.published).toBe(events.length);
    await t.drain();
    await waitForWalApplied(['quality_events', 'trades', 'bars']);
  }, 240_000);

  afterAll(async () => {
    await t.stop();
  });

  it('has one quality_events row per expected finding, with the right rule, and no other', async () => {
    const want = events
      .flatMap((e, i) => e.expected.map((rule) => `${syntheticRaw(options, e, i).origin} ${rule}`))
      .sort();
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
      expect([rule, want.some((w) => w.endsWith(` ${rule}`))]).toEqual([rule, true]);
    }
    const result = await sql(`SELECT origin, rule, flagged FROM quality_events WHERE instrument_id IN (${inList})`);
    const got = result.dataset.map(([origin, rule]) => `${origin} ${rule}`).sort();
    expect(got.length).toBe(want.length);
    expect(got).toEqual(want);
    const flaggedRows = result.dataset.filter((r) => r[2] === true).length;
    expect(flaggedRows).toBe(events.filter((e) => e.flagged).length);
  });

  it('stores exactly the clean trades', async () => {
    const clean = events
      .filter((e) => e.kind === 'trade' && !e.flagged)
      .map((e) => JSON.parse(e.line).tradeId as string)
      .sort();
    const result = await sql(`SELECT trade_id FROM trades WHERE instrument_id IN (${inList})`);
    expect(result.dataset.map((r) => r[0] as string).sort()).toEqual(clean);
  });

  for (const [interval, micros] of [
    ['1s', 1_000_000],
    ['1m', 60_000_000],
  ] as const) {
    it(`holds the exact ${interval} bar, computed from the clean trades only, for every finalized bucket`, async () => {
      const lateness = (AGGREGATE_CONFIG.allowedLatenessMs.default as number) * 1000;
      for (const id of ids) {
        const clean = events
          .filter((e) => e.key === id && e.kind === 'trade' && !e.flagged)
          .map((e) => JSON.parse(e.line) as { tsEvent: number; price: string; size: string });
        // The watermark: the newest trade or heartbeat (heartbeats close a quiet instrument's bars).
        const watermark = Math.max(
          ...events
            .filter((e) => e.key === id && (e.kind === 'heartbeat' || (e.kind === 'trade' && !e.flagged)))
            .map((e) => e.tsEvent),
        );
        const all = [
          ...oracleBarsOf(
            clean.map((t) => ({ ts: t.tsEvent, price: t.price, size: t.size })),
            micros,
          ).values(),
        ];
        const expected = all.filter((b) => b.end + lateness <= watermark);
        // The instrument that went quiet has every bar final, though no trade came after its last one.
        if (id === ids[0]) expect(expected.length).toBe(all.length);
        expect(expected.length).toBeGreaterThan(interval === '1s' ? 40 : 0);
        expect([id, await finalBarRows(id, interval)]).toEqual([id, barRows(expected)]);
      }
    });
  }
});
