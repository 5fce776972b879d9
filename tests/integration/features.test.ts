import fs from 'node:fs';
import { replayFile } from '../../connectors/file-replay/replay';
import { sql, waitForWalApplied } from '../../connectors/questdb/sql';
import { Decimal } from '../../schemas/decimal';
import { divideHalfEven, plain, scaled } from '../support/bars-oracle';
import { QUOTES_FILE, csvRows, freshCopy } from '../support/helpers';
import type { TestPipeline } from '../support/test-pipeline';
import { startTestPipeline } from '../support/test-pipeline';

/** The recorded quotes under a symbol of this run only (tests/support/helpers.ts freshCopy). */
const COPY = freshCopy(QUOTES_FILE, 'FEAT');
const INSTRUMENT = `BINANCE-FUT:${COPY.symbol}`;

/**
 * The recorded quotes through normalize, features and the sink: the `features` table, exactly, row
 * by row. Each feature row names its quote (`event_id` = the quote's file line), so every quote's
 * spread, mid, microprice and imbalance is checked against a computation from the file on exact
 * scaled integers, independent of tickflow's decimal code.
 */
describe('features: recorded quotes -> normalize -> features -> QuestDB (real stack)', () => {
  let t: TestPipeline;

  beforeAll(async () => {
    t = await startTestPipeline('test-features', ['normalize', 'features', 'sink-questdb']);
    await waitForWalApplied(['features']).catch(() => undefined);
    expect((await sql(`SELECT count() FROM features WHERE instrument_id = '${INSTRUMENT}'`)).dataset[0][0]).toBe(0);
    expect(
      (await replayFile(t.kafka, t.codec, { file: COPY.file, format: 'tardis-quotes', speed: { kind: 'max' } }))
        .published,
    ).toBe(9999);
    await t.drain();
    await waitForWalApplied(['features']);
  }, 180_000);

  afterAll(async () => {
    await t.stop();
    fs.rmSync(COPY.dir, { recursive: true, force: true });
  });

  it('holds spread, mid, microprice and imbalance of every recorded quote, each exactly as computed from the file', async () => {
    const rows = csvRows(QUOTES_FILE);
    const result = await sql(
      `SELECT event_id, feature, exact, value FROM features WHERE instrument_id = '${INSTRUMENT}' AND basis = 'quote'`,
    );
    const byQuote = new Map<string, Map<string, { exact: string | null; value: number }>>();
    for (const [eventId, feature, exact, value] of result.dataset as [string, string, string | null, number][]) {
      const features = byQuote.get(eventId) ?? new Map();
      expect(features.has(feature) ? `${eventId} ${feature} twice` : '').toBe('');
      features.set(feature, { exact: exact === null ? null : new Decimal(exact).toFixed(), value });
      byQuote.set(eventId, features);
    }
    expect(byQuote.size).toBe(9999);
    rows.forEach((r, i) => {
      const line = String(i + 2);
      const [askSize, ask, bid, bidSize] = [scaled(r[4]), scaled(r[5]), scaled(r[6]), scaled(r[7])];
      const got = byQuote.get(line);
      const want = {
        spread: plain(ask - bid),
        mid: plain(divideHalfEven(bid + ask, 2n)),
        microprice: plain(divideHalfEven(bid * askSize + ask * bidSize, askSize + bidSize)),
      };
      const actual = {
        spread: got?.get('spread')?.exact,
        mid: got?.get('mid')?.exact,
        microprice: got?.get('microprice')?.exact,
      };
      if (JSON.stringify(actual) !== JSON.stringify(want))
        throw new Error(
          `quote at line ${line}: table has ${JSON.stringify(actual)}, the file gives ${JSON.stringify(want)}`,
        );
      const imbalance = (Number(r[7]) - Number(r[4])) / (Number(r[7]) + Number(r[4]));
      expect(Math.abs((got?.get('imbalance_l1')?.value ?? NaN) - imbalance)).toBeLessThan(1e-12);
    });
  });
});
