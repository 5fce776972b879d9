import { parseArgs } from 'node:util';
import { TickflowError } from '../../pipelines/runtime/errors';

export interface FlagSpec {
  type: 'boolean' | 'string';
  short?: string;
  multiple?: boolean;
  /** Shown in usage. */
  description: string;
  choices?: readonly string[];
}

export interface CommandSpec {
  usage: string;
  flags: Record<string, FlagSpec>;
  /** Number of positional arguments allowed: [min, max]. */
  positionals: [number, number];
}

export interface Parsed {
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** A command: how its arguments parse, and what it does with them; resolves to the exit code. */
export interface CommandDef {
  spec: CommandSpec;
  run(parsed: Parsed): Promise<number>;
}

/** A command made of sub-commands (`tickflow topics apply`), each looked up by name. */
export interface CommandGroup {
  subcommands: Readonly<Record<string, CommandDef>>;
}

export type Command = CommandDef | CommandGroup;

export function usageText(_name: string, spec: CommandSpec): string {
  const lines = [`usage: tickflow ${spec.usage}`];
  for (const [flag, f] of Object.entries(spec.flags)) {
    const value = f.type === 'string' ? (f.choices ? ` <${f.choices.join('|')}>` : ' <value>') : '';
    lines.push(`  --${flag}${value}  ${f.description}`);
  }
  return lines.join('\n');
}

/**
 * Parses argv strictly: an unknown flag, a missing value or a bad choice is a usage error that says what to type
 * instead.
 */
export function parseCommand(name: string, spec: CommandSpec, argv: string[]): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: Object.fromEntries(
        Object.entries(spec.flags).map(([flag, f]) => [
          flag,
          { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) },
        ]),
      ),
    });
  } catch (error) {
    throw new TickflowError(
      'USAGE',
      `tickflow ${name}: ${(error as Error).message.split('\n')[0]}`,
      usageText(name, spec),
    );
  }
  for (const [flag, f] of Object.entries(spec.flags)) {
    const value = parsed.values[flag];
    if (f.choices && typeof value === 'string' && !f.choices.includes(value)) {
      throw new TickflowError(
        'USAGE',
        `tickflow ${name}: --${flag} must be one of ${f.choices.join(', ')}, not '${value}'`,
        usageText(name, spec),
      );
    }
  }
  const [min, max] = spec.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    throw new TickflowError(
      'USAGE',
      `tickflow ${name}: expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${parsed.positionals.length}`,
      usageText(name, spec),
    );
  }
  return {
    flags: parsed.values as Record<string, string | boolean | string[] | undefined>,
    positionals: parsed.positionals,
  };
}

export function positiveInt(
  name: string,
  value: string | boolean | string[] | undefined,
  fallback?: number,
): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n <= 0) {
    throw new TickflowError(
      'USAGE',
      `--${name} must be a positive whole number, not '${String(value)}'`,
      `for example --${name} 10`,
    );
  }
  return n;
}

/**
 * A `--namespace` flag: the topic and group prefix a pipeline runs under (`run --namespace`), or
 * undefined when absent.
 */
export function namespaceFlag(value: string | boolean | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const prefix = String(value);
  if (!/^[a-z0-9][a-z0-9._-]*\.$/.test(prefix))
    throw new TickflowError(
      'USAGE',
      `--namespace '${prefix}' is not a topic prefix`,
      'use lower-case letters, digits, dots, dashes and underscores, ending with a dot, e.g. --namespace exp1.',
    );
  return prefix;
}

/** The QuestDB table suffix of a namespace's sink (`exp1.` writes `trades_exp1`). */
export function namespaceTableSuffix(prefix: string): string {
  return `_${prefix.slice(0, -1).replace(/[.-]/g, '_')}`;
}

/**
 * An ISO time as milliseconds since the epoch, UTC unless it names an offset (`Date.parse` would
 * read `2026-11-30T10:00` as local time); NaN when it is not one.
 */
export function parseIsoUtc(text: string): number {
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(text)) return NaN;
  const zoned = /T.*(Z|[+-]\d{2}:?\d{2})$/.test(text) || !text.includes('T') ? text : `${text}Z`;
  return Date.parse(zoned);
}
