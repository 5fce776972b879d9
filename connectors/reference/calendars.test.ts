import type { Bucket, Calendar } from './calendars';
import {
  CALENDARS,
  CRYPTO_24_7,
  FX_24_5,
  XNAS,
  XNYS,
  bucketOf,
  isOpen,
  localToUtc,
  phaseAt,
  sessionBounds,
  sessionCalendar,
  sessionKeyAt,
  tradingDayOf,
  utcOffsetAt,
} from './calendars';
import { FX_DATA, XNYS_DATA } from './calendar-data';
import { ALWAYS_OPEN, FX_HOURS, US_EQUITY_HOURS, calendarOf, instrumentRef, sessionOpen } from './instruments';

const US = 1;
const MIN = 60_000_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** A UTC time `YYYY-MM-DD HH:MM[:SS]` to microseconds. */
const at = (utc: string): number => Date.parse(`${utc.replace(' ', 'T')}Z`) * 1000;
/** Microseconds to UTC `YYYY-MM-DD HH:MM` (whole minutes in these tests). */
const utc = (micros: number): string => new Date(micros / 1000).toISOString().slice(0, 16).replace('T', ' ');
const utcBucket = (b: Bucket): string => `${utc(b.start)} .. ${utc(b.end)}`;
/** The bucket of `iv` holding UTC time `t`, as `YYYY-MM-DD HH:MM .. YYYY-MM-DD HH:MM`. */
const bucket = (cal: Calendar, iv: number, t: string, shift = 0): string => utcBucket(bucketOf(cal, iv, at(t) + shift));
/** A session's bounds as UTC `MM-DD HH:MM`. */
const utcBounds = (cal: Calendar, day: string): string[] | null => {
  const b = sessionBounds(cal, day);
  return b && [b.preOpen, b.open, b.close, b.postClose].map((ts) => utc(ts).slice(5));
};
const NY = 'America/New_York';

describe('time zones', () => {
  it('gives New York offsets across the 2024 DST changes to the microsecond', () => {
    // 2024-03-10 02:00 EST becomes 03:00 EDT at 07:00 UTC; 2024-11-03 02:00 EDT becomes 01:00 EST at 06:00 UTC.
    expect(utcOffsetAt(NY, at('2024-03-10 07:00') - US)).toBe(-5 * HOUR);
    expect(utcOffsetAt(NY, at('2024-03-10 07:00'))).toBe(-4 * HOUR);
    expect(utcOffsetAt(NY, at('2024-11-03 06:00') - US)).toBe(-4 * HOUR);
    expect(utcOffsetAt(NY, at('2024-11-03 06:00'))).toBe(-5 * HOUR);
    expect(utcOffsetAt('Europe/London', at('2024-03-31 01:00'))).toBe(HOUR);
    expect(utcOffsetAt('Asia/Kolkata', at('2024-06-01 00:00'))).toBe(5.5 * HOUR);
  });

  it('maps local wall-clock times to UTC, skipped times forward and repeated times to their first occurrence', () => {
    expect(utc(localToUtc(NY, at('2024-03-10 01:30')))).toBe('2024-03-10 06:30');
    expect(utc(localToUtc(NY, at('2024-03-10 02:30')))).toBe('2024-03-10 07:30'); // 03:30 EDT
    expect(utc(localToUtc(NY, at('2024-03-10 03:00')))).toBe('2024-03-10 07:00');
    expect(utc(localToUtc(NY, at('2024-11-03 01:30')))).toBe('2024-11-03 05:30'); // 01:30 EDT
    expect(utc(localToUtc(NY, at('2024-11-03 02:00')))).toBe('2024-11-03 07:00');
  });
});

