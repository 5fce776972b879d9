/**
 * Request pacing for REST pollers: a sliding-window rate limit and jittered exponential backoff.
 * Time comes through `now` and `sleep` so tests can drive them.
 */
export interface Timer {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realTimer: Timer = { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };

/** At most `max` requests in any `windowMs`: `acquire` waits until one more fits, then records it. */
export class SlidingWindowLimiter {
  private readonly sent: number[] = [];

  constructor(
    readonly max: number,
    readonly windowMs: number,
    private readonly timer: Timer = realTimer,
  ) {
    if (!(max >= 1) || !(windowMs > 0)) throw new RangeError(`rate limit: ${max} requests per ${windowMs} ms is not a limit`);
  }

  /** How long until one more request fits (0: now). */
  waitMs(): number {
    const now = this.timer.now();
    while (this.sent.length > 0 && this.sent[0] <= now - this.windowMs) this.sent.shift();
    return this.sent.length < this.max ? 0 : this.sent[0] + this.windowMs - now;
  }

  async acquire(): Promise<void> {
    for (let wait = this.waitMs(); wait > 0; wait = this.waitMs()) await this.timer.sleep(wait);
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
