import type { QualityEvent, RawRecord, Trade } from '../../schemas/types.generated';
import { parseConfig } from '../runtime/config';
import { systemClock } from '../runtime/stage';
import { StageDriver } from '../runtime/test-driver';
import { NORMALIZE_CONFIG, normalizeStage } from './normalize';

/**
 * Real markets move while nobody trades: overnight, over a weekend, during a halt, between a file
 * and one recorded a year later. The first trades at the new level are legitimate and must reach
 * the bars; a single bad print must still be caught once the band has formed again. Trades come in
 * as tickflow NDJSON lines through the whole normalize stage (parser, calendar, rules).
 */
const S = 1_000_000;
const MINUTE = 60 * S;

let sequence = 0;
function line(venue: string, symbol: string, tsEvent: number, fields: Record<string, unknown>): RawRecord {
  sequence += 1;
  return {
    source: 'ndjson-file',
    format: 'tickflow-ndjson',
    tsRecv: tsEvent + 100,
    origin: `test:${sequence}`,
    sequence,
    payload: JSON.stringify({ venue, symbol, tsEvent, tsRecv: tsEvent + 100, ...fields }),
  };
}

function trade(venue: string, symbol: string, tsEvent: number, price: number): RawRecord {
  return line(venue, symbol, tsEvent, {
    type: 'trade',
    price: price.toFixed(2),
    size: '1',
    side: 'BUY',
    tradeId: `t${sequence + 1}`,
  });
}

function quote(venue: string, symbol: string, tsEvent: number, bid: number, ask: number): RawRecord {
  return line(venue, symbol, tsEvent, {
    type: 'quote',
    bidPrice: bid.toFixed(2),
    bidSize: '5',
    askPrice: ask.toFixed(2),
    askSize: '5',
  });
}

/** `count` trades from `start`, `every` apart, wobbling a few cents around `level`. */
function session(
  venue: string,
  symbol: string,
  start: number,
  every: number,
  count: number,
  level: number,
): RawRecord[] {
  return Array.from({ length: count }, (_, i) => trade(venue, symbol, start + i * every, level + ((i * 7) % 5) * 0.01));
}

function run(records: RawRecord[]): { accepted: Trade[]; outliers: QualityEvent[]; findings: QualityEvent[] } {
  const driver = new StageDriver(normalizeStage(parseConfig('normalize', NORMALIZE_CONFIG, {})), {
    topic: 'md.raw.tickflow.v1',
    batchSize: 97,
  });
  const out = driver.run(records).out;
  const findings = out.filter((o) => o.topic === 'md.quality.v1').map((o) => o.value as QualityEvent);
  return {
    accepted: out.filter((o) => o.topic === 'md.trades.v1').map((o) => o.value as Trade),
    outliers: findings.filter((f) => f.rule === 'PRICE_OUTLIER'),
    findings,
  };
}

