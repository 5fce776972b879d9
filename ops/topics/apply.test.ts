import type { TopicSpec } from '../../topics/catalog';
import { plan } from './apply';

const spec: TopicSpec = { name: 'md.test.v1', partitions: 3, cleanup: 'delete', retentionMs: 1000, key: 'k', valueSchema: 'trade', producer: 'p', dlq: false, description: 'd' };

describe('topics apply plan', () => {
  it('creates a missing topic with the catalog configs', () => {
    const { changes } = plan([spec], new Map(), 1);
    expect(changes).toEqual([{ kind: 'create', topic: 'md.test.v1', partitions: 3, replication: 1, configs: { 'cleanup.policy': 'delete', 'retention.ms': '1000', 'min.insync.replicas': '1' } }]);
  });

  it('plans nothing when the cluster matches', () => {
    const state = new Map([[spec.name, { name: spec.name, partitions: 3, configs: { 'cleanup.policy': 'delete', 'retention.ms': '1000', 'min.insync.replicas': '1' } }]]);
    expect(plan([spec], state, 1)).toEqual({ changes: [], conflicts: [] });
  });

  it('raises partitions and fixes drifted configs, but refuses to lower partitions', () => {
    const state = new Map([[spec.name, { name: spec.name, partitions: 2, configs: { 'cleanup.policy': 'delete', 'retention.ms': '5', 'min.insync.replicas': '1' } }]]);
    const { changes } = plan([spec], state, 1);
    expect(changes.map((c) => c.kind)).toEqual(['partitions', 'config']);
    const lowered = plan([{ ...spec, partitions: 1 }], state, 1);
    expect(lowered.conflicts[0]).toMatch(/cannot remove partitions/);
  });
});
