import { TickflowError, isTickflowError } from '../../pipelines/runtime/errors';
import { backoffMs, sleep } from '../../pipelines/runtime/bounded';
import type { AlpacaCredentials } from './config';

export interface AlpacaRestOptions {
  /** One attempt (connect, headers, body) must end within this; default 10 s. */
  requestTimeoutMs?: number;
  /** Attempts for a transient failure (network, timeout, 429, 5xx), the first included; default 5. */
  maxAttempts?: number;
  /** Backoff between attempts: from this, doubling, jittered, at most `retryMaxMs`; defaults 250 ms and 10 s. */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/** An answer the caller decides about: 2xx, or a 4xx other than 401 and 429 (the broker's verdict). */
export interface AlpacaAnswer {
  readonly status: number;
  /** The parsed JSON body, or null for an empty one. */
  readonly body: unknown;
}

const MAX_BODY_CHARS = 4 * 1024 * 1024;

/** Alpaca's error body is `{"code": 40310000, "message": "..."}`; the message, or the status. */
export function brokerMessage(answer: AlpacaAnswer): string {
  const message = (answer.body as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message ? message.slice(0, 500) : `HTTP ${answer.status}`;
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/**
 * Alpaca's REST API with the APCA-API-KEY-ID / APCA-API-SECRET-KEY headers. Every attempt is
 * bounded; transient failures are retried with jittered backoff (Retry-After honoured on 429 and
 * 503) and, when they persist, thrown as their TickflowError. A 401 is a CONFIG error (the keys are
 * wrong for this endpoint). Messages never hold the keys.
 */
export class AlpacaRest {
  private readonly options: Required<AlpacaRestOptions>;
  private readonly halt = new AbortController();

  constructor(
    private readonly baseUrl: string,
    private readonly credentials: AlpacaCredentials,
    options: AlpacaRestOptions = {},
  ) {
    this.options = {
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      maxAttempts: options.maxAttempts ?? 5,
      retryBaseMs: options.retryBaseMs ?? 250,
      retryMaxMs: options.retryMaxMs ?? 10_000,
    };
  }

  /** Ends requests in flight and refuses new ones (STOPPING). */
  close(): void {
    this.halt.abort(new TickflowError('STOPPING', 'the Alpaca adapter is closing'));
  }

  async request(method: string, path: string, body?: unknown): Promise<AlpacaAnswer> {
    let last: TickflowError | undefined;
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt++) {
      if (this.halt.signal.aborted) throw this.halt.signal.reason;
      let wait: number | undefined;
      try {
        return await this.once(method, path, body);
      } catch (error) {
        if (!isTickflowError(error) || !error.retriable) throw error;
        last = error;
        wait = (error as TickflowError & { retryAfterMs?: number }).retryAfterMs;
      }
      if (attempt < this.options.maxAttempts) {
        await sleep(Math.max(wait ?? 0, backoffMs(attempt, this.options.retryBaseMs, this.options.retryMaxMs)));
      }
    }
    const error = last as TickflowError;
    throw new TickflowError(
      error.code,
      `${method} ${path}: ${error.message} (${this.options.maxAttempts} attempts)`,
      error.fix,
      { cause: error },
    );
  }

  private async once(method: string, path: string, body?: unknown): Promise<AlpacaAnswer> {
    const controller = new AbortController();
    const timeout = new TickflowError('TIMEOUT', `no complete answer within ${this.options.requestTimeoutMs} ms`);
    const timer = setTimeout(() => controller.abort(timeout), this.options.requestTimeoutMs);
    const onHalt = (): void => controller.abort(this.halt.signal.reason);
    this.halt.signal.addEventListener('abort', onHalt, { once: true });
    try {
      const headers: Record<string, string> = {
        'APCA-API-KEY-ID': this.credentials.keyId,
        'APCA-API-SECRET-KEY': this.credentials.secretKey,
        accept: 'application/json',
      };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
      });
      const text = await response.text();
      if (text.length > MAX_BODY_CHARS) {
        throw new TickflowError('RESPONSE_TOO_LARGE', `the answer is over ${MAX_BODY_CHARS} characters`);
      }
      const status = response.status;
      let parsed: unknown = null;
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          if (status < 500) throw new TickflowError('BAD_RESPONSE', `HTTP ${status} with a body that is not JSON`);
        }
      }
      const answer = { status, body: parsed };
      if (status === 401) {
        throw new TickflowError(
          'CONFIG',
          `Alpaca refused the API key (HTTP 401: ${brokerMessage(answer)}) at ${this.baseUrl}`,
          'check ALPACA_API_KEY_ID and ALPACA_API_SECRET_KEY: paper and live accounts have different keys, ' +
            'and ALPACA_BASE_URL must match them',
        );
      }
      if (status === 429 || status >= 500) {
        const error = new TickflowError(
          status === 429 ? 'RATE_LIMITED' : 'BAD_RESPONSE',
          `HTTP ${status}: ${brokerMessage(answer)}`,
        );
        const after = retryAfterMs(response.headers.get('retry-after'));
        throw Object.assign(error, { retryAfterMs: after === undefined ? undefined : Math.min(after, 60_000) });
      }
      return answer;
    } catch (error) {
      if (controller.signal.aborted) throw controller.signal.reason;
      if (isTickflowError(error)) throw error;
      const cause = (error as Error & { cause?: Error }).cause;
      throw new TickflowError(
        'NOT_REACHABLE',
        `${this.baseUrl}: ${(error as Error).message}${cause?.message ? `: ${cause.message}` : ''}`,
        undefined,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
      this.halt.signal.removeEventListener('abort', onHalt);
    }
  }
}
