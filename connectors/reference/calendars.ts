import type { CalendarData, Weekday } from './calendar-data';
import { FX_DATA, XNAS_DATA, XNYS_DATA } from './calendar-data';
import { TickflowError } from '../../pipelines/runtime/errors';

/**
 * Trading calendars: when an instrument trades, in UTC microseconds in and out.
 *
 * A session calendar (exchanges, FX) divides time into trading days, one per local date of its
 * time zone, each running from its `dayStart` to the next day's (local midnight for exchanges,
 * 17:00 New York the evening before for FX), 23 or 25 hours long across a DST change. A trading day
 * on a trading weekday that is no holiday has a session `[preOpen, open)` pre-market, `[open, close)`
 * regular, `[close, postClose)` post-market, all half-open; the rest of the day is closed. Holidays
 * and early closes come from calendar-data.ts for the years it covers (`holidaysKnownFrom` ..
 * `holidaysKnownThrough`); outside them a calendar still knows weekends, hours and DST, and treats
 * every trading weekday as a full day.
 *
 * The 24/7 calendar is always open, in UTC: its trading day is the UTC date.
 *
 * Time zones come from Node's Intl (full ICU), cached per zone and UTC day, and each calendar caches
 * its trading days (a few hundred bytes per local date queried) and the phase interval last hit, so
 * the per-record calls cost tens of nanoseconds when the timestamp stays in the same interval and a
 * few hundred when it does not. Calendars are shared, mutable only in these caches, and need no I/O.
 */

const MINUTE = 60_000_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const DAY_MS = 86_400_000;
const DAY_MINUTES = 24 * 60;
/** Multi-day buckets count trading days from Monday 1970-01-05 (day 4), so 7-day bars are weeks from Monday. */
const BUCKET_EPOCH_DAY = 4;

export type Phase = 'closed' | 'pre' | 'regular' | 'post';

/** A trading day's session in UTC microseconds; equal bounds mean an empty phase. */
export interface SessionBounds {
  readonly preOpen: number;
  readonly open: number;
  readonly close: number;
  readonly postClose: number;
}

/** A bar bucket `[start, end)` in UTC microseconds. */
export interface Bucket {
  readonly start: number;
  readonly end: number;
}

/**
 * A trading calendar. Stages call the functions below (`phaseAt(cal, ts)`, ...); they delegate to
 * these methods, which take the same arguments without the calendar.
 */
export interface Calendar {
  /** `XNYS`, `XNAS`, `FX`, `24x7`; names the session in messages. */
  readonly name: string;
  /** Always open (24/7, UTC, epoch-aligned buckets) rather than sessions in a time zone. */
  readonly continuous: boolean;
  readonly timeZone: string;
  /**
   * Local dates (inclusive) the holiday data covers; outside them holidays and early closes are
   * unknown and every trading weekday counts as a full day. Both null: the calendar has no holidays.
   */
  readonly holidaysKnownFrom: string | null;
  readonly holidaysKnownThrough: string | null;
  readonly sources: readonly string[];
  phaseAt(tsMicros: number): Phase;
  tradingDayOf(tsMicros: number): string | null;
  sessionBounds(day: string): SessionBounds | null;
  sessionKeyAt(tsMicros: number): string | null;
  bucketOf(intervalMicros: number, tsMicros: number): Bucket;
}

/** The phase of the session at `tsMicros`: pre-market, regular, post-market or closed. */
export function phaseAt(cal: Calendar, tsMicros: number): Phase {
  return cal.phaseAt(tsMicros);
}

/**
 * Whether `cal` trades at `tsMicros`: in its regular session, or with `extended` also pre- and
 * post-market. Stale-feed detection and signal validation use the regular session.
 */
export function isOpen(cal: Calendar, tsMicros: number, options?: { readonly extended?: boolean }): boolean {
  const phase = cal.phaseAt(tsMicros);
  return phase === 'regular' || (options?.extended === true && phase !== 'closed');
}

