import fs from 'node:fs';
import { tardisQuotes } from '../../connectors/tardis/formats';
import { Decimal } from '../../schemas/decimal';
import type { BookSnapshot, Feature, Quote } from '../../schemas/types.generated';
import { SCALE, divideHalfEven, plain, scaled } from '../../tests/support/bars-oracle';
import { QUOTES_FILE, csvRows } from '../../tests/support/helpers';
import { parseConfig } from '../runtime/config';
import { StageDriver } from '../runtime/test-driver';
import { FEATURES_CONFIG, featuresStage } from './features';

/**
 * p / q of two equally scaled integers as 12-place decimal text, by the oracle's own arithmetic (not the stage's
 * helper).
 */
const ratio12 = (p: bigint, q: bigint): string => plain(divideHalfEven(p * SCALE, q));

function fileQuotes(): Quote[] {
  const lines = fs.readFileSync(QUOTES_FILE, 'utf8').trim().split('\n').slice(1);
  return lines.map(
    (payload, i) =>
      tardisQuotes.parse({
        source: 'test',
        format: 'tardis-quotes',
        tsRecv: Number(payload.split(',')[3]),
        origin: `file:${i + 2}`,
        sequence: i,
        payload,
      }) as Quote,
  );
}

const stage = () => featuresStage(parseConfig('features', FEATURES_CONFIG, {}));

describe('features: microstructure analytics', () => {
  it('matches spread, mid, microprice and L1 imbalance computed independently from every quote of the recorded file', () => {
    const result = new StageDriver(stage(), { topic: 'md.quotes.v1', batchSize: 700 }).run(fileQuotes());
    expect(result.failed).toEqual([]);
    const got = result.out.map((o) => o.value as Feature);
    const rows = csvRows(QUOTES_FILE);
    expect(got.length).toBe(rows.length * 4);
    rows.forEach(([, , ts, , askAmount, askPrice, bidPrice, bidAmount], i) => {
      const [ask, askSize, bid, bidSize] = [scaled(askPrice), scaled(askAmount), scaled(bidPrice), scaled(bidAmount)];
      const mine = got.slice(i * 4, i * 4 + 4);
      expect(mine.map((f) => [f.tsEvent, f.basis, f.name])).toEqual(
        ['spread', 'mid', 'microprice', 'imbalance_l1'].map((n) => [Number(ts), 'quote', n]),
      );
      expect(mine[0].exact?.toFixed()).toBe(ratio12(ask - bid, SCALE));
      expect(mine[1].exact?.toFixed()).toBe(ratio12(bid + ask, 2n * SCALE));
      expect(mine[2].exact?.toFixed()).toBe(ratio12(bid * askSize + ask * bidSize, (askSize + bidSize) * SCALE));
      const imbalance = (Number(bidAmount) - Number(askAmount)) / (Number(bidAmount) + Number(askAmount));
      expect(Math.abs(mine[3].value - imbalance)).toBeLessThan(1e-12);
      expect(mine[2].value).toBe(mine[2].exact?.toNumber());
    });
  });

  it('computes book features from the first levels and depth imbalance over depthLevels, and rejects a one-sided book', () => {
    const level = (price: string, size: string) => ({ price: new Decimal(price), size: new Decimal(size) });
    const book = (bids: ReturnType<typeof level>[], asks: ReturnType<typeof level>[]): BookSnapshot => ({
      instrumentId: 'X:Y',
      venue: 'X',
      symbol: 'Y',
      source: 't',
      tsEvent: 1,
      tsRecv: 2,
      bids,
      asks,
      sequence: null,
    });
    const driver = new StageDriver(featuresStage(parseConfig('features', FEATURES_CONFIG, { depthLevels: '2' })), {
      topic: 'md.book.v1',
    });
    const result = driver.run([
      book([level('100', '1'), level('99', '3'), level('98', '50')], [level('101', '3'), level('102', '1')]),
      book([], [level('101', '1')]),
    ]);
    const f = Object.fromEntries(result.out.map((o) => [(o.value as Feature).name, o.value as Feature]));
    expect(f.spread.exact?.toFixed()).toBe('1');
    expect(f.mid.exact?.toFixed()).toBe('100.5');
    // (100 x 3 + 101 x 1) / 4
    expect(f.microprice.exact?.toFixed()).toBe('100.25');
    expect(f.imbalance_l1.value).toBe(-0.5);
    // bids 1 + 3 against asks 3 + 1 over two levels
    expect(f.imbalance_depth2.value).toBe(0);
    expect(result.failed.map((x) => [x.code, x.message.includes('0 bid and 1 ask levels')])).toEqual([
      ['INVALID_VALUE', true],
    ]);
  });
});
