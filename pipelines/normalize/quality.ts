import type { BookSnapshot, Quote, Trade } from '../../schemas/types.generated';
import type { Finding } from '../../schemas/quality';
import type { SourceHeartbeat } from '../../connectors/formats';
import type { Calendar } from '../../connectors/reference/calendars';
import { sessionKeyAt } from '../../connectors/reference/calendars';
import type { Session } from '../../connectors/reference/instruments';
import { sessionOpen } from '../../connectors/reference/instruments';
import type { ConfigOf, ConfigSchema } from '../runtime/config';
import type { ChunkedLogState } from './chunked-log';
import { emptyLog } from './chunked-log';
import type { IdWindow } from './ids';

/**
 * Data-quality rules on valid (parsed) records, per instrument, pure. Each finding is either
 * *flagged* (the record is withheld from the canonical topics, so it never reaches bars or
 * analytics) or *reported* (a fact about the stream, such as a sequence gap; the record itself is
 * kept). A record is flagged by the first rule it breaks, in this order:
 *
 * - FUTURE_TIMESTAMP: exchange time more than `maxClockSkewMs` after the receive time, or a receive
 *   time more than `maxFutureMs` ahead of the processing clock (checked by normalize before anything
 *   else, so one mis-stamped record cannot move an instrument's clock into the future and make every
 *   later record out of order).
 * - NON_POSITIVE: a price that is zero or negative, a trade or book size that is, a negative quote
 *   size (a quote size of 0 means the venue gives none, as TrueFX).
 * - DUPLICATE_TRADE: a trade id already seen within the duplicate window of the newest trade.
 * - OUT_OF_ORDER: exchange time more than `outOfOrderToleranceMs` before the newest accepted
 *   record of its kind. A duplicate older than the duplicate window is caught here instead, so
 *   an old trade can never be counted twice.
 * - PRICE_OUTLIER: a trade price outside the robust band of recent trades: the median of the trade
 *   prices of the last `outlierMaxAgeMs` (at most `outlierWindow` of them) plus or minus
 *   max(`outlierMads` x 1.4826 x MAD, `outlierMinBandBps` of the median), checked once
 *   `outlierMinSamples` such prices are known. The band is time-aware: prices age out, and it starts
 *   afresh when the instrument's trading session changes (an exchange's next trading day, the next FX
 *   week), so after a gap (overnight, a weekend, a halt, a file months later) the first trades at a
 *   new level build a new band instead of being flagged. A price outside the band is still accepted
 *   when the prevailing quote (at most `quoteMaxAgeMs` old) corroborates it: within the quote's bid
 *   and ask widened by `outlierMinBandBps`. Outliers stay in the window, so the median also follows a
 *   real level shift without a gap or quotes after half a window, while one bad print cannot move it.
 *   The band is a statistic and uses float64; prices stay exact.
 * - CROSSED_QUOTE / LOCKED_QUOTE: best bid above / equal to best ask (quotes and books).
 *
 * Reported: SEQUENCE_GAP (the venue's sequence number skipped values), STALE_FEED (a heartbeat
 * shows no update for `staleAfterMs` while the instrument's session is open) and FEED_RESUMED
 * (the first update after a STALE_FEED).
 */
