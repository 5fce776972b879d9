import type { Quote, Trade } from '../../schemas/types.generated';
import type { SourceHeartbeat } from '../../connectors/formats';
import { ALWAYS_OPEN, US_EQUITY_HOURS, sessionOpen } from '../../connectors/reference/instruments';
import { Decimal } from '../../schemas/decimal';
import { parseConfig } from '../runtime/config';
import type { Checked, InstrumentQuality } from './quality';
import type { IdWindow } from './ids';
import { memoryIds } from './ids';
import { QUALITY_CONFIG, emptyQuality, checkHeartbeat, checkQuote, checkTrade, robustBand } from './quality';

const config = parseConfig('normalize', QUALITY_CONFIG, {});
const S = 1_000_000;
const trade = (id: number, price: string, ts: number, size = '1'): Trade => ({
  instrumentId: 'SYN:A',
  venue: 'SYN',
  symbol: 'A',
  source: 's',
  tsEvent: ts,
  tsRecv: ts,
  price: new Decimal(price),
  size: new Decimal(size),
  side: 'BUY',
  tradeId: String(id),
});
const quote = (bid: string, ask: string, ts: number): Quote => ({
  instrumentId: 'SYN:A',
  venue: 'SYN',
  symbol: 'A',
  source: 's',
  tsEvent: ts,
  tsRecv: ts,
  bidPrice: new Decimal(bid),
  bidSize: new Decimal(1),
  askPrice: new Decimal(ask),
  askSize: new Decimal(1),
  sequence: null,
});
const beat = (ts: number): SourceHeartbeat => ({
  instrumentId: 'SYN:A',
  venue: 'SYN',
  symbol: 'A',
  source: 's',
  tsEvent: ts,
  tsRecv: ts,
});

/** Runs trades through checkTrade; returns the rule that flagged each (or '' when accepted) and the end state. */
function trades(
  list: Trade[],
  state: InstrumentQuality = emptyQuality(),
  ids: IdWindow = memoryIds(),
): { rules: string[]; state: InstrumentQuality } {
  const rules: string[] = [];
  for (const t of list) {
    const checked: Checked = checkTrade(state, t, undefined, config, ids);
    state = checked.state;
    rules.push(
      checked.findings
        .filter((f) => f.flagged)
        .map((f) => f.rule)
        .join(',') || '',
    );
  }
  return { rules, state };
}

