import type { Calendar } from './calendars';
import { CRYPTO_24_7, FX_24_5, XNAS, XNYS, isOpen } from './calendars';

/**
 * The instrument reference catalog: per instrument id (`<VENUE>:<SYMBOL>`), its tick size, quote
 * currency and trading calendar (calendars.ts: time zone, hours, holidays). Entries for single
 * instruments come first; otherwise the venue's defaults apply (every instrument of a venue that is
 * not listed). Stages read it for session rules (stale feeds only while the session is open;
 * validate rejects signals outside it), trading days and bar buckets.
 */
export interface InstrumentRef {
  readonly tickSize: string;
  readonly currency: string;
  readonly calendar: Calendar;
  /** The same calendar, under its former name; prefer `calendar`. */
  readonly session: Session;
}

/** What `InstrumentRef.session` and `sessionOpen` take: a trading calendar. */
export type Session = Calendar;

/** 24/7 (crypto). */
export const ALWAYS_OPEN: Session = CRYPTO_24_7;

/** US equities: the NYSE calendar (America/New_York hours with DST, holidays, early closes). */
export const US_EQUITY_HOURS: Session = XNYS;

/** Spot FX: Sunday 17:00 to Friday 17:00 New York time. */
export const FX_HOURS: Session = FX_24_5;

const ref = (tickSize: string, currency: string, calendar: Calendar): InstrumentRef => ({
  tickSize,
  currency,
  calendar,
  session: calendar,
});

const VENUE_DEFAULTS: Readonly<Record<string, InstrumentRef>> = {
  'BINANCE-FUT': ref('0.01', 'USDT', CRYPTO_24_7),
  BINANCE: ref('0.01', 'USDT', CRYPTO_24_7),
  TRUEFX: ref('0.00001', 'USD', FX_24_5),
  ALPHAVANTAGE: ref('0.00001', 'USD', FX_24_5),
  /** US listings quoted by their exchange's MIC as venue (`XNAS:AAPL`). */
  XNYS: ref('0.01', 'USD', XNYS),
  XNAS: ref('0.01', 'USD', XNAS),
  /** The synthetic generator's crypto-like instruments. */
  SYN: ref('0.01', 'USD', CRYPTO_24_7),
  /** The synthetic generator's equity-like instruments (NYSE sessions). */
  'SYN-EQ': ref('0.01', 'USD', XNYS),
};

const INSTRUMENTS: Readonly<Record<string, InstrumentRef>> = {
  'BINANCE-FUT:BTCUSDT': ref('0.01', 'USDT', CRYPTO_24_7),
  'TRUEFX:USD/JPY': ref('0.001', 'JPY', FX_24_5),
};

/** Instruments of venues with no defaults: always open, no tick size known. */
const UNKNOWN_VENUE: InstrumentRef = ref('0', '', CRYPTO_24_7);

export function instrumentRef(instrumentId: string): InstrumentRef {
  const listed = INSTRUMENTS[instrumentId];
  if (listed) return listed;
  const venue = instrumentId.slice(0, instrumentId.indexOf(':'));
  return VENUE_DEFAULTS[venue] ?? UNKNOWN_VENUE;
}

/** The trading calendar of an instrument (24/7 for venues the reference does not know). */
export function calendarOf(instrumentId: string): Calendar {
  return instrumentRef(instrumentId).calendar;
}

/**
 * Whether the session's regular hours hold `tsMicros` (UTC microseconds): holidays and early closes
 * included, pre- and post-market excluded. `isOpen(cal, ts, { extended: true })` counts those too.
 */
export function sessionOpen(session: Session, tsMicros: number): boolean {
  return isOpen(session, tsMicros);
}
