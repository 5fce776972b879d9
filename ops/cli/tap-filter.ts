import { Decimal, MAX_DECIMAL_TEXT_LENGTH } from '../../schemas/decimal';
import { TickflowError } from '../../pipelines/runtime/errors';
import { parseIsoUtc } from './args';

/**
 * `tap --where` expressions: `PATH OP VALUE`, PATH a dotted field path into the decoded value
 * (`price`, `reasons.0.code`), OP one of `=` `!=` `>` `>=` `<` `<=` `~` (regular expression). Two
 * numbers compare exactly as decimals (prices never pass through a float); a field whose name starts
 * with `ts` compares with an ISO time given as VALUE (the field holds microseconds). Anything else
 * compares as text. A record without the field does not match (except for `!=`).
 */
export interface Condition {
  readonly path: readonly string[];
  readonly op: '=' | '!=' | '>' | '>=' | '<' | '<=' | '~';
  readonly value: string;
  readonly pattern?: RegExp;
}

const EXPRESSION = /^\s*([A-Za-z_][\w]*(?:\.[\w]+)*)\s*(!=|>=|<=|==|=|>|<|~)\s*(.*?)\s*$/;

export function parseCondition(text: string): Condition {
  const m = EXPRESSION.exec(text);
  if (!m)
    throw new TickflowError(
      'USAGE',
      `--where '${text}' is not FIELD OP VALUE`,
      "e.g. --where 'price>=100.5', --where side=BUY, --where 'reasonCodes~LIMIT', --where 'tsEvent>=2020-02-22T01:00:00Z'",
    );
  const op = (m[2] === '==' ? '=' : m[2]) as Condition['op'];
  const value = m[3].replace(/^'(.*)'$|^"(.*)"$/, '$1$2');
  let pattern: RegExp | undefined;
  if (op === '~') {
    try {
      pattern = new RegExp(value);
    } catch (error) {
      throw new TickflowError(
        'USAGE',
        `--where '${text}': ${(error as Error).message}`,
        'give a valid regular expression',
      );
    }
  }
  return { path: m[1].split('.'), op, value, pattern };
}

function fieldOf(value: unknown, path: readonly string[]): unknown {
  let at: unknown = value;
  for (const part of path) {
    if (at === null || at === undefined || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

function text(v: unknown): string {
  if (Decimal.isDecimal(v)) return (v as Decimal).toFixed();
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function asDecimal(t: string): Decimal | undefined {
  if (t.length > MAX_DECIMAL_TEXT_LENGTH || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d{1,2})?$/.test(t)) return undefined;
  return new Decimal(t);
}

/** A time condition's value as microseconds, when the field is a timestamp and VALUE an ISO time. */
function timeValue(condition: Condition): string {
  const field = condition.path[condition.path.length - 1];
  if (!/^ts/i.test(field) || asDecimal(condition.value)) return condition.value;
  const ms = parseIsoUtc(condition.value);
  return Number.isNaN(ms) ? condition.value : String(ms * 1000);
}

export function matches(condition: Condition, value: unknown): boolean {
  const field = fieldOf(value, condition.path);
  if (field === undefined) return condition.op === '!=';
  const actual = field === null ? 'null' : text(field);
  if (condition.op === '~') return condition.pattern?.test(actual) ?? false;
  const wanted = timeValue(condition);
  const a = asDecimal(actual);
  const b = asDecimal(wanted);
  const order = a && b ? a.comparedTo(b) : actual < wanted ? -1 : actual > wanted ? 1 : 0;
  switch (condition.op) {
    case '=':
      return order === 0;
    case '!=':
      return order !== 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
  }
}

/** A key glob (`*` any run of characters) as a matcher. */
export function keyMatcher(glob: string): (key: string | null) => boolean {
  const re = new RegExp(
    `^${glob
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return (key) => key !== null && re.test(key);
}

/** Keeps a record whose key matches one of `keys` (when any are given) and that meets every condition. */
export function recordFilter(
  keys: readonly string[],
  where: readonly string[],
): (key: string | null, value: unknown) => boolean {
  const keyTests = keys.map(keyMatcher);
  const conditions = where.map(parseCondition);
  return (key, value) =>
    (keyTests.length === 0 || keyTests.some((t) => t(key))) && conditions.every((c) => matches(c, value));
}
