import { logger } from '../../ops/log';
import type { RawRecord } from '../../schemas/types.generated';
import type { RawOut } from '../file-replay/replay';
import type { Timer } from './limits';
import { SlidingWindowLimiter, backoffMs, realTimer, retryAfterMs } from './limits';

const log = logger('rest-poller');

/**
 * A REST poller in the style of Alpha Vantage and Finnhub: it polls each target every `intervalMs`,
 * never sends more than `maxRequests` per `windowMs` (sliding window), and on a throttle (HTTP 429,
 * honouring Retry-After, or a vendor's throttle body) or a failure (5xx, network) retries with
 * jittered exponential backoff. A successful body is published verbatim as a raw record, unless the
 * vendor's data time did not move since the last one (nothing new). Health counts every outcome.
 */
export interface PollTarget {
  /** Vendor instrument key of the records, e.g. ALPHAVANTAGE:USD/JPY. */
  readonly key: string;
  readonly url: string;
}

export interface PollerOptions {
  readonly targets: readonly PollTarget[];
  readonly format: string;
  readonly source: string;
  readonly intervalMs: number;
  readonly maxRequests: number;
  readonly windowMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Gives up on one poll of a target after this many attempts (the next poll starts over). */
  readonly maxAttempts: number;
  /** The vendor's data time in a body (unchanged: skip), and whether a 200 body is a throttle. */
  readonly versionOf: (body: string) => string | undefined;
  readonly throttled: (body: string) => boolean;
  publish(records: RawOut[]): Promise<void>;
  readonly timer?: Timer;
}

export interface PollerHealth {
  requests: number;
  ok: number;
  unchanged: number;
  throttled: number;
  failed: number;
  gaveUp: number;
  published: number;
  lastSuccess: Record<string, number | null>;
}

export class RestPoller {
  private stopped = true;
  private readonly limiter: SlidingWindowLimiter;
  private readonly timer: Timer;
  private readonly last = new Map<string, string>();
  private sequence = 0;
  private loops: Promise<void>[] = [];
  private wake: () => void = () => undefined;
  private stopping: Promise<void> = Promise.resolve();
  private readonly stats: PollerHealth;

  constructor(private readonly options: PollerOptions) {
    this.timer = options.timer ?? realTimer;
    this.limiter = new SlidingWindowLimiter(options.maxRequests, options.windowMs, this.timer);
    this.stats = { requests: 0, ok: 0, unchanged: 0, throttled: 0, failed: 0, gaveUp: 0, published: 0, lastSuccess: Object.fromEntries(options.targets.map((t) => [t.key, null])) };
  }

  health(): PollerHealth {
    return { ...this.stats, lastSuccess: { ...this.stats.lastSuccess } };
  }

  start(): void {
    this.stopped = false;
    this.stopping = new Promise((resolve) => (this.wake = resolve));
    this.loops = this.options.targets.map((target) => this.loop(target));
  }

  /** Stops at once: waits (between polls, in backoff) end early; a request in flight finishes. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await Promise.all(this.loops);
  }

  private sleep(ms: number): Promise<void> {
    return Promise.race([this.timer.sleep(ms), this.stopping]);
  }

  private async loop(target: PollTarget): Promise<void> {
    while (!this.stopped) {
      const started = this.timer.now();
      await this.pollOnce(target);
      const wait = this.options.intervalMs - (this.timer.now() - started);
      if (wait > 0 && !this.stopped) await this.sleep(wait);
    }
  }

  /** One poll of a target: attempts until a body arrives, the attempts run out, or the poller stops. */
  async pollOnce(target: PollTarget): Promise<void> {
    for (let attempt = 0; attempt < this.options.maxAttempts && !this.stopped; attempt++) {
      await Promise.race([this.limiter.acquire(), this.stopping]);
      if (this.stopped) return;
      this.stats.requests += 1;
      let wait: number;
      try {
        const response = await fetch(target.url);
        const body = await response.text();
        if (response.status === 429 || (response.ok && this.options.throttled(body))) {
          this.stats.throttled += 1;
          const after = retryAfterMs(response.headers.get('retry-after'), this.timer.now());
          wait = Math.max(after ?? 0, backoffMs(attempt, this.options.backoffBaseMs, this.options.backoffMaxMs));
          if (after !== undefined) this.limiter.penalise(this.timer.now() + after);
          log.warn(`${target.key}: throttled (${response.status}); retrying in ${Math.round(wait)} ms`);
        } else if (response.ok) {
          this.stats.ok += 1;
          this.stats.lastSuccess[target.key] = this.timer.now();
          await this.accept(target, body);
          return;
        } else {
          this.stats.failed += 1;
          wait = backoffMs(attempt, this.options.backoffBaseMs, this.options.backoffMaxMs);
          log.warn(`${target.key}: HTTP ${response.status} ${body.slice(0, 120)}; retrying in ${Math.round(wait)} ms`);
        }
      } catch (error) {
        this.stats.failed += 1;
        wait = backoffMs(attempt, this.options.backoffBaseMs, this.options.backoffMaxMs);
        log.warn(`${target.key}: ${(error as Error).message}; retrying in ${Math.round(wait)} ms`);
      }
      await this.sleep(wait);
    }
    if (!this.stopped) {
      this.stats.gaveUp += 1;
      log.warn(`${target.key}: no answer after ${this.options.maxAttempts} attempts; polling again in ${this.options.intervalMs} ms`);
    }
  }

  private async accept(target: PollTarget, body: string): Promise<void> {
    const version = this.options.versionOf(body);
    if (version !== undefined && this.last.get(target.key) === version) {
      this.stats.unchanged += 1;
      return;
    }
    this.sequence += 1;
    const raw: RawRecord = { source: this.options.source, format: this.options.format, tsRecv: this.timer.now() * 1000, origin: `${target.url.replace(/([?&](apikey|token)=)[^&]*/gi, '$1***')}#${this.sequence}`, sequence: this.sequence, payload: body };
    await this.options.publish([{ key: target.key, tsEvent: Number.NaN, raw }]);
    if (version !== undefined) this.last.set(target.key, version);
    this.stats.published += 1;
  }
}
