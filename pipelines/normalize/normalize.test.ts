import fs from 'node:fs';
import path from 'node:path';
import type { QualityEvent, RawRecord, Trade } from '../../schemas/types.generated';
import { parseConfig } from '../runtime/config';
import { driveStage } from '../runtime/test-driver';
import { NORMALIZE_CONFIG, normalizeStage } from './normalize';

const raw = (format: string, payload: string, sequence = 1): RawRecord => ({
  source: 'tardis-file',
  format,
  tsRecv: 0,
  origin: `f:${sequence}`,
  sequence,
  payload,
});
const stage = normalizeStage(parseConfig('normalize', NORMALIZE_CONFIG, {}));
const FIXTURES = path.join(__dirname, '..', '..', 'connectors', 'tardis', 'fixtures');

describe('normalize stage', () => {
  it('routes trades and quotes to their topics keyed by instrument id, and rejects bad lines with a reason', () => {
    const result = driveStage(stage, [
      raw('tardis-trades', 'binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,9682,0.132', 2),
      raw('tardis-quotes', 'binance-futures,BTCUSDT,1582329601096000,1582329603502092,0.84,9682,9681.92,0.67', 3),
      raw('tardis-trades', 'binance-futures,BTCUSDT,oops', 4),
      raw('ndjson-unknown', '{}', 5),
    ]);
    expect(result.out.map((o) => [o.topic, o.key])).toEqual([
      ['md.trades.v1', 'BINANCE-FUT:BTCUSDT'],
      ['md.quotes.v1', 'BINANCE-FUT:BTCUSDT'],
    ]);
    expect((result.out[0].value as Trade).price.toFixed()).toBe('9682');
    expect(result.failed.map((f) => [f.input.offset, f.code])).toEqual([
      ['2', 'PARSE_ERROR'],
      ['3', 'UNKNOWN_FORMAT'],
    ]);
    // in = out + dead letters
    expect(result.out.length + result.failed.length).toBe(4);
  });

  it('passes every record of the recorded files; the one real finding is a locked TrueFX quote', () => {
    for (const [file, format, findings] of [
      ['binance-futures-btcusdt-trades-2020-02-22.csv', 'tardis-trades', []],
      ['binance-futures-btcusdt-quotes-2020-02-22.csv', 'tardis-quotes', []],
      ['binance-futures-btcusdt-book25-2020-09-01.csv', 'tardis-book-snapshot-25', []],
      // line 943: 2013-01-01 22:34:34.652000+00:00,86.836,86.836
      [
        '../../truefx/fixtures/truefx-usdjpy-quotes-2013-01.csv',
        'truefx-quotes',
        ['LOCKED_QUOTE truefx-usdjpy-quotes-2013-01.csv:943'],
      ],
    ] as const) {
      const lines = fs.readFileSync(path.join(FIXTURES, file), 'utf8').trim().split('\n').slice(1);
      const result = driveStage(
        stage,
        lines.map((line, i) => ({ ...raw(format, line, i + 2), origin: `${path.basename(file)}:${i + 2}` })),
      );
      const found = result.out
        .filter((o) => o.topic === 'md.quality.v1')
        .map((o) => `${(o.value as QualityEvent).rule} ${(o.value as QualityEvent).origin}`);
      expect([file, result.failed.length, found]).toEqual([file, 0, findings]);
      expect(result.out.length).toBe(lines.length);
    }
  });

  it('withholds a flagged record from its topic and reports it on md.quality.v1 with its origin and the record', () => {
    const line = (id: number, price: string, ts: number): string =>
      JSON.stringify({
        type: 'trade',
        venue: 'SYN',
        symbol: 'A',
        tsEvent: ts,
        tsRecv: ts + 5,
        price,
        size: '1',
        side: 'BUY',
        tradeId: String(id),
      });
    const T0 = Date.UTC(2024, 0, 3, 15) * 1000;
    const records = [
      line(1, '100', T0 + 1_000_000),
      line(2, '0', T0 + 2_000_000),
      line(1, '100', T0 + 3_000_000),
      line(3, '101', T0 + 4_000_000),
    ].map((payload, i) => ({ ...raw('tickflow-ndjson', payload, i + 1), source: 'ndjson-file' }));
    const result = driveStage(stage, records);
    expect(
      result.out.map((o) => [
        o.topic,
        o.topic === 'md.quality.v1' ? (o.value as QualityEvent).rule : (o.value as Trade).tradeId,
      ]),
    ).toEqual([
      ['md.trades.v1', '1'],
      ['md.quality.v1', 'NON_POSITIVE'],
      ['md.quality.v1', 'DUPLICATE_TRADE'],
      ['md.trades.v1', '3'],
    ]);
    const dup = result.out[2].value as QualityEvent;
    expect([dup.origin, dup.flagged, dup.stage, dup.kind, dup.source, dup.instrumentId]).toEqual([
      'f:3',
      true,
      'normalize',
      'trade',
      'ndjson-file',
      'SYN:A',
    ]);
    expect(JSON.parse(dup.record as string)).toMatchObject({ tradeId: '1', price: '100', size: '1' });
  });
});
