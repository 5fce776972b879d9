import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RawOut } from '../file-replay/replay';
import type { FakeAlphaVantageOptions } from '../../tests/support/fake-alphavantage';
import { FakeAlphaVantage, HUGE_BODY_BYTES } from '../../tests/support/fake-alphavantage';
import { refreshedOf, throttledBody } from './alphavantage';
import type { PollerOptions } from './poller';
import { RestPoller } from './poller';
import { boundedGet } from './limits';
import { TickflowError } from '../../pipelines/runtime/errors';

/** The poller against a local fake Alpha Vantage (no Kafka: published records are collected). */
async function until(what: string, done: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const quoteUrl = (base: string, to: string): string =>
  `${base}/query?function=CURRENCY_EXCHANGE_RATE&from_currency=USD&to_currency=${to}&apikey=secret`;

/** No throttles, no 500s: only the faults a test asks for. */
type Faults = Pick<FakeAlphaVantageOptions, 'hangAt' | 'stallBodyAt' | 'hugeAt'>;
const fake = (to: string, quotes: number, faults: Faults): FakeAlphaVantage =>
  new FakeAlphaVantage({ to, quotes, maxRequests: 1000, windowMs: 1000, noteAt: [], failAt: [], ...faults });

type Publish = PollerOptions['publish'];
function pollerOf(url: string, to: string, publish: Publish, more: Partial<PollerOptions> = {}): RestPoller {
  return new RestPoller({
    targets: [{ key: `ALPHAVANTAGE:USD/${to}`, url: quoteUrl(url, to) }],
    format: 'alphavantage-fx',
    source: 'alphavantage',
    intervalMs: 20,
    maxRequests: 100,
    windowMs: 1000,
    backoffBaseMs: 20,
    backoffMaxMs: 100,
    maxAttempts: 5,
    versionOf: refreshedOf,
    throttled: throttledBody,
    publish,
    requestTimeoutMs: 300,
    ...more,
  });
}

describe('REST poller: every request is bounded in time and size', () => {
  let server: FakeAlphaVantage | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('times out a request with no answer or half a body, fails a huge body, retries, publishes all', async () => {
    server = fake('JPY', 8, { hangAt: [2], stallBodyAt: [4], hugeAt: [6] });
    const url = await server.listen();
    const published: RawOut[] = [];
    const poller = pollerOf(url, 'JPY', async (records) => void published.push(...records));
    poller.start();
    await until('every quote served', () => server?.done === true);
    await poller.stop();
    const health = poller.health();
    expect([server.hung, server.huge]).toEqual([2, 1]);
    expect([health.timedOut, health.tooLarge, health.failed, health.gaveUp]).toEqual([2, 1, 3, 0]);
    expect(health.requests).toBe(server.requestTimes.length);
    expect(health.requests).toBe(health.ok + health.throttled + health.failed);
    // Each hang cost one timeout (300 ms) and one backoff (at most 100 ms), not more.
    for (const n of [2, 4]) {
      const gap = server.requestTimes[n] - server.requestTimes[n - 1];
      expect(gap).toBeGreaterThanOrEqual(290);
      expect(gap).toBeLessThan(1500);
    }
    const distinct = [...new Set(server.served.map((q) => q.time))];
    expect(published.map((r) => refreshedOf(r.raw.payload))).toEqual(distinct);
    expect(published.every((r) => r.raw.origin.includes('apikey=***'))).toBe(true);
  });

  it('retries a failed publish without asking the vendor again', async () => {
    server = fake('CHF', 1, {});
    const url = await server.listen();
    const published: RawOut[] = [];
    let failures = 2;
    const poller = pollerOf(
      url,
      'CHF',
      async (records) => {
        if (failures-- > 0) throw new Error('Kafka is down');
        published.push(...records);
      },
      { intervalMs: 60_000 },
    );
    poller.start();
    await until('the quote published', () => published.length === 1);
    await poller.stop();
    const { publishFailed, published: count, failed } = poller.health();
    expect([server.requestTimes.length, publishFailed, count, failed]).toEqual([1, 2, 1, 0]);
  });

  it('stops promptly even while a request hangs (the request ends at its timeout)', async () => {
    server = fake('EUR', 1, { hangAt: [1] });
    const url = await server.listen();
    const poller = pollerOf(url, 'EUR', async () => undefined, { requestTimeoutMs: 500 });
    poller.start();
    await until('the request to arrive', () => server?.requestTimes.length === 1);
    const started = Date.now();
    await poller.stop();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(poller.health().timedOut).toBe(1);
  });
});

describe('boundedGet', () => {
  let server: FakeAlphaVantage | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('reads a body up to the limit and refuses one over it, declared or streamed', async () => {
    server = fake('JPY', 1, { hugeAt: [2] });
    const url = quoteUrl(await server.listen(), 'JPY');
    const ok = await boundedGet(url, { timeoutMs: 2000, maxBodyBytes: 4096 });
    expect([ok.status, refreshedOf(ok.body) !== undefined]).toEqual([200, true]);
    const huge = boundedGet(url, { timeoutMs: 2000, maxBodyBytes: HUGE_BODY_BYTES - 1 });
    await expect(huge).rejects.toMatchObject({ code: 'RESPONSE_TOO_LARGE' });
    await expect(boundedGet(url, { timeoutMs: 2000, maxBodyBytes: 10 })).rejects.toBeInstanceOf(TickflowError);
  });

  it('says why a connection failed, without the URL', async () => {
    // A port that was just free: nothing listens there.
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const request = boundedGet(`http://127.0.0.1:${port}/query?apikey=secret`, { timeoutMs: 2000, maxBodyBytes: 10 });
    const error = (await request.catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/fetch failed: .*ECONNREFUSED/);
    expect(error.message).not.toContain('secret');
  });
});