describe('XNYS and XNAS', () => {
  it('follows New York daylight saving time around the switch days', () => {
    expect(utcBounds(XNYS, '2024-03-08')).toEqual(['03-08 09:00', '03-08 14:30', '03-08 21:00', '03-09 01:00']);
    expect(utcBounds(XNYS, '2024-03-11')).toEqual(['03-11 08:00', '03-11 13:30', '03-11 20:00', '03-12 00:00']);
    expect(utcBounds(XNYS, '2024-11-01')).toEqual(['11-01 08:00', '11-01 13:30', '11-01 20:00', '11-02 00:00']);
    expect(utcBounds(XNYS, '2024-11-04')).toEqual(['11-04 09:00', '11-04 14:30', '11-04 21:00', '11-05 01:00']);
    // The switch days themselves are Sundays: closed, in both calendars.
    for (const day of ['2024-03-10', '2024-11-03']) {
      expect(sessionBounds(XNYS, day)).toBeNull();
      expect(sessionBounds(XNAS, day)).toBeNull();
    }
    expect(phaseAt(XNYS, at('2024-03-11 13:30'))).toBe('regular');
    expect(phaseAt(XNYS, at('2024-03-08 13:30'))).toBe('pre');
  });

  it('changes phase exactly at the half-open session bounds', () => {
    const day = '2024-07-01'; // a Monday, EDT
    const b = sessionBounds(XNYS, day);
    expect(b).not.toBeNull();
    const { preOpen, open, close, postClose } = b!;
    const all = [preOpen - US, preOpen, open - US, open, close - US, close, postClose - US, postClose];
    const phases = ['closed', 'pre', 'pre', 'regular', 'regular', 'post', 'post', 'closed'];
    expect(all.map((ts) => phaseAt(XNYS, ts))).toEqual(phases);
    expect([open - US, open, close - US, close].map((ts) => isOpen(XNYS, ts))).toEqual([false, true, true, false]);
    const ends = [preOpen - US, preOpen, postClose - US, postClose];
    expect(ends.map((ts) => isOpen(XNYS, ts, { extended: true }))).toEqual([false, true, true, false]);
    expect(ends.map((ts) => tradingDayOf(XNYS, ts))).toEqual([null, day, day, null]);
    // Out of order and back again: the cached interval never answers for a timestamp outside it.
    const jumps = [close, open - US, close - US, preOpen - US];
    expect(jumps.map((ts) => phaseAt(XNYS, ts))).toEqual(['post', 'pre', 'regular', 'closed']);
  });

  it('is closed on weekends', () => {
    for (const ts of [at('2024-07-06 15:00'), at('2024-07-07 15:00'), at('2024-07-06 00:00')]) {
      expect([phaseAt(XNYS, ts), tradingDayOf(XNYS, ts), sessionKeyAt(XNYS, ts)]).toEqual(['closed', null, null]);
    }
    expect(sessionBounds(XNYS, '2024-07-06')).toBeNull();
    // Friday's post-market ends at 20:00 New York, Saturday 00:00 UTC.
    expect(phaseAt(XNYS, at('2024-07-06 00:00') - US)).toBe('post');
  });

  it('is closed on holidays: the 2025-01-09 national day of mourning, Good Friday 2026-04-03', () => {
    for (const cal of [XNYS, XNAS]) {
      for (const day of ['2025-01-09', '2026-04-03', '2024-12-25', '2027-12-24']) {
        expect([cal.name, day, sessionBounds(cal, day)]).toEqual([cal.name, day, null]);
        const noon = at(`${day} 17:00`);
        const extended = isOpen(cal, noon, { extended: true });
        expect([phaseAt(cal, noon), tradingDayOf(cal, noon), extended]).toEqual(['closed', null, false]);
      }
      // The days around them trade normally.
      expect(utcBounds(cal, '2025-01-10')?.[1]).toBe('01-10 14:30');
      expect(utcBounds(cal, '2026-04-02')?.[1]).toBe('04-02 13:30');
    }
    // 2027-12-31: New Year's Day 2028 falls on a Saturday and is not observed.
    expect(utcBounds(XNYS, '2027-12-31')?.[2]).toBe('12-31 21:00');
  });

  it('closes early at 13:00 ET with post-market to 17:00 (2024-11-29)', () => {
    expect(utcBounds(XNYS, '2024-11-29')).toEqual(['11-29 09:00', '11-29 14:30', '11-29 18:00', '11-29 22:00']);
    expect(phaseAt(XNYS, at('2024-11-29 18:00') - US)).toBe('regular');
    expect(phaseAt(XNYS, at('2024-11-29 18:00'))).toBe('post');
    expect(phaseAt(XNYS, at('2024-11-29 22:00') - US)).toBe('post');
    expect(phaseAt(XNYS, at('2024-11-29 22:00'))).toBe('closed');
    expect(utcBounds(XNAS, '2025-12-24')?.[2]).toBe('12-24 18:00');
    expect(utcBounds(XNYS, '2025-12-31')?.[2]).toBe('12-31 21:00'); // New Year's Eve: a full day
  });

  it('holds the published holiday list: 10 holidays a year, 11 in 2025, none on a weekend', () => {
    const perYear = new Map<string, number>();
    for (const day of Object.keys(XNYS_DATA.holidays)) {
      const year = day.slice(0, 4);
      perYear.set(year, (perYear.get(year) ?? 0) + 1);
    }
    expect(Object.fromEntries(perYear)).toEqual({ 2024: 10, 2025: 11, 2026: 10, 2027: 10 });
    expect(Object.keys(XNYS_DATA.earlyCloses)).toEqual([
      ...['2024-07-03', '2024-11-29', '2024-12-24', '2025-07-03', '2025-11-28', '2025-12-24'],
      ...['2026-11-27', '2026-12-24', '2027-11-26'],
    ]);
    expect([XNYS.holidaysKnownFrom, XNYS.holidaysKnownThrough]).toEqual(['2024-01-01', '2027-12-31']);
    expect(XNYS.sources.length).toBeGreaterThan(0);
  });

  it('outside the years with data still knows weekends, hours and DST, but no holidays', () => {
    // Christmas 2023 and MLK Day 2028 were (will be) holidays, but the data does not cover them.
    expect(phaseAt(XNYS, at('2023-12-25 15:00'))).toBe('regular');
    expect(utcBounds(XNYS, '2028-01-17')?.[1]).toBe('01-17 14:30');
    expect('2028-01-17' > (XNYS.holidaysKnownThrough as string)).toBe(true);
    expect(sessionBounds(XNYS, '2028-01-15')).toBeNull(); // a Saturday
    // US DST in 2030 starts on Sunday 2030-03-10.
    expect(utcBounds(XNYS, '2030-03-08')?.[1]).toBe('03-08 14:30');
    expect(utcBounds(XNYS, '2030-03-11')?.[1]).toBe('03-11 13:30');
    expect(utcBounds(XNYS, '2019-07-01')?.[1]).toBe('07-01 13:30');
  });

  it('keys each trading day as its own session', () => {
    expect(sessionKeyAt(XNYS, at('2024-07-01 09:00'))).toBe('2024-07-01');
    expect(sessionKeyAt(XNYS, at('2024-07-01 23:59'))).toBe('2024-07-01');
    expect(sessionKeyAt(XNYS, at('2024-07-02 02:00'))).toBeNull();
    expect(sessionKeyAt(XNYS, at('2024-07-02 09:00'))).toBe('2024-07-02');
  });

  it('rejects a day that is not a date', () => {
    expect(() => sessionBounds(XNYS, '2024-02-30')).toThrow('not a date');
    expect(() => sessionBounds(XNYS, '20240201')).toThrow('not a date');
  });
});