/**
 * The trading day (local date `YYYY-MM-DD`) whose session, extended hours included, holds
 * `tsMicros`; null while closed. FX: Sunday 18:00 New York is in Monday's trading day.
 */
export function tradingDayOf(cal: Calendar, tsMicros: number): string | null {
  return cal.tradingDayOf(tsMicros);
}

/** The session of trading day `day` (`YYYY-MM-DD`), null on a weekend or holiday. The 24/7 calendar: the UTC day. */
export function sessionBounds(cal: Calendar, day: string): SessionBounds | null {
  return cal.sessionBounds(day);
}

/**
 * An identifier of the continuous trading period holding `tsMicros` (null while closed): it changes
 * exactly when trading resumes after a gap. Exchanges: the trading day (sessions are separated by
 * the night); FX: the first trading day of the week (`2024-01-08` for the week opening Sunday
 * 2024-01-07 17:00 New York); 24/7: the calendar's name, constant.
 */
export function sessionKeyAt(cal: Calendar, tsMicros: number): string | null {
  return cal.sessionKeyAt(tsMicros);
}

/**
 * The bar bucket `[start, end)` holding `tsMicros` for bars of `intervalMicros`. A bar's `tsStart`
 * is `start`, and it ends at `end`, which is not always `start + intervalMicros`:
 * - 24/7 calendars, and any interval under an hour: epoch-aligned, `start = floor(ts / iv) * iv`,
 *   `end = start + iv`.
 * - 1 h <= iv < 1 d: a grid through the regular open of ts's trading day (09:30, 10:30, ... for
 *   XNYS; it continues backwards and forwards over pre- and post-market), cut at the trading day's
 *   bounds, so the first and last buckets of a day may be short and buckets never overlap.
 * - iv = 1 d: the trading day, `[dayStart, next dayStart)`: local midnight for exchanges, 17:00 New
 *   York for FX; 23 or 25 hours across a DST change.
 * - iv = k days: k consecutive trading days (weekends and holidays included) counted from Monday
 *   1970-01-05, so 7-day bars are weeks starting on the Monday trading day.
 * - Over a day and not a whole number of days: epoch-aligned.
 * Every instant has a bucket, closed hours included (a late print on a holiday still gets one), and
 * a calendar's buckets of one interval tile time: consecutive buckets meet, none overlap.
 */
export function bucketOf(cal: Calendar, intervalMicros: number, tsMicros: number): Bucket {
  return cal.bucketOf(intervalMicros, tsMicros);
}

/** The UTC offset of `timeZone` at `tsMicros`, in microseconds (New York in winter: -5 h). */
export function utcOffsetAt(timeZone: string, tsMicros: number): number {
  return zoneClock(timeZone).offsetAt(tsMicros);
}

/**
 * The UTC instant of a local wall-clock time (`Date.UTC` of the local fields, in microseconds).
 * A time skipped by a DST change maps to the same wall time after the change (02:30 on a spring-forward
 * day is 03:30 daylight time); a repeated time maps to its first occurrence (Temporal's `compatible`).
 */
export function localToUtc(timeZone: string, wallMicros: number): number {
  return zoneClock(timeZone).utcOf(wallMicros);
}

/** UTC offsets of one time zone, from Intl, cached per UTC day: at most one change a day. */
class ZoneClock {
  private readonly format: Intl.DateTimeFormat;
  /** UTC day number -> offset before `at` and from `at` on (`at` is Infinity on days without a change). */
  private readonly days = new Map<number, { at: number; before: number; after: number }>();

  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  offsetAt(tsMicros: number): number {
    const day = Math.floor(tsMicros / DAY);
    let entry = this.days.get(day);
    if (entry === undefined) {
      entry = this.scan(day);
      this.days.set(day, entry);
    }
    return tsMicros < entry.at ? entry.before : entry.after;
  }

