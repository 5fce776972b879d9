import { TickflowError } from '../../pipelines/runtime/errors';
import { barsSql, decimalText, fillsSql, literal, ordersSql, positionsSql, rowsOf, signalsSql } from './queries';
import {
  ACCOUNT,
  ApiError,
  INSTRUMENT,
  INTERVAL,
  actionBody,
  limit,
  matching,
  oneOf,
  onlyKnown,
  time,
  timeRange,
} from './validation';

const HOSTILE = [
  "BINANCE:BTC' OR '1'='1",
  "x'; DROP TABLE trades; --",
  'BINANCE:BTC\\',
  'BINANCE:BTC\n',
  'BINANCE :BTC',
  'BINANCE:BTC"',
  'BINANCE:BTC;',
  'BINANCE:BTC)--',
  'ＢＩＮＡＮＣＥ:BTC',
  'BINANCE:BTC\u0000',
  `A:${'B'.repeat(200)}`,
  '',
];

function status(fn: () => unknown): number | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error instanceof ApiError ? error.status : -1;
  }
}

describe('console input validation', () => {
  it('rejects every hostile instrument, account and interval with a 400 naming the parameter', () => {
    for (const value of HOSTILE.filter(Boolean)) {
      for (const [name, pattern] of [
        ['instrument', INSTRUMENT],
        ['account', ACCOUNT],
        ['interval', INTERVAL],
      ] as const) {
        let error: unknown;
        try {
          matching({ [name]: value }, name, pattern, 'x');
        } catch (e) {
          error = e;
        }
        expect([name, value, error instanceof ApiError && error.status]).toEqual([name, value, 400]);
        expect((error as ApiError).message).toContain(name);
      }
    }
    expect(matching({ instrument: 'BINANCE-FUT:BTCUSDT' }, 'instrument', INSTRUMENT, 'x')).toBe('BINANCE-FUT:BTCUSDT');
    expect(matching({}, 'instrument', INSTRUMENT, 'x')).toBeUndefined();
    expect(status(() => matching({}, 'instrument', INSTRUMENT, 'x', true))).toBe(400);
    expect(status(() => matching({ instrument: ['a:b', 'c:d'] }, 'instrument', INSTRUMENT, 'x'))).toBe(400);
  });

  it('checks limits, times, choices and unknown parameters', () => {
    expect(limit({}, 100, 1000)).toBe(100);
    expect(limit({ limit: '7' }, 100, 1000)).toBe(7);
    for (const bad of ['0', '-1', '1001', '1e3', '5.5', '10 ', 'x', '99999999'])
      expect([bad, status(() => limit({ limit: bad }, 100, 1000))]).toEqual([bad, 400]);
    expect(time({ from: '2020-02-22' }, 'from')).toBe(Date.UTC(2020, 1, 22));
    expect(time({ from: '2020-02-22T01:02:03Z' }, 'from')).toBe(Date.UTC(2020, 1, 22, 1, 2, 3));
    expect(time({ from: '2020-02-22T01:02:03' }, 'from')).toBe(Date.UTC(2020, 1, 22, 1, 2, 3));
    expect(time({ from: '2020-02-22T01:02:03.123456+01:00' }, 'from')).toBe(Date.UTC(2020, 1, 22, 0, 2, 3, 123));
    for (const bad of ["2020-02-22' OR 1=1", 'yesterday', '2020-13-45', '1582329600'])
      expect([bad, status(() => time({ from: bad }, 'from'))]).toEqual([bad, 400]);
    expect(status(() => timeRange({ from: '2020-02-23', to: '2020-02-22' }))).toBe(400);
    expect(oneOf({ status: 'open' }, 'status', ['open', 'FILLED'])).toBe('open');
    expect(status(() => oneOf({ status: "open'" }, 'status', ['open']))).toBe(400);
    expect(status(() => onlyKnown({ instrument: 'a', evil: '1' }, ['instrument']))).toBe(400);
  });

  it('validates halt and resume bodies like `tickflow halt`', () => {
    expect(actionBody({ reason: ' feed outage ', account: 'paper-1', flatten: true }, 'HALT')).toEqual({
      reason: 'feed outage',
      account: 'paper-1',
      instrumentId: undefined,
      flatten: true,
      operator: undefined,
    });
    const bad: unknown[] = [
      null,
      [],
      'halt',
      {},
      { reason: '   ' },
      { reason: 'x'.repeat(501) },
      { reason: 'a\nb' },
      { reason: 'ok', account: "paper-1'" },
      { reason: 'ok', instrument: 'BTCUSDT' },
      { reason: 'ok', flatten: 'yes' },
      { reason: 'ok', extra: 1 },
      { reason: 42 },
      { reason: 'ok', operator: 'a b' },
    ];
    for (const body of bad) expect([body, status(() => actionBody(body, 'HALT'))]).toEqual([body, 400]);
    expect(status(() => actionBody({ reason: 'ok', flatten: true }, 'RESUME'))).toBe(400);
    try {
      actionBody({ reason: '' }, 'HALT');
    } catch (error) {
      expect((error as ApiError).code).toBe('REASON_REQUIRED');
    }
  });
});

