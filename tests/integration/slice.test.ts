import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { replayFile } from '../../connectors/file-replay/replay';
import { sql, waitForWalApplied } from '../../connectors/questdb/sql';
import { REPO_ROOT } from '../../ops/config';
import { collectTopic } from '../../ops/tap';
import { Decimal } from '../../schemas/decimal';
import type { DeadLetter } from '../../schemas/types.generated';
import { QUOTES_FILE, TRADES_FILE, csvRows, isoMicros, tempFile, unique } from '../support/helpers';
import type { TestPipeline } from '../support/test-pipeline';
import { startTestPipeline } from '../support/test-pipeline';

const INSTRUMENT = 'BINANCE-FUT:BTCUSDT';

describe('first slice: recorded file -> Kafka -> normalize -> QuestDB (real stack)', () => {
  let t: TestPipeline;

  beforeAll(async () => {
    t = await startTestPipeline('test-slice', ['normalize', 'sink-questdb']);
  });

  afterAll(async () => {
    await t.stop();
  });

  async function replayAndDrain(file: string, format: string): Promise<void> {
    const result = await replayFile(t.kafka, t.codec, { file, format, speed: { kind: 'max' } });
    expect(result.published).toBe(csvRows(file).length);
    await t.drain();
    await waitForWalApplied(['trades', 'quotes']);
  }

  async function tradeFacts(): Promise<{ rows: number; volume: string; first: string; last: string }> {
    const result = await sql(`SELECT count(), sum(size), min(ts), max(ts) FROM trades WHERE instrument_id = '${INSTRUMENT}'`);
    const [rows, volume, first, last] = result.dataset[0] as [number, string, string, string];
    return { rows, volume: new Decimal(volume).toFixed(), first, last };
  }

  it('fills trades with exactly the 9,999 recorded trades: exact sizes summing to 4024.301, first and last exchange times', async () => {
    await replayAndDrain(TRADES_FILE, 'tardis-trades');
    const rows = csvRows(TRADES_FILE);
    const facts = await tradeFacts();
    expect(facts.rows).toBe(9999);
    expect(facts.volume).toBe('4024.301');
    expect(facts.first).toBe(isoMicros(Number(rows[0][2])));
    expect(facts.last).toBe(isoMicros(Number(rows[rows.length - 1][2])));

    // Every row, field by field, against the file: no float round trip anywhere.
    const table = await sql(`SELECT trade_id, price, size, ts, ts_recv, side FROM trades WHERE instrument_id = '${INSTRUMENT}'`);
    const byId = new Map(table.dataset.map((r) => [String(r[0]), r]));
    expect(byId.size).toBe(9999);
    for (const [, , ts, recv, id, side, price, amount] of rows) {
      const row = byId.get(id);
      expect(row).toBeDefined();
      const [, p, s, t, tr, sd] = row as [string, string, string, string, string, string];
      if (!new Decimal(p).equals(new Decimal(price)) || !new Decimal(s).equals(new Decimal(amount)) || t !== isoMicros(Number(ts)) || tr !== isoMicros(Number(recv)) || sd !== side.toUpperCase()) {
        throw new Error(`trade ${id}: table has ${JSON.stringify(row)}, file has ${[ts, recv, side, price, amount].join(',')}`);
      }
    }
  });

  it('fills quotes with all 9,999 recorded quotes', async () => {
    await replayAndDrain(QUOTES_FILE, 'tardis-quotes');
    const result = await sql(`SELECT count(), sum(bid_size), sum(ask_size) FROM quotes WHERE instrument_id = '${INSTRUMENT}'`);
    const rows = csvRows(QUOTES_FILE);
    const [count, bidSizes, askSizes] = result.dataset[0] as [number, string, string];
    expect(count).toBe(9999);
    expect(new Decimal(bidSizes).toFixed()).toBe(rows.reduce((acc, r) => acc.plus(r[7]), new Decimal(0)).toFixed());
    expect(new Decimal(askSizes).toFixed()).toBe(rows.reduce((acc, r) => acc.plus(r[4]), new Decimal(0)).toFixed());
  });

  it('fills quotes with the 1,000 recorded TrueFX USD/JPY quotes but the one locked quote, which is a quality finding', async () => {
    const file = path.join(REPO_ROOT, 'connectors', 'truefx', 'fixtures', 'truefx-usdjpy-quotes-2013-01.csv');
    const result = await replayFile(t.kafka, t.codec, { file, format: 'truefx-quotes', speed: { kind: 'max' } });
    expect(result.published).toBe(1000);
    await t.drain();
    await waitForWalApplied(['quotes', 'quality_events']);
    // Seven pairs of quotes share a millisecond: all kept (the line number is in the key).
    const quotes = await sql("SELECT count(), sum(bid_price), sum(ask_price) FROM quotes WHERE instrument_id = 'TRUEFX:USD/JPY'");
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').slice(1).filter((l) => !l.endsWith('86.836,86.836'));
    const [count, bids, asks] = quotes.dataset[0] as [number, string, string];
    expect([count, new Decimal(bids).toFixed(), new Decimal(asks).toFixed()]).toEqual([
      999,
      lines.reduce((acc, l) => acc.plus(l.split(',')[1]), new Decimal(0)).toFixed(),
      lines.reduce((acc, l) => acc.plus(l.split(',')[2]), new Decimal(0)).toFixed(),
    ]);
    // A stack that saw the file before also has OUT_OF_ORDER rows for this replay's lines.
    const findings = await sql("SELECT rule, origin FROM quality_events WHERE instrument_id = 'TRUEFX:USD/JPY' AND rule != 'OUT_OF_ORDER'");
    expect(findings.dataset).toEqual([['LOCKED_QUOTE', 'truefx-usdjpy-quotes-2013-01.csv:943']]);
  });

  it('replaying the same file again leaves the same rows (idempotent sink)', async () => {
    const before = await tradeFacts();
    await replayAndDrain(TRADES_FILE, 'tardis-trades');
    expect(await tradeFacts()).toEqual(before);
  });

  it('sends bad lines to md.raw.tardis.v1.dlq with their origin and error, and still delivers the good ones', async () => {
    const symbol = unique('POISON').toUpperCase();
    const lines = [
      'exchange,symbol,timestamp,local_timestamp,id,side,price,amount',
      `binance-futures,${symbol},1582329602111000,1582329602418379,1,buy,9682,0.5`,
      `binance-futures,${symbol},1582329602112000,1582329602418380,2,buy,96x2,0.5`,
      `binance-futures,${symbol},1582329602113000,1582329602418381,3,sell,9681.5,0.25`,
      `binance-futures,${symbol},1582329602114000,1582329602418382,4,sell,9681.5`,
    ];
    const file = tempFile(`${symbol}.csv`, `${lines.join('\n')}\n`);
    await replayAndDrain(file, 'tardis-trades');
    const good = await sql(`SELECT trade_id, size FROM trades WHERE instrument_id = 'BINANCE-FUT:${symbol}' ORDER BY trade_id`);
    expect(good.dataset).toEqual([
      ['1', expect.anything()],
      ['3', expect.anything()],
    ]);
    const letters = (await collectTopic<DeadLetter>(t.kafka, 'md.raw.tardis.v1.dlq')).map((r) => r.value).filter((d) => d.originalKey?.toString() === `binance-futures:${symbol}`);
    expect(letters.map((d) => [d.stage, d.errorCode, d.sourceTopic])).toEqual([
      ['normalize', 'PARSE_ERROR', 'md.raw.tardis.v1'],
      ['normalize', 'PARSE_ERROR', 'md.raw.tardis.v1'],
    ]);
    expect(letters[0].errorMessage).toMatch(/price '96x2' is not a decimal/);
    expect(letters[1].errorMessage).toMatch(/7 fields, expected 8/);
    // The original bytes decode to the raw record, which names the file and line.
    const originals = await Promise.all(letters.map((d) => t.codec.decode<{ origin: string }>('md.raw.tardis.v1', d.originalValue)));
    expect(originals.map((o) => o.origin)).toEqual([`${path.basename(file)}:3`, `${path.basename(file)}:5`]);
    expect(letters.every((d) => /^\d+$/.test(d.sourceOffset) && d.sourcePartition >= 0)).toBe(true);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('`tickflow tap md.trades.v1 --from-beginning --max 3` prints three decoded trades', () => {
    // Through the package bin, as `npx tickflow` runs it.
    const cli = path.join(REPO_ROOT, 'ops', 'bin', 'tickflow.cjs');
    const run = spawnSync(process.execPath, [cli, 'tap', 'md.trades.v1', '--from-beginning', '--max', '3', '--json'], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { topic: string; value: { price: string; size: string; instrumentId: string } });
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line.topic).toBe('md.trades.v1');
      expect(line.value.price).toMatch(/^\d+(\.\d+)?$/);
      expect(line.value.size).toMatch(/^\d+(\.\d+)?$/);
    }
  });
});