  utcOf(wallMicros: number): number {
    const before = this.offsetAt(wallMicros - DAY);
    const after = this.offsetAt(wallMicros + DAY);
    if (this.offsetAt(wallMicros - before) === before) return wallMicros - before;
    if (this.offsetAt(wallMicros - after) === after) return wallMicros - after;
    return wallMicros - before;
  }

  /** The offset in one UTC day; a change inside it is found by bisection to the second. */
  private scan(day: number): { at: number; before: number; after: number } {
    const fromSecond = day * 86_400;
    const before = this.exact(fromSecond);
    let hi = fromSecond + 86_399;
    const after = this.exact(hi);
    if (after === before) return { at: Infinity, before, after };
    let lo = fromSecond;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.exact(mid) === before) lo = mid;
      else hi = mid;
    }
    return { at: hi * 1_000_000, before, after };
  }

  /** The offset at a whole UTC second, in microseconds. */
  private exact(second: number): number {
    const fields = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
    for (const part of this.format.formatToParts(new Date(second * 1000))) {
      if (part.type in fields) fields[part.type as keyof typeof fields] = Number(part.value);
    }
    const wallMs = Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second);
    return (wallMs - second * 1000) * 1000;
  }
}

const zones = new Map<string, ZoneClock>();

function zoneClock(timeZone: string): ZoneClock {
  let zone = zones.get(timeZone);
  if (zone === undefined) {
    zone = new ZoneClock(timeZone);
    zones.set(timeZone, zone);
  }
  return zone;
}

const WEEKDAYS: readonly Weekday[] = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Days since 1970-01-01 to `YYYY-MM-DD` (years 0 to 9999), by arithmetic: Date's toISOString costs ~1 µs. */
function dateOf(dayNumber: number): string {
  // Howard Hinnant's civil_from_days: eras of 400 years from 0000-03-01.
  const z = dayNumber + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const leapDays = Math.floor(dayOfEra / 1460) - Math.floor(dayOfEra / 36_524) + Math.floor(dayOfEra / 146_096);
  const yearOfEra = Math.floor((dayOfEra - leapDays) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return `${String(year).padStart(4, '0')}-${month < 10 ? '0' : ''}${month}-${day < 10 ? '0' : ''}${day}`;
}

/** `YYYY-MM-DD` to days since 1970-01-01; undefined when it is no date. */
function dayNumberOf(date: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) return undefined;
  const n = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / DAY_MS;
  return dateOf(n) === date ? n : undefined;
}

function weekdayOf(dayNumber: number): Weekday {
  // 1970-01-01 was a Thursday.
  return WEEKDAYS[(((dayNumber + 4) % 7) + 7) % 7];
}

/** `HH:MM` or `HH:MM -1d` to minutes from the trading day's local midnight. */
function minutesOf(time: string, what: string): number {
  const match = /^(\d\d):([0-5]\d)( -1d)?$/.exec(time);
  const minutes = match ? Number(match[1]) * 60 + Number(match[2]) : NaN;
  if (!match || !(minutes <= DAY_MINUTES)) {
    throw new TickflowError('INVARIANT', `calendar data: ${what} '${time}' is not HH:MM or HH:MM -1d`);
  }
  return minutes - (match[3] ? DAY_MINUTES : 0);
}

/** A trading day (or a closed day) of a session calendar; built once per local date and cached. */
interface Day {
  readonly number: number;
  readonly date: string;
  /** `[start, end)`: this day's part of the timeline, from its dayStart to the next day's. */
  readonly start: number;
  readonly end: number;
  readonly session: SessionBounds | null;
  /** The regular open, also on closed days: the origin of the intraday bucket grid. */
  readonly anchor: number;
  /** The session key, once computed. */
  key: string | undefined;
}

interface Hours {
  readonly dayStart: number;
  readonly preOpen: number;
  readonly open: number;
  readonly close: number;
  readonly postClose: number;
}

