import { TickflowError } from './errors';

/**
 * Upper bound for one call to a server. A client library can leave a request unresolved forever (a
 * server that accepted the connection and never answers, a connection a dying broker closed); a
 * bounded call turns that into an ordinary failure the caller retries or reports.
 */
export const KAFKA_CALL_TIMEOUT_MS = 30_000;

export function bounded<T>(promise: Promise<T>, what: string, ms = KAFKA_CALL_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TickflowError('TIMEOUT', `${what} did not complete within ${ms / 1000} s`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Capped exponential backoff with jitter: attempt 1 waits about `baseMs`, never more than `maxMs`. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1)) * (0.5 + Math.random() / 2);
}
