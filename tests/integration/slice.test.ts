import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { replayFile } from '../../connectors/file-replay/replay';
import { sql, waitForWalApplied } from '../../connectors/questdb/sql';
import { REPO_ROOT } from '../../pipelines/runtime/settings';
import { collectTopic } from '../../ops/cli/tap';
import { Decimal } from '../../schemas/decimal';
import type { DeadLetter } from '../../schemas/types.generated';
import { FORMATS } from '../../connectors/formats';
import type { RawRecord, Trade } from '../../schemas/types.generated';
import {
  QUOTES_FILE,
  TRADES_FILE,
  csvRows,
  freshCopy,
  isoMicros,
  tempFile,
  truefxDownloadLine,
  unique,
} from '../support/helpers';
import { publishTrades, waitFor } from '../support/runtime-harness';
import type { TestPipeline } from '../support/test-pipeline';
import { startTestPipeline } from '../support/test-pipeline';

/**
 * The recorded files are replayed under symbols of this run only (freshCopy), so every row checked
 * was made by this run: a stack keeps earlier runs' rows, and normalize flags a second replay of an
 * instrument's file as out of order.
 */
const TRADES = freshCopy(TRADES_FILE, 'SLICE');
const QUOTES = freshCopy(QUOTES_FILE, 'SLICEQ');
const INSTRUMENT = `BINANCE-FUT:${TRADES.symbol}`;
const QUOTED = `BINANCE-FUT:${QUOTES.symbol}`;