/** Exchanges and FX: sessions by local trading day. */
class SessionCalendar implements Calendar {
  readonly name: string;
  readonly continuous = false;
  readonly timeZone: string;
  readonly holidaysKnownFrom: string | null;
  readonly holidaysKnownThrough: string | null;
  readonly sources: readonly string[];
  private readonly zone: ZoneClock;
  private readonly hours: Hours;
  private readonly tradingDays: ReadonlySet<Weekday>;
  private readonly holidays: ReadonlySet<string>;
  private readonly earlyCloses: ReadonlyMap<string, { close: number; postClose: number }>;
  private readonly days = new Map<number, Day>();
  /** The day last looked up, and the phase interval `[segmentFrom, segmentTo)` last hit (in `segmentDay`). */
  private lastDay: Day;
  private segmentFrom = 0;
  private segmentTo = 0;
  private segmentPhase: Phase = 'closed';
  private segmentDay: Day;
  /** The bucket last returned per aligned interval (buckets are immutable, so callers may share them). */
  private readonly lastBuckets = new Map<number, Bucket>();

  constructor(data: CalendarData) {
    this.name = data.name;
    this.timeZone = data.timeZone;
    this.holidaysKnownFrom = data.holidaysKnown?.from ?? null;
    this.holidaysKnownThrough = data.holidaysKnown?.through ?? null;
    this.sources = data.sources;
    this.zone = zoneClock(data.timeZone);
    const h = data.hours;
    const at = (field: keyof typeof h): number => minutesOf(h[field], `${data.name} ${field}`);
    this.hours = {
      dayStart: at('dayStart'),
      preOpen: at('preOpen'),
      open: at('open'),
      close: at('close'),
      postClose: at('postClose'),
    };
    const { dayStart, preOpen, open, close, postClose } = this.hours;
    this.ordered([dayStart, preOpen, open, close, postClose, dayStart + DAY_MINUTES], 'hours');
    this.tradingDays = new Set(data.tradingDays);
    this.holidays = new Set(Object.keys(data.holidays));
    for (const date of this.holidays) this.checkDate(date, 'holiday');
    const early = new Map<string, { close: number; postClose: number }>();
    for (const [date, e] of Object.entries(data.earlyCloses)) {
      this.checkDate(date, 'early close');
      const times = {
        close: minutesOf(e.close, `${data.name} ${date} close`),
        postClose: minutesOf(e.postClose, `${data.name} ${date} postClose`),
      };
      this.ordered([open, times.close, times.postClose, dayStart + DAY_MINUTES], `early close ${date}`);
      if (this.holidays.has(date)) {
        throw new TickflowError(
          'INVARIANT',
          `calendar data: ${data.name} ${date} is both a holiday and an early close`,
        );
      }
      early.set(date, times);
    }
    this.earlyCloses = early;
    const none: Day = { number: NaN, date: '', start: 0, end: 0, session: null, anchor: 0, key: undefined };
    this.lastDay = none;
    this.segmentDay = none;
  }

  phaseAt(tsMicros: number): Phase {
    if (tsMicros >= this.segmentFrom && tsMicros < this.segmentTo) return this.segmentPhase;
    const day = this.dayAt(tsMicros);
    const s = day.session;
    let from = day.start;
    let to = day.end;
    let phase: Phase = 'closed';
    if (s !== null) {
      if (tsMicros < s.preOpen) to = s.preOpen;
      else if (tsMicros < s.open) [from, to, phase] = [s.preOpen, s.open, 'pre'];
      else if (tsMicros < s.close) [from, to, phase] = [s.open, s.close, 'regular'];
      else if (tsMicros < s.postClose) [from, to, phase] = [s.close, s.postClose, 'post'];
      else from = s.postClose;
    }
    this.segmentFrom = from;
    this.segmentTo = to;
    this.segmentPhase = phase;
    this.segmentDay = day;
    return phase;
  }

