import { logger } from '../../pipelines/runtime/log';
import type { RawRecord } from '../../schemas/types.generated';
import type { RawOut } from '../file-replay/replay';
import type { BoundedResponse, Timer } from './limits';
import { SlidingWindowLimiter, backoffMs, boundedGet, realTimer, retryAfterMs } from './limits';
import { TickflowError, isTickflowError } from '../../pipelines/runtime/errors';

const log = logger('rest-poller');

/**
 * A REST poller in the style of Alpha Vantage and Finnhub: it polls each target every `intervalMs`,
 * never sends more than `maxRequests` per `windowMs` (sliding window), and on a throttle (HTTP 429,
 * honouring Retry-After, or a vendor's throttle body) or a failure (5xx, network) retries with
 * jittered exponential backoff. Every request ends within `requestTimeoutMs` (a server that accepts
 * and never answers is a failure, retried like a 5xx) and reads at most `maxBodyBytes` (a larger
 * body is a failure too). A successful body is published verbatim as a raw record, unless the
 * vendor's data time did not move since the last one (nothing new); a failed publish is retried
 * with the same backoff, without asking the vendor again. Health counts every outcome.
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
  /** The whole request (connect, headers, body) must end within this; default 10 s. */
  readonly requestTimeoutMs?: number;
  /** A larger response body is not read past this and counts as a failure; default 1 MiB. */
  readonly maxBodyBytes?: number;
}

export const POLLER_DEFAULTS = { requestTimeoutMs: 10_000, maxBodyBytes: 1024 * 1024 };

/** Every request ends as exactly one of ok, throttled or failed. */
export interface PollerHealth {
  requests: number;
  ok: number;
  /** Of `ok`: the vendor's data time had not moved, nothing published. */
  unchanged: number;
  throttled: number;
  /** HTTP errors, network errors, timeouts and bodies over the limit. */
  failed: number;
  /** Of `failed`: no complete answer within `requestTimeoutMs`. */
  timedOut: number;
  /** Of `failed`: a body over `maxBodyBytes`. */
  tooLarge: number;
  gaveUp: number;
  published: number;
  /** Publish attempts that failed (Kafka); each is retried until it succeeds or the poller stops. */
  publishFailed: number;
  lastSuccess: Record<string, number | null>;
}

export class RestPoller {
  private stopped = true;
  private readonly limiter: SlidingWindowLimiter;
  private readonly timer: Timer;
  private readonly last = new Map<string, string>();
  private sequence = 0;
  private loops: Promise<void>[] = [];
  /** Aborted by stop(): ends every wait at once, leaving no timer behind. */
  private halt = new AbortController();
  private readonly stats: PollerHealth;
  private readonly requestTimeoutMs: number;
  private readonly maxBodyBytes: number;

  constructor(private readonly options: PollerOptions) {
    this.timer = options.timer ?? realTimer;
    this.limiter = new SlidingWindowLimiter(options.maxRequests, options.windowMs, this.timer);
    this.requestTimeoutMs = options.requestTimeoutMs ?? POLLER_DEFAULTS.requestTimeoutMs;
    this.maxBodyBytes = options.maxBodyBytes ?? POLLER_DEFAULTS.maxBodyBytes;
    if (!(this.requestTimeoutMs > 0) || !(this.maxBodyBytes > 0)) {
      const given = `requestTimeoutMs ${this.requestTimeoutMs}, maxBodyBytes ${this.maxBodyBytes}`;
      throw new TickflowError('CONFIG', `REST poller: ${given}: both must be positive`);
    }
    this.stats = {
      requests: 0,
      ok: 0,
      unchanged: 0,
      throttled: 0,
      failed: 0,
      timedOut: 0,
      tooLarge: 0,
      gaveUp: 0,
      published: 0,
      publishFailed: 0,
      lastSuccess: Object.fromEntries(options.targets.map((t) => [t.key, null])),
    };
  }

  health(): PollerHealth {
    return { ...this.stats, lastSuccess: { ...this.stats.lastSuccess } };
  }

  start(): void {
    this.stopped = false;
    this.halt = new AbortController();
    this.loops = this.options.targets.map((target) => this.loop(target));
  }

