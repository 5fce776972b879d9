import { Decimal } from '../../schemas/decimal';
import { QUOTES, TRADES, microsOfIso } from './tables';

describe('tables read back (replay --table)', () => {
  test('QuestDB timestamps keep their microseconds', () => {
    expect(microsOfIso('2020-02-22T00:00:02.111000Z')).toBe(1582329602111000);
    expect(microsOfIso('2020-02-22T00:00:02.000007Z')).toBe(1582329602000007);
    expect(microsOfIso('2020-02-22T00:00:02Z')).toBe(1582329602000000);
    expect(() => microsOfIso('yesterday')).toThrow(/not a QuestDB timestamp/);
  });

  test('a trade row is the trade it was written from, decimals exact', () => {
    const trade = TRADES.fromRow?.({
      ts: '2020-02-22T00:00:02.111000Z',
      instrument_id: 'BINANCE-FUT:BTCUSDT',
      venue: 'BINANCE-FUT',
      symbol: 'BTCUSDT',
      source: 'tardis-file',
      side: 'BUY',
      trade_id: '42377944',
      price: '9682.310000000000',
      size: '0.132000000000',
      ts_recv: '2020-02-22T00:00:02.418379Z',
    });
    expect(trade).toEqual({
      instrumentId: 'BINANCE-FUT:BTCUSDT',
      venue: 'BINANCE-FUT',
      symbol: 'BTCUSDT',
      source: 'tardis-file',
      tsEvent: 1582329602111000,
      tsRecv: 1582329602418379,
      price: new Decimal('9682.31'),
      size: new Decimal('0.132'),
      side: 'BUY',
      tradeId: '42377944',
    });
  });

  test('a quote row keeps a missing sequence as null', () => {
    const quote = QUOTES.fromRow?.({
      ts: '2013-01-01T22:00:00.295000Z',
      instrument_id: 'TRUEFX:USDJPY',
      venue: 'TRUEFX',
      symbol: 'USDJPY',
      source: 'truefx',
      bid_price: '86.738',
      bid_size: '1000000',
      ask_price: '86.74',
      ask_size: '1000000',
      ts_recv: '2013-01-01T22:00:00.295000Z',
      sequence: null,
    });
    expect(quote?.sequence).toBeNull();
    expect(quote?.askPrice.toFixed()).toBe('86.74');
  });
});