export const QUALITY_CONFIG = {
  outOfOrderToleranceMs: {
    type: 'number',
    default: 1000,
    min: 0,
    max: 3_600_000,
    integer: true,
    description:
      'how far (exchange time) a record may trail the newest of its kind before it is flagged OUT_OF_ORDER; keep it within aggregate.allowedLatenessMs',
  },
  duplicateWindowMs: {
    type: 'number',
    default: 5000,
    min: 0,
    max: 600_000,
    integer: true,
    description: 'trade ids are remembered this long (exchange time) behind the newest trade to flag duplicates',
  },
  outlierWindow: {
    type: 'number',
    default: 50,
    min: 3,
    max: 10_000,
    integer: true,
    description: 'most trade prices in the rolling robust band',
  },
  outlierMinSamples: {
    type: 'number',
    default: 10,
    min: 3,
    max: 10_000,
    integer: true,
    description: 'prices needed before the outlier rule applies (at most outlierWindow)',
  },
  outlierMads: {
    type: 'number',
    default: 8,
    min: 0,
    max: 1000,
    description: 'band half-width in scaled median absolute deviations',
  },
  outlierMinBandBps: {
    type: 'number',
    default: 50,
    min: 0,
    max: 100_000,
    description:
      'band half-width floor, basis points of the median; also how far outside the quote a corroborated trade may print',
  },
  outlierMaxAgeMs: {
    type: 'number',
    default: 300_000,
    min: 1000,
    max: 86_400_000,
    integer: true,
    description:
      'prices older than this (exchange time) leave the band: after a pause longer than this the band starts afresh',
  },
  quoteMaxAgeMs: {
    type: 'number',
    default: 10_000,
    min: 0,
    max: 3_600_000,
    integer: true,
    description: 'a quote at most this old (exchange time) can corroborate a trade outside the band',
  },
  maxClockSkewMs: {
    type: 'number',
    default: 5000,
    min: 0,
    max: 86_400_000,
    integer: true,
    description: "how far a record's exchange time may be after its receive time before it is flagged FUTURE_TIMESTAMP",
  },
  maxFutureMs: {
    type: 'number',
    default: 60_000,
    min: 0,
    max: 86_400_000,
    integer: true,
    description:
      'how far a receive time may be ahead of the processing clock before the record is flagged FUTURE_TIMESTAMP',
  },
  staleAfterMs: {
    type: 'number',
    default: 10_000,
    min: 1,
    max: 604_800_000,
    integer: true,
    description: 'no update for this long (exchange time, seen by a heartbeat) while the session is open is STALE_FEED',
  },
} as const satisfies ConfigSchema;

export type QualityConfig = ConfigOf<typeof QUALITY_CONFIG>;

/**
 * Per-instrument state (JSON: it goes to the changelog), bounded: the price window holds at most
 * `outlierWindow` entries; the recent trade ids live outside it (./ids.ts), in chunks under their
 * own keys, and only their bookkeeping is here. Times are exchange-time microseconds.
 */
export interface InstrumentQuality {
  readonly lastTradeTs: number | null;
  readonly lastQuoteTs: number | null;
  readonly lastBookTs: number | null;
  /** Newest exchange time of any record or heartbeat that counts as an update. */
  readonly lastUpdateTs: number | null;
  readonly sequence: number | null;
  /** Recent trade prices with their exchange times, oldest first. */
  readonly prices: [number, number][];
  /** The trading session the band belongs to (sessionKeyAt); a change restarts the band. */
  readonly bandSession?: string | null;
  /** The newest accepted top of book, to corroborate a trade outside the band. */
  readonly quote?: { bid: number; ask: number; ts: number } | null;
  /** Bookkeeping of the recent trade ids' chunks (./ids.ts). */
  readonly ids: ChunkedLogState;
  readonly stale: boolean;
  /** Trades passed on to md.trades.v1 (normalize's count; heartbeats carry it to aggregate). */
  readonly trades: number;
}

export function emptyQuality(): InstrumentQuality {
  return {
    lastTradeTs: null,
    lastQuoteTs: null,
    lastBookTs: null,
    lastUpdateTs: null,
    sequence: null,
    prices: [],
    ids: emptyLog(),
    stale: false,
    trades: 0,
  };
}

export interface Checked {
  readonly state: InstrumentQuality;
  readonly findings: Finding[];
  /** True when a finding flagged the record. */
  readonly flagged: boolean;
}

const MS = 1000;

/** The robust band around the window's prices (`[price, time]` pairs), or null while there are too few. */
export function robustBand(
  prices: readonly (readonly [number, number])[],
  config: QualityConfig,
): { median: number; halfWidth: number } | null {
  if (prices.length < config.outlierMinSamples) return null;
  const work = scratch(prices.length);
  for (let i = 0; i < prices.length; i++) work[i] = prices[i][0];
  const m = selectMedian(work);
  for (let i = 0; i < prices.length; i++) work[i] = Math.abs(prices[i][0] - m);
  const mad = selectMedian(work);
  return { median: m, halfWidth: Math.max(config.outlierMads * 1.4826 * mad, (m * config.outlierMinBandBps) / 10_000) };
}

let scratchBuffer = new Float64Array(64);
function scratch(n: number): Float64Array {
  if (scratchBuffer.length < n) scratchBuffer = new Float64Array(n * 2);
  return scratchBuffer.subarray(0, n);
}