  /** Stops at once: waits (between polls, in backoff) end early; a request in flight ends within requestTimeoutMs. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.halt.abort();
    await Promise.all(this.loops);
  }

  private sleep(ms: number): Promise<void> {
    return this.timer.sleep(ms, this.halt.signal);
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
      await this.limiter.acquire(this.halt.signal);
      if (this.stopped) return;
      this.stats.requests += 1;
      const backoff = backoffMs(attempt, this.options.backoffBaseMs, this.options.backoffMaxMs);
      let response: BoundedResponse;
      try {
        response = await boundedGet(target.url, { timeoutMs: this.requestTimeoutMs, maxBodyBytes: this.maxBodyBytes });
      } catch (error) {
        this.stats.failed += 1;
        if (isTickflowError(error, 'TIMEOUT')) this.stats.timedOut += 1;
        if (isTickflowError(error, 'RESPONSE_TOO_LARGE')) this.stats.tooLarge += 1;
        log.warn(`${target.key}: ${(error as Error).message}; retrying in ${Math.round(backoff)} ms`);
        await this.sleep(backoff);
        continue;
      }
      const { status, ok, body } = response;
      if (status === 429 || (ok && this.throttledBody(body))) {
        this.stats.throttled += 1;
        const after = retryAfterMs(response.headers.get('retry-after'), this.timer.now());
        const wait = Math.max(after ?? 0, backoff);
        if (after !== undefined) this.limiter.penalise(this.timer.now() + after);
        log.warn(`${target.key}: throttled (${status}); retrying in ${Math.round(wait)} ms`);
        await this.sleep(wait);
      } else if (ok) {
        this.stats.ok += 1;
        this.stats.lastSuccess[target.key] = this.timer.now();
        await this.accept(target, body);
        return;
      } else {
        this.stats.failed += 1;
        log.warn(`${target.key}: HTTP ${status} ${body.slice(0, 120)}; retrying in ${Math.round(backoff)} ms`);
        await this.sleep(backoff);
      }
    }
    if (!this.stopped) {
      this.stats.gaveUp += 1;
      log.warn(
        `${target.key}: no answer after ${this.options.maxAttempts} attempts; polling again in ${this.options.intervalMs} ms`,
      );
    }
  }

  /** The vendor's throttle test; one that throws on an odd body does not stop the poller (not a throttle). */
  private throttledBody(body: string): boolean {
    try {
      return this.options.throttled(body);
    } catch {
      return false;
    }
  }

  /**
   * Publishes a body unless it brings nothing new. A failed publish (Kafka) is retried with backoff
   * until it succeeds or the poller stops: the body is already paid for in the vendor's quota, and
   * meanwhile this target is not polled, so nothing piles up.
   */
  private async accept(target: PollTarget, body: string): Promise<void> {
    let version: string | undefined;
    try {
      version = this.options.versionOf(body);
    } catch {
      version = undefined;
    }
    if (version !== undefined && this.last.get(target.key) === version) {
      this.stats.unchanged += 1;
      return;
    }
    this.sequence += 1;
    const raw: RawRecord = {
      source: this.options.source,
      format: this.options.format,
      tsRecv: this.timer.now() * 1000,
      origin: `${target.url.replace(/([?&](apikey|token)=)[^&]*/gi, '$1***')}#${this.sequence}`,
      sequence: this.sequence,
      payload: body,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.options.publish([{ key: target.key, tsEvent: Number.NaN, raw }]);
        break;
      } catch (error) {
        this.stats.publishFailed += 1;
        if (this.stopped) {
          const lost = `${target.key}: publishing ${raw.origin} failed and the poller is stopping`;
          log.error(`${lost}; that body is not published: ${(error as Error).message}`);
          return;
        }
        const wait = backoffMs(attempt, this.options.backoffBaseMs, this.options.backoffMaxMs);
        log.warn(`${target.key}: publishing failed (${(error as Error).message}); retrying in ${Math.round(wait)} ms`);
        await this.sleep(wait);
      }
    }
    if (version !== undefined) this.last.set(target.key, version);
    this.stats.published += 1;
  }
}
