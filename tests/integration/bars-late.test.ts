import { sql, waitForWalApplied } from '../../connectors/questdb/sql';
import { Decimal } from '../../schemas/decimal';
import type { Trade } from '../../schemas/types.generated';
import { unique } from '../support/helpers';
import { publishTrades } from '../support/runtime-harness';
import type { TestPipeline } from '../support/test-pipeline';
import { startTestPipeline } from '../support/test-pipeline';

/**
 * Late data through the real stack (aggregate with its default 2 s allowed lateness): a trade
 * inside the lateness revises its bar and the `bars` row is replaced by the revision; a trade
 * beyond it is reported (a LATE_TRADE row in quality_events, with its origin) and the bar does not change.
 */
describe('bars: late data revises the bar row, too-late data is reported (real stack)', () => {
  let t: TestPipeline;
  const symbol = unique('LATE');
  const instrumentId = `TEST:${symbol}`;
  const base = Date.UTC(2024, 0, 2, 12, 0, 0) * 1000;
  const trade = (seconds: number, price: string, size: string, tradeId: string): Trade => ({
    instrumentId,
    venue: 'TEST',
    symbol,
    source: 'test',
    tsEvent: base + Math.round(seconds * 1e6),
    tsRecv: base + Math.round(seconds * 1e6) + 1000,
    tradeId,
    side: 'BUY',
    price: new Decimal(price),
    size: new Decimal(size),
  });

  async function bar1s(
    start: number,
  ): Promise<
    { close: string; low: string; volume: string; count: number; revision: number; final: boolean } | undefined
  > {
    await waitForWalApplied(['bars']);
    const ts = new Date((base + start * 1e6) / 1000).toISOString();
    const result = await sql(
      `SELECT close, low, volume, trade_count, revision, final FROM bars WHERE instrument_id = '${instrumentId}' AND interval = '1s' AND ts = '${ts}'`,
    );
    const row = result.dataset[0];
    return (
      row && {
        close: new Decimal(row[0] as string).toFixed(),
        low: new Decimal(row[1] as string).toFixed(),
        volume: new Decimal(row[2] as string).toFixed(),
        count: row[3] as number,
        revision: row[4] as number,
        final: row[5] as boolean,
      }
    );
  }

  async function send(trades: Trade[]): Promise<void> {
    await publishTrades(t.kafka, t.codec, trades);
    await t.drain();
  }

  beforeAll(async () => {
    t = await startTestPipeline('test-bars-late', ['aggregate', 'sink-questdb']);
  }, 120_000);

  afterAll(async () => {
    await t.stop();
  });

  it('replaces the row with each revision and leaves it alone for a trade beyond the lateness', async () => {
    // Bar [0 s, 1 s): two trades; a trade at 1.5 s closes it (revision 0, not final yet).
    await send([trade(0.1, '100', '1', 'a'), trade(0.6, '102', '1', 'b'), trade(1.5, '101', '1', 'c')]);
    expect(await bar1s(0)).toEqual({ close: '102', low: '100', volume: '2', count: 2, revision: 0, final: false });

    // A late trade at 0.8 s (watermark 1.5 s, inside 2 s of lateness): revision 1 replaces the row.
    await send([trade(0.8, '99', '3', 'late')]);
    expect(await bar1s(0)).toEqual({ close: '99', low: '99', volume: '5', count: 3, revision: 1, final: false });

    // The watermark passes 3 s: the bar is final. A trade at 0.9 s is now too late.
    await send([trade(3.2, '101', '1', 'd'), trade(0.9, '1', '100', 'too-late')]);
    expect(await bar1s(0)).toEqual({ close: '99', low: '99', volume: '5', count: 3, revision: 1, final: true });

    // Reported: a LATE_TRADE row in quality_events holding the trade and where it was read.
    await waitForWalApplied(['quality_events']);
    const findings = await sql(
      `SELECT rule, flagged, stage, origin, record FROM quality_events WHERE instrument_id = '${instrumentId}'`,
    );
    expect(findings.dataset.map((r) => [r[0], r[1], r[2], JSON.parse(r[4] as string).tradeId])).toEqual([
      ['LATE_TRADE', true, 'aggregate', 'too-late'],
    ]);
    expect(findings.dataset[0][3]).toMatch(/^md\.trades\.v1\[\d\]@\d+$/);
  }, 180_000);
});
