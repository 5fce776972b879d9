import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { ConfigChange } from '../../schemas/types.generated';
import { RUNNABLES, runnableNames } from '../../pipelines/registry';
import type { AvroCodec } from '../../pipelines/runtime/codec';
import type { ConfigSchema } from '../../pipelines/runtime/config';
import { parseConfig } from '../../pipelines/runtime/config';
import { TickflowError, isTickflowError } from '../../pipelines/runtime/errors';
import { collectTopic } from '../cli/tap';
import { defaultActor } from './risk-commands';

/**
 * Settings changed on a running pipeline. `tickflow config set STAGE.SETTING=VALUE` validates the
 * change against the stage's config schema and factory (with every other setting in force), then
 * publishes it to the compacted ops.config.v1 (key STAGE.SETTING). Every pipeline process follows
 * that topic as a global table; a change restarts the runner that holds the stage in place, after
 * its batch in flight committed, with the new settings (ops/run/pipeline.ts). The latest record per
 * key is in force; a null value returns the setting to its default.
 */
export const CONFIG_TOPIC = 'ops.config.v1';

/** The settings the config topic sets, per stage. */
export type Overrides = Map<string, Record<string, string>>;

export function overridesOf(table: ReadonlyMap<string, unknown>): Overrides {
  const byStage: Overrides = new Map();
  for (const change of table.values() as Iterable<ConfigChange>) {
    // A stage or setting a later release no longer has is not in force (it cannot be).
    if (change.value === null || !RUNNABLES[change.stage]) continue;
    if (!Object.hasOwn(RUNNABLES[change.stage].config as ConfigSchema, change.setting)) continue;
    byStage.set(change.stage, { ...(byStage.get(change.stage) ?? {}), [change.setting]: change.value });
  }
  return byStage;
}

/** What a stage runs with: its defaults, then the process's own settings (`--set`), then the config topic's. */
export function effectiveValues(
  stage: string,
  base: ReadonlyMap<string, Record<string, string>> | undefined,
  overrides: Overrides,
): Record<string, string> {
  return { ...(base?.get(stage) ?? {}), ...(overrides.get(stage) ?? {}) };
}

/** `STAGE.SETTING=VALUE` (VALUE may be empty) or, for `unset`, `STAGE.SETTING`. */
export function parseAssignment(text: string, withValue: boolean): { stage: string; setting: string; value?: string } {
  const m = withValue ? /^([a-z0-9-]+)\.([A-Za-z0-9]+)=(.*)$/s.exec(text) : /^([a-z0-9-]+)\.([A-Za-z0-9]+)$/.exec(text);
  if (!m)
    throw new TickflowError(
      'USAGE',
      `'${text}' is not ${withValue ? 'STAGE.SETTING=VALUE' : 'STAGE.SETTING'}`,
      withValue
        ? 'e.g. tickflow config set validate.minConfidence=0.6'
        : 'e.g. tickflow config unset validate.minConfidence',
    );
  if (!RUNNABLES[m[1]])
    throw new TickflowError('USAGE', `no stage or sink '${m[1]}'`, `use one of: ${runnableNames().join(', ')}`);
  const schema = RUNNABLES[m[1]].config as ConfigSchema;
  // `unset` takes a setting the schema no longer has: it may still sit in the config topic.
  if (withValue && !Object.hasOwn(schema, m[2]))
    throw new TickflowError(
      'USAGE',
      `${m[1]} has no setting '${m[2]}'`,
      `its settings: ${Object.keys(schema).join(', ') || '(none)'}; \`tickflow config show ${m[1]}\` lists them with their values`,
    );
  return { stage: m[1], setting: m[2], value: m[3] };
}

/**
 * Checks that the stage can run with `values`: its schema parses them and its factory accepts them
 * (a risk config file that is missing or invalid, say). Throws a CONFIG error naming the setting.
 */
