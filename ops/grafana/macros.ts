import { TickflowError } from '../../pipelines/runtime/errors';

/**
 * What Grafana and the QuestDB plugin do to a panel's SQL before QuestDB sees it, so tests can run the dashboards'
 * queries as Grafana would: template variables first (Grafana's front end), then the plugin's macros (its back
 * end, pkg/macros/macros.go of questdb/grafana-questdb-datasource).
 */
export interface MacroContext {
  from: Date;
  to: Date;
  /** `$__sampleByInterval`: a QuestDB SAMPLE BY unit (`1s`, `5m`, `1h`, `20T`) or Grafana's interval in ms. */
  sampleBy: string | number;
  /** Values of the dashboard's variables by name; an array is a multi-value selection. */
  vars: Readonly<Record<string, string | readonly string[]>>;
}

/** Grafana's variable syntaxes: `$name`, `[[name:format]]`, `${name:format}` (the same regex Grafana uses). */
const VARIABLE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;

/** Names of the dashboard variables a query uses (Grafana's own `$__` variables and macros excluded). */
export function referencedVariables(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(VARIABLE)) {
    const name = m[1] ?? m[2] ?? m[4];
    if (!name.startsWith('__')) names.add(name);
  }
  return [...names];
}

/**
 * The plugin's `$__sampleByInterval` for Grafana's interval: whole hours (`Nh`, or days `Nd` when the interval is
 * a whole number of hours of at least 24, using the plugin's own whole-day division), else whole seconds, else
 * milliseconds (`NT`, at least 1).
 */
export function sampleByInterval(intervalMs: number): string {
  const exactHours = intervalMs / 3_600_000;
  const hours = Math.max(Math.floor(exactHours), 0);
  const seconds = Math.max(Math.floor(intervalMs / 1000), 0);
  if (hours > 0) return hours >= 24 && exactHours === hours ? `${Math.floor(hours / 24)}d` : `${hours}h`;
  if (seconds > 0) return `${seconds}s`;
  return `${Math.max(Math.floor(intervalMs), 1)}T`;
}

function quoteAll(values: readonly string[], quote: string, escape: (v: string) => string): string {
  return values.map((v) => `${quote}${escape(v)}${quote}`).join(',');
}

/** A variable's value in a format Grafana names (`${var:singlequote}`); none: the QuestDB plugin's own format. */
function formatted(name: string, value: string | readonly string[], format: string | undefined): string {
  const values = typeof value === 'string' ? [value] : value;
  switch (format) {
    case undefined:
    case 'raw':
      // The plugin quotes multi-value selections itself ('a','b'); a single value goes in as it is.
      return typeof value === 'string' ? value : quoteAll(values, "'", (v) => v);
    case 'csv':
      return values.join(',');
    case 'singlequote':
      return quoteAll(values, "'", (v) => v.replace(/'/g, "\\'"));
    case 'sqlstring':
      return quoteAll(values, "'", (v) => v.replace(/'/g, "''"));
    case 'doublequote':
      return quoteAll(values, '"', (v) => v.replace(/"/g, '\\"'));
    default:
      throw new TickflowError(
        'USAGE',
        `variable ${name} uses the format '${format}', which this expander does not know`,
        'use $var, ${var:singlequote}, ${var:sqlstring}, ${var:csv} or ${var:doublequote}',
      );
  }
}

function micros(date: Date): string {
  return `cast(${date.getTime() * 1000} as timestamp)`;
}

/** `$__conditionalAll(condition, $var)`: the condition, or 1=1 when the variable selects everything. */
function conditionalAll(sql: string, vars: MacroContext['vars']): string {
  return sql.replace(/\$__conditionalAll\(([^,]*),\s*\$\{?(\w+)\}?\s*\)/g, (_all, condition: string, name: string) => {
    const value = vars[name];
    const all = value === undefined || value === '' || value === '$__all';
    return all ? '1=1' : condition;
  });
}

/**
 * Expands a panel's SQL as Grafana and the QuestDB plugin would. `$__timeFilter(col)` becomes the plugin's
 * `col >= cast(<µs> as timestamp) AND col <= cast(<µs> as timestamp)`. An unknown variable or macro (say
 * `$__interval`, which SAMPLE BY misreads) is an error, not silently left in.
 */
export function expandQuestdbMacros(sql: string, context: MacroContext): string {
  let out = conditionalAll(sql, context.vars);
  out = out.replace(VARIABLE, (match: string, ...groups: unknown[]) => {
    // Groups: $name | [[name:format]] | ${name.path:format}.
    const [plain, bracket, bracketFormat, brace, , braceFormat] = groups as (string | undefined)[];
    const name = (plain ?? bracket ?? brace) as string;
    if (name.startsWith('__')) return match;
    const value = context.vars[name];
    if (value === undefined)
      throw new TickflowError('USAGE', `the query uses $${name}, which has no value`, 'pass it in vars');
    return formatted(name, value, bracketFormat ?? braceFormat);
  });
  const sampleBy = typeof context.sampleBy === 'number' ? sampleByInterval(context.sampleBy) : context.sampleBy;
  out = out
    .replace(/\$__timeFilter\(\s*([^()]+?)\s*\)/g, (_m, column: string) => {
      return `${column} >= ${micros(context.from)} AND ${column} <= ${micros(context.to)}`;
    })
    .replace(/\$__fromTime(\(\))?/g, micros(context.from))
    .replace(/\$__toTime(\(\))?/g, micros(context.to))
    .replace(/\$__sampleByInterval(\(\))?/g, sampleBy);
  const left = /\$__\w+/.exec(out);
  if (left)
    throw new TickflowError(
      'USAGE',
      `the query uses ${left[0]}, which the QuestDB data source does not expand`,
      'use $__timeFilter(ts), $__fromTime, $__toTime or $__sampleByInterval (never $__interval in SAMPLE BY)',
    );
  return out;
}
