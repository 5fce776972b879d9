import type { QualityEvent, RawRecord, Trade } from '../../schemas/types.generated';
import { MARKET_DEFAULTS } from '../../connectors/synthetic/market';
import { redundantRaw } from '../../connectors/synthetic/publish';
import { parseConfig } from '../runtime/config';
import { StageDriver } from '../runtime/test-driver';
import { parsePairs } from './arbitration';
import { NORMALIZE_CONFIG, normalizeStage } from './normalize';

const START = Date.UTC(2024, 0, 3, 9) * 1000;
const S = 1_000_000;
// One instrument, 200 events/s for 100 s; the primary stalls from 30 s to 50 s.
const market = { ...MARKET_DEFAULTS, seed: 3, instruments: 1, startMicros: START };
const feeds = { primary: 'feed-a', backup: 'feed-b', backupLag: 3, stalls: [{ fromMs: 30_000, durationMs: 20_000 }] };
const { events, raw } = redundantRaw(market, 20_000, feeds);

function run(
  settings: Record<string, string>,
  records: readonly RawRecord[],
  batchSize = 500,
): { trades: Trade[]; findings: QualityEvent[] } {
  const driver = new StageDriver(normalizeStage(parseConfig('normalize', NORMALIZE_CONFIG, settings)), {
    topic: 'md.raw.tickflow.v1',
    batchSize,
  });
  const out = driver.run(records).out;
  return {
    trades: out.filter((o) => o.topic === 'md.trades.v1').map((o) => o.value as Trade),
    findings: out.filter((o) => o.topic === 'md.quality.v1').map((o) => o.value as QualityEvent),
  };
}

describe('multi-source arbitration (normalize)', () => {
  const settings = { arbitration: 'feed-a>feed-b', failoverAfterMs: '2000', failbackAfterMs: '10000' };
  const expectedIds = events.filter((e) => e.kind === 'trade').map((e) => JSON.parse(e.line).tradeId as string);

  for (const batchSize of [500, 37]) {
    it(`delivers every trade exactly once across a failover and a failback (batches of ${batchSize})`, () => {
      const { trades, findings } = run(
        settings,
        raw.map((r) => r.raw),
        batchSize,
      );
      expect(trades.map((t) => t.tradeId).sort()).toEqual([...expectedIds].sort());
      expect(new Set(trades.map((t) => t.tradeId)).size).toBe(trades.length);
      // The switches, each reported once, and nothing else (copies are not faults).
      expect(findings.map((f) => f.rule)).toEqual(['FAILOVER', 'FAILBACK']);
      const [over, back] = findings;
      // The backup took over within the configured 2 s of the primary's last record (30 s), and the
      // primary came back 10 s after it resumed at 50 s, not before.
      expect(over.tsEvent).toBeGreaterThan(START + 31.9 * S);
      expect(over.tsEvent).toBeLessThan(START + 32.1 * S);
      expect(back.tsEvent).toBeGreaterThanOrEqual(START + 60 * S);
      expect(back.tsEvent).toBeLessThan(START + 60.1 * S);
      // Each record says which source it came from.
      const sourceAt = (seconds: number): string =>
        (trades.find((t) => t.tsEvent >= START + seconds * S) as Trade).source;
      expect([sourceAt(10), sourceAt(40), sourceAt(70)]).toEqual(['feed-a', 'feed-b', 'feed-a']);
    });
  }

  it('does not flap: a primary that keeps pausing never gets back', () => {
    const flappy = redundantRaw(market, 20_000, {
      ...feeds,
      stalls: [10, 20, 30, 40, 50, 60, 70, 80, 90].map((s) => ({ fromMs: s * 1000, durationMs: 3000 })),
    });
    const { trades, findings } = run(
      settings,
      flappy.raw.map((r) => r.raw),
    );
    expect(findings.map((f) => f.rule)).toEqual(['FAILOVER']);
    expect(trades.map((t) => t.tradeId).sort()).toEqual([...expectedIds].sort());
  });

  it('refuses malformed pairs', () => {
    expect(() => parsePairs(['a'])).toThrow(/is not <primary source>><backup source>/);
    expect(() => parsePairs(['a>b', 'b>c'])).toThrow(/source 'b' is in two pairs/);
  });
});
