import { ACCOUNT_ID, INSTRUMENT_ID } from '../run/risk-commands';
/**
 * The console API's input rules. Every value that reaches SQL passes one of these strict patterns first (QuestDB's
 * HTTP /exec has no bind parameters): none of them admits a quote, a backslash, whitespace or a control character, so
 * a validated value cannot leave its string literal. A request that breaks a rule gets a 400 that names the parameter
 * and says what to send instead.
 */

/** An HTTP answer other than 200, with a machine-readable code and a human fix; rendered as JSON by the server. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fix?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

// The shapes `tickflow halt` accepts (ops/run/risk-commands.ts) and run --namespace's prefix.
export const ACCOUNT = ACCOUNT_ID;
export const INSTRUMENT = INSTRUMENT_ID;
export const NAMESPACE = /^[a-z0-9][a-z0-9._-]*\.$/;
/** Bar intervals as md.bars.v1 writes them (schemas/intervals.ts): a count and s, m, h or d. */
export const INTERVAL = /^[1-9][0-9]{0,4}[smhd]$/;
/** Enum-like values (statuses, rules, kinds): upper-case words. */
export const UPPER_WORD = /^[A-Z][A-Z0-9_]{0,63}$/;
/** ISO 8601 date or date-time, UTC or with an offset; milliseconds at most are kept. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

export const ORDER_STATUSES = [
  'ACCEPTED',
  'TRIGGERED',
  'PARTIALLY_FILLED',
  'FILLED',
  'CANCELED',
  'EXPIRED',
  'REJECTED',
] as const;
/** An order whose latest event has one of these is still working (schemas/order-event.avsc). */
export const OPEN_ORDER_STATUSES = ['ACCEPTED', 'TRIGGERED', 'PARTIALLY_FILLED'] as const;
export const SIGNAL_STATUSES = ['ACCEPTED', 'REJECTED'] as const;
export const AUDIT_KINDS = [
  'DECISION',
  'ORDER_EVENT',
  'FILL',
  'HALT',
  'RESUME',
  'BREAKER_TRIPPED',
  'BREAKER_RESET',
] as const;

export type Query = Record<string, unknown>;

function text(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new ApiError(400, 'BAD_PARAMETER', `${name} is given more than once`, `send ${name} once`);
  return value;
}

/** Rejects parameters the endpoint does not know, so a typo is an error rather than a silently ignored filter. */
export function onlyKnown(query: Query, known: readonly string[]): void {
  const unknown = Object.keys(query).filter((k) => !known.includes(k));
  if (unknown.length > 0)
    throw new ApiError(
      400,
      'UNKNOWN_PARAMETER',
      `unknown parameter ${unknown.map((u) => JSON.stringify(u.slice(0, 40))).join(', ')}`,
      known.length > 0 ? `this endpoint takes ${known.join(', ')}` : 'this endpoint takes no parameters',
    );
}

export function matching(
  query: Query,
  name: string,
  pattern: RegExp,
  example: string,
  required = false,
): string | undefined {
  const value = text(query, name);
  if (value === undefined || value === '') {
    if (required) throw new ApiError(400, 'MISSING_PARAMETER', `${name} is required`, `for example ${name}=${example}`);
    return undefined;
  }
  if (!pattern.test(value))
    throw new ApiError(
      400,
      'BAD_PARAMETER',
      `${name} ${JSON.stringify(value.slice(0, 80))} is not valid`,
      `for example ${name}=${example}`,
    );
  return value;
}

export function oneOf<T extends string>(query: Query, name: string, choices: readonly T[]): T | undefined {
  const value = text(query, name);
  if (value === undefined || value === '') return undefined;
  if (!(choices as readonly string[]).includes(value))
    throw new ApiError(
      400,
      'BAD_PARAMETER',
      `${name} ${JSON.stringify(value.slice(0, 80))} is not one of ${choices.join(', ')}`,
      `use one of ${choices.join(', ')}`,
    );
  return value as T;
}

export function limit(query: Query, fallback: number, max: number): number {
  const value = text(query, 'limit');
  if (value === undefined || value === '') return fallback;
  if (!/^[0-9]{1,7}$/.test(value) || Number(value) < 1 || Number(value) > max)
    throw new ApiError(
      400,
      'BAD_PARAMETER',
      `limit ${JSON.stringify(value.slice(0, 40))} is not a whole number from 1 to ${max}`,
      `for example limit=${fallback}`,
    );
  return Number(value);
}

