import fs from 'node:fs';
import path from 'node:path';
import { replayFile } from '../../connectors/file-replay/replay';
import { sql, waitForWalApplied } from '../../connectors/questdb/sql';
import { REPO_ROOT } from '../../pipelines/runtime/settings';
import { FIXTURES, tempFile, truefxDownloadLine, unique } from '../support/helpers';
import type { TestPipeline } from '../support/test-pipeline';
import { startTestPipeline } from '../support/test-pipeline';

/**
 * Every table keys one event: records of one instrument that share their times (TrueFX quotes of
 * the same millisecond, book snapshots stamped alike) each keep their own row in quotes, features
 * and book; DEDUP only ever replaces a replay of the same event. Instruments are fresh per run.
 */
const TRUEFX = path.join(REPO_ROOT, 'connectors', 'truefx', 'fixtures', 'truefx-usdjpy-quotes-2013-01.csv');

/** The recorded TrueFX export as TrueFX download lines (`pair,yyyyMMdd HH:mm:ss.SSS,bid,ask`) for `pair`. */
function truefxLines(pair: string): string[] {
  return fs
    .readFileSync(TRUEFX, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => truefxDownloadLine(pair, line));
}

describe('same-millisecond records keep a row each', () => {
  let t: TestPipeline;
  beforeAll(async () => {
    t = await startTestPipeline('test-same-ms', ['normalize', 'features', 'sink-questdb']);
  });
  afterAll(async () => {
    await t.stop();
  });

  it('TrueFX quotes of the same millisecond: every quote and every one of its features has its row', async () => {
    // A pair no earlier run used: three letters, then JPY.
    const pair = `${unique('')
      .replace(/[0-9]/g, (d) => 'GHIJKLMNOP'[Number(d)])
      .slice(0, 3)
      .toUpperCase()}/JPY`;
    const lines = truefxLines(pair);
    const id = `TRUEFX:${pair}`;
    expect((await sql(`SELECT count() FROM quotes WHERE instrument_id = '${id}'`)).dataset[0][0]).toBe(0);
    const millis = lines.map((l) => l.split(',')[1]);
    const shared = millis.filter((m, i) => millis.indexOf(m) !== i).length;
    expect(shared).toBe(7);
    const file = tempFile(`truefx-${pair.replace('/', '')}.csv`, `${lines.join('\n')}\n`);
    await replayFile(t.kafka, t.codec, { file, format: 'truefx-csv', speed: { kind: 'max' } });
    await t.drain();
    await waitForWalApplied(['quotes', 'features', 'quality_events']);
    // 1,000 quotes, one of them locked (a quality finding, no row, no features).
    expect((await sql(`SELECT count() FROM quotes WHERE instrument_id = '${id}'`)).dataset[0][0]).toBe(999);
    const features = await sql(
      `SELECT feature, count(), count_distinct(event_id) FROM features WHERE instrument_id = '${id}' ORDER BY feature`,
    );
    // TrueFX gives no sizes: spread and mid per quote.
    expect(features.dataset).toEqual([
      ['mid', 999, 999],
      ['spread', 999, 999],
    ]);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }, 180_000);

  it('book snapshots stamped with the same exchange and receive times keep a row each', async () => {
    const symbol = unique('BOOK').toUpperCase();
    const [header, first] = fs
      .readFileSync(path.join(FIXTURES, 'binance-futures-btcusdt-book25-2020-09-01.csv'), 'utf8')
      .trim()
      .split('\n');
    const fields = first.split(',');
    fields[1] = symbol;
    const ts = String((Date.now() - 60_000) * 1000);
    fields[2] = ts;
    fields[3] = ts;
    // Three snapshots with identical times and different best bid sizes.
    const lines = ['1', '2', '3'].map((size) => {
      const copy = [...fields];
      copy[7] = size;
      return copy.join(',');
    });
    const file = tempFile(`${symbol}.csv`, `${header}\n${lines.join('\n')}\n`);
    await replayFile(t.kafka, t.codec, { file, format: 'tardis-book-snapshot-25', speed: { kind: 'max' } });
    await t.drain();
    await waitForWalApplied(['book', 'features']);
    const book = await sql(
      `SELECT count(), count_distinct(sequence) FROM book WHERE instrument_id = 'BINANCE-FUT:${symbol}'`,
    );
    expect(book.dataset).toEqual([[3, 3]]);
    const imbalance = await sql(
      `SELECT count() FROM features WHERE instrument_id = 'BINANCE-FUT:${symbol}' AND feature = 'imbalance_l1'`,
    );
    expect(imbalance.dataset[0][0]).toBe(3);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }, 180_000);
});
