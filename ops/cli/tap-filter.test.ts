import { Decimal } from '../../schemas/decimal';
import { keyMatcher, matches, parseCondition, recordFilter } from './tap-filter';
import { tapStart } from './commands/tap';

describe('tap filters', () => {
  const trade = { price: new Decimal('9706.13'), size: new Decimal('0.001'), side: 'BUY', tsEvent: 1582331280000000 };

  test('decimals compare exactly, not as floats', () => {
    expect(matches(parseCondition('price>=9706.13'), trade)).toBe(true);
    expect(matches(parseCondition('price>9706.13'), trade)).toBe(false);
    expect(matches(parseCondition('price<9706.130000000001'), trade)).toBe(true);
    expect(matches(parseCondition('size=0.0010'), trade)).toBe(true);
  });

  test('text, regular expressions, missing fields and nested paths', () => {
    expect(matches(parseCondition('side=BUY'), trade)).toBe(true);
    expect(matches(parseCondition('side!=BUY'), trade)).toBe(false);
    expect(matches(parseCondition('side~^B'), trade)).toBe(true);
    expect(matches(parseCondition('venue=X'), trade)).toBe(false);
    expect(matches(parseCondition('venue!=X'), trade)).toBe(true);
    expect(matches(parseCondition('reasons.0.code=MAX_NOTIONAL'), { reasons: [{ code: 'MAX_NOTIONAL' }] })).toBe(true);
  });

  test('ts fields take ISO times', () => {
    expect(matches(parseCondition('tsEvent>=2020-02-22T00:28:00Z'), trade)).toBe(true);
    expect(matches(parseCondition('tsEvent<2020-02-22T00:28:00Z'), trade)).toBe(false);
  });

  test('bad expressions name the fix', () => {
    expect(() => parseCondition('price')).toThrow(/not FIELD OP VALUE/);
    expect(() => parseCondition('side~(')).toThrow(/regular expression/);
  });

  test('key globs and the combined filter', () => {
    expect(keyMatcher('BINANCE-FUT:*')('BINANCE-FUT:BTCUSDT')).toBe(true);
    expect(keyMatcher('BINANCE-FUT:*')('XBINANCE-FUT:BTCUSDT')).toBe(false);
    expect(keyMatcher('a.b')('axb')).toBe(false);
    const keep = recordFilter(['K1', 'K2'], ['side=BUY', 'price>9000']);
    expect(keep('K2', trade)).toBe(true);
    expect(keep('K3', trade)).toBe(false);
    expect(keep('K1', { ...trade, side: 'SELL' })).toBe(false);
  });

  test('--from takes beginning, end or an ISO time', () => {
    expect(tapStart(undefined, false)).toEqual({ kind: 'beginning' });
    expect(tapStart('end', false)).toEqual({ kind: 'end' });
    expect(tapStart('2026-11-30T10:00:00Z', false)).toEqual({ kind: 'time', ms: Date.parse('2026-11-30T10:00:00Z') });
    expect(() => tapStart('yesterday', false)).toThrow(/neither beginning, end nor an ISO time/);
    expect(() => tapStart('end', true)).toThrow(/contradicts/);
  });
});
