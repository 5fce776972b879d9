import type { Trade } from '../../schemas/types.generated';
import { tickflowNdjson } from '../tickflow-ndjson/format';
import { instrumentRef, sessionOpen } from '../reference/instruments';
import { rng } from './trades';
import type { Rule } from '../../schemas/quality';

/**
 * The synthetic market: a deterministic (by seed) stream of trades, quotes and heartbeats for N
 * instruments in tickflow NDJSON (connectors/tickflow-ndjson), with optional injected faults. The
 * same options always give the same lines, so a test can know exactly which findings normalize
 * must make and which trades must reach the bars.
 *
 * Prices random-walk in whole ticks from a per-instrument start between 50 and 500; spreads are 1
 * to 3 ticks; trades print at the bid or the ask (their side) in sizes of 0.001 to 5. Exchange time
 * advances `1 / eventsPerSecond` per event over all instruments; each instrument gets a heartbeat
 * every `heartbeatMs`. Each event carries the instrument's next sequence number (`seq`).
 *
 * Faults (each a probability per event; at most one per event), and the finding each must cause:
 * - badPrint: a trade 15-30% away from the market (PRICE_OUTLIER)
 * - nonPositive: a trade of size 0 (NON_POSITIVE)
 * - crossed / locked: a quote with bid above / equal to ask (CROSSED_QUOTE / LOCKED_QUOTE)
 * - duplicate: the instrument's previous trade sent again, verbatim (DUPLICATE_TRADE)
 * - outOfOrder: a new trade stamped 2 to 10 s in the past (OUT_OF_ORDER)
 * - gap: 1 to 5 sequence numbers skipped before an otherwise clean event (SEQUENCE_GAP, reported)
 * `silences` make an instrument send nothing but heartbeats for a while: longer than the
 * stale limit, that is STALE_FEED at a heartbeat and FEED_RESUMED at the next event (reported).
 */
export interface FaultRates {
  badPrint: number;
  nonPositive: number;
  crossed: number;
  locked: number;
  duplicate: number;
  outOfOrder: number;
  gap: number;
}

export const NO_FAULTS: FaultRates = {
  badPrint: 0,
  nonPositive: 0,
  crossed: 0,
  locked: 0,
  duplicate: 0,
  outOfOrder: 0,
  gap: 0,
};

export interface MarketOptions {
  seed: number;
  instruments: number;
  /** Venue of the instruments (instrument ids `<venue>:<prefix><n>`); `SYN` is always open. */
  venue: string;
  prefix: string;
  startMicros: number;
  /** Exchange-time rate of events over all instruments. */
  eventsPerSecond: number;
  /** Share of events that are quotes (the rest are trades). */
  quoteShare: number;
  heartbeatMs: number;
  /** normalize's `staleAfterMs`, to know which heartbeats must report STALE_FEED. */
  staleAfterMs: number;
  faults: FaultRates;
  /** Windows in which an instrument sends only heartbeats (milliseconds from the start). */
  silences: readonly { instrument: number; fromMs: number; durationMs: number }[];
}

export const MARKET_DEFAULTS: Omit<MarketOptions, 'startMicros'> = {
  seed: 1,
  instruments: 3,
  venue: 'SYN',
  prefix: 'S',
  eventsPerSecond: 200,
  quoteShare: 0.5,
  heartbeatMs: 1000,
  staleAfterMs: 10_000,
  faults: NO_FAULTS,
  silences: [],
};

export interface MarketEvent {
  readonly kind: 'trade' | 'quote' | 'heartbeat';
  /** Vendor key of the line (`<venue>:<symbol>`, also its instrument id). */
  readonly key: string;
  readonly tsEvent: number;
  readonly tsRecv: number;
  /** The NDJSON line. */
  readonly line: string;
  /** Findings normalize must make for this line, in its order: reported ones first, then the flag. */
  readonly expected: readonly Rule[];
  /** True when a finding withholds the record (it must reach no topic, bar or analytic). */
  readonly flagged: boolean;
}

interface InstrumentWalk {
  symbol: string;
  ticks: number;
  seq: number;
  trades: number;
  lastTrade?: { line: string; tsEvent: number };
  nextHeartbeat: number;
  silent: boolean;
  /** What normalize's stale rule knows: the newest update (or first heartbeat) and whether it reported STALE_FEED. */
  lastUpdate?: number;
  stale: boolean;
}

