import fs from 'node:fs';
import path from 'node:path';
import type { Quote, RawRecord, Trade } from '../../schemas/types.generated';
import { tardisBookSnapshot25, tardisQuotes, tardisTrades } from './formats';
import type { BookSnapshot } from '../../schemas/types.generated';
import { TickflowError } from '../../pipelines/runtime/errors';

const raw = (format: string, payload: string): RawRecord => ({
  source: 'tardis-file',
  format,
  tsRecv: 0,
  origin: 'test',
  sequence: 1,
  payload,
});
const fixture = (name: string): string[] =>
  fs
    .readFileSync(path.join(__dirname, 'fixtures', name), 'utf8')
    .trim()
    .split('\n');

describe('Tardis CSV parsers', () => {
  it('parses a trade exactly, keeping exchange and receive time', () => {
    const t = tardisTrades.parse(
      raw('tardis-trades', 'binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,9682,0.132'),
    ) as Trade;
    expect(t.instrumentId).toBe('BINANCE-FUT:BTCUSDT');
    expect(t.venue).toBe('BINANCE-FUT');
    expect(t.tsEvent).toBe(1582329602111000);
    expect(t.tsRecv).toBe(1582329602418379);
    expect(t.price.toFixed()).toBe('9682');
    expect(t.size.toFixed()).toBe('0.132');
    expect(t.side).toBe('BUY');
    expect(t.tradeId).toBe('42377944');
  });

  it('parses a quote', () => {
    const q = tardisQuotes.parse(
      raw('tardis-quotes', 'binance-futures,BTCUSDT,1582329601096000,1582329603502092,0.84,9682,9681.92,0.67'),
    ) as Quote;
    expect([q.bidPrice, q.bidSize, q.askPrice, q.askSize].map((d) => d.toFixed())).toEqual([
      '9681.92',
      '0.67',
      '9682',
      '0.84',
    ]);
  });

  it('parses every line of the recorded trades file, summing to exactly 4024.301', () => {
    const [header, ...lines] = fixture('binance-futures-btcusdt-trades-2020-02-22.csv');
    expect(header).toBe(tardisTrades.header);
    const trades = lines.map((l) => tardisTrades.parse(raw('tardis-trades', l)) as Trade);
    expect(trades).toHaveLength(9999);
    expect(trades.reduce((acc, t) => acc.plus(t.size), trades[0].size.minus(trades[0].size)).toFixed()).toBe(
      '4024.301',
    );
  });

  it('parses the 25-level book snapshots, best level first', () => {
    const [header, first] = fixture('binance-futures-btcusdt-book25-2020-09-01.csv');
    expect(header).toBe(tardisBookSnapshot25.header);
    const book = tardisBookSnapshot25.parse(raw('tardis-book-snapshot-25', first)) as BookSnapshot;
    expect(book.bids).toHaveLength(25);
    expect(book.asks).toHaveLength(25);
    expect(book.asks[0].price.lessThan(book.asks[1].price)).toBe(true);
    expect(book.bids[0].price.greaterThan(book.bids[1].price)).toBe(true);
  });

  // Times of the recorded file: tiny ones such as 1 and 2 are refused (before 1980) since connectors/time.ts.
  const T = '1582329602111000,1582329602418379';
  it.each([
    ['a bad price', `binance-futures,BTCUSDT,${T},7,buy,96x2,0.1`, /price '96x2' is not a decimal/],
    ['a bad side', `binance-futures,BTCUSDT,${T},7,hold,9682,0.1`, /side 'hold'/],
    ['a missing field', 'binance-futures,BTCUSDT,1,2,7,buy,9682', /7 fields, expected 8/],
    ['a float timestamp', 'binance-futures,BTCUSDT,1.5,2,7,buy,9682,0.1', /timestamp '1.5'/],
    ['too many decimals', `binance-futures,BTCUSDT,${T},7,buy,9682,0.0000000000001`, /13 decimal places/],
    ['a timestamp before 1980', 'binance-futures,BTCUSDT,1,2,7,buy,9682,0.1', /timestamp 1 .* is before 1980-01-01/],
  ])('rejects %s with a PARSE_ERROR naming it', (_what, line, message) => {
    let error: unknown;
    try {
      tardisTrades.parse(raw('tardis-trades', line));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TickflowError);
    expect((error as TickflowError).code).toBe('PARSE_ERROR');
    expect((error as Error).message).toMatch(message);
  });
});