describe('FX 24/5', () => {
  it('opens Sunday 17:00 New York in winter and in summer, and closes Friday 17:00', () => {
    // Winter (EST): 22:00 UTC. Summer (EDT): 21:00 UTC.
    for (const open of [at('2024-01-07 22:00'), at('2024-07-07 21:00')]) {
      expect([phaseAt(FX_24_5, open - US), phaseAt(FX_24_5, open)]).toEqual(['closed', 'regular']);
    }
    for (const close of [at('2024-01-12 22:00'), at('2024-07-12 21:00')]) {
      expect([phaseAt(FX_24_5, close - US), phaseAt(FX_24_5, close)]).toEqual(['regular', 'closed']);
    }
    // The Sunday New York springs forward, the week opens at 17:00 EDT.
    const springSunday = at('2024-03-10 21:00');
    expect([phaseAt(FX_24_5, springSunday - US), phaseAt(FX_24_5, springSunday)]).toEqual(['closed', 'regular']);
    expect(isOpen(FX_24_5, at('2024-01-10 12:00'))).toBe(true);
    expect(isOpen(FX_24_5, at('2024-01-13 12:00'), { extended: true })).toBe(false);
    expect([FX_24_5.holidaysKnownFrom, FX_24_5.holidaysKnownThrough]).toEqual([null, null]);
  });

  it('rolls the trading day at 17:00 New York', () => {
    expect(tradingDayOf(FX_24_5, at('2024-01-07 22:00'))).toBe('2024-01-08'); // Sunday 17:00 EST
    expect(tradingDayOf(FX_24_5, at('2024-01-09 22:00') - US)).toBe('2024-01-09');
    expect(tradingDayOf(FX_24_5, at('2024-01-09 22:00'))).toBe('2024-01-10');
    expect(tradingDayOf(FX_24_5, at('2024-07-09 21:00'))).toBe('2024-07-10');
    expect(tradingDayOf(FX_24_5, at('2024-01-13 12:00'))).toBeNull();
    expect(utcBounds(FX_24_5, '2024-01-08')).toEqual(['01-07 22:00', '01-07 22:00', '01-08 22:00', '01-08 22:00']);
    expect(sessionBounds(FX_24_5, '2024-01-07')).toBeNull();
    expect(phaseAt(FX_24_5, at('2024-01-08 22:00'))).toBe('regular'); // no pre- or post-market
  });

  it('keys the whole week as one session', () => {
    const week = [at('2024-01-07 22:00'), at('2024-01-09 22:00'), at('2024-01-12 22:00') - US];
    expect(week.map((ts) => sessionKeyAt(FX_24_5, ts))).toEqual(['2024-01-08', '2024-01-08', '2024-01-08']);
    expect(sessionKeyAt(FX_24_5, at('2024-01-13 12:00'))).toBeNull();
    expect(sessionKeyAt(FX_24_5, at('2024-01-14 22:00'))).toBe('2024-01-15');
  });
});