/** The generator's instrument ids: `<venue>:<prefix><n>`. */
export function marketInstrumentIds(options: Pick<MarketOptions, 'venue' | 'prefix' | 'instruments'>): string[] {
  return Array.from({ length: options.instruments }, (_, i) => `${options.venue}:${options.prefix}${i}`);
}

const TICK_DECIMALS = 2;
const price = (ticks: number): string => (ticks / 10 ** TICK_DECIMALS).toFixed(TICK_DECIMALS);
const FAULTS = ['badPrint', 'nonPositive', 'crossed', 'locked', 'duplicate', 'outOfOrder', 'gap'] as const;

/** `count` market events (trades and quotes; heartbeats come on top), in exchange-time order except injected faults. */
export function* syntheticMarket(options: MarketOptions, count: number): Generator<MarketEvent> {
  const random = rng(options.seed);
  const stepMicros = 1e6 / options.eventsPerSecond;
  const walks: InstrumentWalk[] = Array.from({ length: options.instruments }, (_, i) => ({
    symbol: `${options.prefix}${i}`,
    ticks: 5000 + Math.floor(random() * 45_000),
    seq: 0,
    trades: 0,
    nextHeartbeat: options.startMicros,
    silent: false,
    stale: false,
  }));
  const identity = (w: InstrumentWalk, ts: number) => ({
    venue: options.venue,
    symbol: w.symbol,
    tsEvent: ts,
    tsRecv: ts + 150 + Math.floor(random() * 300),
  });
  const key = (w: InstrumentWalk): string => `${options.venue}:${w.symbol}`;
  for (let i = 0; i < count; i++) {
    const ts = Math.round(options.startMicros + i * stepMicros);
    const sinceStartMs = (ts - options.startMicros) / 1000;
    for (const [n, w] of walks.entries()) {
      w.silent = options.silences.some(
        (s) => s.instrument === n && sinceStartMs >= s.fromMs && sinceStartMs < s.fromMs + s.durationMs,
      );
      while (w.nextHeartbeat <= ts) {
        const at = w.nextHeartbeat;
        const expected: Rule[] = [];
        if (w.lastUpdate === undefined) w.lastUpdate = at;
        else if (
          !w.stale &&
          at - w.lastUpdate > options.staleAfterMs * 1000 &&
          sessionOpen(instrumentRef(key(w)).session, at)
        ) {
          w.stale = true;
          expected.push('STALE_FEED');
        }
        const id = identity(w, at);
        yield {
          kind: 'heartbeat',
          key: key(w),
          tsEvent: at,
          tsRecv: id.tsRecv,
          line: JSON.stringify({ type: 'heartbeat', ...id }),
          expected,
          flagged: false,
        };
        w.nextHeartbeat += options.heartbeatMs * 1000;
      }
    }
    const speaking = walks.filter((w) => !w.silent);
    if (speaking.length === 0) continue;
    const w = speaking[Math.floor(random() * speaking.length)];
    const resumed: Rule[] = w.stale ? ['FEED_RESUMED'] : [];
    w.stale = false;
    const touch = (at: number): void => {
      w.lastUpdate = Math.max(at, w.lastUpdate ?? at);
    };
    w.ticks = Math.max(1000, w.ticks + Math.floor(random() * 3) - 1);
    const spread = 1 + Math.floor(random() * 3);
    const isQuote = random() < options.quoteShare;
    const roll = random();
    let fault: (typeof FAULTS)[number] | undefined;
    let acc = 0;
    for (const f of FAULTS) {
      acc += options.faults[f];
      if (roll < acc) {
        fault = f;
        break;
      }
    }
    // Faults that need context are skipped (the event stays clean) when the context is missing.
    const recentTrade = w.lastTrade && ts - w.lastTrade.tsEvent <= 500_000 ? w.lastTrade : undefined;
    if (fault === 'duplicate' && !recentTrade) fault = undefined;
    if ((fault === 'badPrint' || fault === 'outOfOrder') && (w.trades < 20 || !recentTrade)) fault = undefined;
    if ((fault === 'crossed' || fault === 'locked') && !isQuote) fault = undefined;
    if ((fault === 'badPrint' || fault === 'nonPositive' || fault === 'duplicate' || fault === 'outOfOrder') && isQuote)
      fault = undefined;

    if (fault === 'duplicate' && recentTrade) {
      touch(recentTrade.tsEvent);
      yield {
        kind: 'trade',
        key: key(w),
        tsEvent: recentTrade.tsEvent,
        tsRecv: ts + 150,
        line: recentTrade.line,
        expected: [...resumed, 'DUPLICATE_TRADE'],
        flagged: true,
      };
      continue;
    }
    const expected: Rule[] = [...resumed];
    if (fault === 'gap') {
      w.seq += 1 + Math.floor(random() * 5);
      expected.push('SEQUENCE_GAP');
    }
    w.seq += 1;
    if (isQuote) {
      let bid = w.ticks - Math.floor(spread / 2);
      let ask = bid + spread;
      if (fault === 'crossed') [bid, ask] = [ask, bid];
      if (fault === 'locked') ask = bid;
      if (fault === 'crossed' || fault === 'locked')
        expected.push(fault === 'crossed' ? 'CROSSED_QUOTE' : 'LOCKED_QUOTE');
      const id = identity(w, ts);
      const line = JSON.stringify({
        type: 'quote',
        ...id,
        bidPrice: price(bid),
        bidSize: (1 + Math.floor(random() * 5000)) / 1000 + '',
        askPrice: price(ask),
        askSize: (1 + Math.floor(random() * 5000)) / 1000 + '',
        seq: w.seq,
      });
      touch(ts);
      yield {
        kind: 'quote',
        key: key(w),
        tsEvent: ts,
        tsRecv: id.tsRecv,
        line,
        expected,
        flagged: fault === 'crossed' || fault === 'locked',
      };
      continue;
    }
    const buy = random() < 0.5;
    let tradeTicks = buy ? w.ticks - Math.floor(spread / 2) + spread : w.ticks - Math.floor(spread / 2);
    let tradeTs = ts;
    let size = String((1 + Math.floor(random() * 5000)) / 1000);
    if (fault === 'badPrint') {
      const away = 0.15 + random() * 0.15;
      tradeTicks = Math.round(tradeTicks * (random() < 0.5 ? 1 - away : 1 + away));
      expected.push('PRICE_OUTLIER');
    }
    if (fault === 'nonPositive') {
      size = '0';
      expected.push('NON_POSITIVE');
    }
    if (fault === 'outOfOrder') {
      tradeTs = ts - 2_000_000 - Math.floor(random() * 8_000_000);
      expected.push('OUT_OF_ORDER');
    }
    const id = identity(w, tradeTs);
    const line = JSON.stringify({
      type: 'trade',
      ...id,
      price: price(tradeTicks),
      size,
      side: buy ? 'BUY' : 'SELL',
      tradeId: `${w.symbol}-${w.seq}`,
      seq: w.seq,
    });
    const flagged = fault === 'badPrint' || fault === 'nonPositive' || fault === 'outOfOrder';
    if (!flagged) {
      w.trades += 1;
      w.lastTrade = { line, tsEvent: tradeTs };
    }
    touch(tradeTs);
    yield { kind: 'trade', key: key(w), tsEvent: tradeTs, tsRecv: id.tsRecv, line, expected, flagged };
  }
}

/**
 * `count` clean trades of the synthetic market (no quotes, no faults), as canonical records: the
 * load of `tickflow bench`. Exchange time advances `1 / eventsPerSecond` per trade (default 1 ms).
 */
export function marketTrades(
  options: Pick<MarketOptions, 'seed' | 'instruments' | 'prefix' | 'startMicros'> & { eventsPerSecond?: number },
  count: number,
): Trade[] {
  const market: MarketOptions = {
    ...MARKET_DEFAULTS,
    eventsPerSecond: 1000,
    ...options,
    quoteShare: 0,
    faults: NO_FAULTS,
    silences: [],
    heartbeatMs: 3_600_000,
  };
  const trades: Trade[] = [];
  let i = 0;
  for (const event of syntheticMarket(market, Number.MAX_SAFE_INTEGER)) {
    if (event.kind !== 'trade') continue;
    const parsed = tickflowNdjson.parse({
      source: 'synthetic',
      format: 'tickflow-ndjson',
      tsRecv: event.tsRecv,
      origin: `synthetic:${options.seed}:${i}`,
      sequence: i,
      payload: event.line,
    });
    trades.push(parsed.value as Trade);
    i += 1;
    if (trades.length === count) break;
  }
  return trades;
}