describe('first slice: recorded file -> Kafka -> normalize -> QuestDB (real stack)', () => {
  let t: TestPipeline;

  beforeAll(async () => {
    t = await startTestPipeline('test-slice', ['normalize', 'sink-questdb']);
  });

  afterAll(async () => {
    await t.stop();
    for (const copy of [TRADES, QUOTES]) fs.rmSync(copy.dir, { recursive: true, force: true });
  });

  async function replayAndDrain(file: string, format: string): Promise<void> {
    const result = await replayFile(t.kafka, t.codec, { file, format, speed: { kind: 'max' } });
    expect(result.published).toBe(csvRows(file).length);
    await t.drain();
    await waitForWalApplied(['trades', 'quotes']);
  }

  async function tradeFacts(): Promise<{ rows: number; volume: string; first: string; last: string }> {
    const result = await sql(
      `SELECT count(), sum(size), min(ts), max(ts) FROM trades WHERE instrument_id = '${INSTRUMENT}'`,
    );
    const [rows, volume, first, last] = result.dataset[0] as [number, string, string, string];
    return { rows, volume: volume === null ? '0' : new Decimal(volume).toFixed(), first, last };
  }

  it('fills trades with exactly the 9,999 recorded trades: exact sizes summing to 4024.301, first and last exchange times', async () => {
    expect((await tradeFacts()).rows).toBe(0);
    await replayAndDrain(TRADES.file, 'tardis-trades');
    const rows = csvRows(TRADES_FILE);
    const facts = await tradeFacts();
    expect(facts.rows).toBe(9999);
    expect(facts.volume).toBe('4024.301');
    expect(facts.first).toBe(isoMicros(Number(rows[0][2])));
    expect(facts.last).toBe(isoMicros(Number(rows[rows.length - 1][2])));

    // Every row, field by field, against the file: no float round trip anywhere.
    const table = await sql(
      `SELECT trade_id, price, size, ts, ts_recv, side FROM trades WHERE instrument_id = '${INSTRUMENT}'`,
    );
    const byId = new Map(table.dataset.map((r) => [String(r[0]), r]));
    expect(byId.size).toBe(9999);
    for (const [, , ts, recv, id, side, price, amount] of rows) {
      const row = byId.get(id);
      expect(row).toBeDefined();
      const [, p, s, t, tr, sd] = row as [string, string, string, string, string, string];
      if (
        !new Decimal(p).equals(new Decimal(price)) ||
        !new Decimal(s).equals(new Decimal(amount)) ||
        t !== isoMicros(Number(ts)) ||
        tr !== isoMicros(Number(recv)) ||
        sd !== side.toUpperCase()
      ) {
        throw new Error(
          `trade ${id}: table has ${JSON.stringify(row)}, file has ${[ts, recv, side, price, amount].join(',')}`,
        );
      }
    }
  });

  it('fills quotes with all 9,999 recorded quotes', async () => {
    await replayAndDrain(QUOTES.file, 'tardis-quotes');
    const result = await sql(
      `SELECT count(), sum(bid_size), sum(ask_size) FROM quotes WHERE instrument_id = '${QUOTED}'`,
    );
    const rows = csvRows(QUOTES_FILE);
    const [count, bidSizes, askSizes] = result.dataset[0] as [number, string, string];
    expect(count).toBe(9999);
    expect(new Decimal(bidSizes).toFixed()).toBe(rows.reduce((acc, r) => acc.plus(r[7]), new Decimal(0)).toFixed());
    expect(new Decimal(askSizes).toFixed()).toBe(rows.reduce((acc, r) => acc.plus(r[4]), new Decimal(0)).toFixed());
  });

  it('fills quotes with the 1,000 recorded TrueFX USD/JPY quotes but the one locked quote, which is a quality finding', async () => {
    // The recorded export (timestamp,bid,ask) as TrueFX download lines under a pair of this run only.
    const pair = `${unique('')
      .replace(/[0-9]/g, (d) => 'GHIJKLMNOP'[Number(d)])
      .slice(0, 3)
      .toUpperCase()}/JPY`;
    const id = `TRUEFX:${pair}`;
    const source = path.join(REPO_ROOT, 'connectors', 'truefx', 'fixtures', 'truefx-usdjpy-quotes-2013-01.csv');
    const exported = fs.readFileSync(source, 'utf8').trim().split('\n').slice(1);
    const lines = exported.map((l) => truefxDownloadLine(pair, l));
    expect((await sql(`SELECT count() FROM quotes WHERE instrument_id = '${id}'`)).dataset[0][0]).toBe(0);
    const file = tempFile(`truefx-${pair.replace('/', '')}.csv`, `${lines.join('\n')}\n`);
    const result = await replayFile(t.kafka, t.codec, { file, format: 'truefx-csv', speed: { kind: 'max' } });
    expect(result.published).toBe(1000);
    await t.drain();
    await waitForWalApplied(['quotes', 'quality_events']);
    // Seven pairs of quotes share a millisecond: all kept (the line number is in the key).
    const quotes = await sql(
      `SELECT count(), sum(bid_price), sum(ask_price) FROM quotes WHERE instrument_id = '${id}'`,
    );
    const kept = exported.filter((l) => !l.endsWith('86.836,86.836'));
    const [count, bids, asks] = quotes.dataset[0] as [number, string, string];
    expect([count, new Decimal(bids).toFixed(), new Decimal(asks).toFixed()]).toEqual([
      999,
      kept.reduce((acc, l) => acc.plus(l.split(',')[1]), new Decimal(0)).toFixed(),
      kept.reduce((acc, l) => acc.plus(l.split(',')[2]), new Decimal(0)).toFixed(),
    ]);
    // Exactly one finding: the locked quote, at its line (the download format has no header: line 942).
    const findings = await sql(`SELECT rule, origin FROM quality_events WHERE instrument_id = '${id}'`);
    expect(findings.dataset).toEqual([['LOCKED_QUOTE', `${path.basename(file)}:942`]]);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('writing the same trades to the sink again leaves the same rows (idempotent sink)', async () => {
    const before = await tradeFacts();
    expect(before.rows).toBe(9999);
    // The canonical trades as normalize made them, written to md.trades.v1 again behind normalize's
    // back: the sink really rewrites 9,999 rows (counted), and DEDUP keeps one per trade.
    const format = FORMATS['tardis-trades'];
    const lines = fs.readFileSync(TRADES.file, 'utf8').trim().split('\n').slice(1);
    const trades = lines.map(
      (payload, i) =>
        format.format.parse({
          source: format.source,
          format: 'tardis-trades',
          tsRecv: 0,
          origin: `x:${i + 2}`,
          sequence: i + 2,
          payload,
        } as RawRecord).value as Trade,
    );
    const tradeRowsWritten = async (): Promise<number> =>
      (await t.pipeline.metrics.recordsOut.get()).values
        .filter((v) => v.labels.stage === 'sink-questdb' && v.labels.topic === 'md.trades.v1')
        .reduce((sum, v) => sum + v.value, 0);
    const written = await tradeRowsWritten();
    await publishTrades(t.kafka, t.codec, trades);
    await waitFor(
      'the sink to write the 9,999 trades again',
      async () => (await tradeRowsWritten()) - written >= 9999,
      120_000,
      500,
    );
    await waitForWalApplied(['trades']);
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
    const good = await sql(
      `SELECT trade_id, size FROM trades WHERE instrument_id = 'BINANCE-FUT:${symbol}' ORDER BY trade_id`,
    );
    expect(good.dataset).toEqual([
      ['1', expect.anything()],
      ['3', expect.anything()],
    ]);
    const letters = (await collectTopic<DeadLetter>(t.kafka, 'md.raw.tardis.v1.dlq'))
      .map((r) => r.value)
      .filter((d) => d.originalKey?.toString() === `binance-futures:${symbol}`);
    expect(letters.map((d) => [d.stage, d.errorCode, d.sourceTopic])).toEqual([
      ['normalize', 'PARSE_ERROR', 'md.raw.tardis.v1'],
      ['normalize', 'PARSE_ERROR', 'md.raw.tardis.v1'],
    ]);
    expect(letters[0].errorMessage).toMatch(/price '96x2' is not a decimal/);
    expect(letters[1].errorMessage).toMatch(/7 fields, expected 8/);
    // The original bytes decode to the raw record, which names the file and line.
    const originals = await Promise.all(
      letters.map((d) => t.codec.decode<{ origin: string }>('md.raw.tardis.v1', d.originalValue)),
    );
    expect(originals.map((o) => o.origin)).toEqual([`${path.basename(file)}:3`, `${path.basename(file)}:5`]);
    expect(letters.every((d) => /^\d+$/.test(d.sourceOffset) && d.sourcePartition >= 0)).toBe(true);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('`tickflow tap md.trades.v1 --from-beginning --max 3` prints three decoded trades', () => {
    // Through the package bin, as `npx tickflow` runs it.
    const cli = path.join(REPO_ROOT, 'ops', 'bin', 'tickflow.cjs');
    const run = spawnSync(process.execPath, [cli, 'tap', 'md.trades.v1', '--from-beginning', '--max', '3', '--json'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(0);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { topic: string; value: { price: string; size: string; instrumentId: string } });
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line.topic).toBe('md.trades.v1');
      expect(line.value.price).toMatch(/^\d+(\.\d+)?$/);
      expect(line.value.size).toMatch(/^\d+(\.\d+)?$/);
    }
  });
});
