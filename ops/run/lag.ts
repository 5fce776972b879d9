import type { Admin } from 'kafkajs';
import { RUNNABLES, STAGES } from '../../pipelines/registry';
import { planTopology } from '../../pipelines/runtime/topology';
import { bounded } from '../../pipelines/runtime/bounded';

/** One input partition of a stage or sink: where its group committed, the end, and when. */
export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** The committed offset (the next record to process); null: nothing committed yet. */
  readonly committed: string | null;
  /** The partition's end (high watermark). */
  readonly end: string;
  /**
   * Records between the commit and the end. A transactional topic ends with a commit marker that
   * no consumer commits past, so a caught-up stage input shows 1 here.
   */
  readonly lag: number;
  /** When the commit was made (ms since the epoch; from the commit's metadata), null when unknown. */
  readonly committedAt: number | null;
}

export type GroupState = 'running' | 'paused' | 'rebalancing' | 'stopped' | 'unknown';

export interface GroupLag {
  /** The stage, fused chain head or sink. */
  readonly name: string;
  readonly kind: 'stage' | 'sink';
  readonly group: string;
  readonly state: GroupState;
  readonly members: number;
  readonly lag: number;
  readonly lastCommitAt: number | null;
  /** The chain head this stage runs fused behind (its state and members are the head's), or null. */
  readonly fusedInto: string | null;
  /** Input partitions paused by backpressure, as the running processes report them (null: no process answered). */
  readonly paused: number | null;
  readonly partitions: readonly PartitionLag[];
}

/**
 * Paused partitions per consumer group, from the /healthz of running tickflow processes
 * (pipelines/runtime/http.ts: `runners.<name>.group` and `.paused`). Only a live process knows what
 * it paused; a process that does not answer contributes nothing.
 */
export async function pausedByGroup(healthUrls: readonly string[]): Promise<Map<string, number>> {
  const paused = new Map<string, number>();
  await Promise.all(
    healthUrls.map(async (url) => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1500) });
        const body = (await res.json()) as { runners?: Record<string, { group?: string; paused?: number }> };
        for (const runner of Object.values(body.runners ?? {}))
          if (runner.group) paused.set(runner.group, (paused.get(runner.group) ?? 0) + (runner.paused ?? 0));
      } catch {
        // not running, or not a tickflow process
      }
    }),
  );
  return paused;
}

/** Kafka's group states as an operator reads them. */
export function groupState(kafkaState: string): GroupState {
  if (kafkaState === 'Stable') return 'running';
  if (kafkaState === 'PreparingRebalance' || kafkaState === 'CompletingRebalance') return 'rebalancing';
  if (kafkaState === 'Empty' || kafkaState === 'Dead') return 'stopped';
  return 'unknown';
}

/** The commit time tickflow writes into every offset commit's metadata (pipelines/runtime/transactions.ts). */
export function committedAtOf(metadata: string | null | undefined): number | null {
  if (!metadata) return null;
  try {
    const at = (JSON.parse(metadata) as { committedAt?: unknown }).committedAt;
    return typeof at === 'number' && Number.isFinite(at) ? at : null;
  } catch {
    return null;
  }
}

/**
 * Every stage's and sink's consumer group in the namespace `prefix` (groups are `tickflow.<prefix><name>`,
 * ops/run/pipeline.ts), with lag per input partition, its state and its last commit. Reads only
 * group and topic metadata: it joins no group and moves no offset.
 */
