import type { TopicSpec } from '../../topics/catalog';
import { plan } from './apply';

const spec: TopicSpec = {
  name: 'md.test.v1',
  partitions: 3,
  cleanup: 'delete',
  retentionMs: 1000,
  key: 'k',
  valueSchema: 'trade',
  producer: 'p',
  dlq: false,
  description: 'd',
};

describe('topics apply plan', () => {
  it('creates a missing topic with the catalog configs', () => {
    const { changes } = plan([spec], new Map(), 1);
    expect(changes).toEqual([
      {
        kind: 'create',
        topic: 'md.test.v1',
        partitions: 3,
        replication: 1,
        configs: { 'cleanup.policy': 'delete', 'retention.ms': '1000', 'min.insync.replicas': '1' },
      },
    ]);
  });

  it('plans nothing when the cluster matches', () => {
    const state = new Map([
      [
        spec.name,
        {
          name: spec.name,
          partitions: 3,
          configs: { 'cleanup.policy': 'delete', 'retention.ms': '1000', 'min.insync.replicas': '1' },
        },
      ],
    ]);
    expect(plan([spec], state, 1)).toEqual({ changes: [], conflicts: [] });
  });

  it("fixes drifted configs, refuses to raise a keyed topic's partitions unless forced, and refuses to lower them", () => {
    const state = new Map([
      [
        spec.name,
        {
          name: spec.name,
          partitions: 2,
          configs: { 'cleanup.policy': 'delete', 'retention.ms': '5', 'min.insync.replicas': '1' },
        },
      ],
    ]);
    const refused = plan([spec], state, 1);
    expect(refused.changes.map((c) => c.kind)).toEqual(['config']);
    expect(refused.conflicts).toHaveLength(1);
    expect(refused.conflicts[0]).toMatch(
      /md.test.v1 has 2 partitions, the catalog says 3: raising them moves keys.*--force-partitions/,
    );
    const forced = plan([spec], state, 1, { forcePartitions: true });
    expect(forced.changes.map((c) => c.kind)).toEqual(['partitions', 'config']);
    expect(forced.conflicts).toEqual([]);
    // A dead-letter twin is not read per key: raised without force.
    const dlq = plan(
      [{ ...spec, name: 'md.test.v1.dlq' }],
      new Map([['md.test.v1.dlq', { ...state.get(spec.name)!, name: 'md.test.v1.dlq' }]]),
      1,
    );
    expect(dlq.changes.map((c) => c.kind)).toEqual(['partitions', 'config']);
    const lowered = plan([{ ...spec, partitions: 1 }], state, 1);
    expect(lowered.conflicts[0]).toMatch(/cannot remove partitions/);
  });
});
