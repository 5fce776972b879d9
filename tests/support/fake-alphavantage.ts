import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from '../../pipelines/runtime/settings';

/**
 * A local server in the style of Alpha Vantage's CURRENCY_EXCHANGE_RATE endpoint, for tests. Each
 * poll of USD/<to> gets the next of the recorded TrueFX quotes (bid and ask exact, the time rounded
 * down to the second as Alpha Vantage gives it, so polls within one second bring nothing new). It
 * enforces a rate limit (more than `maxRequests` in `windowMs` -> 429 with Retry-After), answers some
 * polls with Alpha Vantage's 200 throttle `Note`, fails some with 500, and on request leaves some
 * unanswered (`hangAt`: no headers ever; `stallBodyAt`: headers and half a body, then nothing) or
 * answers with a body of 2 MiB (`hugeAt`, streamed without a length). None of these faults serves a
 * quote, so `served` holds exactly the quotes a client could have read.
 */
export interface FakeAlphaVantageOptions {
  /** The quote currency code it answers for (tests use a unique one per run, so reruns do not meet old rows). */
  to: string;
  quotes: number;
  maxRequests: number;
  windowMs: number;
  /** These request numbers (1-based, counting every request) get the throttle Note. */
  noteAt: readonly number[];
  /** These request numbers fail with 500. */
  failAt: readonly number[];
  /** These request numbers get 429 with Retry-After: 1, whatever the rate. */
  rejectAt?: readonly number[];
  /** These request numbers are accepted and never answered. */
  hangAt?: readonly number[];
  /** These request numbers get 200 headers and part of a body, then nothing more. */
  stallBodyAt?: readonly number[];
  /** These request numbers get a 200 body of 2 MiB. */
  hugeAt?: readonly number[];
}

/** The size of a `hugeAt` body. */
export const HUGE_BODY_BYTES = 2 * 1024 * 1024;

export class FakeAlphaVantage {
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  private readonly quotes: { time: string; bid: string; ask: string }[];
  private position = 0;
  readonly requestTimes: number[] = [];
  /** What each successful data answer carried, in order. */
  readonly served: { time: string; bid: string; ask: string }[] = [];
  rejected429 = 0;
  readonly rejectedAt: number[] = [];
  notes = 0;
  failures = 0;
  /** Requests left without a complete answer (`hangAt`, `stallBodyAt`). */
  hung = 0;
  huge = 0;

  constructor(readonly options: FakeAlphaVantageOptions) {
    const file = path.join(REPO_ROOT, 'connectors', 'truefx', 'fixtures', 'truefx-usdjpy-quotes-2013-01.csv');
    this.quotes = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .slice(1, 1 + options.quotes)
      .map((line) => {
        const [ts, bid, ask] = line.split(',');
        return { time: ts.slice(0, 19), bid, ask };
      });
  }

  get done(): boolean {
    return this.position >= this.quotes.length;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Requests left hanging on purpose would otherwise keep the server open.
    this.server.closeAllConnections();
    await closed;
  }

  /** The most requests seen in any window of `windowMs`. */
  peakInWindow(): number {
    let peak = 0;
    for (let i = 0, j = 0; i < this.requestTimes.length; i++) {
      while (this.requestTimes[i] - this.requestTimes[j] >= this.options.windowMs) j++;
      peak = Math.max(peak, i - j + 1);
    }
    return peak;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const now = Date.now();
    this.requestTimes.push(now);
    const n = this.requestTimes.length;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body, null, 4));
    };
    const recent = this.requestTimes.filter((t) => t > now - this.options.windowMs).length;
    if (recent > this.options.maxRequests || this.options.rejectAt?.includes(n)) {
      this.rejected429 += 1;
      this.rejectedAt.push(now);
      return json(429, { Information: 'too many requests' }, { 'retry-after': '1' });
    }
    if (this.options.noteAt.includes(n)) {
      this.notes += 1;
      return json(200, {
        Note: 'Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute.',
      });
    }
    if (this.options.failAt.includes(n)) {
      this.failures += 1;
      return json(500, { error: 'internal' });
    }
    if (this.options.hangAt?.includes(n)) {
      this.hung += 1;
      return;
    }
    if (this.options.stallBodyAt?.includes(n)) {
      this.hung += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"Realtime Currency Exchange Rate": {');
      return;
    }
    if (this.options.hugeAt?.includes(n)) {
      this.huge += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      for (let sent = 0; sent < HUGE_BODY_BYTES; sent += chunk.length) res.write(chunk);
      res.end();
      return;
    }
    if (
      url.pathname !== '/query' ||
      url.searchParams.get('function') !== 'CURRENCY_EXCHANGE_RATE' ||
      url.searchParams.get('from_currency') !== 'USD' ||
      url.searchParams.get('to_currency') !== this.options.to
    ) {
      return json(200, { 'Error Message': 'Invalid API call.' });
    }
    const quote = this.quotes[Math.min(this.position, this.quotes.length - 1)];
    this.position += 1;
    this.served.push(quote);
    json(200, {
      'Realtime Currency Exchange Rate': {
        '1. From_Currency Code': 'USD',
        '2. From_Currency Name': 'United States Dollar',
        '3. To_Currency Code': this.options.to,
        '4. To_Currency Name': 'Japanese Yen',
        '5. Exchange Rate': quote.bid,
        '6. Last Refreshed': quote.time,
        '7. Time Zone': 'UTC',
        '8. Bid Price': quote.bid,
        '9. Ask Price': quote.ask,
      },
    });
  }
}
