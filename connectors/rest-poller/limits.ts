import { TickflowError, isTickflowError } from '../../pipelines/runtime/errors';
/**
 * Request pacing and bounds for REST calls (the pollers, and the Binance depth snapshot): a
 * sliding-window rate limit, jittered exponential backoff, and a GET that can neither hang nor
 * flood memory. Pacing time comes through `now` and `sleep` so tests can drive it.
 */
export interface Timer {
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts (and then leaves no timer behind). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realTimer: Timer = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/** At most `max` requests in any `windowMs`: `acquire` waits until one more fits, then records it. */
export class SlidingWindowLimiter {
  private readonly sent: number[] = [];

  constructor(
    readonly max: number,
    readonly windowMs: number,
    private readonly timer: Timer = realTimer,
  ) {
    if (!(max >= 1) || !(windowMs > 0))
      throw new TickflowError('CONFIG', `rate limit: ${max} requests per ${windowMs} ms is not a limit`);
  }

  /** How long until one more request fits (0: now). */
  waitMs(): number {
    const now = this.timer.now();
    while (this.sent.length > 0 && this.sent[0] <= now - this.windowMs) this.sent.shift();
    return this.sent.length < this.max ? 0 : this.sent[0] + this.windowMs - now;
  }

  /** Waits until one more request fits and records it; when `signal` aborts, returns at once without recording one. */
  async acquire(signal?: AbortSignal): Promise<void> {
    for (let wait = this.waitMs(); wait > 0; wait = this.waitMs()) {
      await this.timer.sleep(wait, signal);
      if (signal?.aborted) return;
    }
    this.sent.push(this.timer.now());
  }

  /** Pushes the window's start forward when the server says we were too fast (it counts what we cannot see). */
  penalise(untilMs: number): void {
    for (let i = 0; i < this.max; i++) this.sent.push(untilMs - this.windowMs);
    this.sent.sort((a, b) => a - b);
    this.sent.splice(0, Math.max(0, this.sent.length - this.max));
  }
}

/** Jittered exponential backoff: attempt n waits a uniform share of [0.5, 1] x min(maxMs, baseMs x 2^n). */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.min(maxMs, baseMs * 2 ** attempt) * (0.5 + random() / 2);
}

/** `Retry-After` as milliseconds (delta seconds or an HTTP date), undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : undefined;
}

export interface BoundedResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: Headers;
  /** The whole body as UTF-8 text, never more than `maxBodyBytes`. */
  readonly body: string;
}

/**
 * One GET that cannot hang or flood memory: the whole exchange (connect, headers, body) must end
 * within `timeoutMs`, else it fails with TickflowError TIMEOUT; a body over `maxBodyBytes`
 * (declared or counted) is not read past the limit and fails with TickflowError RESPONSE_TOO_LARGE.
 * `signal` ends it early (e.g. on stop) with the signal's reason. Error messages never hold the URL
 * (it may carry an API key).
 */
export async function boundedGet(
  url: string,
  options: { timeoutMs: number; maxBodyBytes: number; signal?: AbortSignal },
): Promise<BoundedResponse> {
  const controller = new AbortController();
  const timeout = new TickflowError('TIMEOUT', `no complete answer within ${options.timeoutMs} ms`);
  const timer = setTimeout(() => controller.abort(timeout), options.timeoutMs);
  const onAbort = (): void => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  const tooLarge = (size: string): TickflowError =>
    new TickflowError('RESPONSE_TOO_LARGE', `the body is ${size} bytes, over the ${options.maxBodyBytes}-byte limit`);
  try {
    const response = await fetch(url, { signal: controller.signal });
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (declared > options.maxBodyBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge(String(declared));
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (response.body) {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > options.maxBodyBytes) {
          await reader.cancel().catch(() => undefined);
          throw tooLarge(`more than ${options.maxBodyBytes}`);
        }
        chunks.push(value);
      }
    }
    const body = Buffer.concat(chunks).toString('utf8');
    return { status: response.status, ok: response.ok, headers: response.headers, body };
  } catch (error) {
    if (controller.signal.aborted) throw controller.signal.reason;
    if (isTickflowError(error, 'TIMEOUT') || isTickflowError(error, 'RESPONSE_TOO_LARGE')) throw error;
    // undici says only "fetch failed"; the cause says why (refused, reset, DNS).
    const cause = (error as Error & { cause?: Error }).cause;
    throw new TickflowError(
      'NOT_REACHABLE',
      cause?.message ? `${(error as Error).message}: ${cause.message}` : (error as Error).message,
      undefined,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
