import { rawPublisher } from '../../connectors/file-replay/replay';
import { sql, waitForWalApplied } from '../../connectors/questdb/sql';
import { refreshedOf, throttledBody } from '../../connectors/rest-poller/alphavantage';
import { RestPoller } from '../../connectors/rest-poller/poller';
import { Decimal } from '../../schemas/decimal';
import { FakeAlphaVantage } from '../support/fake-alphavantage';
import { unique } from '../support/helpers';
import type { TestPipeline } from '../support/test-pipeline';
import { startTestPipeline } from '../support/test-pipeline';
import { waitFor } from '../support/runtime-harness';

/**
 * The REST poller against a local server in the style of Alpha Vantage that serves recorded TrueFX
 * quotes, limits requests (429 with Retry-After), sends its 200 throttle Note twice, fails once
 * with 500, leaves two requests unanswered and answers two with a 2 MiB body. Through the real
 * Kafka, normalize and the sink: the poller never exceeds its own rate limit, backs off and retries
 * every throttle and failure (a hang ends at its request timeout, a huge body is not read past
 * 1 MiB), and every distinct quote served (by the vendor's one-second time) is stored once with
 * exact prices.
 */
describe('REST poller: rate limit, backoff, 429 (local server, real stack)', () => {
  let t: TestPipeline;
  let server: FakeAlphaVantage;
  let poller: RestPoller;
  const to = unique('T').toUpperCase();
  const instrumentId = `ALPHAVANTAGE:USD/${to}`;

  beforeAll(async () => {
    t = await startTestPipeline('test-rest-poller', ['normalize', 'sink-questdb']);
    // The server allows 5 requests a second and the poller keeps to 4 (polling every 50 ms, it
    // would send 20 without its limiter); the 429s are scripted, so each fault happens once.
    const faults = { noteAt: [3, 12], failAt: [8], rejectAt: [5, 16], hangAt: [20, 21], hugeAt: [30, 31] };
    server = new FakeAlphaVantage({ to, quotes: 40, maxRequests: 5, windowMs: 1000, ...faults });
    const url = await server.listen();
    const publisher = await rawPublisher(t.kafka, t.codec, 'md.raw.rest.v1');
    poller = new RestPoller({
      targets: [
        {
          key: instrumentId,
          url: `${url}/query?function=CURRENCY_EXCHANGE_RATE&from_currency=USD&to_currency=${to}&apikey=secret`,
        },
      ],
      format: 'alphavantage-fx',
      source: 'alphavantage',
      intervalMs: 50,
      maxRequests: 4,
      windowMs: 1000,
      backoffBaseMs: 100,
      backoffMaxMs: 2000,
      maxAttempts: 8,
      versionOf: refreshedOf,
      throttled: throttledBody,
      publish: (records) => publisher.publish(records),
      requestTimeoutMs: 1000,
    });
    poller.start();
    await waitFor('the server to serve every quote', async () => server.done, 120_000, 100);
    await poller.stop();
    await publisher.close();
    await t.drain();
    await waitForWalApplied(['quotes']);
  }, 240_000);

  afterAll(async () => {
    await server?.close();
    await t.stop();
  });

  it('kept to its own limit, and backed off every throttle and failure', () => {
    const health = poller.health();
    // At most 4 sent per second; the server may see one more in a second, as network delays bunch
    // arrivals (without its limiter the poller would send 20).
    expect(server.peakInWindow()).toBeLessThanOrEqual(5);
    expect([server.rejected429, server.notes, server.failures, server.hung, server.huge]).toEqual([2, 2, 1, 2, 2]);
    expect(health.throttled).toBe(server.rejected429 + server.notes);
    expect(health.failed).toBe(server.failures + server.hung + server.huge);
    expect(health.gaveUp).toBe(0);
    expect(health.requests).toBe(server.requestTimes.length);
    // Retry-After (1 s) was honoured: nothing came sooner after a 429.
    for (const at of server.rejectedAt) {
      const next = server.requestTimes.find((t) => t > at);
      if (next !== undefined) expect(next - at).toBeGreaterThanOrEqual(990);
    }
  });

  it('timed out every request left unanswered and refused every body over the limit', () => {
    const health = poller.health();
    expect(server.hung + server.huge).toBeGreaterThan(0);
    expect([health.timedOut, health.tooLarge, health.publishFailed]).toEqual([server.hung, server.huge, 0]);
  });

  it('stores every distinct quote served, once, exactly', async () => {
    const distinct = new Map<string, { bid: string; ask: string }>();
    for (const q of server.served) if (!distinct.has(q.time)) distinct.set(q.time, q);
    const result = await sql(
      `SELECT ts, bid_price, ask_price, source FROM quotes WHERE instrument_id = '${instrumentId}' ORDER BY ts`,
    );
    const got = result.dataset.map(([ts, bid, ask, source]) => [
      String(ts).slice(0, 19).replace('T', ' '),
      new Decimal(bid as string).toFixed(),
      new Decimal(ask as string).toFixed(),
      source,
    ]);
    const want = [...distinct].map(([time, q]) => [
      time,
      new Decimal(q.bid).toFixed(),
      new Decimal(q.ask).toFixed(),
      'alphavantage',
    ]);
    expect(want.length).toBeGreaterThan(10);
    expect(got).toEqual(want);
  });
});
