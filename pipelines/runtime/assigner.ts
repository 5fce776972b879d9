import type { Assigner, Cluster, GroupMember, GroupMemberAssignment, PartitionAssigner } from 'kafkajs';
import { AssignerProtocol } from 'kafkajs';

/**
 * Co-partitioned assignment: partition N of every subscribed topic goes to the same member. A
 * stage's state is kept per input partition number (co-partitioned inputs share it, like Kafka
 * Streams' tasks), so a stage with several inputs must own partition N of all of them or two
 * instances would each keep, and write the changelog of, the same state partition.
 * Partition numbers are dealt round robin over the members sorted by id, so every member computes
 * the same plan and a stage with one input is assigned exactly as by round robin.
 */
export const CO_PARTITIONED = 'TickflowCoPartitioned';

export function coPartitionedPlan(
  memberIds: readonly string[],
  partitionsOf: ReadonlyMap<string, readonly number[]>,
): Map<string, Record<string, number[]>> {
  const members = [...memberIds].sort();
  const plan = new Map<string, Record<string, number[]>>(members.map((m) => [m, {}]));
  if (members.length === 0) return plan;
  for (const [topic, partitions] of partitionsOf) {
    for (const partition of partitions) {
      const assignment = plan.get(members[partition % members.length]) as Record<string, number[]>;
      (assignment[topic] ??= []).push(partition);
    }
  }
  return plan;
}

export const coPartitionedAssigner: PartitionAssigner = ({ cluster }: { cluster: Cluster }): Assigner => ({
  name: CO_PARTITIONED,
  version: 0,
  async assign({ members, topics }: { members: GroupMember[]; topics: string[] }): Promise<GroupMemberAssignment[]> {
    const partitionsOf = new Map(
      topics.map((topic) => [
        topic,
        cluster
          .findTopicPartitionMetadata(topic)
          .map((m) => m.partitionId)
          .sort((a, b) => a - b),
      ]),
    );
    const plan = coPartitionedPlan(
      members.map((m) => m.memberId),
      partitionsOf,
    );
    return [...plan].map(([memberId, assignment]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }: { topics: string[] }) {
    return {
      name: CO_PARTITIONED,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    };
  },
});