  tradingDayOf(tsMicros: number): string | null {
    return this.phaseAt(tsMicros) === 'closed' ? null : this.segmentDay.date;
  }

  sessionBounds(date: string): SessionBounds | null {
    const n = dayNumberOf(date);
    if (n === undefined) throw new TickflowError('INVALID_VALUE', `'${date}' is not a date YYYY-MM-DD`);
    return this.day(n).session;
  }

  sessionKeyAt(tsMicros: number): string | null {
    return this.phaseAt(tsMicros) === 'closed' ? null : this.keyOf(this.segmentDay);
  }

  bucketOf(intervalMicros: number, tsMicros: number): Bucket {
    if (intervalMicros < HOUR) return epochBucket(intervalMicros, tsMicros);
    const last = this.lastBuckets.get(intervalMicros);
    if (last !== undefined && tsMicros >= last.start && tsMicros < last.end) return last;
    const bucket = this.alignedBucket(intervalMicros, tsMicros);
    this.lastBuckets.set(intervalMicros, bucket);
    return bucket;
  }

  private alignedBucket(intervalMicros: number, tsMicros: number): Bucket {
    const day = this.dayAt(tsMicros);
    if (intervalMicros < DAY) {
      const grid = day.anchor + Math.floor((tsMicros - day.anchor) / intervalMicros) * intervalMicros;
      return { start: Math.max(grid, day.start), end: Math.min(grid + intervalMicros, day.end) };
    }
    const days = intervalMicros / DAY;
    if (!Number.isInteger(days)) return epochBucket(intervalMicros, tsMicros);
    const first = BUCKET_EPOCH_DAY + Math.floor((day.number - BUCKET_EPOCH_DAY) / days) * days;
    return { start: this.day(first).start, end: this.day(first + days).start };
  }

  /** The day whose `[start, end)` holds `tsMicros`. */
  private dayAt(tsMicros: number): Day {
    const last = this.lastDay;
    if (tsMicros >= last.start && tsMicros < last.end) return last;
    const wall = tsMicros + this.zone.offsetAt(tsMicros);
    const n = Math.floor((wall - this.hours.dayStart * MINUTE) / DAY);
    let day = this.day(n);
    // The wall-clock guess can be a day off only next to a DST change at dayStart itself.
    if (tsMicros < day.start) day = this.day(n - 1);
    else if (tsMicros >= day.end) day = this.day(n + 1);
    this.lastDay = day;
    return day;
  }

  private day(n: number): Day {
    const cached = this.days.get(n);
    if (cached !== undefined) return cached;
    const date = dateOf(n);
    const h = this.hours;
    const at = (minutes: number): number => this.zone.utcOf(n * DAY + minutes * MINUTE);
    const open = at(h.open);
    let session: SessionBounds | null = null;
    if (this.tradingDays.has(weekdayOf(n)) && !this.holidays.has(date)) {
      const early = this.earlyCloses.get(date);
      const close = at(early?.close ?? h.close);
      session = { preOpen: at(h.preOpen), open, close, postClose: at(early?.postClose ?? h.postClose) };
    }
    const start = at(h.dayStart);
    const end = at(h.dayStart + DAY_MINUTES);
    const day: Day = { number: n, date, start, end, session, anchor: open, key: undefined };
    this.days.set(n, day);
    return day;
  }

  /** The date of the first day of the run of back-to-back sessions (FX: the week) that `day` is in. */
  private keyOf(day: Day): string {
    if (day.key !== undefined) return day.key;
    const run: Day[] = [];
    let first = day;
    let key: string | undefined;
    while (key === undefined) {
      run.push(first);
      const previous = this.day(first.number - 1);
      // Runs longer than a year would be a 24/7 market described as sessions: cut them at a year.
      const backToBack = previous.session !== null && previous.session.postClose === first.session?.preOpen;
      if (!backToBack || run.length > 366) key = first.date;
      else if (previous.key !== undefined) key = previous.key;
      else first = previous;
    }
    for (const d of run) d.key = key;
    return key;
  }