describe('24/7', () => {
  it('is always open, trades by UTC date, and is one endless session', () => {
    for (const ts of [at('2024-01-06 12:00'), at('2025-01-09 15:00'), at('2024-03-10 07:00')]) {
      const answers = [phaseAt(CRYPTO_24_7, ts), isOpen(CRYPTO_24_7, ts), sessionKeyAt(CRYPTO_24_7, ts)];
      expect(answers).toEqual(['regular', true, '24x7']);
    }
    expect(tradingDayOf(CRYPTO_24_7, at('2024-01-06 23:59:59'))).toBe('2024-01-06');
    expect(tradingDayOf(CRYPTO_24_7, at('2024-01-07 00:00'))).toBe('2024-01-07');
    expect(utcBounds(CRYPTO_24_7, '2024-01-06')).toEqual(['01-06 00:00', '01-06 00:00', '01-07 00:00', '01-07 00:00']);
  });
});

describe('bucketOf', () => {
  it('is epoch-aligned for 24/7 at every interval, and for every calendar under an hour', () => {
    const ts = at('2024-03-10 07:12:34') + 567;
    for (const iv of [MIN, 5 * MIN, HOUR, 4 * HOUR, DAY, 7 * DAY]) {
      const start = Math.floor(ts / iv) * iv;
      expect(bucketOf(CRYPTO_24_7, iv, ts)).toEqual({ start, end: start + iv });
    }
    for (const cal of [XNYS, FX_24_5]) {
      for (const iv of [1_000_000, MIN, 15 * MIN, 30 * MIN]) {
        const start = Math.floor(ts / iv) * iv;
        expect(bucketOf(cal, iv, ts)).toEqual({ start, end: start + iv });
      }
    }
  });

  it('aligns hourly buckets to the regular open, extended hours on the same grid, cut at the day', () => {
    // 2024-03-11, the Monday after the switch to EDT: open 09:30 EDT = 13:30 UTC.
    expect(bucket(XNYS, HOUR, '2024-03-11 13:30')).toBe('2024-03-11 13:30 .. 2024-03-11 14:30');
    expect(bucket(XNYS, HOUR, '2024-03-11 13:30', -US)).toBe('2024-03-11 12:30 .. 2024-03-11 13:30');
    expect(bucket(XNYS, HOUR, '2024-03-11 08:00')).toBe('2024-03-11 07:30 .. 2024-03-11 08:30');
    expect(bucket(XNYS, HOUR, '2024-03-11 23:45')).toBe('2024-03-11 23:30 .. 2024-03-12 00:30');
    // The Friday before, still EST: open 14:30 UTC.
    expect(bucket(XNYS, HOUR, '2024-03-08 15:00')).toBe('2024-03-08 14:30 .. 2024-03-08 15:30');
    // The first bucket of the day starts at local midnight (04:00 UTC), not at 03:30.
    expect(bucket(XNYS, HOUR, '2024-03-11 04:10')).toBe('2024-03-11 04:00 .. 2024-03-11 04:30');
    // 4 h bars: 09:30, 13:30, 17:30 EDT, then 21:30 to midnight.
    expect(bucket(XNYS, 4 * HOUR, '2024-07-01 20:15')).toBe('2024-07-01 17:30 .. 2024-07-01 21:30');
    expect(bucket(XNYS, 4 * HOUR, '2024-07-02 03:00')).toBe('2024-07-02 01:30 .. 2024-07-02 04:00');
    // FX: the grid runs from 17:00 New York.
    expect(bucket(FX_24_5, 5 * HOUR, '2024-01-08 20:00')).toBe('2024-01-08 18:00 .. 2024-01-08 22:00');
    expect(bucket(FX_24_5, 4 * HOUR, '2024-01-08 03:00')).toBe('2024-01-08 02:00 .. 2024-01-08 06:00');
  });

  it('makes daily buckets the trading day: 23 and 25 hours on DST changes, 17:00 New York for FX', () => {
    expect(bucket(XNYS, DAY, '2024-03-10 12:00')).toBe('2024-03-10 05:00 .. 2024-03-11 04:00');
    expect(bucket(XNYS, DAY, '2024-11-03 12:00')).toBe('2024-11-03 04:00 .. 2024-11-04 05:00');
    expect(bucket(XNYS, DAY, '2024-07-01 15:00')).toBe('2024-07-01 04:00 .. 2024-07-02 04:00');
    expect(bucket(XNYS, DAY, '2024-07-02 03:59:59')).toBe('2024-07-01 04:00 .. 2024-07-02 04:00');
    expect(bucket(FX_24_5, DAY, '2024-01-09 21:00')).toBe('2024-01-08 22:00 .. 2024-01-09 22:00');
    expect(bucket(FX_24_5, DAY, '2024-01-09 22:00')).toBe('2024-01-09 22:00 .. 2024-01-10 22:00');
    // The FX day holding the spring-forward Sunday: Saturday 17:00 EST to Sunday 17:00 EDT, 23 h.
    expect(bucket(FX_24_5, DAY, '2024-03-10 12:00')).toBe('2024-03-09 22:00 .. 2024-03-10 21:00');
  });

  it('groups multi-day buckets by trading days from a fixed Monday', () => {
    // 7 days: weeks from Monday local midnight (exchanges) or Sunday 17:00 New York (FX).
    expect(bucket(XNYS, 7 * DAY, '2024-03-13 15:00')).toBe('2024-03-11 04:00 .. 2024-03-18 04:00');
    expect(bucket(XNYS, 7 * DAY, '2024-03-08 15:00')).toBe('2024-03-04 05:00 .. 2024-03-11 04:00');
    expect(bucket(FX_24_5, 7 * DAY, '2024-01-10 12:00')).toBe('2024-01-07 22:00 .. 2024-01-14 22:00');
    // 2 days, counted from Monday 1970-01-05 (day 4): 2024-07-02 (day 19906) starts a pair.
    expect(bucket(XNYS, 2 * DAY, '2024-07-03 15:00')).toBe('2024-07-02 04:00 .. 2024-07-04 04:00');
    expect(bucket(XNYS, 2 * DAY, '2024-07-02 03:59')).toBe('2024-06-30 04:00 .. 2024-07-02 04:00');
    // Longer than a day but not whole days: epoch-aligned.
    const ts = at('2024-07-02 15:00');
    const iv = 36 * HOUR;
    expect(bucketOf(XNYS, iv, ts)).toEqual({ start: Math.floor(ts / iv) * iv, end: Math.floor(ts / iv) * iv + iv });
  });

  it('tiles time without gaps or overlaps through DST changes, for every calendar and interval', () => {
    const intervals = [HOUR, 2 * HOUR, 3 * HOUR, 4 * HOUR, 6 * HOUR, 8 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY];
    for (const cal of [XNYS, FX_24_5, CRYPTO_24_7]) {
      for (const iv of intervals) {
        for (const from of [at('2024-03-06 00:00'), at('2024-10-30 00:00')]) {
          let previous = bucketOf(cal, iv, from);
          for (let ts = from; ts < from + 14 * DAY; ts += 7 * MIN) {
            const b = bucketOf(cal, iv, ts);
            const fits = b.start <= ts && ts < b.end && b.end - b.start <= iv + HOUR;
            const follows = (b.start === previous.start && b.end === previous.end) || b.start === previous.end;
            if (!fits || !follows) {
              throw new Error(`${cal.name} ${iv / HOUR} h at ${utc(ts)}: ${utcBucket(b)} after ${utcBucket(previous)}`);
            }
            previous = b;
          }
        }
      }
    }
  });
});

