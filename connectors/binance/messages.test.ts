import type { RawRecord } from '../../schemas/types.generated';
import type { DepthUpdate } from './messages';
import { applyDepth, bookFromSnapshot, parseTrade, topOf } from './messages';

const RECV = 1672515782136500;
const raw = (payload: string): RawRecord => ({
  source: 'binance-ws',
  format: 'binance-trade',
  tsRecv: RECV,
  origin: 'btcusdt@trade',
  sequence: 1,
  payload,
});

describe('Binance messages', () => {
  it('parses a trade frame of the documented format exactly; m=true means the aggressor sold', () => {
    const parsed = parseTrade(
      raw(
        '{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}',
      ),
    );
    if (parsed.kind !== 'trade') throw new Error('not a trade');
    const t = parsed.value;
    const view = [t.instrumentId, t.tradeId, t.price.toFixed(), t.size.toFixed(), t.side, t.tsEvent, t.tsRecv];
    expect(view).toEqual(['BINANCE:BNBBTC', '12345', '0.001', '100', 'SELL', 1672515782136000, RECV]);
    expect(parsed.sequence).toBe(12345);
    const floatPrice = '{"e":"trade","s":"BNBBTC","t":1,"p":1.5,"q":"1","T":1672515782136,"m":false}';
    expect(() => parseTrade(raw(floatPrice))).toThrow(/'p' must be a decimal string/);
  });

  it('keeps a local book by the documented rules: stale updates skipped, first one straddles the snapshot, then consecutive ids', () => {
    const book = bookFromSnapshot({ lastUpdateId: 160, bids: [['0.0024', '10']], asks: [['0.0026', '100']] });
    const update = (U: number, u: number, b: [string, string][] = [], a: [string, string][] = []): DepthUpdate => ({
      E: 1,
      s: 'BNBBTC',
      U,
      u,
      b,
      a,
    });
    expect(applyDepth(book, update(150, 160), true).kind).toBe('stale');
    expect(applyDepth(book, update(162, 165), true)).toEqual({ kind: 'gap', expected: 161, got: 162 });
    const first = applyDepth(
      book,
      update(
        157,
        163,
        [
          ['0.0024', '0'],
          ['0.0023', '5'],
        ],
        [['0.0026', '90']],
      ),
      true,
    );
    if (first.kind !== 'applied') throw new Error(first.kind);
    expect(topOf(first.book, 5)).toEqual({ bids: [['0.0023', '5']], asks: [['0.0026', '90']] });
    expect(applyDepth(first.book, update(165, 166), false)).toEqual({ kind: 'gap', expected: 164, got: 165 });
    expect(applyDepth(first.book, update(164, 166, [['0.00230', '7']]), false)).toMatchObject({
      kind: 'applied',
      book: { lastUpdateId: 166 },
    });
  });
});
