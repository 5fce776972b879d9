import { TickflowError } from './errors';

/**
 * One config schema per stage or sink gives validation, the static type and the docs. Values come
 * from `tickflow run --set <stage>.<key>=<value>`; names carry their units (`windowMs`).
 */
export type FieldSpec =
  | {
      type: 'number';
      default: number;
      description: string;
      min?: number;
      max?: number;
      positive?: boolean;
      integer?: boolean;
    }
  | { type: 'string'; default: string; description: string; choices?: readonly string[] }
  | { type: 'boolean'; default: boolean; description: string }
  | { type: 'list'; default: readonly string[]; description: string };

export type ConfigSchema = Readonly<Record<string, FieldSpec>>;

export type ConfigOf<S extends ConfigSchema> = {
  readonly [K in keyof S]: S[K] extends { type: 'number' }
    ? number
    : S[K] extends { type: 'boolean' }
      ? boolean
      : S[K] extends { type: 'list' }
        ? readonly string[]
        : string;
};

function bad(owner: string, key: string, message: string, fix: string): TickflowError {
  return new TickflowError('CONFIG', `${owner}.${key}: ${message}`, fix);
}

export function parseConfig<S extends ConfigSchema>(
  owner: string,
  schema: S,
  values: Readonly<Record<string, string>>,
): ConfigOf<S> {
  for (const key of Object.keys(values)) {
    if (!(key in schema)) {
      const known = Object.keys(schema);
      throw bad(
        owner,
        key,
        'is not a setting',
        known.length ? `settings of ${owner}: ${known.join(', ')}` : `${owner} has no settings`,
      );
    }
  }
  const result: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    const raw = values[key];
    if (raw === undefined) {
      result[key] = spec.default;
      continue;
    }
    switch (spec.type) {
      case 'number': {
        const n = Number(raw);
        if (raw.trim() === '' || !Number.isFinite(n))
          throw bad(owner, key, `'${raw}' is not a number`, `for example --set ${owner}.${key}=${spec.default}`);
        if (spec.integer && !Number.isInteger(n))
          throw bad(owner, key, `'${raw}' is not a whole number`, `for example --set ${owner}.${key}=${spec.default}`);
        if (spec.min !== undefined && n < spec.min)
          throw bad(owner, key, `${n} is below the minimum ${spec.min}`, `use a value of at least ${spec.min}`);
        if (spec.positive && !(n > 0))
          throw bad(owner, key, `${n} is not above 0`, `use a positive value, for example ${spec.default}`);
        // Maxima keep what a setting sizes (windows, buffers, state) bounded.
        if (spec.max !== undefined && n > spec.max)
          throw bad(owner, key, `${n} is above the maximum ${spec.max}`, `use a value of at most ${spec.max}`);
        result[key] = n;
        break;
      }
      case 'boolean':
        if (raw !== 'true' && raw !== 'false')
          throw bad(owner, key, `'${raw}' is not true or false`, `--set ${owner}.${key}=true`);
        result[key] = raw === 'true';
        break;
      case 'list':
        result[key] = raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        break;
      case 'string':
        if (spec.choices && !spec.choices.includes(raw))
          throw bad(
            owner,
            key,
            `'${raw}' is not one of ${spec.choices.join(', ')}`,
            `--set ${owner}.${key}=${spec.choices[0]}`,
          );
        result[key] = raw;
        break;
    }
  }
  return result as ConfigOf<S>;
}

/** Parses `--set a.b=c` values into per-owner maps, rejecting malformed ones. */
export function parseSetFlags(sets: readonly string[]): Map<string, Record<string, string>> {
  const byOwner = new Map<string, Record<string, string>>();
  for (const set of sets) {
    const match = /^([a-z0-9-]+)\.([A-Za-z0-9]+)=(.*)$/.exec(set);
    if (!match)
      throw new TickflowError(
        'USAGE',
        `--set '${set}' is not <stage>.<setting>=<value>`,
        'for example --set sink-questdb.topics=md.trades.v1,md.quotes.v1',
      );
    const values = byOwner.get(match[1]) ?? {};
    values[match[2]] = match[3];
    byOwner.set(match[1], values);
  }
  return byOwner;
}
