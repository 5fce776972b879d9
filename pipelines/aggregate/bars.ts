import type { Bar, Trade } from '../../schemas/types.generated';
import { Decimal, quotientHalfEven } from '../../schemas/decimal';
import { intervalMicros } from '../../schemas/intervals';

/**
 * Event-time trade bars, as DESIGN.md defines them: buckets `[start, end)` by `tsEvent`, from the
 * instrument's calendar (connectors/reference/calendars.ts `bucketOf`: epoch-aligned, so
 * `end = start + interval`, for 24/7 instruments and intervals under an hour; aligned to the trading
 * session for longer ones); open and close are the first and last trade by `tsEvent` (ties by arrival order);
 * volume is the sum of sizes; vwap is sum(price x size) / volume, rounded half-even to 12 places,
 * computed on exact integers (no intermediate rounding). Pure functions over JSON-able state, so the
 * state can live in a store and its changelog.
 */

/** One bar being built, as stored: decimals as strings; `pv` is sum(price x size), exact. */
export interface BarState {
  interval: string;
  start: number;
  /** Bucket end (exclusive); absent in state written before buckets followed calendars: start + interval. */
  end?: number;
  open: string;
  openTs: number;
  high: string;
  low: string;
  close: string;
  closeTs: number;
  closeRecv: number;
  volume: string;
  pv: string;
  count: number;
  /** Last revision emitted; -1 while the bar has not been emitted. */
  revision: number;
}

/**
 * The bar state of an instrument: its watermark (highest tsEvent of a trade or an applicable
 * heartbeat), the bars not yet final, the trades received, and a heartbeat waiting for trades
 * normalize had sent before it.
 */
export interface InstrumentBars {
  venue: string;
  symbol: string;
  source: string;
  watermark: number;
  bars: BarState[];
  /** Trades of the instrument received on md.trades.v1 (absent in state written before it was kept). */
  trades?: number;
  pending?: { ts: number; trades: number };
}

/** Adds a trade to a bar (creating it when `bar` is undefined); arrival order breaks time ties. */
export function addTrade(bar: BarState | undefined, interval: string, start: number, end: number, t: Trade): BarState {
  const price = t.price.toFixed();
  const pv = t.price.times(t.size);
  if (!bar) {
    return {
      interval,
      start,
      end,
      open: price,
      openTs: t.tsEvent,
      high: price,
      low: price,
      close: price,
      closeTs: t.tsEvent,
      closeRecv: t.tsRecv,
      volume: t.size.toFixed(),
      pv: pv.toFixed(),
      count: 1,
      revision: -1,
    };
  }
  const next = { ...bar };
  if (t.tsEvent < bar.openTs) {
    next.open = price;
    next.openTs = t.tsEvent;
  }
  if (t.tsEvent >= bar.closeTs) {
    next.close = price;
    next.closeTs = t.tsEvent;
    next.closeRecv = t.tsRecv;
  }
  if (t.price.greaterThan(bar.high)) next.high = price;
  if (t.price.lessThan(bar.low)) next.low = price;
  next.volume = new Decimal(bar.volume).plus(t.size).toFixed();
  next.pv = new Decimal(bar.pv).plus(pv).toFixed();
  next.count = bar.count + 1;
  return next;
}

/** sum(price x size) / volume rounded half-even to 12 places, on exact integers. */
export function vwapOf(pv: string, volume: string): Decimal {
  return quotientHalfEven(new Decimal(pv), new Decimal(volume));
}

/** A bar's end: its bucket's, or for state written before buckets followed calendars, start + interval. */
export function barEnd(bar: BarState): number {
  return bar.end ?? bar.start + (intervalMicros(bar.interval) ?? 0);
}

export function toBar(instrumentId: string, state: InstrumentBars, bar: BarState, final: boolean): Bar {
  return {
    instrumentId,
    venue: state.venue,
    symbol: state.symbol,
    source: state.source,
    interval: bar.interval,
    tsStart: bar.start,
    tsEvent: bar.closeTs,
    tsRecv: bar.closeRecv,
    open: new Decimal(bar.open),
    high: new Decimal(bar.high),
    low: new Decimal(bar.low),
    close: new Decimal(bar.close),
    volume: new Decimal(bar.volume),
    vwap: vwapOf(bar.pv, bar.volume),
    tradeCount: bar.count,
    revision: bar.revision,
    final,
    tsEnd: barEnd(bar),
  };
}