describe('console SQL building', () => {
  it('refuses to put an unvalidated value into SQL', () => {
    for (const value of HOSTILE) {
      // The pattern is the guard; even a permissive one cannot let a quote, backslash, space or ';' through.
      if (/['"\\\s;]/.test(value)) expect(() => literal(value, /^.*$/s)).toThrow(TickflowError);
      expect(() => literal(value, INSTRUMENT)).toThrow(TickflowError);
      expect(() => barsSql({ instrument: value, interval: '1m', limit: 10 })).toThrow(TickflowError);
      expect(() => fillsSql({ account: value, limit: 10 })).toThrow(TickflowError);
    }
    expect(() => barsSql({ instrument: 'A:B', interval: "1m'", limit: 10 })).toThrow(TickflowError);
    expect(() => barsSql({ instrument: 'A:B', interval: '1m', limit: 0.5 })).toThrow(TickflowError);
    expect(() => signalsSql({ status: "ACCEPTED' OR 1=1", limit: 1 })).toThrow(TickflowError);
  });

  it('builds the expected statements from valid values', () => {
    expect(barsSql({ instrument: 'BINANCE-FUT:BTCUSDT', interval: '1m', from: Date.UTC(2020, 1, 22), limit: 5 })).toBe(
      "SELECT * FROM (SELECT ts, open, high, low, close, volume, vwap, trade_count, revision, final FROM bars WHERE instrument_id = 'BINANCE-FUT:BTCUSDT' AND interval = '1m' AND ts >= '2020-02-22T00:00:00.000Z' ORDER BY ts DESC LIMIT 5) ORDER BY ts",
    );
    const open = ordersSql({ account: 'paper-1', open: true, limit: 10 });
    expect(open).toContain("o.status IN ('ACCEPTED', 'TRIGGERED', 'PARTIALLY_FILLED')");
    expect(open).toContain('max(seq) seq');
    expect(open).toContain("o.account = 'paper-1'");
    expect(ordersSql({ status: 'FILLED', limit: 3 })).toContain("WHERE status = 'FILLED'");
    expect(positionsSql({})).toContain('LATEST ON ts PARTITION BY account, instrument_id');
  });

  it('returns money as exact decimal strings without the scale’s zeros', () => {
    expect(
      ['9682.310000000000', '0.317000000000', '-0.003170000000', '100.000000000000', '-0.000000', '12'].map(
        decimalText,
      ),
    ).toEqual(['9682.31', '0.317', '-0.00317', '100', '0', '12']);
    const rows = rowsOf({
      columns: [
        { name: 'ts', type: 'TIMESTAMP' },
        { name: 'avg_fill_price', type: 'DECIMAL(38,12)' },
        { name: 'fee', type: 'DECIMAL(38,12)' },
        { name: 'trade_count', type: 'INT' },
      ],
      dataset: [['2020-02-22T00:00:00.000000Z', '123456789012345678.123456789012', null, 3]],
      count: 1,
    });
    expect(rows).toEqual([
      { ts: '2020-02-22T00:00:00.000000Z', avgFillPrice: '123456789012345678.123456789012', fee: null, tradeCount: 3 },
    ]);
  });
});