/** The k-th smallest of `a` (reorders it), by quickselect: linear on average. */
function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/** The median of `a` (reorders it): the middle value, or the mean of the two middle ones. */
function selectMedian(a: Float64Array): number {
  const mid = a.length >> 1;
  if (a.length % 2 === 1) return select(a, mid);
  const upper = select(a, mid);
  let lower = -Infinity;
  for (let i = 0; i < mid; i++) if (a[i] > lower) lower = a[i];
  return (lower + upper) / 2;
}

function sequenceFinding(
  state: InstrumentQuality,
  sequence: number | undefined,
): { sequence: number | null; finding?: Finding } {
  if (sequence === undefined) return { sequence: state.sequence };
  if (state.sequence !== null && sequence > state.sequence + 1) {
    const missing = sequence - state.sequence - 1;
    return {
      sequence,
      finding: {
        rule: 'SEQUENCE_GAP',
        flagged: false,
        detail: `sequence jumped from ${state.sequence} to ${sequence}: ${missing} record${missing === 1 ? '' : 's'} missing (${state.sequence + 1}..${sequence - 1})`,
      },
    };
  }
  return { sequence: Math.max(sequence, state.sequence ?? sequence) };
}

function resumed(state: InstrumentQuality, ts: number): Finding[] {
  if (!state.stale || state.lastUpdateTs === null) return [];
  return [
    {
      rule: 'FEED_RESUMED',
      flagged: false,
      detail: `first update after ${((ts - state.lastUpdateTs) / 1e6).toFixed(3)} s`,
    },
  ];
}

function outOfOrder(kind: string, ts: number, newest: number | null, config: QualityConfig): Finding | undefined {
  if (newest === null || ts >= newest - config.outOfOrderToleranceMs * MS) return undefined;
  return {
    rule: 'OUT_OF_ORDER',
    flagged: true,
    detail: `${kind} at ${ts} is ${((newest - ts) / MS).toFixed(3)} ms behind the newest ${kind} (${newest}); tolerance ${config.outOfOrderToleranceMs} ms`,
  };
}

function touchedBy(state: InstrumentQuality, ts: number): Pick<InstrumentQuality, 'lastUpdateTs' | 'stale'> {
  return { lastUpdateTs: Math.max(ts, state.lastUpdateTs ?? ts), stale: false };
}

/**
 * Whether a record's times can be believed: its exchange time at most `maxClockSkewMs` after its
 * receive time, and its receive time at most `maxFutureMs` ahead of the processing clock. A record
 * that fails is flagged FUTURE_TIMESTAMP before any other rule sees it (nothing of it enters state).
 */
export function futureFinding(
  record: { tsEvent: number; tsRecv: number },
  nowMicros: number,
  config: QualityConfig,
): Finding | undefined {
  if (record.tsEvent > record.tsRecv + config.maxClockSkewMs * MS) {
    return {
      rule: 'FUTURE_TIMESTAMP',
      flagged: true,
      detail: `exchange time ${record.tsEvent} is ${((record.tsEvent - record.tsRecv) / 1e6).toFixed(3)} s after its receive time ${record.tsRecv} (limit ${config.maxClockSkewMs / 1000} s)`,
    };
  }
  if (record.tsRecv > nowMicros + config.maxFutureMs * MS) {
    return {
      rule: 'FUTURE_TIMESTAMP',
      flagged: true,
      detail: `receive time ${record.tsRecv} is ${((record.tsRecv - nowMicros) / 1e6).toFixed(3)} s ahead of the processing clock (limit ${config.maxFutureMs / 1000} s)`,
    };
  }
  return undefined;
}

/** A price outside the band the prevailing quote still explains: within its bid and ask, widened by the band floor. */
function corroborated(
  quote: InstrumentQuality['quote'],
  price: number,
  tsEvent: number,
  config: QualityConfig,
): boolean {
  if (
    !quote ||
    tsEvent - quote.ts > config.quoteMaxAgeMs * MS ||
    quote.ts - tsEvent > config.outOfOrderToleranceMs * MS
  )
    return false;
  const slack = config.outlierMinBandBps / 10_000;
  return price >= quote.bid * (1 - slack) && price <= quote.ask * (1 + slack);
}

/**
 * The trade rules. `ids` holds the instrument's recent trade ids (in-memory for pure uses, chunked
 * in the store in normalize); `calendar` gives the trading session (the band restarts when it
 * changes). Updates the given state's `prices` in place (the returned state shares it): the caller
 * must store the returned state in the same batch (see KeyValueStore).
 */
