import { publishRaw } from '../../connectors/file-replay/replay';
import { sql, waitForWalApplied } from '../../connectors/questdb/sql';
import { MARKET_DEFAULTS } from '../../connectors/synthetic/market';
import { redundantRaw } from '../../connectors/synthetic/publish';
import { AGGREGATE_CONFIG } from '../../pipelines/aggregate/aggregate';
import { barRows, finalBarRows, oracleBarsOf } from '../support/bars-oracle';
import { unique } from '../support/helpers';
import type { TestPipeline } from '../support/test-pipeline';
import { startTestPipeline } from '../support/test-pipeline';

/**
 * Two redundant feeds of the same instruments (the backup a few records behind); the primary stalls
 * for 20 s. Through normalize (arbitration feed-a>feed-b, failover after 2 s, failback after 10 s),
 * aggregate and the sink: the backup takes over within 2 s of the primary's last record, the
 * primary comes back only 10 s after it resumed, every trade is stored once with the source that
 * delivered it, and every finalized bar equals the bar computed from the generated trades.
 */
describe('failover: primary stalls, backup takes over, no bar lost or double counted (real stack)', () => {
  let t: TestPipeline;
  const START = Date.UTC(2024, 0, 4, 9) * 1000;
  const S = 1_000_000;
  const market = { ...MARKET_DEFAULTS, seed: 21, instruments: 2, prefix: `${unique('F')}-`, startMicros: START };
  const { events, raw } = redundantRaw(market, 20_000, {
    primary: 'feed-a',
    backup: 'feed-b',
    backupLag: 4,
    stalls: [{ fromMs: 30_000, durationMs: 20_000 }],
  });
  const ids = [...new Set(events.map((e) => e.key))];
  const inList = ids.map((id) => `'${id}'`).join(', ');

  beforeAll(async () => {
    t = await startTestPipeline('test-failover', ['normalize', 'aggregate', 'sink-questdb'], {
      normalize: { arbitration: 'feed-a>feed-b', failoverAfterMs: '2000', failbackAfterMs: '10000' },
    });
    const result = await publishRaw(t.kafka, t.codec, 'md.raw.tickflow.v1', raw, {
      speed: { kind: 'max' },
      label: 'redundant feeds',
    });
    expect(result.published).toBe(raw.length);
    await t.drain();
    await waitForWalApplied(['quality_events', 'trades', 'bars']);
  }, 240_000);

  afterAll(async () => {
    await t.stop();
  });

  it('fails over within 2 s of the primary going quiet, and back only after 10 s of health, once per instrument', async () => {
    const result = await sql(
      `SELECT instrument_id, rule, ts FROM quality_events WHERE instrument_id IN (${inList}) ORDER BY instrument_id, ts`,
    );
    for (const id of ids) {
      const rows = result.dataset.filter((r) => r[0] === id);
      expect(rows.map((r) => r[1])).toEqual(['FAILOVER', 'FAILBACK']);
      const [over, back] = rows.map((r) => Date.parse(r[2] as string) * 1000 - START);
      // The primary's last record is just before 30 s: failover at 32 s (the next backup record after 2 s of silence).
      expect(over / S).toBeGreaterThan(31.9);
      expect(over / S).toBeLessThan(32.2);
      // The primary resumes at 50 s; back at 60 s, not earlier.
      expect(back / S).toBeGreaterThanOrEqual(60);
      expect(back / S).toBeLessThan(60.2);
    }
  });

  it('stores every generated trade exactly once, saying which feed delivered it', async () => {
    const want = events
      .filter((e) => e.kind === 'trade')
      .map((e) => JSON.parse(e.line).tradeId as string)
      .sort();
    const result = await sql(`SELECT trade_id, source, ts FROM trades WHERE instrument_id IN (${inList})`);
    expect(result.dataset.map((r) => r[0] as string).sort()).toEqual(want);
    const sourceOf = (from: number, to: number): string[] => [
      ...new Set(
        result.dataset
          .filter(
            (r) =>
              Date.parse(r[2] as string) * 1000 >= START + from * S &&
              Date.parse(r[2] as string) * 1000 < START + to * S,
          )
          .map((r) => r[1] as string),
      ),
    ];
    expect([sourceOf(0, 29), sourceOf(33, 59), sourceOf(61, 100)]).toEqual([['feed-a'], ['feed-b'], ['feed-a']]);
  });

  it('holds every finalized 1s bar exactly as computed from the generated trades', async () => {
    const lateness = (AGGREGATE_CONFIG.allowedLatenessMs.default as number) * 1000;
    for (const id of ids) {
      const trades = events
        .filter((e) => e.key === id && e.kind === 'trade')
        .map((e) => JSON.parse(e.line) as { tsEvent: number; price: string; size: string });
      const watermark = Math.max(...events.filter((e) => e.key === id).map((e) => e.tsEvent));
      const want = [
        ...oracleBarsOf(
          trades.map((t) => ({ ts: t.tsEvent, price: t.price, size: t.size })),
          S,
        ).values(),
      ].filter((b) => b.end + lateness <= watermark);
      expect(want.length).toBeGreaterThan(90);
      expect([id, await finalBarRows(id, '1s')]).toEqual([id, barRows(want)]);
    }
  });
});
