import { Decimal } from '../../schemas/decimal';
import type { Mark, Quote, Trade } from '../../schemas/types.generated';
import { parseConfig } from '../runtime/config';
import { StageDriver } from '../runtime/test-driver';
import { MARKS_CONFIG, marksStage } from './marks';

const T = Date.UTC(2024, 0, 3, 14) * 1000;
const S = 1_000_000;

const base = { instrumentId: 'SYN:A', venue: 'SYN', symbol: 'A', source: 'test' };
const trade = (ts: number, price: string): Trade => ({
  ...base,
  tsEvent: ts,
  tsRecv: ts,
  price: new Decimal(price),
  size: new Decimal('1'),
  side: 'BUY',
  tradeId: String(ts),
});
const quote = (ts: number, bid: string, ask: string): Quote => ({
  ...base,
  tsEvent: ts,
  tsRecv: ts,
  bidPrice: new Decimal(bid),
  bidSize: new Decimal('5'),
  askPrice: new Decimal(ask),
  askSize: new Decimal('5'),
  sequence: null,
});

function marks(values: (Trade | Quote)[], settings: Record<string, string> = {}): Mark[] {
  return new StageDriver(marksStage(parseConfig('marks', MARKS_CONFIG, settings)), {
    topicOf: (v) => ('askPrice' in v ? 'md.quotes.v1' : 'md.trades.v1'),
    key: (v) => v.instrumentId,
  })
    .run(values)
    .out.map((o) => o.value as Mark);
}

describe('marks', () => {
  it('marks at the mid of a fresh quote, else at the last trade, at most once per interval', () => {
    const out = marks([
      quote(T, '99.99', '100.01'),
      trade(T + 0.5 * S, '100.5'),
      trade(T + 1.2 * S, '101'),
      trade(T + 9 * S, '102'),
    ]);
    // At T + 1.2 s the quote (mid 100) is still fresh, so the mark has not changed and is not sent again.
    expect(out.map((m) => [m.tsEvent, m.price.toFixed()])).toEqual([
      [T, '100'],
      [T + 9 * S, '102'],
    ]);
  });

  it('carries the log returns of bucket closes, skipping empty buckets', () => {
    const out = marks(
      [trade(T, '100'), trade(T + 61 * S, '110'), trade(T + 300 * S, '99'), trade(T + 400 * S, '99.5')],
      { returnIntervalMs: '60000', markIntervalMs: '0' },
    );
    const last = out[out.length - 1];
    expect(last.returns).toHaveLength(2);
    expect(last.returns[0]).toBeCloseTo(Math.log(110 / 100), 12);
    expect(last.returns[1]).toBeCloseTo(Math.log(99 / 110), 12);
  });

  it('ignores a late quote older than the one in force', () => {
    const out = marks([quote(T, '10', '12'), quote(T - 5 * S, '1', '3'), trade(T + 2 * S, '50')], {
      markIntervalMs: '0',
      maxQuoteAgeMs: '10000',
    });
    expect(out.map((m) => m.price.toFixed())).toEqual(['11']);
  });
});