export function checkTrade(
  state: InstrumentQuality,
  t: Trade,
  sequence: number | undefined,
  config: QualityConfig,
  ids: IdWindow,
  calendar?: Calendar,
): Checked {
  const gap = sequenceFinding(state, sequence);
  const findings: Finding[] = [...resumed(state, t.tsEvent)];
  if (gap.finding) findings.push(gap.finding);
  const base = { ...state, ...touchedBy(state, t.tsEvent), sequence: gap.sequence };
  const flag = (finding: Finding, next: InstrumentQuality = base): Checked => ({
    state: next,
    findings: [...findings, finding],
    flagged: true,
  });

  if (!t.price.isPositive() || t.price.isZero() || !t.size.isPositive() || t.size.isZero()) {
    return flag({
      rule: 'NON_POSITIVE',
      flagged: true,
      detail: `trade ${t.tradeId}: price ${t.price.toFixed()} and size ${t.size.toFixed()} must both be positive`,
    });
  }
  const seenAt = ids.seen(t.tradeId);
  const windowMicros = Math.max(config.duplicateWindowMs, config.outOfOrderToleranceMs) * MS;
  // An id older than the window (not pruned yet) is left to the out-of-order rule, as if pruned.
  if (seenAt !== undefined && seenAt >= (state.lastTradeTs ?? seenAt) - windowMicros)
    return flag({
      rule: 'DUPLICATE_TRADE',
      flagged: true,
      detail: `trade id ${t.tradeId} was already seen (exchange time ${seenAt})`,
    });
  const late = outOfOrder('trade', t.tsEvent, state.lastTradeTs, config);
  if (late) return flag(late);

  const price = t.price.toNumber();
  // In place (see checkTrade's contract): copying the window per trade made this rule the pipeline's hot spot.
  const prices = state.prices;
  const session = calendar ? sessionKeyAt(calendar, t.tsEvent) : null;
  if (session !== (state.bandSession ?? null)) prices.length = 0;
  const horizon = t.tsEvent - config.outlierMaxAgeMs * MS;
  let old = 0;
  while (old < prices.length && prices[old][1] < horizon) old++;
  if (old > 0) prices.splice(0, old);
  const band = robustBand(prices, config);
  prices.push([price, t.tsEvent]);
  if (prices.length > config.outlierWindow) prices.splice(0, prices.length - config.outlierWindow);
  const newest = Math.max(t.tsEvent, state.lastTradeTs ?? t.tsEvent);
  ids.add(t.tradeId, t.tsEvent, t.source);
  ids.prune(newest - windowMicros);
  const next: InstrumentQuality = { ...base, lastTradeTs: newest, prices, bandSession: session };
  if (band && Math.abs(price - band.median) > band.halfWidth && !corroborated(state.quote, price, t.tsEvent, config)) {
    const quote = state.quote
      ? `; quote ${state.quote.bid}/${state.quote.ask} at ${state.quote.ts} does not explain it`
      : '';
    return flag(
      {
        rule: 'PRICE_OUTLIER',
        flagged: true,
        detail: `trade ${t.tradeId} at ${t.price.toFixed()} is outside the band ${(band.median - band.halfWidth).toPrecision(10)}..${(band.median + band.halfWidth).toPrecision(10)} (median of the last ${prices.length - 1} trades ${band.median.toPrecision(10)})${quote}`,
      },
      next,
    );
  }
  return { state: next, findings, flagged: false };
}

function newerQuote(current: InstrumentQuality['quote'], next: InstrumentQuality['quote']): InstrumentQuality['quote'] {
  if (!next) return current ?? null;
  return current && current.ts > next.ts ? current : next;
}

function crossed(what: string, bid: Quote['bidPrice'], ask: Quote['askPrice']): Finding | undefined {
  if (bid.greaterThan(ask))
    return {
      rule: 'CROSSED_QUOTE',
      flagged: true,
      detail: `${what}: bid ${bid.toFixed()} is above ask ${ask.toFixed()}`,
    };
  if (bid.equals(ask))
    return { rule: 'LOCKED_QUOTE', flagged: true, detail: `${what}: bid equals ask (${bid.toFixed()})` };
  return undefined;
}

