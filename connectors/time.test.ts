import { MAX_TIMESTAMP_MICROS, MIN_TIMESTAMP_MICROS } from './time';
import { checkedMicros, checkedMillis, pacingMicros, utcMicros } from './time';
import { TickflowError, isRecordError } from '../pipelines/runtime/errors';

/** The TickflowError `fn` throws (failing the test when it throws anything else or nothing). */
function recordError(fn: () => unknown): TickflowError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  if (!isRecordError(thrown)) throw new Error(`expected a TickflowError, got ${String(thrown)}`);
  expect(thrown.code).toBe('PARSE_ERROR');
  return thrown;
}

const message = (fn: () => unknown): string => recordError(fn).message;

/** utcMicros of `yyyy-MM-dd HH:mm:ss[.ffffff][offset]`, split at the separators, so any field may be wrong. */
function iso(text: string): number {
  const [date, time] = text.split(' ');
  const [y, mo, d] = date.split('-');
  const m = /^(\d+):(\d+):(\d+)(?:\.(\d*))?(Z|[+-].*)?$/.exec(time);
  if (!m) throw new Error(`bad test input ${text}`);
  return utcMicros(y, mo, d, m[1], m[2], m[3], m[4] ?? '', 'time', m[5] ?? 'Z');
}

describe('timestamps a parser accepts', () => {
  it('range from 1980-01-01 (inclusive) to 2100-01-01 (exclusive)', () => {
    expect(MIN_TIMESTAMP_MICROS).toBe(Date.UTC(1980, 0, 1) * 1000);
    expect(MAX_TIMESTAMP_MICROS).toBe(Date.UTC(2100, 0, 1) * 1000);
    expect(Number.isSafeInteger(MAX_TIMESTAMP_MICROS * 2)).toBe(true);
  });

  it('checks integer timestamps: integer, in range, naming the field', () => {
    expect(checkedMicros(MIN_TIMESTAMP_MICROS, 'ts')).toBe(MIN_TIMESTAMP_MICROS);
    expect(checkedMicros(MAX_TIMESTAMP_MICROS - 1, 'ts')).toBe(MAX_TIMESTAMP_MICROS - 1);
    expect(message(() => checkedMicros(MIN_TIMESTAMP_MICROS - 1, 'tsEvent'))).toBe(
      'tsEvent 315532799999999 (1979-12-31T23:59:59.999Z) is before 1980-01-01T00:00:00Z',
    );
    expect(message(() => checkedMicros(MAX_TIMESTAMP_MICROS, 'tsRecv'))).toBe(
      'tsRecv 4102444800000000 (2100-01-01T00:00:00.000Z) is not before 2100-01-01T00:00:00Z',
    );
    // Seconds, milliseconds and nanoseconds taken for microseconds all fall outside.
    for (const wrongUnit of [1_700_000_000, 1_700_000_000_000, 1_700_000_000_000_000_000]) {
      expect(() => checkedMicros(wrongUnit, 'ts')).toThrow(TickflowError);
    }
    for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, -1, 9e18, 2 ** 53 + 2]) {
      const error = recordError(() => checkedMicros(bad, 'ts'));
      expect(error.message.length).toBeLessThan(120);
    }
  });

  it('checks millisecond timestamps and converts them exactly', () => {
    expect(checkedMillis(1672515782136, 'T')).toBe(1672515782136000);
    expect(message(() => checkedMillis(9e15, 'T'))).toBe('T 9000000000000000 ms is not before 2100-01-01T00:00:00Z');
    expect(message(() => checkedMillis(4102444800000, 'T'))).toBe(
      'T 4102444800000 ms (2100-01-01T00:00:00.000Z) is not before 2100-01-01T00:00:00Z',
    );
    expect(message(() => checkedMillis(1, 'E'))).toMatch(/^E 1 ms \(1970-01-01T00:00:00.001Z\) is before 1980/);
    expect(message(() => checkedMillis(0.5, 'E'))).toMatch(/not an integer number of milliseconds/);
  });

  it('gives replay pacing a time or NaN, never an exception', () => {
    expect(pacingMicros(MIN_TIMESTAMP_MICROS)).toBe(MIN_TIMESTAMP_MICROS);
    for (const bad of [MAX_TIMESTAMP_MICROS, 0, 1.5, '1700000000000000', null, undefined, {}, Number.NaN]) {
      expect(pacingMicros(bad)).toBeNaN();
    }
  });

  it('reads calendar times exactly as Date.UTC does for every valid time', () => {
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
    for (let i = 0; i < 5000; i++) {
      const [y, mo, h, mi, s, us] = [1980 + next(120), 1 + next(12), next(24), next(60), next(60), next(1_000_000)];
      const d = 1 + next(new Date(Date.UTC(y, mo, 0)).getUTCDate());
      const expected = Date.UTC(y, mo - 1, d, h, mi, s) * 1000 + us;
      expect(utcMicros(String(y), pad(mo), pad(d), pad(h), pad(mi), pad(s), pad(us, 6), 'time')).toBe(expected);
    }
    expect(iso('2013-01-01 22:00:00.295')).toBe(Date.UTC(2013, 0, 1, 22, 0, 0, 295) * 1000);
    expect(iso('2013-01-01 22:00:00.2')).toBe(Date.UTC(2013, 0, 1, 22, 0, 0, 200) * 1000);
    expect(iso('1980-01-01 00:00:00')).toBe(MIN_TIMESTAMP_MICROS);
    expect(iso('2099-12-31 23:59:59.999999')).toBe(MAX_TIMESTAMP_MICROS - 1);
  });

  it('knows leap years', () => {
    expect(iso('2024-02-29 12:00:00')).toBe(Date.UTC(2024, 1, 29, 12) * 1000);
    expect(iso('2000-02-29 12:00:00')).toBe(Date.UTC(2000, 1, 29, 12) * 1000);
    expect(message(() => iso('2023-02-29 12:00:00'))).toBe("time: day '29' is not a day of 2023-02, which has 28");
    expect(message(() => iso('2024-02-30 12:00:00'))).toMatch(/day '30' is not a day of 2024-02, which has 29/);
    expect(message(() => iso('2024-04-31 12:00:00'))).toMatch(/day '31' is not a day of 2024-04/);
  });

  it.each([
    ['a 2-digit year', '13-01-01 22:00:00', /year '13' is not 4 digits/],
    ['a 3-digit year', '013-01-01 22:00:00', /year '013' is not 4 digits/],
    ['a 2-digit year padded to 4', '0013-01-01 22:00:00', /is before 1980-01-01/],
    ['a 3-digit year padded to 4', '0999-01-01 22:00:00', /is before 1980-01-01/],
    ['a year before 1980', '1979-12-31 23:59:59.999999', /is before 1980-01-01/],
    ['a year from 2100', '2100-01-01 00:00:00', /is not before 2100-01-01/],
    ['month 13', '2013-13-01 22:00:00', /month '13' is not 2 digits in 01-12/],
    ['month 00', '2013-00-01 22:00:00', /month '00'/],
    ['day 32', '2013-01-32 22:00:00', /day '32' is not 2 digits in 01-31/],
    ['day 00', '2013-01-00 22:00:00', /day '00'/],
    ['hour 24', '2013-01-01 24:00:00', /hour '24' is not 2 digits in 00-23/],
    ['hour 99', '2013-01-01 99:00:00', /hour '99'/],
    ['minute 60', '2013-01-01 22:60:00', /minute '60' is not 2 digits in 00-59/],
    ['minute 61', '2013-01-01 22:61:00', /minute '61'/],
    ['a leap second', '2016-12-31 23:59:60', /second '60' is not 2 digits in 00-59/],
    ['a 1-digit hour', '2013-01-01 9:00:00', /hour '9'/],
    ['7 fraction digits', '2013-01-01 22:00:00.1234567', /fraction '1234567' is not up to 6 digits/],
    ['offset +99:00', '2013-01-01 22:00:00+99:00', /UTC offset '\+99:00' is not Z or \+HH:MM\/-HH:MM within ±14:00/],
    ['offset +14:01', '2013-01-01 22:00:00+14:01', /UTC offset '\+14:01'/],
    ['offset -05:60', '2013-01-01 22:00:00-05:60', /UTC offset '-05:60'/],
    ['offset without a colon', '2013-01-01 22:00:00+0100', /UTC offset '\+0100'/],
  ])('refuses %s naming the field, never rolling over', (_what, text, message) => {
    const error = recordError(() => iso(text));
    expect(error.message).toMatch(/^time/);
    expect(error.message).toMatch(message);
  });

  it('applies offsets within ±14:00', () => {
    const utc = Date.UTC(2013, 0, 1, 22) * 1000;
    expect(iso('2013-01-01 22:00:00Z')).toBe(utc);
    expect(iso('2013-01-01 23:30:00+01:30')).toBe(utc);
    expect(iso('2013-01-01 17:00:00-05:00')).toBe(utc);
    expect(iso('2013-01-02 12:00:00+14:00')).toBe(utc);
    expect(iso('2013-01-01 10:00:00-12:00')).toBe(utc);
    // An offset may move a time across the range's edge.
    expect(message(() => iso('1980-01-01 00:30:00+01:00'))).toMatch(/before 1980-01-01/);
  });
});