export function validateValues(stage: string, values: Readonly<Record<string, string>>): void {
  const runnable = RUNNABLES[stage];
  parseConfig(stage, runnable.config, values);
  try {
    runnable.create(values);
  } catch (error) {
    if (isTickflowError(error)) throw error;
    throw new TickflowError('CONFIG', `${stage} does not start with these settings: ${(error as Error).message}`);
  }
}

/** The config topic's latest change per key (read to its end now). */
export async function readConfigTable(kafka: Kafka, prefix = ''): Promise<Map<string, ConfigChange>> {
  const records = await collectTopic<ConfigChange>(kafka, `${prefix}${CONFIG_TOPIC}`, 60_000, CONFIG_TOPIC);
  const table = new Map<string, ConfigChange>();
  for (const r of records) {
    if (r.key === null) continue;
    if (r.value === null) table.delete(r.key);
    else table.set(r.key, r.value);
  }
  return table;
}

/** Every change still in the topic (compaction keeps at least the latest per key), oldest first. */
export async function configHistory(kafka: Kafka, prefix = ''): Promise<ConfigChange[]> {
  const records = await collectTopic<ConfigChange>(kafka, `${prefix}${CONFIG_TOPIC}`, 60_000, CONFIG_TOPIC);
  return records.map((r) => r.value).sort((a, b) => a.tsChanged - b.tsChanged);
}

export interface ChangeOptions {
  stage: string;
  setting: string;
  /** null: back to the default. */
  value: string | null;
  reason: string;
  actor?: string;
  prefix?: string;
}

/**
 * Validates the change with every other setting the config topic holds for the stage, then
 * publishes it (idempotent producer, acks from all in-sync replicas). Returns the record written.
 */
export async function changeSetting(kafka: Kafka, codec: AvroCodec, options: ChangeOptions): Promise<ConfigChange> {
  if (!options.reason.trim())
    throw new TickflowError(
      'USAGE',
      'a settings change needs a --reason',
      'e.g. --reason "widen the collar for the open"',
    );
  const table = await readConfigTable(kafka, options.prefix);
  const overrides = overridesOf(table);
  const values = { ...(overrides.get(options.stage) ?? {}) };
  const schema = RUNNABLES[options.stage].config as ConfigSchema;
  const previous = values[options.setting] ?? defaultText(schema, options.setting);
  if (options.value === null) delete values[options.setting];
  else values[options.setting] = options.value;
  validateValues(options.stage, values);
  const change: ConfigChange = {
    changeId: randomUUID(),
    stage: options.stage,
    setting: options.setting,
    value: options.value,
    previous,
    actor: options.actor ?? defaultActor(),
    reason: options.reason,
    tsChanged: Date.now() * 1000,
  };
  await codec.prepare([CONFIG_TOPIC]);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({
      topic: `${options.prefix ?? ''}${CONFIG_TOPIC}`,
      acks: -1,
      messages: [{ key: `${options.stage}.${options.setting}`, value: await codec.encode(CONFIG_TOPIC, change) }],
    });
  } finally {
    await producer.disconnect();
  }
  return change;
}

function defaultText(schema: ConfigSchema, setting: string): string | null {
  const d = (schema[setting] as { default?: unknown } | undefined)?.default;
  if (d === undefined || d === null) return null;
  return Array.isArray(d) ? d.join(',') : String(d);
}

export interface SettingInForce {
  readonly stage: string;
  readonly setting: string;
  readonly value: string | null;
  readonly source: 'default' | 'config topic';
  readonly change?: ConfigChange;
}

/** Every setting of `stages` with the value in force and where it comes from. */
export function settingsInForce(stages: readonly string[], table: ReadonlyMap<string, ConfigChange>): SettingInForce[] {
  const rows: SettingInForce[] = [];
  for (const stage of stages) {
    const schema = RUNNABLES[stage].config as ConfigSchema;
    for (const setting of Object.keys(schema)) {
      const change = table.get(`${stage}.${setting}`);
      rows.push(
        change && change.value !== null
          ? { stage, setting, value: change.value, source: 'config topic', change }
          : { stage, setting, value: defaultText(schema, setting), source: 'default' },
      );
    }
  }
  return rows;
}