describe('calendar data and the instrument reference', () => {
  it('refuses inconsistent calendar data', () => {
    const lateOpen = { ...XNYS_DATA, hours: { ...XNYS_DATA.hours, open: '16:30' } };
    expect(() => sessionCalendar(lateOpen)).toThrow('out of order');
    expect(() => sessionCalendar({ ...XNYS_DATA, holidays: { '2024-07-06': 'Sat' } })).toThrow('not a trading weekday');
    expect(() => sessionCalendar({ ...XNYS_DATA, holidays: { '2028-01-17': 'MLK' } })).toThrow('outside holidaysKnown');
    expect(() => sessionCalendar({ ...FX_DATA, hours: { ...FX_DATA.hours, close: '25:00' } })).toThrow('is not HH:MM');
  });

  it('names each venue its calendar, and keeps the former session names working', () => {
    const names = (ids: string[]): string[] => ids.map((id) => calendarOf(id).name);
    expect(names(['BINANCE:ETHUSDT', 'BINANCE-FUT:BTCUSDT', 'SYN:S0', 'NEW:X'])).toEqual(Array(4).fill('24x7'));
    expect(names(['TRUEFX:EUR/USD', 'ALPHAVANTAGE:EUR/USD', 'TRUEFX:USD/JPY'])).toEqual(['FX', 'FX', 'FX']);
    expect(names(['SYN-EQ:A', 'XNAS:AAPL', 'XNYS:IBM'])).toEqual(['XNYS', 'XNAS', 'XNYS']);
    expect(instrumentRef('SYN-EQ:A').session).toBe(XNYS);
    expect([ALWAYS_OPEN, US_EQUITY_HOURS, FX_HOURS]).toEqual([CRYPTO_24_7, XNYS, FX_24_5]);
    expect(Object.keys(CALENDARS).sort()).toEqual(['24x7', 'FX', 'XNAS', 'XNYS']);
    // sessionOpen is the regular session, holidays and early closes included.
    expect(sessionOpen(US_EQUITY_HOURS, at('2024-01-08 14:00'))).toBe(false); // 09:00 EST: pre-market
    expect(sessionOpen(US_EQUITY_HOURS, at('2024-01-08 14:30'))).toBe(true);
    expect(sessionOpen(US_EQUITY_HOURS, at('2024-01-08 20:00'))).toBe(true); // 15:00 EST
    expect(sessionOpen(US_EQUITY_HOURS, at('2025-01-09 16:00'))).toBe(false);
    expect(sessionOpen(US_EQUITY_HOURS, at('2024-11-29 18:30'))).toBe(false);
    expect(sessionOpen(FX_HOURS, at('2024-01-07 21:59'))).toBe(false);
    expect(sessionOpen(ALWAYS_OPEN, at('2024-01-07 14:00'))).toBe(true);
  });
});

