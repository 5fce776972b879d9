import { rng } from '../../connectors/synthetic/trades';
import { Decimal } from '../../schemas/decimal';
import type { Quote, Signal, Trade } from '../../schemas/types.generated';

/**
 * Scripted inputs for the trading tests: signals keyed by account (as route writes them to
 * risk.signals.v1) and a market of quotes and trades per instrument, all deterministic by seed.
 * Prices move on a 0.01 grid (the SYN venue's tick) around 100 + the instrument's index.
 */
export interface Keyed<V> {
  topic: string;
  key: string;
  value: V;
}

export const SYN = (prefix: string, i: number): string => `SYN:${prefix}${i}`;

export function tradingSignals(options: {
  seed: number;
  prefix: string;
  instruments: number;
  accounts: readonly string[];
  count: number;
  startMicros: number;
  /** Spacing of signals in event time. */
  stepMicros?: number;
  price?: (instrument: number, k: number) => string;
  /** The side of signal k for an account and instrument (default: random). */
  side?: (account: number, instrument: number, k: number) => Signal['side'];
}): Keyed<Signal>[] {
  const random = rng(options.seed);
  const step = options.stepMicros ?? 1000;
  const out: Keyed<Signal>[] = [];
  for (let k = 0; k < options.count; k++) {
    const i = Math.floor(random() * options.instruments);
    const a = k % options.accounts.length;
    const account = options.accounts[a];
    const coin = random() < 0.5 ? 'BUY' : 'SELL';
    const instrumentId = SYN(options.prefix, i);
    const tsEvent = options.startMicros + k * step;
    const side = options.side ? options.side(a, i, k) : coin;
    const confidence = Math.round((0.6 + random() * 0.4) * 1000) / 1000;
    const price = options.price ? options.price(i, k) : String(100 + i);
    out.push(signalFor(account, instrumentId, side, price, tsEvent, confidence));
  }
  return out;
}

/**
 * A market per instrument from `startMicros`: every `stepMicros` one quote per instrument (spread of
 * one or two ticks, sizes 5 to 50) and, every other step, a trade at the bid or the ask.
 */
export function tradingMarket(options: {
  seed: number;
  prefix: string;
  instruments: number;
  steps: number;
  startMicros: number;
  stepMicros?: number;
  drift?: (instrument: number, step: number) => number;
}): Keyed<Quote | Trade>[] {
  const random = rng(options.seed);
  const step = options.stepMicros ?? 10_000;
  const mids = Array.from({ length: options.instruments }, (_, i) => (100 + i) * 100);
  const out: Keyed<Quote | Trade>[] = [];
  for (let s = 0; s < options.steps; s++) {
    for (let i = 0; i < options.instruments; i++) {
      mids[i] += options.drift ? options.drift(i, s) : Math.floor(random() * 3) - 1;
      const instrumentId = SYN(options.prefix, i);
      const base = { instrumentId, venue: 'SYN', symbol: instrumentId.slice(4), source: 'test' };
      const tsEvent = options.startMicros + s * step + i;
      const bid = mids[i];
      const ask = bid + 1 + Math.floor(random() * 2);
      const cents = (n: number): Decimal => new Decimal(n).div(100);
      out.push({
        topic: 'md.quotes.v1',
        key: instrumentId,
        value: {
          ...base,
          tsEvent,
          tsRecv: tsEvent,
          bidPrice: cents(bid),
          bidSize: new Decimal(5 + Math.floor(random() * 46)),
          askPrice: cents(ask),
          askSize: new Decimal(5 + Math.floor(random() * 46)),
          sequence: s,
        } satisfies Quote,
      });
      if (s % 2 === 1) {
        const buy = random() < 0.5;
        out.push({
          topic: 'md.trades.v1',
          key: instrumentId,
          value: {
            ...base,
            tsEvent: tsEvent + 1,
            tsRecv: tsEvent + 1,
            price: cents(buy ? ask : bid),
            size: new Decimal(1 + Math.floor(random() * 20)),
            side: buy ? 'BUY' : 'SELL',
            tradeId: `${s}`,
          } satisfies Trade,
        });
      }
    }
  }
  return out;
}

/** One signal for `account` (as route writes it), at `tsEvent`. */
export function signalFor(
  account: string,
  instrumentId: string,
  side: Signal['side'],
  price: string,
  tsEvent: number,
  confidence = 1,
): Keyed<Signal> {
  return {
    topic: 'risk.signals.v1',
    key: account,
    value: {
      id: `test-strategy:${instrumentId}:1m:${tsEvent}:${account}`,
      strategy: 'test-strategy',
      instrumentId,
      venue: instrumentId.slice(0, instrumentId.indexOf(':')),
      symbol: instrumentId.slice(instrumentId.indexOf(':') + 1),
      source: 'test',
      interval: '1m',
      side,
      confidence,
      reason: 'scripted',
      price: new Decimal(price),
      barStart: tsEvent - 60_000_000,
      barRevision: 0,
      tsEvent,
      tsRecv: tsEvent,
      features: {},
      status: 'ACCEPTED',
      rejectCode: null,
      rejectDetail: null,
      tsValidated: tsEvent,
    },
  };
}

/** A quote now-ish: `bid`/`ask` with `size` on each side. */
export function quoteAt(instrumentId: string, tsEvent: number, bid: string, ask: string, size = '1000'): Keyed<Quote> {
  return {
    topic: 'md.quotes.v1',
    key: instrumentId,
    value: {
      instrumentId,
      venue: instrumentId.slice(0, instrumentId.indexOf(':')),
      symbol: instrumentId.slice(instrumentId.indexOf(':') + 1),
      source: 'test',
      tsEvent,
      tsRecv: tsEvent,
      bidPrice: new Decimal(bid),
      bidSize: new Decimal(size),
      askPrice: new Decimal(ask),
      askSize: new Decimal(size),
      sequence: null,
    },
  };
}
