import type { Admin } from 'kafkajs';
import { ConfigResourceTypes } from 'kafkajs';
import type { TopicSpec } from '../../topics/catalog';
import { DLQ_SUFFIX, TOPICS, replicationFactor, topicConfigs, topicSpec } from '../../topics/catalog';
import { TickflowError } from '../../pipelines/runtime/errors';

/**
 * Reconciles the cluster with the topic catalog: creates missing topics and sets the configs the
 * catalog owns. Never deletes a topic or lowers partitions (Kafka cannot), and raises the partition
 * count of a keyed topic only when forced (see `partitionRaiseConflict`); such differences are
 * reported as conflicts that name the fix.
 */
export type Change =
  | { kind: 'create'; topic: string; partitions: number; replication: number; configs: Record<string, string> }
  | { kind: 'partitions'; topic: string; from: number; to: number }
  | { kind: 'config'; topic: string; changes: Record<string, { from: string | undefined; to: string }> };

export interface TopicState {
  name: string;
  partitions: number;
  configs: Record<string, string>;
}

export async function clusterBrokers(admin: Admin): Promise<number> {
  const cluster = await admin.describeCluster();
  return cluster.brokers.length;
}

export async function readTopics(admin: Admin, names: string[]): Promise<Map<string, TopicState>> {
  const existing = new Set(await admin.listTopics());
  const present = names.filter((n) => existing.has(n));
  const result = new Map<string, TopicState>();
  if (present.length === 0) return result;
  const metadata = await admin.fetchTopicMetadata({ topics: present });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
  });
  for (const topic of metadata.topics) {
    const resource = configs.resources.find((r) => r.resourceName === topic.name);
    const values: Record<string, string> = {};
    for (const entry of resource?.configEntries ?? []) values[entry.configName] = entry.configValue;
    result.set(topic.name, { name: topic.name, partitions: topic.partitions.length, configs: values });
  }
  return result;
}

/**
 * Why raising a keyed topic's partitions is refused unless forced: records are placed by their key's
 * hash modulo the partition count, so more partitions send most keys to another partition. Per-key
 * order across the change is lost, a stateful stage's state for a key (kept per partition, in
 * changelogs partitioned like its inputs) is no longer where the key's records arrive, and
 * co-partitioned inputs (normalize's raw topics, aggregate's trades and heartbeats) stop lining up.
 */
export function partitionRaiseConflict(topic: string, from: number, to: number): string {
  return (
    `${topic} has ${from} partitions, the catalog says ${to}: raising them moves keys to other partitions, which breaks per-key order, ` +
    `splits the state of stateful stages from their records and breaks co-partitioned inputs. To do it anyway: stop every stage, ` +
    `raise every co-partitioned topic and changelog together in topics/catalog.ts, run \`tickflow topics apply --force-partitions\`, ` +
    `then rebuild the affected stages' state (delete their changelogs and consumer groups and reprocess, or start new topic versions)`
  );
}

export function plan(
  catalog: readonly TopicSpec[],
  state: Map<string, TopicState>,
  brokers: number,
  options: { forcePartitions?: boolean } = {},
): { changes: Change[]; conflicts: string[] } {
  const changes: Change[] = [];
  const conflicts: string[] = [];
  for (const spec of catalog) {
    const wanted = topicConfigs(spec, brokers);
    const current = state.get(spec.name);
    if (!current) {
      changes.push({
        kind: 'create',
        topic: spec.name,
        partitions: spec.partitions,
        replication: replicationFactor(brokers),
        configs: wanted,
      });
      continue;
    }
    if (current.partitions < spec.partitions) {
      // Dead-letter twins are keyed by the original key but nothing reads them per key.
      if (options.forcePartitions || spec.name.endsWith(DLQ_SUFFIX))
        changes.push({ kind: 'partitions', topic: spec.name, from: current.partitions, to: spec.partitions });
      else conflicts.push(partitionRaiseConflict(spec.name, current.partitions, spec.partitions));
    }
    if (current.partitions > spec.partitions) {
      conflicts.push(
        `${spec.name} has ${current.partitions} partitions, the catalog says ${spec.partitions}; Kafka cannot remove partitions: raise the catalog to ${current.partitions} or recreate the topic`,
      );
    }
    const diff: Record<string, { from: string | undefined; to: string }> = {};
    for (const [key, value] of Object.entries(wanted))
      if (current.configs[key] !== value) diff[key] = { from: current.configs[key], to: value };
    if (Object.keys(diff).length > 0) changes.push({ kind: 'config', topic: spec.name, changes: diff });
  }
  return { changes, conflicts };
}

export function describeChange(change: Change): string {
  switch (change.kind) {
    case 'create':
      return `create ${change.topic} (${change.partitions} partitions, replication ${change.replication}, ${Object.entries(
        change.configs,
      )
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')})`;
    case 'partitions':
      return `raise ${change.topic} partitions ${change.from} -> ${change.to}`;
    case 'config':
      return `set ${change.topic} ${Object.entries(change.changes)
        .map(([k, v]) => `${k}: ${v.from ?? '(unset)'} -> ${v.to}`)
        .join(', ')}`;
  }
}

