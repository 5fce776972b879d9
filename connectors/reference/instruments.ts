/**
 * The instrument reference catalog: per instrument id (`<VENUE>:<SYMBOL>`), its tick size, quote
 * currency and trading session. Entries for single instruments come first; otherwise the venue's
 * defaults apply (every instrument of a venue that is not listed). Stages read it for session
 * rules (stale feeds only while the session is open; validate rejects signals outside it).
 *
 * Sessions are weekly windows in UTC: minutes from Sunday 00:00 UTC, `[open, close)`. A window may
 * not wrap the week's end; split it in two.
 */
export interface InstrumentRef {
  readonly tickSize: string;
  readonly currency: string;
  readonly session: Session;
}

export interface Session {
  readonly name: string;
  readonly windows: readonly (readonly [number, number])[];
}

const DAY_MINUTES = 24 * 60;
export const WEEK_MINUTES = 7 * DAY_MINUTES;

export const ALWAYS_OPEN: Session = { name: '24x7', windows: [[0, WEEK_MINUTES]] };

/** Monday to Friday, 13:30 to 20:00 UTC (US equities in winter time). */
export const US_EQUITY_HOURS: Session = {
  name: 'us-equity',
  windows: [1, 2, 3, 4, 5].map((day) => [day * DAY_MINUTES + 13 * 60 + 30, day * DAY_MINUTES + 20 * 60] as const),
};

/** Spot FX: Sunday 22:00 to Friday 22:00 UTC. */
export const FX_HOURS: Session = { name: 'fx', windows: [[22 * 60, 5 * DAY_MINUTES + 22 * 60]] };

const VENUE_DEFAULTS: Readonly<Record<string, InstrumentRef>> = {
  'BINANCE-FUT': { tickSize: '0.01', currency: 'USDT', session: ALWAYS_OPEN },
  BINANCE: { tickSize: '0.01', currency: 'USDT', session: ALWAYS_OPEN },
  TRUEFX: { tickSize: '0.00001', currency: 'USD', session: FX_HOURS },
  ALPHAVANTAGE: { tickSize: '0.00001', currency: 'USD', session: FX_HOURS },
  /** The synthetic generator's crypto-like instruments. */
  SYN: { tickSize: '0.01', currency: 'USD', session: ALWAYS_OPEN },
  /** The synthetic generator's equity-like instruments (sessions). */
  'SYN-EQ': { tickSize: '0.01', currency: 'USD', session: US_EQUITY_HOURS },
};

const INSTRUMENTS: Readonly<Record<string, InstrumentRef>> = {
  'BINANCE-FUT:BTCUSDT': { tickSize: '0.01', currency: 'USDT', session: ALWAYS_OPEN },
  'TRUEFX:USD/JPY': { tickSize: '0.001', currency: 'JPY', session: FX_HOURS },
};

/** Instruments of venues with no defaults: always open, no tick size known. */
const UNKNOWN_VENUE: InstrumentRef = { tickSize: '0', currency: '', session: ALWAYS_OPEN };

export function instrumentRef(instrumentId: string): InstrumentRef {
  const listed = INSTRUMENTS[instrumentId];
  if (listed) return listed;
  const venue = instrumentId.slice(0, instrumentId.indexOf(':'));
  return VENUE_DEFAULTS[venue] ?? UNKNOWN_VENUE;
}

/** Whether the session is open at `tsMicros` (UTC microseconds). */
export function sessionOpen(session: Session, tsMicros: number): boolean {
  const minutes = Math.floor(tsMicros / 60_000_000);
  // 1970-01-01 was a Thursday: day 4 of a week that starts on Sunday.
  const minuteOfWeek = (((minutes + 4 * DAY_MINUTES) % WEEK_MINUTES) + WEEK_MINUTES) % WEEK_MINUTES;
  return session.windows.some(([open, close]) => minuteOfWeek >= open && minuteOfWeek < close);
}
