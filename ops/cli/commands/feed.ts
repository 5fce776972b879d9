import type { CommandDef, FlagSpec, Parsed } from '../args';
import { positiveInt } from '../args';
import type { FeedSecret, LiveFeedDefinition, RunningFeed } from '../../../connectors/registry';
import { FEEDS } from '../../../connectors/registry';
import { AvroCodec } from '../../../pipelines/runtime/codec';
import type { FieldSpec } from '../../../pipelines/runtime/config';
import { parseConfig } from '../../../pipelines/runtime/config';
import { TickflowError } from '../../../pipelines/runtime/errors';
import { createKafka, ensureKafkaReachable } from '../../../pipelines/runtime/kafka';
import { logger } from '../../../pipelines/runtime/log';
import type { SettingName } from '../../../pipelines/runtime/settings';
import { loadSettings } from '../../../pipelines/runtime/settings';

const log = logger('cli');

/** The feeds `tickflow feed` runs: the live ones of connectors/registry.ts, in its order. */
const LIVE: Readonly<Record<string, LiveFeedDefinition>> = Object.fromEntries(
  Object.entries(FEEDS).flatMap(([name, feed]) => (feed.kind === 'live' ? [[name, feed] as const] : [])),
);

/** How a flag's text becomes the value its setting reads, by the setting's type. */
const READ_FLAG: Readonly<Record<FieldSpec['type'], (flag: string, text: string) => unknown>> = {
  number: (flag, text) => positiveInt(flag, text),
  list: (_flag, text) =>
    text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  string: (_flag, text) => text,
  boolean: () => true,
};

function defaultText(spec: FieldSpec): string {
  const value = spec.type === 'list' ? spec.default.join(',') : spec.type === 'boolean' ? '' : String(spec.default);
  return value === '' ? '' : ` (default ${value})`;
}

function usageOf(name: string, feed: LiveFeedDefinition): string {
  const flags = Object.entries(feed.flags).map(([flag, f]) =>
    f.required ? `--${flag} ${f.placeholder}` : `[--${flag} ${f.placeholder}]`,
  );
  const secrets = feed.secrets.map((s) => ` (${s.what}: ${s.setting} or ${s.setting}_FILE)`).join('');
  return `feed ${name} ${flags.join(' ')}${secrets}`;
}

/** Every live feed's flags, described from its settings; a flag two feeds share lists both. */
function flagSpecs(): Record<string, FlagSpec> {
  const specs: Record<string, FlagSpec> = {};
  for (const [name, feed] of Object.entries(LIVE)) {
    for (const [flag, f] of Object.entries(feed.flags)) {
      const setting = feed.config[f.setting];
      const type = setting.type === 'boolean' ? 'boolean' : 'string';
      const description = `${name}: ${setting.description}${defaultText(setting)}`;
      const shared = specs[flag];
      if (shared && shared.type !== type)
        throw new TickflowError(
          'INVARIANT',
          `--${flag} is a ${shared.type} flag of one feed and a ${type} flag of ${name}`,
          'give one of them another flag name in connectors/registry.ts',
        );
      specs[flag] = shared
        ? { type, description: `${shared.description}; ${description}` }
        : { type, description, ...(setting.type === 'string' && setting.choices ? { choices: setting.choices } : {}) };
    }
  }
  return specs;
}

/**
 * A feed's secrets, from the environment, `<NAME>_FILE` or the config file only: a flag would show
 * them to every user in `ps`.
 */
function readSecrets(name: string, secrets: readonly FeedSecret[]): Partial<Record<SettingName, string>> {
  if (secrets.length === 0) return {};
  const settings = loadSettings();
  const values: Partial<Record<SettingName, string>> = {};
  for (const { setting, what, hint } of secrets) {
    const value = settings.get(setting)?.value;
    if (!value) {
      const article = /^[aeiou]/i.test(what) ? 'an' : 'a';
      const noun = what.split(' ').pop();
      throw new TickflowError(
        'CONFIG',
        `tickflow feed ${name} needs ${article} ${what}; it reads it only from the environment or the config file ` +
          '(a command-line flag would show it to every user in `ps`)',
        `set ${setting}, or ${setting}_FILE to a file holding the ${noun}, or put ` +
          `${setting}=... into the file named by TICKFLOW_CONFIG_FILE${hint ? ` (${hint})` : ''}`,
      );
    }
    values[setting] = value;
  }
  return values;
}

/**
 * The feed's settings from its flags, in flag order: each given flag is read by its setting's type
 * and checked (a missing required one, and each flag's own check, are USAGE errors naming the flag);
 * parseConfig then validates them against the feed's schema.
 */
function settingsFromFlags(feed: LiveFeedDefinition, flags: Parsed['flags']): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [flag, f] of Object.entries(feed.flags)) {
    const spec = feed.config[f.setting];
    const given = flags[flag];
    const value = given === undefined ? spec.default : READ_FLAG[spec.type](flag, String(given));
    if (f.required && (value === '' || (Array.isArray(value) && value.length === 0)))
      throw new TickflowError('USAGE', `--${flag}: none given`, `for example --${flag} ${f.placeholder}`);
    f.check?.(value, flag);
    if (given !== undefined) values[f.setting] = spec.type === 'number' ? String(value) : String(given);
  }
  return values;
}

/** Runs a live feed until SIGINT/SIGTERM, logging its health; then stops it (which flushes its producer). */
async function runUntilSignal(healthLog: LiveFeedDefinition['healthLog'], feed: RunningFeed): Promise<number> {
  feed.start();
  const report = setInterval(
    () => log.info(`${healthLog.label} health: ${JSON.stringify(feed.health())}`),
    healthLog.everyMs,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  clearInterval(report);
  await feed.stop();
  process.stdout.write(`stopped; ${feed.health().published} records published to ${feed.topic}\n`);
  return 0;
}

/** `tickflow feed <name>`: a live feed of connectors/registry.ts into its raw topic until Ctrl-C. */
export const FEED_COMMAND: CommandDef = {
  spec: {
    usage: Object.entries(LIVE)
      .map(([name, feed]) => usageOf(name, feed))
      .join(' | '),
    positionals: [1, 1],
    flags: flagSpecs(),
  },
  run: async (p) => {
    const name = p.positionals[0];
    const feed = Object.hasOwn(LIVE, name) ? LIVE[name] : undefined;
    if (!feed) {
      const feeds = Object.keys(LIVE).map((n) => `tickflow feed ${n}`);
      throw new TickflowError(
        'USAGE',
        `unknown feed '${name}'`,
        `use ${feeds.join(' or ')} (file feeds: tickflow replay; synthetic: tickflow synth)`,
      );
    }
    const secrets = readSecrets(name, feed.secrets);
    const config = parseConfig(name, feed.config, settingsFromFlags(feed, p.flags));
    await ensureKafkaReachable();
    const running = await feed.create(config, {
      kafka: createKafka(`tickflow-feed-${name}`),
      codec: new AvroCodec(),
      secrets,
    });
    return runUntilSignal(feed.healthLog, running);
  },
};