/** An ISO time as epoch milliseconds (a date alone is midnight UTC; no offset means UTC). */
export function time(query: Query, name: string): number | undefined {
  const value = text(query, name);
  if (value === undefined || value === '') return undefined;
  let ms = Number.NaN;
  if (ISO_TIME.test(value)) {
    const normalized = value.replace(' ', 'T').replace(/(\.\d{3})\d+/, '$1');
    const zoned = /T/.test(normalized) && !/(Z|[+-]\d{2}:?\d{2})$/.test(normalized) ? `${normalized}Z` : normalized;
    ms = Date.parse(zoned);
  }
  if (!Number.isFinite(ms))
    throw new ApiError(
      400,
      'BAD_PARAMETER',
      `${name} ${JSON.stringify(value.slice(0, 80))} is not an ISO 8601 time`,
      `for example ${name}=2020-02-22T00:00:00Z`,
    );
  return ms;
}

export function timeRange(query: Query): { from?: number; to?: number } {
  const from = time(query, 'from');
  const to = time(query, 'to');
  if (from !== undefined && to !== undefined && from >= to)
    throw new ApiError(400, 'BAD_PARAMETER', 'from must be before to', 'swap them, or drop one');
  return { from, to };
}

export function bool(query: Query, name: string): boolean | undefined {
  const value = text(query, name);
  if (value === undefined || value === '') return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ApiError(400, 'BAD_PARAMETER', `${name} must be true or false`, `for example ${name}=true`);
}

/** The body of POST /api/halt and /api/resume, validated like `tickflow halt`'s flags. */
export interface ActionBody {
  account?: string;
  instrumentId?: string;
  flatten: boolean;
  reason: string;
  /** Who pressed the button, as the operator typed it (optional; the token's id is always recorded). */
  operator?: string;
}

const OPERATOR = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export function actionBody(body: unknown, action: 'HALT' | 'RESUME'): ActionBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ApiError(400, 'BAD_BODY', 'the body must be a JSON object', '{"reason": "...", "account": "paper-1"}');
  const b = body as Record<string, unknown>;
  const known = ['account', 'instrument', 'flatten', 'reason', 'operator'];
  const unknown = Object.keys(b).filter((k) => !known.includes(k));
  if (unknown.length > 0)
    throw new ApiError(
      400,
      'BAD_BODY',
      `unknown field ${unknown.map((u) => JSON.stringify(u.slice(0, 40))).join(', ')}`,
      `send only ${known.join(', ')}`,
    );
  const str = (name: string): string | undefined => {
    const v = b[name];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new ApiError(400, 'BAD_BODY', `${name} must be a string`, `send ${name} as text`);
    return v;
  };
  const reason = (str('reason') ?? '').trim();
  if (reason === '')
    throw new ApiError(
      400,
      'REASON_REQUIRED',
      `${action.toLowerCase()} needs a reason: every halt and resume is audited with who, why and when`,
      'send {"reason": "feed outage on BINANCE"}',
    );
  if (reason.length > 500) throw new ApiError(400, 'BAD_BODY', 'reason is over 500 characters', 'say it shorter');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(reason))
    throw new ApiError(400, 'BAD_BODY', 'reason holds control characters', 'send one line of text');
  const account = str('account');
  if (account !== undefined && !ACCOUNT.test(account))
    throw new ApiError(
      400,
      'BAD_BODY',
      `account ${JSON.stringify(account.slice(0, 80))} is not an account name`,
      "use 1-64 letters, digits, '.', '_' or '-', as in route.accounts",
    );
  const instrumentId = str('instrument');
  if (instrumentId !== undefined && !INSTRUMENT.test(instrumentId))
    throw new ApiError(
      400,
      'BAD_BODY',
      `instrument ${JSON.stringify(instrumentId.slice(0, 80))} is not an instrument id`,
      'use VENUE:SYMBOL as in the topics, e.g. BINANCE-FUT:BTCUSDT',
    );
  const operator = str('operator');
  if (operator !== undefined && !OPERATOR.test(operator))
    throw new ApiError(400, 'BAD_BODY', 'operator is not a user name', "use letters, digits, '.', '_', '@' or '-'");
  const flatten = b.flatten;
  if (flatten !== undefined && typeof flatten !== 'boolean')
    throw new ApiError(400, 'BAD_BODY', 'flatten must be true or false', 'send "flatten": true');
  if (flatten === true && action === 'RESUME')
    throw new ApiError(400, 'BAD_BODY', 'flatten applies to a halt only', 'drop flatten from the resume');
  return { account, instrumentId, flatten: flatten === true, reason, operator };
}
