import type { Candidate, Signal } from '../../schemas/types.generated';
import { Decimal } from '../../schemas/decimal';
import { parseConfig } from '../runtime/config';
import { StageDriver, fixedClock } from '../runtime/test-driver';
import { VALIDATE_CONFIG, validateStage } from './validate';

// Wednesday 2024-01-03 14:00 UTC: inside US equity hours.
const T = Date.UTC(2024, 0, 3, 14) * 1000;
const S = 1_000_000;

function candidate(overrides: Partial<Candidate> = {}): Candidate {
  const tsEvent = overrides.tsEvent ?? T;
  return {
    id: `ema-cross-rsi:SYN:A:1m:${tsEvent - 60 * S}`,
    strategy: 'ema-cross-rsi',
    instrumentId: 'SYN:A',
    venue: 'SYN',
    symbol: 'A',
    source: 'test',
    interval: '1m',
    side: 'BUY',
    confidence: 0.8,
    reason: 'test',
    price: new Decimal('101.25'),
    barStart: tsEvent - 60 * S,
    barRevision: 0,
    tsEvent,
    tsRecv: tsEvent,
    features: { ema_12: 101 },
    ...overrides,
  };
}

function validate(candidates: Candidate[], settings: Record<string, string> = {}, nowMicros = T + S): Signal[] {
  return new StageDriver(validateStage(parseConfig('validate', VALIDATE_CONFIG, settings)), {
    clock: fixedClock(nowMicros),
  })
    .run(candidates)
    .out.map((o) => ({ ...(o.value as Signal), topic: o.topic }) as Signal & { topic: string });
}

const summary = (signals: Signal[]): (string | null)[][] =>
  signals.map((s) => [(s as Signal & { topic: string }).topic, s.status, s.rejectCode]);

describe('validate', () => {
  it('accepts a fresh, confident, in-session candidate onto signals.v1, keeping everything it carried', () => {
    const [signal] = validate([candidate()]);
    expect(summary([signal])).toEqual([['signals.v1', 'ACCEPTED', null]]);
    expect([signal.price.toFixed(), signal.features, signal.reason, signal.tsValidated]).toEqual([
      '101.25',
      { ema_12: 101 },
      'test',
      T + S,
    ]);
  });

  it('rejects stale and low-confidence candidates with reasons, onto signals.rejected.v1', () => {
    const signals = validate(
      [candidate({ tsEvent: T - 30 * S, id: 'old' }), candidate({ confidence: 0.3, id: 'weak' })],
      {},
      T + S,
    );
    expect(summary(signals)).toEqual([
      ['signals.rejected.v1', 'REJECTED', 'STALE'],
      ['signals.rejected.v1', 'REJECTED', 'LOW_CONFIDENCE'],
    ]);
    expect(signals[0].rejectDetail).toBe('31.000 s old by the wall clock (limit 10 s)');
    expect(signals[1].rejectDetail).toBe('confidence 0.300 is below 0.6');
  });

  it("with the event clock, measures age against the instrument's newest candidate", () => {
    const signals = validate(
      [
        candidate({ tsEvent: T, id: 'a' }),
        candidate({ tsEvent: T - 20 * S, id: 'b', side: 'SELL' }),
        candidate({ tsEvent: T + 5 * S, id: 'c', instrumentId: 'SYN:B', side: 'SELL' }),
      ],
      { clock: 'event' },
      0,
    );
    expect(summary(signals)).toEqual([
      ['signals.v1', 'ACCEPTED', null],
      ['signals.rejected.v1', 'REJECTED', 'STALE'],
      ['signals.v1', 'ACCEPTED', null],
    ]);
  });

  it('rejects a repeat within the cooldown and the same candidate again, but not the other side or after the cooldown', () => {
    const signals = validate(
      [
        candidate({ id: 'a' }),
        candidate({ id: 'a' }),
        candidate({ id: 'b', tsEvent: T + 60 * S }),
        candidate({ id: 'c', tsEvent: T + 60 * S, side: 'SELL' }),
        candidate({ id: 'd', tsEvent: T + 301 * S }),
      ],
      { clock: 'event' },
    );
    expect(summary(signals).map((s) => s[2])).toEqual([null, 'DUPLICATE', 'DUPLICATE', null, null]);
  });

  it("rejects signals outside the instrument's session", () => {
    // Wednesday 2024-01-03 15:00 UTC is 10:00 in New York: the XNYS regular session is open.
    const saturday = Date.UTC(2024, 0, 6, 15) * 1000;
    const signals = validate(
      [
        candidate({ instrumentId: 'SYN-EQ:A', venue: 'SYN-EQ', tsEvent: T + 3600 * S, id: 'weekday' }),
        candidate({ instrumentId: 'SYN-EQ:A', venue: 'SYN-EQ', tsEvent: saturday, side: 'SELL' }),
      ],
      { clock: 'event' },
      0,
    );
    expect(summary(signals).map((s) => s[2])).toEqual([null, 'OUTSIDE_SESSION']);
    expect(signals[1].rejectDetail).toBe('the XNYS session of SYN-EQ:A is closed at 2024-01-06T15:00:00.000Z');
  });

  it('knows the exchange calendar: pre-market, a holiday, an early close and DST are outside the regular session', () => {
    // One instrument each: the event clock is per instrument.
    let n = 0;
    const at = (iso: string, id: string): Candidate =>
      candidate({ instrumentId: `SYN-EQ:C${n++}`, venue: 'SYN-EQ', tsEvent: Date.parse(iso) * 1000, id });
    const signals = validate(
      [
        at('2024-01-03T14:00:00Z', 'pre-market 09:00 New York'),
        at('2024-07-04T15:00:00Z', 'Independence Day'),
        at('2024-11-29T18:30:00Z', 'after the 13:00 early close'),
        at('2024-11-29T17:30:00Z', 'before the early close'),
        at('2024-07-05T13:45:00Z', 'summer time: 09:45 New York'),
      ],
      { clock: 'event' },
      0,
    );
    expect(signals.map((s) => [s.id, s.rejectCode])).toEqual([
      ['pre-market 09:00 New York', 'OUTSIDE_SESSION'],
      ['Independence Day', 'OUTSIDE_SESSION'],
      ['after the 13:00 early close', 'OUTSIDE_SESSION'],
      ['before the early close', null],
      ['summer time: 09:45 New York', null],
    ]);
  });
});
