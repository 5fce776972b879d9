import fs from 'node:fs';
import path from 'node:path';
import type { Quote, RawRecord } from '../../schemas/types.generated';
import type { Canonical } from '../formats';
import { pairFromFileName, truefxCsv, truefxQuotes } from './formats';

const FIXTURES = path.join(__dirname, 'fixtures');
const EXPORT = 'truefx-usdjpy-quotes-2013-01.csv';
const NATIVE = 'USDJPY-2013-01-first20.csv';
const lines = (name: string): string[] => fs.readFileSync(path.join(FIXTURES, name), 'utf8').trim().split('\n');
const raw = (format: string, file: string, payload: string, line: number): RawRecord => ({
  source: 'truefx-file',
  format,
  tsRecv: 0,
  origin: `${file}:${line}`,
  sequence: line,
  payload,
});
const quoteOf = (c: Canonical): Quote => {
  if (c.kind !== 'quote') throw new Error(`expected a quote, got ${c.kind}`);
  return c.value;
};

describe('TrueFX formats', () => {
  const [header, ...rows] = lines(EXPORT);

  it('parses every quote of the recorded export exactly, the pair from the file name', () => {
    expect(header).toBe(truefxQuotes.header);
    const quotes = rows.map((row, i) => quoteOf(truefxQuotes.parse(raw('truefx-quotes', EXPORT, row, i + 2))));
    expect(quotes).toHaveLength(1000);
    quotes.forEach((q, i) => {
      const [, bid, ask] = rows[i].split(',');
      expect([i, q.bidPrice.eq(bid), q.askPrice.eq(ask)]).toEqual([i, true, true]);
    });
    const first = quotes[0];
    expect([
      first.instrumentId,
      first.venue,
      first.symbol,
      first.tsEvent,
      first.tsRecv,
      first.bidSize.toFixed(),
      first.askSize.toFixed(),
    ]).toEqual([
      'TRUEFX:USD/JPY',
      'TRUEFX',
      'USD/JPY',
      Date.UTC(2013, 0, 1, 22, 0, 0, 295) * 1000,
      Date.UTC(2013, 0, 1, 22, 0, 0, 295) * 1000,
      '0',
      '0',
    ]);
    expect(quotes[quotes.length - 1].tsEvent).toBe(Date.UTC(2013, 0, 1, 22, 35, 13, 494) * 1000);
    expect(quotes.every((q, i) => i === 0 || q.tsEvent >= quotes[i - 1].tsEvent)).toBe(true);
  });

  it("parses TrueFX's own download format to the same quotes", () => {
    const native = lines(NATIVE).map((row, i) => quoteOf(truefxCsv.parse(raw('truefx-csv', NATIVE, row, i + 1))));
    const exported = rows
      .slice(0, 20)
      .map((row, i) => quoteOf(truefxQuotes.parse(raw('truefx-quotes', EXPORT, row, i + 2))));
    const view = (q: Quote): unknown[] => [q.instrumentId, q.tsEvent, q.bidPrice.toFixed(), q.askPrice.toFixed()];
    expect(native.map(view)).toEqual(exported.map(view));
  });

  it('keys and times lines for replay, and names a bad line', () => {
    expect(truefxQuotes.locate(rows[0], EXPORT)).toEqual({
      key: 'TRUEFX:USD/JPY',
      tsEvent: Date.UTC(2013, 0, 1, 22, 0, 0, 295) * 1000,
      tsRecv: Date.UTC(2013, 0, 1, 22, 0, 0, 295) * 1000,
    });
    expect(truefxCsv.locate('USD/JPY,20130101 22:00:00.295,86.655,86.728', NATIVE).key).toBe('TRUEFX:USD/JPY');
    expect(() => truefxQuotes.parse(raw('truefx-quotes', EXPORT, '2013-01-01 22:00:00+00:00,86.6x,86.7', 2))).toThrow(
      /bid '86.6x' is not a decimal/,
    );
    expect(() => truefxQuotes.parse(raw('truefx-quotes', 'quotes.csv', rows[0], 2))).toThrow(
      /no currency pair in the file name/,
    );
    expect(() => truefxCsv.parse(raw('truefx-csv', NATIVE, 'USDJPY,20130101 22:00:00.295,1,2', 1))).toThrow(
      /pair 'USDJPY' is not like USD\/JPY/,
    );
    expect(pairFromFileName('USDJPY-2013-01.csv')).toBe('USD/JPY');
  });
});
