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
  return new StageDriver(validateStage(parseConfig('validate', VALIDATE_CONFIG, settings)), { clock: fixedClock(nowMicros) }).run(candidates).out.map((o) => ({ ...(o.value as Signal), topic: o.topic }) as Signal & { topic: string });
}

const summary = (signals: Signal[]): (string | null)[][] => signals.map((s) => [(s as Signal & { topic: string }).topic, s.status, s.rejectCode]);

describe('validate', () => {
  it('accepts a fresh, confident, in-session candidate onto signals.v1, keeping everything it carried', () => {
    const [signal] = validate([candidate()]);
    expect(summary([signal])).toEqual([['signals.v1', 'ACCEPTED', null]]);
    expect([signal.price.toFixed(), signal.features, signal.reason, signal.tsValidated]).toEqual(['101.25', { ema_12: 101 }, 'test', T + S]);
  });

  it('rejects stale and low-confidence candidates with reasons, onto signals.rejected.v1', () => {
    const signals = validate([candidate({ tsEvent: T - 30 * S, id: 'old' }), candidate({ confidence: 0.3, id: 'weak' })], {}, T + S);
    expect(summary(signals)).toEqual([
      ['signals.rejected.v1', 'REJECTED', 'STALE'],
      ['signals.rejected.v1', 'REJECTED', 'LOW_CONFIDENCE'],
    ]);
    expect(signals[0].rejectDetail).toBe('31.000 s old by the wall clock (limit 10 s)');
    expect(signals[1].rejectDetail).toBe('confidence 0.300 is below 0.6');
  });

  it('with the event clock, measures age against the instrument\'s newest candidate', () => {
    const signals = validate([candidate({ tsEvent: T, id: 'a' }), candidate({ tsEvent: T - 20 * S, id: 'b', side: 'SELL' }), candidate({ tsEvent: T + 5 * S, id: 'c', instrumentId: 'SYN:B', side: 'SELL' })], { clock: 'event' }, 0);
    expect(summary(signals)).toEqual([
      ['signals.v1', 'ACCEPTED', null],
      ['signals.rejected.v1', 'REJECTED', 'STALE'],
      ['signals.v1', 'ACCEPTED', null],
    ]);
  });

  it('rejects a repeat within the cooldown and the same candidate again, but not the other side or after the cooldown', () => {
    const signals = validate(
      [candidate({ id: 'a' }), candidate({ id: 'a' }), candidate({ id: 'b', tsEvent: T + 60 * S }), candidate({ id: 'c', tsEvent: T + 60 * S, side: 'SELL' }), candidate({ id: 'd', tsEvent: T + 301 * S })],
      { clock: 'event' },
    );
    expect(summary(signals).map((s) => s[2])).toEqual([null, 'DUPLICATE', 'DUPLICATE', null, null]);
  });

  it('rejects signals outside the instrument\'s session', () => {
    const saturday = Date.UTC(2024, 0, 6, 15) * 1000;
    const signals = validate([candidate({ instrumentId: 'SYN-EQ:A', venue: 'SYN-EQ', tsEvent: T, id: 'weekday' }), candidate({ instrumentId: 'SYN-EQ:A', venue: 'SYN-EQ', tsEvent: saturday, side: 'SELL' })], { clock: 'event' }, 0);
    expect(summary(signals).map((s) => s[2])).toEqual([null, 'OUTSIDE_SESSION']);
    expect(signals[1].rejectDetail).toBe('the us-equity session of SYN-EQ:A is closed at 2024-01-06T15:00:00.000Z');
  });
});