describe('performance (printed, not asserted)', () => {
  it('measures the per-record calls', () => {
    const time = (label: string, timestamps: Float64Array, call: (ts: number) => unknown): string => {
      for (let i = 0; i < timestamps.length; i++) call(timestamps[i]);
      const started = process.hrtime.bigint();
      let sink = 0;
      for (let i = 0; i < timestamps.length; i++) if (call(timestamps[i])) sink++;
      const ns = Number(process.hrtime.bigint() - started) / timestamps.length;
      return `${label.padEnd(44)} ${ns.toFixed(1).padStart(7)} ns/call${sink < 0 ? '' : ''}`;
    };
    const n = 200_000;
    const id = 'SYN-EQ:A';
    // A live stream: 1 ms apart from the Monday open, over 16 minutes.
    const stream = new Float64Array(n).map((_, i) => at('2024-03-11 13:30') + i * 1000);
    // Random times over the four years of data: every call lands on another day.
    let seed = 42;
    const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const scattered = new Float64Array(n).map(() => at('2024-01-01 00:00') + Math.floor(random() * 4 * 365 * DAY));
    const lines = [
      time('phaseAt XNYS, stream', stream, (ts) => phaseAt(XNYS, ts)),
      time('isOpen XNYS extended, stream', stream, (ts) => isOpen(XNYS, ts, { extended: true })),
      time('tradingDayOf XNYS, stream', stream, (ts) => tradingDayOf(XNYS, ts)),
      time('sessionKeyAt FX, stream', stream, (ts) => sessionKeyAt(FX_24_5, ts)),
      time('bucketOf XNYS 1m, stream', stream, (ts) => bucketOf(XNYS, MIN, ts)),
      time('bucketOf XNYS 1h, stream', stream, (ts) => bucketOf(XNYS, HOUR, ts)),
      time('bucketOf XNYS 1d, stream', stream, (ts) => bucketOf(XNYS, DAY, ts)),
      time('sessionOpen(instrumentRef(id).session)', stream, (ts) => sessionOpen(instrumentRef(id).session, ts)),
      time('phaseAt XNYS, scattered over 4 years', scattered, (ts) => phaseAt(XNYS, ts)),
      time('bucketOf FX 1h, scattered over 4 years', scattered, (ts) => bucketOf(FX_24_5, HOUR, ts)),
      time('tradingDayOf 24x7, scattered', scattered, (ts) => tradingDayOf(CRYPTO_24_7, ts)),
    ];
    // Under jest's VM sandbox these read 2 to 10 times slower than in plain node.
    process.stdout.write(`\ncalendar hot calls (${n} calls each, warm caches, under jest):\n${lines.join('\n')}\n`);
  });
});
