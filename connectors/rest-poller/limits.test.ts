import type { Timer } from './limits';
import { SlidingWindowLimiter, backoffMs, realTimer, retryAfterMs } from './limits';
import { alphaVantageFx, throttledBody } from './alphavantage';

/** A clock that moves only when something sleeps. */
function fakeTimer(): Timer & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

describe('REST poller pacing', () => {
  it('never lets more than max requests into any window', async () => {
    const timer = fakeTimer();
    const limiter = new SlidingWindowLimiter(3, 1000, timer);
    const at: number[] = [];
    for (let i = 0; i < 10; i++) {
      await limiter.acquire();
      at.push(timer.now());
    }
    expect(at).toEqual([0, 0, 0, 1000, 1000, 1000, 2000, 2000, 2000, 3000]);
  });

  it('backs off exponentially with jitter, capped, and reads Retry-After', () => {
    expect([0, 1, 2, 3, 10].map((n) => backoffMs(n, 100, 2000, () => 1))).toEqual([100, 200, 400, 800, 2000]);
    expect(backoffMs(2, 100, 2000, () => 0)).toBe(200);
    expect(retryAfterMs('3', 0)).toBe(3000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:01 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(1000);
    expect(retryAfterMs(null, 0)).toBeUndefined();
  });

  it('a sleep ends at once when its signal aborts, and an aborted acquire records no request', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const sleeping = realTimer.sleep(60_000, controller.signal);
    controller.abort();
    await sleeping;
    expect(Date.now() - started).toBeLessThan(1000);
    const timer = fakeTimer();
    const limiter = new SlidingWindowLimiter(1, 1000, timer);
    await limiter.acquire();
    await limiter.acquire(controller.signal);
    // Had the aborted acquire recorded a request (at 1000), the next would wait until 2000.
    expect([timer.now(), limiter.waitMs()]).toEqual([1000, 0]);
  });

  it('a server-side throttle pushes the window forward', async () => {
    const timer = fakeTimer();
    const limiter = new SlidingWindowLimiter(2, 1000, timer);
    await limiter.acquire();
    limiter.penalise(5000);
    expect(limiter.waitMs()).toBe(5000);
  });
});

describe('Alpha Vantage FX', () => {
  const body = JSON.stringify({
    'Realtime Currency Exchange Rate': {
      '1. From_Currency Code': 'USD',
      '3. To_Currency Code': 'JPY',
      '5. Exchange Rate': '157.40700000',
      '6. Last Refreshed': '2024-05-29 20:12:01',
      '7. Time Zone': 'UTC',
      '8. Bid Price': '157.40400000',
      '9. Ask Price': '157.41300000',
    },
  });
  it('parses the documented body exactly', () => {
    const tsRecv = Date.UTC(2024, 4, 29, 20, 12, 2) * 1000;
    const raw = { source: 'alphavantage', format: 'alphavantage-fx', tsRecv, origin: 'x', sequence: 7, payload: body };
    const parsed = alphaVantageFx.parse(raw);
    if (parsed.kind !== 'quote') throw new Error(parsed.kind);
    const q = parsed.value;
    expect([
      q.instrumentId,
      q.tsEvent,
      q.bidPrice.toFixed(),
      q.askPrice.toFixed(),
      q.bidSize.toFixed(),
      q.sequence,
    ]).toEqual(['ALPHAVANTAGE:USD/JPY', Date.UTC(2024, 4, 29, 20, 12, 1) * 1000, '157.404', '157.413', '0', 7]);
  });

  it('recognises its throttle note', () => {
    expect(
      throttledBody(
        '{"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute"}',
      ),
    ).toBe(true);
    expect(throttledBody(body)).toBe(false);
  });
});