describe('level shifts are not outliers', () => {
  it('keeps every trade of an 8% opening gap on an equity (XNYS calendar), and still catches a bad print', () => {
    // Wednesday 2024-01-03 09:30-10:30 New York, then Thursday opens 8% higher.
    const day1 = session('SYN-EQ', 'GAP', Date.UTC(2024, 0, 3, 14, 30) * 1000, 10 * S, 360, 100);
    const day2 = session('SYN-EQ', 'GAP', Date.UTC(2024, 0, 4, 14, 30) * 1000, 10 * S, 360, 108);
    const bad = trade('SYN-EQ', 'GAP', Date.UTC(2024, 0, 4, 15, 3, 15) * 1000, 130);
    const { accepted, outliers } = run([...day1, ...day2.slice(0, 200), bad, ...day2.slice(200)]);
    expect(accepted).toHaveLength(720);
    expect(outliers.map((o) => JSON.parse(o.record as string).price)).toEqual(['130']);
  });

  it('keeps the Monday open after a weekend gap', () => {
    const friday = session('SYN-EQ', 'WKD', Date.UTC(2024, 0, 5, 19, 0) * 1000, 5 * S, 200, 50);
    const monday = session('SYN-EQ', 'WKD', Date.UTC(2024, 0, 8, 14, 30) * 1000, 5 * S, 200, 46);
    const { accepted, outliers } = run([...friday, ...monday]);
    expect([accepted.length, outliers.length]).toEqual([400, 0]);
  });

  it('keeps the trades after a halt: a long halt ages the band out, a short one is corroborated by the quotes', () => {
    // A 24/7 instrument: trading every second at 100, a 10-minute halt, resumption at 110.
    const t0 = Date.UTC(2024, 0, 3, 12) * 1000;
    const before = session('SYN', 'HALT', t0, S, 120, 100);
    const after = session('SYN', 'HALT', t0 + 130 * S + 10 * MINUTE, S, 120, 110);
    const long = run([...before, ...after]);
    expect([long.accepted.length, long.outliers.length]).toEqual([240, 0]);
    // A 90-second halt with the same 10% jump: the band still holds pre-halt prices, but the
    // quotes moved with the market and corroborate the new level.
    const shortAfter = after.map((r, i) =>
      trade('SYN', 'HALT2', t0 + 210 * S + i * S, JSON.parse(r.payload).price * 1),
    );
    const quotes = shortAfter.map((_r, i) => quote('SYN', 'HALT2', t0 + 210 * S + i * S - 200_000, 109.9, 110.2));
    const interleaved = shortAfter.flatMap((r, i) => [quotes[i], r]);
    const short = run([...session('SYN', 'HALT2', t0, S, 120, 100), ...interleaved]);
    expect([short.accepted.length, short.outliers.length]).toEqual([240, 0]);
    // The same without quotes is the one case the band alone cannot tell: it follows after half a window.
    const bare = run([
      ...session('SYN', 'HALT3', t0, S, 120, 100),
      ...shortAfter.map((r) => trade('SYN', 'HALT3', JSON.parse(r.payload).tsEvent, JSON.parse(r.payload).price * 1)),
    ]);
    expect(bare.outliers.length).toBeGreaterThan(0);
    expect(bare.outliers.length).toBeLessThanOrEqual(26);
  });

  it('keeps a file recorded a year after the last one, whatever its level', () => {
    const y2023 = session('SYN', 'YEAR', Date.UTC(2023, 5, 1, 12) * 1000, S, 100, 30_000);
    const y2024 = session('SYN', 'YEAR', Date.UTC(2024, 5, 3, 12) * 1000, S, 100, 67_000);
    const bad = trade('SYN', 'YEAR', Date.UTC(2024, 5, 3, 12, 5) * 1000, 6_700);
    const { accepted, outliers } = run([...y2023, ...y2024, bad]);
    expect(accepted).toHaveLength(200);
    expect(outliers.map((o) => JSON.parse(o.record as string).price)).toEqual(['6700']);
  });

  it('an FX week: the band starts afresh at the Sunday 17:00 New York open', () => {
    const friday = session('TRUEFX', 'EUR/XYZ', Date.UTC(2024, 0, 5, 21, 0) * 1000, S, 60, 1.1);
    // Sunday 2024-01-07 22:00 UTC is 17:00 New York: the FX week opens 3% away.
    const sunday = session('TRUEFX', 'EUR/XYZ', Date.UTC(2024, 0, 7, 22, 0, 1) * 1000, S, 60, 1.133);
    const { accepted, outliers } = run([...friday, ...sunday]);
    expect([accepted.length, outliers.length]).toEqual([120, 0]);
  });
});

describe('one mis-stamped record cannot block an instrument', () => {
  it('flags a trade stamped in the future of its receive time and keeps processing the next ones', () => {
    const t0 = Date.UTC(2024, 0, 3, 12) * 1000;
    const future = line('SYN', 'FUT', t0 + 5 * S, {
      type: 'trade',
      price: '100',
      size: '1',
      side: 'BUY',
      tradeId: 'future',
    });
    const stamped = {
      ...future,
      payload: future.payload.replace(`"tsEvent":${t0 + 5 * S}`, `"tsEvent":${Date.UTC(2099, 0, 1) * 1000}`),
    };
    const { accepted, findings } = run([
      ...session('SYN', 'FUT', t0, S, 5, 100),
      stamped,
      ...session('SYN', 'FUT', t0 + 6 * S, S, 5, 100),
    ]);
    expect(accepted).toHaveLength(10);
    expect(findings.map((f) => [f.rule, f.flagged])).toEqual([['FUTURE_TIMESTAMP', true]]);
    expect(findings[0].detail).toMatch(/after its receive time/);
  });

  it('flags a record whose receive time is ahead of the processing clock', () => {
    const ahead = systemClock.nowMicros() + 3600 * S;
    const { accepted, findings } = run([
      trade('SYN', 'FUT2', ahead, 100),
      ...session('SYN', 'FUT2', systemClock.nowMicros() - 10 * S, S, 3, 100),
    ]);
    expect(accepted).toHaveLength(3);
    expect(findings.map((f) => f.rule)).toEqual(['FUTURE_TIMESTAMP']);
    expect(findings[0].detail).toMatch(/ahead of the processing clock/);
  });
});
