import { boundedText } from '../schemas/decimal';
import { TickflowError } from '../pipelines/runtime/errors';

/**
 * Timestamps a parser accepts, in microseconds since the Unix epoch, UTC: [1980-01-01, 2100-01-01).
 * Every time a parser returns passes through here, so what it returns can be Avro-encoded (a safe
 * integer) and stored (QuestDB rejects times before 1970). The range is also what catches a wrong
 * unit or a short year: seconds or milliseconds read as microseconds land in January 1970,
 * nanoseconds far beyond 2100, and a year `0013` in 1913 (or year 13). No electronic market data
 * tickflow carries is older than 1980; by 2100 the range would need widening, and until then every
 * accepted time (and a millisecond time times 1000) stays far below 2^53.
 */
export const MIN_TIMESTAMP_MICROS = 315_532_800_000_000; // 1980-01-01T00:00:00Z, inclusive
export const MAX_TIMESTAMP_MICROS = 4_102_444_800_000_000; // 2100-01-01T00:00:00Z, exclusive

const MIN_TEXT = '1980-01-01T00:00:00Z';
const MAX_TEXT = '2100-01-01T00:00:00Z';

function fail(message: string): never {
  throw new TickflowError('PARSE_ERROR', message);
}

/** A millisecond time as a message shows it: the number, and its UTC time when Date has one. */
function shownMillis(millis: number, unit: string, value = millis): string {
  return Math.abs(millis) <= 8.64e15 ? `${value}${unit} (${new Date(millis).toISOString()})` : `${value}${unit}`;
}

/** `value` (integer microseconds since the epoch, UTC) when it is in range; TickflowError naming `field` otherwise. */
export function checkedMicros(value: number, field: string): number {
  // Integers beyond 2^53 fail the range check, which says more than "unsafe" would.
  if (!Number.isInteger(value)) fail(`${field} ${value} is not an integer number of microseconds`);
  const shown = (): string => shownMillis(Math.floor(value / 1000), '', value);
  if (value < MIN_TIMESTAMP_MICROS) fail(`${field} ${shown()} is before ${MIN_TEXT}`);
  if (value >= MAX_TIMESTAMP_MICROS) fail(`${field} ${shown()} is not before ${MAX_TEXT}`);
  return value;
}

/** For `locate` (replay pacing): `value` when checkedMicros would accept it, NaN otherwise. Never throws. */
export function pacingMicros(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) return Number.NaN;
  return value >= MIN_TIMESTAMP_MICROS && value < MAX_TIMESTAMP_MICROS ? value : Number.NaN;
}

/** Microseconds of `millis` (integer milliseconds since the epoch, UTC), checked like checkedMicros. */
export function checkedMillis(millis: number, field: string): number {
  if (!Number.isInteger(millis)) fail(`${field} ${millis} is not an integer number of milliseconds`);
  if (millis < MIN_TIMESTAMP_MICROS / 1000) fail(`${field} ${shownMillis(millis, ' ms')} is before ${MIN_TEXT}`);
  if (millis >= MAX_TIMESTAMP_MICROS / 1000) fail(`${field} ${shownMillis(millis, ' ms')} is not before ${MAX_TEXT}`);
  return millis * 1000;
}

const TWO_DIGITS = /^\d{2}$/;
const OFFSET = /^([+-])(\d{2}):(\d{2})$/;
/** The widest UTC offsets in use: -12:00 (Baker Island) to +14:00 (Line Islands). */
const MAX_OFFSET_MINUTES = 14 * 60;

/**
 * The number a calendar field holds (`pattern`, `min` to `max`); TickflowError naming `field` and the part otherwise.
 */
function part(text: string, name: string, pattern: RegExp, min: number, max: number, field: string): number {
  const value = text.length <= 4 && pattern.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) {
    const range = `${String(min).padStart(2, '0')}-${String(max).padStart(2, '0')}`;
    const expected = name === 'year' ? '4 digits' : `2 digits in ${range}`;
    fail(`${field}: ${name} '${boundedText(text)}' is not ${expected}`);
  }
  return value;
}

const isLeap = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Days from 1970-01-01 to a date of the proleptic Gregorian calendar, in exact integer arithmetic
 * (not Date.UTC, which reads the years 0 to 99 as 1900 to 1999).
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/**
 * Microseconds since the epoch of a calendar time given as its text fields: a 4-digit year; 2-digit
 * month, day, hour, minute and second, each within its calendar range (a real date: no February 30,
 * February 29 only in leap years; no leap second); up to 6 fraction digits of a second ('' for none);
 * and the UTC offset the time is written in (`Z`, or `+HH:MM`/`-HH:MM` within ±14:00). Nothing rolls
 * over. The result is checked like checkedMicros. Throws TickflowError('PARSE_ERROR') naming `field`.
 */
export function utcMicros(
  year: string,
  month: string,
  day: string,
  hour: string,
  minute: string,
  second: string,
  fractionDigits: string,
  field: string,
  offset = 'Z',
): number {
  const y = part(year, 'year', /^\d{4}$/, 0, 9999, field);
  const mo = part(month, 'month', TWO_DIGITS, 1, 12, field);
  const monthDays = mo === 2 && isLeap(y) ? 29 : MONTH_DAYS[mo - 1];
  const d = part(day, 'day', TWO_DIGITS, 1, 31, field);
  if (d > monthDays) fail(`${field}: day '${day}' is not a day of ${year}-${month}, which has ${monthDays}`);
  const h = part(hour, 'hour', TWO_DIGITS, 0, 23, field);
  const mi = part(minute, 'minute', TWO_DIGITS, 0, 59, field);
  const s = part(second, 'second', TWO_DIGITS, 0, 59, field);
  if (fractionDigits.length > 6 || !/^\d*$/.test(fractionDigits)) {
    fail(`${field}: fraction '${boundedText(fractionDigits)}' is not up to 6 digits (microseconds)`);
  }
  let offsetMinutes = 0;
  if (offset !== 'Z') {
    const m = offset.length === 6 ? OFFSET.exec(offset) : null;
    const minutes = m ? Number(m[2]) * 60 + Number(m[3]) : Number.NaN;
    if (!m || Number(m[3]) > 59 || !(minutes <= MAX_OFFSET_MINUTES)) {
      fail(`${field}: UTC offset '${boundedText(offset)}' is not Z or +HH:MM/-HH:MM within ±14:00`);
    }
    offsetMinutes = m[1] === '-' ? -minutes : minutes;
  }
  const seconds = ((daysFromCivil(y, mo, d) * 24 + h) * 60 + mi - offsetMinutes) * 60 + s;
  return checkedMicros(seconds * 1_000_000 + Number(fractionDigits.padEnd(6, '0')), field);
}