export async function lagReport(
  admin: Admin,
  prefix = '',
  paused: ReadonlyMap<string, number> = new Map(),
): Promise<GroupLag[]> {
  const listed = await bounded(admin.listGroups(), 'listing consumer groups');
  const ours = listed.groups
    .map((g) => ({ group: g.groupId, name: g.groupId.slice(`tickflow.${prefix}`.length) }))
    .filter((g) => g.group.startsWith(`tickflow.${prefix}`) && RUNNABLES[g.name] !== undefined)
    .sort((a, b) => Object.keys(RUNNABLES).indexOf(a.name) - Object.keys(RUNNABLES).indexOf(b.name));
  if (ours.length === 0) return [];
  const described = await bounded(admin.describeGroups(ours.map((g) => g.group)), 'describing consumer groups');
  const ends = new Map<string, Map<number, { low: string; high: string }>>();
  const endsOf = async (topic: string): Promise<Map<number, { low: string; high: string }>> => {
    let map = ends.get(topic);
    if (!map) {
      const offsets = await bounded(admin.fetchTopicOffsets(topic), `reading the offsets of ${topic}`);
      map = new Map(offsets.map((o) => [o.partition, { low: o.low, high: o.high }]));
      ends.set(topic, map);
    }
    return map;
  };
  // A fused chain commits each member's offsets under the member's own group, which has no members
  // of its own: its state is its head's (the default plan, as `tickflow run` makes it).
  const headOf = new Map<string, string>();
  for (const chain of planTopology(Object.values(STAGES), []).chains)
    for (const stage of chain.stages.slice(1)) headOf.set(stage.name, chain.stages[0].name);
  const report: GroupLag[] = [];
  for (const { group, name } of ours) {
    const description = described.groups.find((d) => d.groupId === group);
    const committed = await bounded(admin.fetchOffsets({ groupId: group }), `reading the offsets of ${group}`);
    const partitions: PartitionLag[] = [];
    for (const t of committed) {
      const topicEnds = await endsOf(t.topic).catch(() => new Map<number, { low: string; high: string }>());
      for (const p of t.partitions) {
        const range = topicEnds.get(p.partition);
        if (!range) continue; // the topic or partition is gone
        const at = BigInt(p.offset) >= 0n ? p.offset : null;
        // Nothing committed yet: everything still retained is ahead of the group.
        const from = at !== null && BigInt(at) > BigInt(range.low) ? at : range.low;
        partitions.push({
          topic: t.topic,
          partition: p.partition,
          committed: at,
          end: range.high,
          lag: Number(BigInt(range.high) - BigInt(from)),
          committedAt: committedAtOf((p as { metadata?: string | null }).metadata),
        });
      }
    }
    partitions.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    const pausedHere = paused.get(group);
    const head = headOf.get(name);
    const headGroup = head ? described.groups.find((d) => d.groupId === `tickflow.${prefix}${head}`) : undefined;
    const own = groupState(description?.state ?? '');
    const state = own === 'stopped' && headGroup ? groupState(headGroup.state) : own;
    const times = partitions.map((p) => p.committedAt).filter((t): t is number => t !== null);
    report.push({
      name,
      kind: RUNNABLES[name].kind,
      group,
      state: state === 'running' && pausedHere ? 'paused' : state,
      members: (own === 'stopped' && headGroup ? headGroup : description)?.members.length ?? 0,
      fusedInto: head ?? null,
      lag: partitions.reduce((sum, p) => sum + Math.max(0, p.lag), 0),
      lastCommitAt: times.length > 0 ? Math.max(...times) : null,
      paused: pausedHere ?? null,
      partitions,
    });
  }
  return report;
}

function ago(at: number | null, now: number): string {
  if (at === null) return '-';
  const s = Math.max(0, Math.round((now - at) / 1000));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

/** An aligned table: one line per group, then (with `partitions`) one per input partition. */
export function formatLag(report: readonly GroupLag[], options: { partitions: boolean; now?: number }): string {
  const now = options.now ?? Date.now();
  const rows: string[][] = [['STAGE', 'KIND', 'STATE', 'MEMBERS', 'PAUSED', 'LAG', 'LAST COMMIT', 'GROUP']];
  for (const g of report) {
    rows.push([
      g.fusedInto ? `${g.name} (fused into ${g.fusedInto})` : g.name,
      g.kind,
      g.state,
      String(g.members),
      g.paused === null ? '?' : String(g.paused),
      String(g.lag),
      ago(g.lastCommitAt, now),
      g.group,
    ]);
    if (options.partitions)
      for (const p of g.partitions)
        rows.push([
          `  ${p.topic}[${p.partition}]`,
          '',
          '',
          '',
          '',
          String(p.lag),
          ago(p.committedAt, now),
          `${p.committed ?? '-'} / ${p.end}`,
        ]);
  }
  return alignColumns(rows);
}

/** Pads each column to its widest cell. */
export function alignColumns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