  private checkDate(date: string, what: string): void {
    const n = dayNumberOf(date);
    if (n === undefined)
      throw new TickflowError('INVARIANT', `calendar data: ${this.name} ${what} '${date}' is not a date YYYY-MM-DD`);
    if (!this.tradingDays.has(weekdayOf(n))) {
      throw new TickflowError('INVARIANT', `calendar data: ${this.name} ${what} ${date} is not a trading weekday`);
    }
    const from = this.holidaysKnownFrom;
    const through = this.holidaysKnownThrough;
    if (from === null || through === null || date < from || date > through) {
      throw new TickflowError('INVARIANT', `calendar data: ${this.name} ${what} ${date} is outside holidaysKnown`);
    }
  }

  private ordered(minutes: readonly number[], what: string): void {
    for (let i = 1; i < minutes.length; i++) {
      if (minutes[i] < minutes[i - 1]) {
        const rule = 'dayStart <= preOpen <= open <= close <= postClose <= next dayStart';
        throw new TickflowError('INVARIANT', `calendar data: ${this.name} ${what} are out of order (${rule})`);
      }
    }
  }
}

function epochBucket(intervalMicros: number, tsMicros: number): Bucket {
  const start = Math.floor(tsMicros / intervalMicros) * intervalMicros;
  return { start, end: start + intervalMicros };
}

/** Always open, in UTC. */
class ContinuousCalendar implements Calendar {
  readonly continuous = true;
  readonly timeZone = 'UTC';
  readonly holidaysKnownFrom = null;
  readonly holidaysKnownThrough = null;
  private lastDayNumber = NaN;
  private lastDate = '';

  constructor(
    readonly name: string,
    readonly sources: readonly string[],
  ) {}

  phaseAt(): Phase {
    return 'regular';
  }

  tradingDayOf(tsMicros: number): string {
    const n = Math.floor(tsMicros / DAY);
    if (n !== this.lastDayNumber) {
      this.lastDayNumber = n;
      this.lastDate = dateOf(n);
    }
    return this.lastDate;
  }

  sessionBounds(date: string): SessionBounds {
    const n = dayNumberOf(date);
    if (n === undefined) throw new TickflowError('INVALID_VALUE', `'${date}' is not a date YYYY-MM-DD`);
    return { preOpen: n * DAY, open: n * DAY, close: (n + 1) * DAY, postClose: (n + 1) * DAY };
  }

  sessionKeyAt(): string {
    return this.name;
  }

  bucketOf(intervalMicros: number, tsMicros: number): Bucket {
    return epochBucket(intervalMicros, tsMicros);
  }
}

/**
 * A session calendar from its data (calendar-data.ts). Throws on inconsistent data: hours out of
 * order, a holiday or early close that is no trading weekday or lies outside `holidaysKnown`.
 */
export function sessionCalendar(data: CalendarData): Calendar {
  return new SessionCalendar(data);
}

/** Crypto venues: 24/7, no sessions, no holidays. */
export const CRYPTO_24_7: Calendar = new ContinuousCalendar('24x7', ['crypto venues trade continuously']);
export const XNYS: Calendar = sessionCalendar(XNYS_DATA);
export const XNAS: Calendar = sessionCalendar(XNAS_DATA);
/** Spot FX, Sunday 17:00 to Friday 17:00 New York; the trading day rolls at 17:00 New York. */
export const FX_24_5: Calendar = sessionCalendar(FX_DATA);

/** Calendars by name, for configuration and the instrument reference. */
export const CALENDARS: Readonly<Record<string, Calendar>> = {
  [CRYPTO_24_7.name]: CRYPTO_24_7,
  [XNYS.name]: XNYS,
  [XNAS.name]: XNAS,
  [FX_24_5.name]: FX_24_5,
};
