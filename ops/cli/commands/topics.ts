import type { CommandDef } from '../args';
import { TickflowError } from '../../../pipelines/runtime/errors';
import { createKafka, ensureKafkaReachable } from '../../../pipelines/runtime/kafka';
import { TOPICS, valueSubject } from '../../../topics/catalog';
import { RegistryAdmin } from '../../schemas/registry';
import { applyTopics, clusterBrokers, describeChange, plan, readTopics } from '../../topics/apply';

async function withAdmin<T>(
  fn: (admin: ReturnType<ReturnType<typeof createKafka>['admin']>) => Promise<T>,
): Promise<T> {
  await ensureKafkaReachable();
  const admin = createKafka('tickflow-admin').admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** `tickflow topics apply|list|describe`: the cluster against the topic catalog. */
export const TOPIC_COMMANDS: Readonly<Record<string, CommandDef>> = {
  apply: {
    spec: {
      usage: 'topics apply [--dry-run] [--force-partitions]',
      positionals: [0, 0],
      flags: {
        'dry-run': { type: 'boolean', description: 'only print what would change' },
        'force-partitions': {
          type: 'boolean',
          description: 'also raise partition counts of keyed topics (moves keys; see the message without it)',
        },
      },
    },
    run: async (p) =>
      withAdmin(async (admin) => {
        const changes = await applyTopics(admin, TOPICS, {
          dryRun: Boolean(p.flags['dry-run']),
          forcePartitions: Boolean(p.flags['force-partitions']),
        });
        if (changes.length === 0)
          process.stdout.write(`topics: the cluster matches the catalog (${TOPICS.length} topics); nothing to do\n`);
        for (const change of changes)
          process.stdout.write(`${p.flags['dry-run'] ? 'would ' : ''}${describeChange(change)}\n`);
        return 0;
      }),
  },
  list: {
    spec: { usage: 'topics list', positionals: [0, 0], flags: {} },
    run: async () =>
      withAdmin(async (admin) => {
        const brokers = await clusterBrokers(admin);
        const state = await readTopics(
          admin,
          TOPICS.map((t) => t.name),
        );
        const { changes } = plan(TOPICS, state, brokers);
        for (const spec of TOPICS) {
          const current = state.get(spec.name);
          const pending = changes.filter((c) => c.topic === spec.name);
          const status = !current ? 'MISSING' : pending.length > 0 ? 'DIFFERS' : 'ok';
          process.stdout.write(
            `${spec.name.padEnd(28)} ${status.padEnd(8)} partitions ${String(current?.partitions ?? '-').padEnd(3)} ${spec.cleanup.padEnd(7)} ${spec.valueSchema.padEnd(14)} ${spec.producer}\n`,
          );
        }
        const extra = (await admin.listTopics())
          .filter((t) => !t.startsWith('__') && !TOPICS.some((s) => s.name === t))
          .sort();
        if (extra.length > 0) process.stdout.write(`not in the catalog: ${extra.join(', ')}\n`);
        return 0;
      }),
  },
  describe: {
    spec: { usage: 'topics describe TOPIC', positionals: [1, 1], flags: {} },
    run: async (p) =>
      withAdmin(async (admin) => {
        const name = p.positionals[0];
        const spec = TOPICS.find((t) => t.name === name);
        if (!spec)
          throw new TickflowError('USAGE', `topic ${name} is not in the catalog`, 'see `tickflow topics list`');
        process.stdout.write(
          `${spec.name}: ${spec.description}\n  key: ${spec.key}\n  value: ${spec.valueSchema} (subject ${valueSubject(spec.name)})\n  producer: ${spec.producer}\n  catalog: ${spec.partitions} partitions, ${spec.cleanup}, retention.ms=${spec.retentionMs}${spec.dlq ? `, dead letters in ${spec.name}.dlq` : ''}\n`,
        );
        const state = (await readTopics(admin, [name])).get(name);
        if (!state) {
          process.stdout.write('  cluster: MISSING (run `tickflow topics apply`)\n');
          return 0;
        }
        const metadata = await admin.fetchTopicMetadata({ topics: [name] });
        const offsets = await admin.fetchTopicOffsets(name);
        process.stdout.write(
          `  cluster: ${state.partitions} partitions; cleanup.policy=${state.configs['cleanup.policy']} retention.ms=${state.configs['retention.ms']} min.insync.replicas=${state.configs['min.insync.replicas']}\n`,
        );
        for (const partition of metadata.topics[0].partitions.sort((a, b) => a.partitionId - b.partitionId)) {
          const o = offsets.find((x) => x.partition === partition.partitionId);
          process.stdout.write(
            `    partition ${partition.partitionId}: leader ${partition.leader}, replicas [${partition.replicas.join(',')}], isr [${partition.isr.join(',')}], offsets ${o?.low}..${o?.high}\n`,
          );
        }
        const latest = await new RegistryAdmin().latest(valueSubject(name)).catch(() => undefined);
        process.stdout.write(
          `  schema: ${latest ? `version ${latest.version}, id ${latest.id}` : 'not registered (run `tickflow schemas register`)'}\n`,
        );
        return 0;
      }),
  },
};
