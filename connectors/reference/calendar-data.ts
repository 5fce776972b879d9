/**
 * Trading calendars as data: time zone, weekly trading days, session hours, and for exchanges the
 * published holidays and early closes of the years in `holidaysKnown`. calendars.ts turns these into
 * the calendars stages query; README.md beside this file explains how to add one.
 *
 * Times are local wall-clock times `HH:MM` of the trading day's own date, or `HH:MM -1d` for the
 * evening before it (FX's trading day opens at 17:00 New York the day before its date). Within a
 * trading day they must not decrease: dayStart <= preOpen <= open <= close <= postClose <= the next
 * day's dayStart. Equal times mean an empty phase (FX has no pre- or post-market).
 */

export type Weekday = 'Sun' | 'Mon' | 'Tue' | 'Wed' | 'Thu' | 'Fri' | 'Sat';

export interface SessionHours {
  /** Where the trading day (and its 1-day bar) starts: local midnight for exchanges. */
  readonly dayStart: string;
  readonly preOpen: string;
  readonly open: string;
  readonly close: string;
  readonly postClose: string;
}

export interface EarlyClose {
  readonly close: string;
  readonly postClose: string;
  readonly reason: string;
}

export interface CalendarData {
  /** The ISO 10383 MIC for an exchange (`XNYS`); `FX` for the 24/5 FX market. */
  readonly name: string;
  readonly title: string;
  /** IANA time zone of the session hours. */
  readonly timeZone: string;
  readonly tradingDays: readonly Weekday[];
  readonly hours: SessionHours;
  /** The local dates (inclusive) the holidays and early closes below cover; null: none ever apply. */
  readonly holidaysKnown: { readonly from: string; readonly through: string } | null;
  /** Full-day closures on trading weekdays, local date to reason. */
  readonly holidays: Readonly<Record<string, string>>;
  /** Days with a shortened session, local date to its hours. */
  readonly earlyCloses: Readonly<Record<string, EarlyClose>>;
  /** Where the hours, holidays and early closes come from. */
  readonly sources: readonly string[];
}

/**
 * NYSE: the holidays and early closes NYSE Group published for its cash equity markets (NYSE,
 * NYSE Arca, NYSE American, ...), plus the one unscheduled closure in these years. Early closes end
 * the core session at 13:00 and the Arca late (post-market) session at 17:00 ET. Pre-market 04:00 to
 * 09:30 and post-market 16:00 to 20:00 are NYSE Arca's early and late sessions.
 */
const NYSE_HOLIDAYS: Readonly<Record<string, string>> = {
  '2024-01-01': "New Year's Day",
  '2024-01-15': 'Martin Luther King, Jr. Day',
  '2024-02-19': "Washington's Birthday",
  '2024-03-29': 'Good Friday',
  '2024-05-27': 'Memorial Day',
  '2024-06-19': 'Juneteenth National Independence Day',
  '2024-07-04': 'Independence Day',
  '2024-09-02': 'Labor Day',
  '2024-11-28': 'Thanksgiving Day',
  '2024-12-25': 'Christmas Day',
  '2025-01-01': "New Year's Day",
  '2025-01-09': 'National Day of Mourning for President Jimmy Carter (unscheduled closure)',
  '2025-01-20': 'Martin Luther King, Jr. Day',
  '2025-02-17': "Washington's Birthday",
  '2025-04-18': 'Good Friday',
  '2025-05-26': 'Memorial Day',
  '2025-06-19': 'Juneteenth National Independence Day',
  '2025-07-04': 'Independence Day',
  '2025-09-01': 'Labor Day',
  '2025-11-27': 'Thanksgiving Day',
  '2025-12-25': 'Christmas Day',
  '2026-01-01': "New Year's Day",
  '2026-01-19': 'Martin Luther King, Jr. Day',
  '2026-02-16': "Washington's Birthday",
  '2026-04-03': 'Good Friday',
  '2026-05-25': 'Memorial Day',
  '2026-06-19': 'Juneteenth National Independence Day',
  '2026-07-03': 'Independence Day (observed)',
  '2026-09-07': 'Labor Day',
  '2026-11-26': 'Thanksgiving Day',
  '2026-12-25': 'Christmas Day',
  '2027-01-01': "New Year's Day",
  '2027-01-18': 'Martin Luther King, Jr. Day',
  '2027-02-15': "Washington's Birthday",
  '2027-03-26': 'Good Friday',
  '2027-05-31': 'Memorial Day',
  '2027-06-18': 'Juneteenth National Independence Day (observed)',
  '2027-07-05': 'Independence Day (observed)',
  '2027-09-06': 'Labor Day',
  '2027-11-25': 'Thanksgiving Day',
  '2027-12-24': 'Christmas Day (observed)',
  // 2027-12-31 is a regular day: New Year's Day 2028 falls on a Saturday and is not observed (NYSE Rule 7.2).
};

