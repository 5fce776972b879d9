import { replayFile } from '../../connectors/file-replay/replay';
import { sql, waitForWalApplied } from '../../connectors/questdb/sql';
import { Decimal } from '../../schemas/decimal';
import { QUOTES_FILE, csvRows } from '../support/helpers';
import type { TestPipeline } from '../support/test-pipeline';
import { startTestPipeline } from '../support/test-pipeline';

const INSTRUMENT = 'BINANCE-FUT:BTCUSDT';

/** The recorded quotes through normalize, features and the sink: the `features` table, exactly. */
describe('features: recorded quotes -> normalize -> features -> QuestDB (real stack)', () => {
  let t: TestPipeline;

  beforeAll(async () => {
    t = await startTestPipeline('test-features', ['normalize', 'features', 'sink-questdb']);
    expect((await replayFile(t.kafka, t.codec, { file: QUOTES_FILE, format: 'tardis-quotes', speed: { kind: 'max' } })).published).toBe(9999);
    await t.drain();
    await waitForWalApplied(['features']);
  }, 180_000);

  afterAll(async () => {
    await t.stop();
  });

  it('holds four features per recorded quote, the spreads and mids summing exactly to the file', async () => {
    const rows = csvRows(QUOTES_FILE);
    // Exact file sums: spread = ask - bid, mid = (bid + ask) / 2 (all prices here have 2 places).
    const spreads = rows.reduce((s, r) => s.plus(new Decimal(r[5]).minus(r[6])), new Decimal(0));
    const mids = rows.reduce((s, r) => s.plus(new Decimal(r[5]).plus(r[6]).div(2)), new Decimal(0));
    // The flow stage also writes quote-based features (ofi_*) when it ran on this stack (npm start).
    const result = await sql(`SELECT feature, count(), sum(exact) FROM features WHERE instrument_id = '${INSTRUMENT}' AND basis = 'quote' AND feature NOT LIKE 'ofi_%' GROUP BY feature ORDER BY feature`);
    const byName = Object.fromEntries(result.dataset.map(([name, n, sum]) => [name as string, { n: n as number, sum: sum === null ? null : new Decimal(sum as string).toFixed() }]));
    expect(Object.keys(byName)).toEqual(['imbalance_l1', 'microprice', 'mid', 'spread']);
    for (const name of Object.keys(byName)) expect(byName[name].n).toBe(9999);
    expect(byName.spread.sum).toBe(spreads.toFixed());
    expect(byName.mid.sum).toBe(mids.toFixed());
    expect(byName.imbalance_l1.sum).toBeNull();
  });
});