export function checkQuote(
  state: InstrumentQuality,
  q: Quote,
  sequence: number | undefined,
  config: QualityConfig,
): Checked {
  const gap = sequenceFinding(state, sequence);
  const findings: Finding[] = [...resumed(state, q.tsEvent)];
  if (gap.finding) findings.push(gap.finding);
  const base = { ...state, ...touchedBy(state, q.tsEvent), sequence: gap.sequence };
  // Size 0 is "not given" (TrueFX publishes none); a negative one is wrong.
  const nonPositive =
    [q.bidPrice, q.askPrice].some((d) => d.isNegative() || d.isZero()) ||
    [q.bidSize, q.askSize].some((d) => d.isNegative());
  const finding: Finding | undefined =
    (nonPositive
      ? {
          rule: 'NON_POSITIVE',
          flagged: true,
          detail: `quote: bid ${q.bidSize.toFixed()} @ ${q.bidPrice.toFixed()}, ask ${q.askSize.toFixed()} @ ${q.askPrice.toFixed()}; prices must be positive, sizes not negative`,
        }
      : undefined) ??
    outOfOrder('quote', q.tsEvent, state.lastQuoteTs, config) ??
    crossed('quote', q.bidPrice, q.askPrice);
  if (finding) return { state: base, findings: [...findings, finding], flagged: true };
  const quote = { bid: q.bidPrice.toNumber(), ask: q.askPrice.toNumber(), ts: q.tsEvent };
  return {
    state: {
      ...base,
      lastQuoteTs: Math.max(q.tsEvent, state.lastQuoteTs ?? q.tsEvent),
      quote: newerQuote(state.quote, quote),
    },
    findings,
    flagged: false,
  };
}

export function checkBook(
  state: InstrumentQuality,
  b: BookSnapshot,
  sequence: number | undefined,
  config: QualityConfig,
): Checked {
  const gap = sequenceFinding(state, sequence);
  const findings: Finding[] = [...resumed(state, b.tsEvent)];
  if (gap.finding) findings.push(gap.finding);
  const base = { ...state, ...touchedBy(state, b.tsEvent), sequence: gap.sequence };
  const bad = [...b.bids, ...b.asks].find(
    (l) => l.price.isNegative() || l.price.isZero() || l.size.isNegative() || l.size.isZero(),
  );
  const finding: Finding | undefined =
    (bad
      ? {
          rule: 'NON_POSITIVE',
          flagged: true,
          detail: `book level ${bad.size.toFixed()} @ ${bad.price.toFixed()}: prices and sizes must be positive`,
        }
      : undefined) ??
    outOfOrder('book', b.tsEvent, state.lastBookTs, config) ??
    (b.bids.length > 0 && b.asks.length > 0 ? crossed('book', b.bids[0].price, b.asks[0].price) : undefined);
  if (finding) return { state: base, findings: [...findings, finding], flagged: true };
  const top =
    b.bids.length > 0 && b.asks.length > 0
      ? { bid: b.bids[0].price.toNumber(), ask: b.asks[0].price.toNumber(), ts: b.tsEvent }
      : null;
  return {
    state: {
      ...base,
      lastBookTs: Math.max(b.tsEvent, state.lastBookTs ?? b.tsEvent),
      quote: newerQuote(state.quote, top),
    },
    findings,
    flagged: false,
  };
}

/**
 * A heartbeat is not an update: it only shows how long the instrument has been quiet. Silence counts
 * only while the session is open by the instrument's calendar (holidays and early closes included).
 */
export function checkHeartbeat(
  state: InstrumentQuality,
  h: SourceHeartbeat,
  session: Session,
  config: QualityConfig,
): Checked {
  if (state.lastUpdateTs === null)
    return { state: { ...state, lastUpdateTs: h.tsEvent }, findings: [], flagged: false };
  const quietMicros = h.tsEvent - state.lastUpdateTs;
  if (state.stale || quietMicros <= config.staleAfterMs * MS || !sessionOpen(session, h.tsEvent))
    return { state, findings: [], flagged: false };
  return {
    state: { ...state, stale: true },
    findings: [
      {
        rule: 'STALE_FEED',
        flagged: false,
        detail: `no update from ${h.source} for ${(quietMicros / 1e6).toFixed(3)} s (limit ${config.staleAfterMs / 1000} s) while the ${session.name} session is open`,
      },
    ],
    flagged: false,
  };
}