const early = (reason: string): EarlyClose => ({ close: '13:00', postClose: '17:00', reason });

const NYSE_EARLY_CLOSES: Readonly<Record<string, EarlyClose>> = {
  '2024-07-03': early('day before Independence Day'),
  '2024-11-29': early('day after Thanksgiving'),
  '2024-12-24': early('Christmas Eve'),
  '2025-07-03': early('day before Independence Day'),
  '2025-11-28': early('day after Thanksgiving'),
  '2025-12-24': early('Christmas Eve'),
  '2026-11-27': early('day after Thanksgiving'),
  '2026-12-24': early('Christmas Eve'),
  '2027-11-26': early('day after Thanksgiving'),
};

const US_EQUITY_HOURS: SessionHours = {
  dayStart: '00:00',
  preOpen: '04:00',
  open: '09:30',
  close: '16:00',
  postClose: '20:00',
};
const WEEKDAYS: readonly Weekday[] = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'];

const NYSE_SOURCES: readonly string[] = [
  'NYSE Group press release "NYSE Group Announces 2022, 2023 and 2024 Holiday and Early Closings Calendar", ' +
    'Business Wire, 2021-12-27 (2024 dates)',
  'NYSE Group press release "NYSE Group Announces 2025, 2026 and 2027 Holiday and Early Closings Calendar", ' +
    'Business Wire, 2024-11-08 (2025-2027 dates; early closes at 1:00 p.m., late trading sessions to 5:00 p.m. ET)',
  'NYSE Group press release "NYSE Group Announces 2026, 2027 and 2028 Holiday and Early Closings Calendar", ' +
    '2025-12-23 (2026-2027 dates unchanged)',
  'NYSE Group and Nasdaq announcements of 2024-12-30: all U.S. equity and options markets closed on 2025-01-09, ' +
    'the National Day of Mourning for President Jimmy Carter',
  'hours: core 09:30-16:00 ET; NYSE Arca also trades 04:00-09:30 and 16:00-20:00 ET (moneymorning.com, ' +
    '"New York Stock Exchange (NYSE) Holiday Calendar", 2012; the schedule at nyse.com/markets/hours-calendars)',
  'Christmas Eve early closes: 2025-12-24 as the NYSE site stated it (quoted by NDTV Profit, 2025-12-24); ' +
    '2026-12-24 from the early-close footnote on Christmas 2026 in the 2024-11-08 and 2025-12-23 releases',
];

export const XNYS_DATA: CalendarData = {
  name: 'XNYS',
  title: 'New York Stock Exchange',
  timeZone: 'America/New_York',
  tradingDays: WEEKDAYS,
  hours: US_EQUITY_HOURS,
  holidaysKnown: { from: '2024-01-01', through: '2027-12-31' },
  holidays: NYSE_HOLIDAYS,
  earlyCloses: NYSE_EARLY_CLOSES,
  sources: NYSE_SOURCES,
};

/**
 * Nasdaq: the same holidays and early closes as NYSE in these years (Nasdaq publishes an identical
 * U.S. equity holiday schedule and closed on 2025-01-09 too); pre-market 04:00, post-market to 20:00 ET.
 */
export const XNAS_DATA: CalendarData = {
  name: 'XNAS',
  title: 'Nasdaq Stock Market',
  timeZone: 'America/New_York',
  tradingDays: WEEKDAYS,
  hours: US_EQUITY_HOURS,
  holidaysKnown: { from: '2024-01-01', through: '2027-12-31' },
  holidays: NYSE_HOLIDAYS,
  earlyCloses: NYSE_EARLY_CLOSES,
  sources: [
    ...NYSE_SOURCES,
    'Nasdaq follows the NYSE holiday schedule (AARP, "Stock Market Holidays", 2024; Nasdaq closed its U.S. ' +
      'markets on 2025-01-09 too); Nasdaq publishes it at nasdaqtrader.com (trader.aspx?id=calendar)',
  ],
};

/**
 * Spot FX, 24/5: from Sunday 17:00 to Friday 17:00 New York time, following New York's daylight
 * saving time; the trading day rolls at 17:00 New York (the convention for value dates and daily
 * bars), so Monday's trading day runs from Sunday 17:00 to Monday 17:00. No holidays: the market
 * thins out on Christmas and New Year but does not close.
 */
export const FX_DATA: CalendarData = {
  name: 'FX',
  title: 'Spot FX, 24/5',
  timeZone: 'America/New_York',
  tradingDays: WEEKDAYS,
  hours: { dayStart: '17:00 -1d', preOpen: '17:00 -1d', open: '17:00 -1d', close: '17:00', postClose: '17:00' },
  holidaysKnown: null,
  holidays: {},
  earlyCloses: {},
  sources: ['market convention: the FX week opens Sunday 17:00 and closes Friday 17:00 America/New_York'],
};
