import type { CommandDef, Parsed } from '../args';
import { namespaceFlag } from '../args';
import { runnableNames } from '../../../pipelines/registry';
import { AvroCodec } from '../../../pipelines/runtime/codec';
import { TickflowError } from '../../../pipelines/runtime/errors';
import { createKafka, ensureKafkaReachable } from '../../../pipelines/runtime/kafka';
import { alignColumns } from '../../run/lag';
import {
  CONFIG_TOPIC,
  changeSetting,
  configHistory,
  parseAssignment,
  readConfigTable,
  settingsInForce,
} from '../../run/config';

const CHANGE_FLAGS = {
  reason: { type: 'string', description: 'why (required; kept with the change in ops.config.v1 and config_changes)' },
  actor: { type: 'string', description: 'who (default: user@host)' },
  namespace: { type: 'string', description: 'the topic prefix the pipeline runs under (run --namespace)' },
} as const;

function micros(ts: number): string {
  return new Date(Math.floor(ts / 1000)).toISOString();
}

async function change(p: Parsed, withValue: boolean): Promise<number> {
  const { stage, setting, value } = parseAssignment(p.positionals[0], withValue);
  const reason = typeof p.flags.reason === 'string' ? p.flags.reason : '';
  if (!reason.trim())
    throw new TickflowError('USAGE', 'a settings change needs --reason "..."', 'say why; it is kept with the change');
  const prefix = namespaceFlag(p.flags.namespace);
  await ensureKafkaReachable();
  const written = await changeSetting(createKafka('tickflow-config'), new AvroCodec(), {
    stage,
    setting,
    value: withValue ? (value as string) : null,
    reason,
    actor: typeof p.flags.actor === 'string' ? p.flags.actor : undefined,
    prefix,
  });
  process.stdout.write(
    `${stage}.${setting}: ${written.previous ?? '(none)'} -> ${written.value ?? '(default)'} by ${written.actor} at ${micros(written.tsChanged)}\n` +
      `running ${stage} instances restart it in place with the new value after their batch in flight (\`tickflow config show ${stage}\`)\n`,
  );
  return 0;
}

/** `tickflow config set|unset|show`: settings of a running pipeline, through the compacted ops.config.v1. */
export const CONFIG_COMMANDS: Readonly<Record<string, CommandDef>> = {
  set: {
    spec: {
      usage: 'config set STAGE.SETTING=VALUE --reason "..." [--actor WHO] [--namespace P.]',
      positionals: [1, 1],
      flags: CHANGE_FLAGS,
    },
    run: (p) => change(p, true),
  },
  unset: {
    spec: {
      usage: 'config unset STAGE.SETTING --reason "..." [--actor WHO] [--namespace P.]',
      positionals: [1, 1],
      flags: CHANGE_FLAGS,
    },
    run: (p) => change(p, false),
  },
  show: {
    spec: {
      usage: 'config show [STAGE ...] [--all] [--history] [--json] [--namespace P.]',
      positionals: [0, 20],
      flags: {
        all: {
          type: 'boolean',
          description: 'every setting, defaults included (default: only what the config topic sets)',
        },
        history: { type: 'boolean', description: `every change still in ${CONFIG_TOPIC}, oldest first` },
        json: { type: 'boolean', description: 'as JSON' },
        namespace: CHANGE_FLAGS.namespace,
      },
    },
    run: async (p) => {
      const stages = p.positionals.length > 0 ? p.positionals : runnableNames();
      const unknown = stages.filter((s) => !runnableNames().includes(s));
      if (unknown.length > 0)
        throw new TickflowError(
          'USAGE',
          `no stage or sink ${unknown.join(', ')}`,
          `use any of: ${runnableNames().join(', ')}`,
        );
      const prefix = namespaceFlag(p.flags.namespace);
      await ensureKafkaReachable();
      const kafka = createKafka('tickflow-config');
      if (p.flags.history) {
        const history = (await configHistory(kafka, prefix)).filter((c) => stages.includes(c.stage));
        if (p.flags.json) process.stdout.write(`${JSON.stringify(history, null, 2)}\n`);
        else
          process.stdout.write(
            `${alignColumns([
              ['WHEN', 'SETTING', 'OLD', 'NEW', 'WHO', 'WHY'],
              ...history.map((c) => [
                micros(c.tsChanged),
                `${c.stage}.${c.setting}`,
                c.previous ?? '',
                c.value ?? '(default)',
                c.actor,
                c.reason,
              ]),
            ])}\n`,
          );
        return 0;
      }
      const rows = settingsInForce(stages, await readConfigTable(kafka, prefix)).filter(
        (r) => p.flags.all || r.source === 'config topic',
      );
      if (p.flags.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else if (rows.length === 0)
        process.stdout.write(
          'no setting is changed on the running pipeline: every stage runs with its defaults and its own --set values (--all lists them)\n',
        );
      else
        process.stdout.write(
          `${alignColumns([
            ['SETTING', 'VALUE', 'SOURCE', 'CHANGED', 'BY', 'WHY'],
            ...rows.map((r) => [
              `${r.stage}.${r.setting}`,
              r.value ?? '',
              r.source,
              r.change ? micros(r.change.tsChanged) : '',
              r.change?.actor ?? '',
              r.change?.reason ?? '',
            ]),
          ])}\n`,
        );
      return 0;
    },
  },
};
