import { loadSettings } from '../../pipelines/runtime/settings';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { TickflowError } from '../../pipelines/runtime/errors';
import { ApiError } from './validation';

/**
 * The console's guards: who may read and act, from where, how often.
 *
 * - Reads need no token on a loopback address (only this machine's users reach it) and the token everywhere else,
 *   as `Authorization: Bearer <token>` or HTTP Basic with the token as password (so a browser can load the page and
 *   its event stream: it asks once and resends the credentials itself).
 * - Actions (halt, resume) always need `Authorization: Bearer <token>`, which the page sends from what the operator
 *   pasted. Basic is refused for actions: browsers attach cached Basic credentials to cross-site requests, a bearer
 *   header they never attach. Actions also need a JSON body and, when the browser names an Origin, this console's own.
 * - Every request's Host must be one this console answers to (DNS rebinding: a hostile name pointed at 127.0.0.1).
 * - A token bucket per client address bounds reads and actions.
 */

export const MIN_TOKEN_LENGTH = 16;

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/** A random token for a loopback console started without one (printed once by the command). */
export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

/** What the audit may show of a token: a short hash that tells tokens apart and reveals nothing of them. */
export function tokenId(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 8);
}

/** Compares in time independent of where the strings differ (both are hashed to one length first). */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function checkToken(token: string): void {
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token))
    throw new TickflowError(
      'CONFIG',
      `the console token is ${token.length < MIN_TOKEN_LENGTH ? `shorter than ${MIN_TOKEN_LENGTH} characters` : 'holding whitespace'}`,
      'set TICKFLOW_CONSOLE_TOKEN (or TICKFLOW_CONSOLE_TOKEN_FILE) to a long random string, e.g. `openssl rand -hex 32`',
    );
}

/**
 * The configured token: TICKFLOW_CONSOLE_TOKEN, the file TICKFLOW_CONSOLE_TOKEN_FILE names, or the
 * config file, read like every tickflow secret (pipelines/runtime/settings.ts).
 */
export function configuredToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return loadSettings(env).get('TICKFLOW_CONSOLE_TOKEN')?.value;
}

/** The credential a request carries: a bearer token, or the password of HTTP Basic. */
export function credentialOf(
  authorization: string | undefined,
): { scheme: 'bearer' | 'basic'; token: string } | undefined {
  if (!authorization) return undefined;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (bearer) return { scheme: 'bearer', token: bearer[1] };
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) return { scheme: 'basic', token: decoded.slice(colon + 1) };
  }
  return undefined;
}

const REALM = 'Basic realm="tickflow console", charset="UTF-8"';

/** Throws 401 unless the request may read. */
export function authorizeRead(o: { authorization?: string; token: string; requireToken: boolean }): void {
  if (!o.requireToken) return;
  const credential = credentialOf(o.authorization);
  if (!credential || !tokensEqual(credential.token, o.token))
    throw new ApiError(
      401,
      'UNAUTHENTICATED',
      'this console needs its token',
      'send Authorization: Bearer <token> (a browser asks for it: any user name, the token as password)',
      { 'WWW-Authenticate': REALM },
    );
}

/** Throws 401 unless the request carries the token as a bearer header (never Basic: see the module comment). */
export function authorizeAction(o: { authorization?: string; token: string }): void {
  const credential = credentialOf(o.authorization);
  if (!credential || credential.scheme !== 'bearer' || !tokensEqual(credential.token, o.token))
    throw new ApiError(
      401,
      'UNAUTHENTICATED',
      'halt and resume need the console token as a bearer header',
      'send Authorization: Bearer <token> (the page asks for the token in the halt dialog)',
    );
}

/**
 * Host header check against DNS rebinding: on a loopback bind only loopback names with our port; elsewhere any host
 * (every request then needs the token anyway) unless `allowedHosts` names them.
 */
export function hostAllowed(
  hostHeader: string | undefined,
  o: { loopback: boolean; port: number; allowedHosts?: readonly string[] },
): boolean {
  if (!hostHeader) return false;
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(hostHeader);
  if (!match) return false;
  const [, name, port] = match;
  if (o.allowedHosts && o.allowedHosts.length > 0) return o.allowedHosts.includes(hostHeader.toLowerCase());
  if (!o.loopback) return true;
  return isLoopback(name) && (port === undefined ? o.port === 80 : Number(port) === o.port);
}

/** An action's Origin, when the browser sends one, must be this console (scheme, the Host it was reached by). */
export function originAllowed(origin: string | undefined, hostHeader: string | undefined): boolean {
  if (origin === undefined) return true;
  if (!hostHeader) return false;
  return origin === `http://${hostHeader}` || origin === `https://${hostHeader}`;
}

/**
 * A token bucket per key (client address): `capacity` requests at once, refilled at `perSecond`. Buckets idle long
 * enough to be full again are dropped, so memory follows the active clients only.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly capacity: number,
    readonly perSecond: number,
    private readonly now: () => number = () => Date.now(),
    private readonly maxKeys = 10_000,
  ) {}

  /** 0 when allowed (a token taken), else the seconds until one is available. */
  take(key: string): number {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: now };
    bucket.tokens = Math.min(this.capacity, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) this.prune(now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
  }

  get size(): number {
    return this.buckets.size;
  }

  private prune(now: number): void {
    const fullAfterMs = (this.capacity / this.perSecond) * 1000;
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.at >= fullAfterMs || this.buckets.size > this.maxKeys) this.buckets.delete(key);
      else break; // insertion order is last use: the rest are fresher
    }
  }
}

/** Headers on every answer: nothing from elsewhere, no framing, no sniffing, no referrer. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
};
