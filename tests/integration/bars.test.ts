import { replayFile } from '../../connectors/file-replay/replay';
import { sql, waitForWalApplied } from '../../connectors/questdb/sql';
import { AGGREGATE_CONFIG } from '../../pipelines/aggregate/aggregate';
import { Decimal } from '../../schemas/decimal';
import { oracleBars } from '../support/bars-oracle';
import fs from 'node:fs';
import { TRADES_FILE, csvRows, freshCopy, isoMicros } from '../support/helpers';
import type { TestPipeline } from '../support/test-pipeline';
import { startTestPipeline } from '../support/test-pipeline';
import { intervalMicros } from '../../schemas/intervals';

/** The recorded trades under a symbol of this run only (tests/support/helpers.ts freshCopy). */
const COPY = freshCopy(TRADES_FILE, 'BARS');
const INSTRUMENT = `BINANCE-FUT:${COPY.symbol}`;

/**
 * The recorded trades file through normalize, aggregate and the sink: the `bars` table must hold,
 * for every 1s and 1m bucket the stream has finalized, exactly the bar computed independently from
 * the file (tests/support/bars-oracle.ts). Buckets within the allowed lateness of the file's last
 * trade are not final yet (nothing later closes them), so the check covers the finalized buckets,
 * which is all but the last seconds of the file. The file is replayed under a symbol of this run,
 * so every row checked was made by this run.
 */
describe('bars: recorded trades -> normalize -> aggregate -> QuestDB bars (real stack)', () => {
  let t: TestPipeline;

  beforeAll(async () => {
    t = await startTestPipeline('test-bars', ['normalize', 'aggregate', 'sink-questdb']);
    await waitForWalApplied(['bars']).catch(() => undefined);
    expect((await sql(`SELECT count() FROM bars WHERE instrument_id = '${INSTRUMENT}'`)).dataset[0][0]).toBe(0);
    const result = await replayFile(t.kafka, t.codec, {
      file: COPY.file,
      format: 'tardis-trades',
      speed: { kind: 'max' },
    });
    expect(result.published).toBe(9999);
    await t.drain();
    await waitForWalApplied(['bars', 'quality_events']);
    // Every trade reached the bars: no finding on this run's instrument.
    expect((await sql(`SELECT count() FROM quality_events WHERE instrument_id = '${INSTRUMENT}'`)).dataset[0][0]).toBe(
      0,
    );
  }, 180_000);

  afterAll(async () => {
    await t.stop();
    fs.rmSync(COPY.dir, { recursive: true, force: true });
  });

  for (const interval of ['1m', '1s']) {
    it(`holds the exact ${interval} bar for every finalized bucket of the file: OHLC, volume, vwap, trade count`, async () => {
      const micros = intervalMicros(interval) as number;
      const rows = csvRows(TRADES_FILE);
      const lastTs = Number(rows[rows.length - 1][2]);
      const lateness = (AGGREGATE_CONFIG.allowedLatenessMs.default as number) * 1000;
      const expected = [...oracleBars(TRADES_FILE, micros).values()].filter((b) => b.end + lateness <= lastTs);
      expect(expected.length).toBeGreaterThan(interval === '1m' ? 120 : 2000);
      const cutoff = isoMicros(expected[expected.length - 1].start);
      const result = await sql(
        `SELECT ts, open, high, low, close, volume, vwap, trade_count, final FROM bars WHERE instrument_id = '${INSTRUMENT}' AND interval = '${interval}' AND ts <= '${cutoff}' ORDER BY ts`,
      );
      const got = result.dataset.map(([ts, open, high, low, close, volume, vwap, count, final]) => ({
        ts,
        open: new Decimal(open as string).toFixed(),
        high: new Decimal(high as string).toFixed(),
        low: new Decimal(low as string).toFixed(),
        close: new Decimal(close as string).toFixed(),
        volume: new Decimal(volume as string).toFixed(),
        vwap: new Decimal(vwap as string).toFixed(),
        count,
        final,
      }));
      const want = expected.map((b) => ({
        ts: isoMicros(b.start),
        open: b.open,
        high: b.high,
        low: b.low,
        close: b.close,
        volume: b.volume,
        vwap: b.vwap,
        count: b.count,
        final: true,
      }));
      expect(got.length).toBe(want.length);
      expect(got).toEqual(want);
    });
  }
});