/** Metadata errors a freshly started or recovering cluster gives for a while; worth another try. */
function transient(error: unknown): boolean {
  const type = (error as { type?: string }).type ?? '';
  return (
    [
      'UNKNOWN_TOPIC_OR_PARTITION',
      'LEADER_NOT_AVAILABLE',
      'NOT_CONTROLLER',
      'REQUEST_TIMED_OUT',
      'NOT_LEADER_FOR_PARTITION',
    ].includes(type) || /does not host this topic-partition|leader/i.test((error as Error).message ?? '')
  );
}

/** Applies the catalog, retrying a few times while the cluster is still settling (new or recovering brokers). */
export async function applyTopics(
  admin: Admin,
  catalog: readonly TopicSpec[] = TOPICS,
  options: { dryRun?: boolean; forcePartitions?: boolean } = {},
): Promise<Change[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await applyOnce(admin, catalog, options);
    } catch (error) {
      if (attempt >= 6 || !transient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

async function applyOnce(
  admin: Admin,
  catalog: readonly TopicSpec[],
  options: { dryRun?: boolean; forcePartitions?: boolean },
): Promise<Change[]> {
  const brokers = await clusterBrokers(admin);
  const state = await readTopics(
    admin,
    catalog.map((t) => t.name),
  );
  const { changes, conflicts } = plan(catalog, state, brokers, options);
  if (conflicts.length > 0)
    throw new TickflowError(
      'TOPIC_CONFLICT',
      `the cluster differs from the catalog in ways apply cannot fix:\n  ${conflicts.join('\n  ')}`,
      'edit topics/catalog.ts or recreate the named topics',
    );
  if (options.dryRun || changes.length === 0) return changes;
  const creates = changes.filter((c): c is Extract<Change, { kind: 'create' }> => c.kind === 'create');
  if (creates.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: creates.map((c) => ({
        topic: c.topic,
        numPartitions: c.partitions,
        replicationFactor: c.replication,
        configEntries: Object.entries(c.configs).map(([name, value]) => ({ name, value })),
      })),
    });
  }
  const raises = changes.filter((c): c is Extract<Change, { kind: 'partitions' }> => c.kind === 'partitions');
  if (raises.length > 0)
    await admin.createPartitions({ topicPartitions: raises.map((c) => ({ topic: c.topic, count: c.to })) });
  const configs = changes.filter((c): c is Extract<Change, { kind: 'config' }> => c.kind === 'config');
  if (configs.length > 0) {
    // AlterConfigs (non-incremental) replaces a topic's whole dynamic config: send every owned key.
    await admin.alterConfigs({
      validateOnly: false,
      resources: configs.map((c) => {
        const spec = catalog.find((t) => t.name === c.topic) as TopicSpec;
        return {
          type: ConfigResourceTypes.TOPIC,
          name: c.topic,
          configEntries: Object.entries(topicConfigs(spec, brokers)).map(([name, value]) => ({ name, value })),
        };
      }),
    });
  }
  return changes;
}

/**
 * Creates catalog topics under a name prefix (an isolated namespace for benchmarks and tests) with the
 * catalog's partitions and configs and a one-hour retention, so that leftovers expire by themselves
 * (`keepRetention`: the catalog's retention, for a namespace a person works in, such as a replay's).
 * Returns the physical names.
 */
export async function createNamespace(
  admin: Admin,
  prefix: string,
  topics: readonly string[],
  brokers: number,
  options: { keepRetention?: boolean } = {},
): Promise<string[]> {
  const specs = topics.map((name) => {
    const spec = topicSpec(name);
    if (!spec) throw new TickflowError('CONFIG', `${name} is not in the topic catalog`, 'add it to topics/catalog.ts');
    return spec;
  });
  await admin.createTopics({
    waitForLeaders: true,
    topics: specs.map((spec) => ({
      topic: `${prefix}${spec.name}`,
      numPartitions: spec.partitions,
      replicationFactor: replicationFactor(brokers),
      configEntries: Object.entries({
        ...topicConfigs(spec, brokers),
        ...(options.keepRetention ? {} : { 'retention.ms': '3600000' }),
      }).map(([name, value]) => ({ name, value })),
    })),
  });
  const names = specs.map((spec) => `${prefix}${spec.name}`);
  await waitUntilServed(admin, names);
  return names;
}

/**
 * Waits until every partition of `topics` answers a ListOffsets at its leader. `createTopics` with
 * `waitForLeaders` returns once the metadata names leaders, but a broker can still answer "This
 * server does not host this topic-partition" for a moment after that: the first produce of a
 * freshly created namespace failed that way two runs in three on a fresh stack.
 */
export async function waitUntilServed(admin: Admin, topics: readonly string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const topic of topics) {
    for (;;) {
      try {
        await admin.fetchTopicOffsets(topic);
        break;
      } catch (error) {
        if (Date.now() > deadline)
          throw new TickflowError(
            'TIMEOUT',
            `${topic} was created but its partitions are not served after ${timeoutMs / 1000} s: ${(error as Error).message}`,
            'check the broker logs (tickflow stack status); the topic may need deleting and creating again',
          );
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}
