import { topicSpec } from '../../topics/catalog';
import type { Stage } from './stage';

/**
 * The topology planner: which of the stages one process runs are fused into chains (./chain.ts).
 * Kafka Streams runs every operator between two repartition topics in one task; Flink chains
 * operators with the same key and parallelism. Here a stage joins the chain of the stages it reads
 * from when every one of its inputs
 *
 * - is written by exactly one stage, running in this process and already in that chain, and the
 *   catalog (topics/catalog.ts) names that stage as the topic's only producer (nothing outside the
 *   process writes it);
 * - is keyed like the chain head's inputs and has as many partitions (so partition N of it holds
 *   exactly the records the task of partition N makes), as do the stage's changelogs.
 *
 * Anything else is a hop through Kafka, as in Kafka Streams: a key change (normalize re-keys the
 * vendor's instrument as tickflow's instrumentId; signals re-keyed by account for risk), a different
 * partition count, a topic several stages write, and every sink.
 */
export interface PlannedChain {
  /** The head first, then the fused stages in topological order. */
  readonly stages: readonly Stage[];
}

export interface Hop {
  readonly from: string;
  readonly to: string;
  readonly topics: readonly string[];
  readonly reason: string;
}

export interface Plan {
  readonly chains: readonly PlannedChain[];
  readonly sinks: readonly { name: string; inputs: readonly string[] }[];
  readonly hops: readonly Hop[];
  readonly fused: boolean;
}

/** Stages ordered so that a topic's producers come before its readers (ties keep the given order). */
function topological(stages: readonly Stage[]): Stage[] {
  const remaining = [...stages];
  const ordered: Stage[] = [];
  while (remaining.length > 0) {
    const next = remaining.findIndex(
      (s) => !remaining.some((p) => p !== s && p.outputs.some((t) => s.inputs.includes(t) && !p.inputs.includes(t))),
    );
    // A cycle (never among tickflow's stages): keep the given order for the rest.
    const [stage] = remaining.splice(next >= 0 ? next : 0, 1);
    ordered.push(stage);
  }
  return ordered;
}

/** Why `stage` cannot read `topic` in memory from the chain `chain` (undefined: it can). */
function whyNotFused(topic: string, producers: readonly Stage[], chain: PlannedChain | undefined): string | undefined {
  if (producers.length !== 1) return `${producers.map((p) => p.name).join(', ')} all write ${topic}`;
  const [producer] = producers;
  if (!chain) return `${producer.name} is not in a chain`;
  const spec = topicSpec(topic);
  if (!spec) return `${topic} is not in the catalog`;
  if (spec.producer !== producer.name) return `the catalog names "${spec.producer}" as the producers of ${topic}`;
  const head = chain.stages[0];
  for (const input of head.inputs) {
    const headSpec = topicSpec(input);
    if (!headSpec) return `${input} is not in the catalog`;
    if (headSpec.key !== spec.key)
      return `the key changes (${head.name} reads ${input} keyed by ${headSpec.key}; ${topic} is keyed by ${spec.key})`;
    if (headSpec.partitions !== spec.partitions)
      return `the partition count changes (${input} has ${headSpec.partitions}, ${topic} ${spec.partitions})`;
  }
  return undefined;
}

/**
 * The plan for `stages` and `sinks` run in one process. With `fuse` false every stage runs on its
 * own (the plan then only lists the hops).
 */
export function planTopology(
  stages: readonly Stage[],
  sinks: readonly { name: string; inputs: readonly string[] }[],
  fuse = true,
): Plan {
  const chains: { stages: Stage[] }[] = [];
  const chainOf = new Map<string, { stages: Stage[] }>();
  const hops: Hop[] = [];
  for (const stage of topological(stages)) {
    const reads = stage.inputs.map((topic) => ({
      topic,
      producers: stages.filter((p) => p !== stage && p.outputs.includes(topic)),
    }));
    const upstream = reads.flatMap((r) => r.producers.map((p) => chainOf.get(p.name)));
    const chain = upstream[0];
    const sameChain = reads.every((r) => r.producers.length > 0) && upstream.every((c) => c === chain);
    const reasons = reads.map((r) => ({
      ...r,
      why: !fuse
        ? 'fusing is off (--no-fuse)'
        : !sameChain
          ? 'its inputs come from several tasks or from outside the process'
          : whyNotFused(r.topic, r.producers, chain),
    }));
    if (fuse && chain && reasons.every((r) => r.why === undefined)) {
      chain.stages.push(stage);
      chainOf.set(stage.name, chain);
      continue;
    }
    const own = { stages: [stage] };
    chains.push(own);
    chainOf.set(stage.name, own);
    for (const r of reasons)
      for (const p of r.producers) addHop(hops, p.name, stage.name, r.topic, r.why ?? 'not fused');
  }
  for (const sink of sinks) {
    for (const topic of sink.inputs)
      for (const p of stages.filter((s) => s.outputs.includes(topic)))
        addHop(hops, p.name, sink.name, topic, 'a sink writes outside Kafka');
  }
  return { chains, sinks, hops, fused: fuse };
}

function addHop(hops: Hop[], from: string, to: string, topic: string, reason: string): void {
  const existing = hops.find((h) => h.from === from && h.to === to);
  if (!existing) {
    hops.push({ from, to, topics: [topic], reason });
    return;
  }
  (existing.topics as string[]).push(topic);
  if (!existing.reason.includes(reason)) (existing as { reason: string }).reason = `${existing.reason}; ${reason}`;
}

/** `tickflow run --explain`: which stages fused, which hops remain and why. */
export function explainPlan(plan: Plan): string {
  const lines: string[] = [];
  const stageCount = plan.chains.reduce((n, c) => n + c.stages.length, 0);
  lines.push(
    `plan: ${plan.chains.length + plan.sinks.length} consumer groups for ${stageCount} stage(s) and ${plan.sinks.length} sink(s); fusing ${plan.fused ? 'on (--no-fuse turns it off)' : 'off'}`,
  );
  for (const { stages } of plan.chains) {
    const name = stages.map((s) => s.name).join(' -> ');
    if (stages.length === 1) {
      lines.push(`  ${name}: reads ${stages[0].inputs.join(', ')}`);
      continue;
    }
    const passed = [...new Set(stages.slice(1).flatMap((s) => s.inputs))];
    lines.push(
      `  ${name}: FUSED, one task per partition: reads ${stages[0].inputs.join(', ')}; ${passed.join(', ')} pass in memory (still written, for taps and the sink); one transaction per batch carries every stage's outputs, state and offsets`,
    );
  }
  for (const sink of plan.sinks) lines.push(`  ${sink.name}: reads ${sink.inputs.join(', ')}`);
  if (plan.hops.length > 0) lines.push('hops (a topic between consumer groups):');
  for (const hop of plan.hops) lines.push(`  ${hop.from} -> ${hop.to} via ${hop.topics.join(', ')}: ${hop.reason}`);
  return lines.join('\n');
}