describe('quality rules', () => {
  it('flags non-positive prices and sizes', () => {
    expect(
      trades([trade(1, '0', S), trade(2, '-1', 2 * S), trade(3, '10', 3 * S, '0'), trade(4, '10', 4 * S)]).rules,
    ).toEqual(['NON_POSITIVE', 'NON_POSITIVE', 'NON_POSITIVE', '']);
  });

  it('flags a repeated trade id inside the window, and an old repeat as out of order, never accepting it twice', () => {
    const { rules } = trades([
      trade(1, '10', S),
      trade(2, '10', 2 * S),
      trade(1, '10', 2 * S),
      trade(3, '10', 20 * S),
      trade(1, '10', S),
    ]);
    expect(rules).toEqual(['', '', 'DUPLICATE_TRADE', '', 'OUT_OF_ORDER']);
  });

  it('tolerates out-of-order trades within the tolerance only', () => {
    const { rules } = trades([
      trade(1, '10', 10 * S),
      trade(2, '10', 10 * S - 999_000),
      trade(3, '10', 10 * S - 1_001_000),
    ]);
    expect(rules).toEqual(['', '', 'OUT_OF_ORDER']);
  });

  it('flags a bad print against the robust band, keeps it out of the median, and follows a real level shift', () => {
    const steady = Array.from({ length: 30 }, (_, i) => trade(i, (100 + (i % 3) * 0.01).toFixed(2), (i + 1) * S));
    const { rules, state } = trades([...steady, trade(100, '110', 40 * S), trade(101, '100.01', 41 * S)]);
    expect(rules.slice(0, 30).every((r) => r === '')).toBe(true);
    expect(rules.slice(30)).toEqual(['PRICE_OUTLIER', '']);
    // the band floor, 50 bps of the median (100.01), is wider than 8 scaled MADs here
    expect(robustBand(state.prices, config)?.halfWidth).toBeCloseTo(0.50005, 9);
    const shifted = Array.from({ length: 40 }, (_, i) => trade(200 + i, '105', (50 + i) * S));
    const after = trades(shifted, state).rules;
    const firstAccepted = after.indexOf('');
    expect(after.slice(0, firstAccepted).every((r) => r === 'PRICE_OUTLIER')).toBe(true);
    // accepted again once the new level is most of the window (50 prices)
    expect(firstAccepted).toBeGreaterThan(10);
    expect(firstAccepted).toBeLessThanOrEqual(26);
    expect(after.slice(firstAccepted).every((r) => r === '')).toBe(true);
  });

  it('flags crossed and locked quotes, and reports a sequence gap without flagging the record', () => {
    let state = emptyQuality();
    const run = (q: Quote, seq: number): string[] => {
      const checked = checkQuote(state, q, seq, config);
      state = checked.state;
      return checked.findings.map((f) => `${f.rule}${f.flagged ? '!' : ''}`);
    };
    expect(run(quote('9.99', '10', S), 1)).toEqual([]);
    expect(run(quote('10.01', '10', 2 * S), 2)).toEqual(['CROSSED_QUOTE!']);
    expect(run(quote('10', '10', 3 * S), 3)).toEqual(['LOCKED_QUOTE!']);
    expect(run(quote('9.99', '10', 4 * S), 7)).toEqual(['SEQUENCE_GAP']);
    expect(run(quote('9.99', '10', 5 * S), 8)).toEqual([]);
  });

  it('reports a stale feed once, only while the session is open, and its resumption', () => {
    let state = checkTrade(emptyQuality(), trade(1, '10', S), undefined, config, memoryIds()).state;
    const hb = (ts: number, session = ALWAYS_OPEN): string[] => {
      const checked = checkHeartbeat(state, beat(ts), session, config);
      state = checked.state;
      return checked.findings.map((f) => f.rule);
    };
    expect(hb(10 * S)).toEqual([]);
    expect(hb(12 * S)).toEqual(['STALE_FEED']);
    expect(hb(20 * S)).toEqual([]);
    const resumed = checkTrade(state, trade(2, '10', 21 * S), undefined, config, memoryIds());
    expect(resumed.findings.map((f) => [f.rule, f.flagged])).toEqual([['FEED_RESUMED', false]]);
    expect(resumed.flagged).toBe(false);
    // Saturday 2024-01-06 12:00 UTC: the equity session is closed, so silence is not staleness.
    const saturday = Date.UTC(2024, 0, 6, 12) * 1000;
    state = checkTrade(emptyQuality(), trade(3, '10', saturday), undefined, config, memoryIds()).state;
    expect(hb(saturday + 60 * S, US_EQUITY_HOURS)).toEqual([]);
  });

  it('knows session hours', () => {
    // XNYS regular hours, 09:30 to 16:00 New York (UTC-5 in January).
    expect(sessionOpen(US_EQUITY_HOURS, Date.UTC(2024, 0, 8, 14, 30) * 1000)).toBe(true); // Monday
    expect(sessionOpen(US_EQUITY_HOURS, Date.UTC(2024, 0, 8, 14, 29) * 1000)).toBe(false);
    expect(sessionOpen(US_EQUITY_HOURS, Date.UTC(2024, 0, 8, 21, 0) * 1000)).toBe(false);
    expect(sessionOpen(US_EQUITY_HOURS, Date.UTC(2024, 0, 7, 14, 0) * 1000)).toBe(false); // Sunday
    expect(sessionOpen(ALWAYS_OPEN, Date.UTC(2024, 0, 7, 14, 0) * 1000)).toBe(true);
  });
});
