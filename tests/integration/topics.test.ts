import { ConfigResourceTypes } from 'kafkajs';
import type { Admin } from 'kafkajs';
import { createKafka } from '../../pipelines/runtime/kafka';
import { applyTopics, readTopics } from '../../ops/topics/apply';
import type { TopicSpec } from '../../topics/catalog';
import { TOPICS } from '../../topics/catalog';
import { unique } from '../support/helpers';

describe('tickflow topics apply (real broker)', () => {
  let admin: Admin;
  const created: string[] = [];
  beforeAll(async () => {
    admin = createKafka('test-topics').admin();
    await admin.connect();
  });
  afterAll(async () => {
    if (created.length) await admin.deleteTopics({ topics: created }).catch(() => undefined);
    await admin.disconnect();
  });

  it('is idempotent on the real catalog: a second run changes nothing', async () => {
    await applyTopics(admin);
    expect(await applyTopics(admin)).toEqual([]);
    const state = await readTopics(
      admin,
      TOPICS.map((t) => t.name),
    );
    for (const spec of TOPICS) {
      expect(state.get(spec.name)?.partitions).toBe(spec.partitions);
      expect(state.get(spec.name)?.configs['retention.ms']).toBe(String(spec.retentionMs));
    }
  });

  it("creates a new topic, repairs a drifted config, raises a keyed topic's partitions only when forced", async () => {
    const name = unique('test.apply.') + '.v1';
    created.push(name);
    const spec: TopicSpec = {
      name,
      partitions: 2,
      cleanup: 'delete',
      retentionMs: 3_600_000,
      key: 'k',
      valueSchema: 'trade',
      producer: 'test',
      dlq: false,
      description: 'test',
    };
    expect((await applyTopics(admin, [spec])).map((c) => c.kind)).toEqual(['create']);
    expect(await applyTopics(admin, [spec])).toEqual([]);

    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name, configEntries: [{ name: 'retention.ms', value: '5000' }] }],
    });
    // A keyed topic's partitions move keys: refused (nothing applied) unless forced.
    await expect(applyTopics(admin, [{ ...spec, partitions: 4 }])).rejects.toThrow(
      /has 2 partitions, the catalog says 4: raising them moves keys/,
    );
    expect((await readTopics(admin, [name])).get(name)?.partitions).toBe(2);
    const changes = await applyTopics(admin, [{ ...spec, partitions: 4 }], { forcePartitions: true });
    expect(changes.map((c) => c.kind).sort()).toEqual(['config', 'partitions']);
    const state = (await readTopics(admin, [name])).get(name);
    expect(state?.partitions).toBe(4);
    expect(state?.configs['retention.ms']).toBe('3600000');
    expect(await applyTopics(admin, [{ ...spec, partitions: 4 }])).toEqual([]);

    await expect(applyTopics(admin, [{ ...spec, partitions: 1 }])).rejects.toThrow(/cannot remove partitions/);
  });
});
