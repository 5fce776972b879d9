import type { KafkaMessage, Message, PartitionMetadata } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import type { AvroCodec } from './codec';
import { deadLetterSends } from './dead-letters';
import { TickflowError } from './errors';
import { topicSpec } from '../../topics/catalog';
import type { Stores } from './guarded';
import { processGuarded } from './guarded';
import type { Logger } from './log';
import type { RuntimeMetrics } from './metrics';
import { globalAccessor } from './global-table';
import type { Clock, FailedRecord, InputRecord, OutputRecord, Stage, StageContext } from './stage';
import type { PartitionStates } from './state';
import type { Placement, Send } from './transactions';
import { SendList, partitionKey } from './transactions';

/**
 * A fused chain (./topology.ts): stages run in one task per partition, in topological order, the
 * head fed by the consumed batch and every later stage by the outputs of the stages before it,
 * passed in memory. The intermediate topics are still written, in the same transaction, before the
 * stages that read them run, so each in-memory record carries the offset it has in its topic (its
 * origin, its dead letter) and the transaction can commit every downstream stage's consumer group
 * past it: run unfused later, a stage resumes exactly where the chain left it.
 *
 * One cascade is the work of one transaction. `send` writes within that transaction and learns the
 * offsets of messages with an explicit partition (the chain's intermediate records).
 */
export interface ChainMember {
  readonly stage: Stage;
  /** The consumer group the stage commits as when it runs on its own (its downstream offsets). */
  readonly groupId: string;
}

export interface CascadeOutcome {
  /** Outputs not yet sent, dead letters and changelogs: the rest of the transaction. */
  readonly sends: SendList;
  readonly changelog: SendList;
  /** Per downstream stage's group: the offset after the last intermediate record it consumed, per topic-partition. */
  readonly groupOffsets: Map<string, Map<string, string>>;
  /** Per stage name: records in, outputs, dead letters. */
  readonly counts: Map<
    string,
    { in: number; out: number; failed: number; outByTopic: Map<string, number>; observed: [string, Observation][] }
  >;
  /** The state touched, to settle once the transaction's outcome is known. */
  readonly state: Map<string, Stores>;
}

export interface CascadeStart {
  /** Index of the first stage to run: 0 for a consumed batch of the head's inputs. */
  readonly from: number;
  readonly records: readonly InputRecord[];
  /** Records that already failed (decode errors of the consumed batch), dead-lettered with the rest. */
  readonly failed?: readonly FailedRecord[];
  /** The original messages of `records` (consumed batch), by offset, for dead letters. */
  readonly originals?: ReadonlyMap<string, KafkaMessage>;
  /** The consumed topic-partition (physical), for dead letters of the first stage. */
  readonly source?: { topic: string; partition: number };
  /** Instead of processing `records`, the first stage's outputs come from here (state expiry). */
  readonly produce?: (stores: Stores) => OutputRecord[];
}

interface Pending {
  readonly logical: string;
  readonly message: Message;
  /** What the metrics record of it once committed (the catalog's eventField and stateGauge). */
  readonly observed?: Observation;
}

/** A committed output's contribution to the domain metrics (topics/catalog.ts eventField, stateGauge). */
export interface Observation {
  readonly event?: string;
  readonly state?: { readonly key: string; readonly value: string };
}

/** What the catalog asks the metrics to record of a value written to `topic`. */
export function observe(topic: string, value: unknown): Observation | undefined {
  const spec = topicSpec(topic);
  if (!spec?.eventField && !spec?.stateGauge) return undefined;
  const v = value as Record<string, unknown>;
  let event: string | undefined;
  if (spec.eventField && v[spec.eventField] !== undefined && v[spec.eventField] !== null) {
    const raw = String(v[spec.eventField]);
    event = spec.eventNames?.[raw] ?? raw;
  }
  const gauge = spec.stateGauge;
  const state =
    gauge && typeof v[gauge.keyField] === 'string' && typeof v[gauge.field] === 'string'
      ? { key: v[gauge.keyField] as string, value: v[gauge.field] as string }
      : undefined;
  return { event, state };
}

const defaultPartitioner = Partitioners.DefaultPartitioner();

export class Chain {
  /** Per member index: the members that consume each of its outputs (intermediate topics only). */
  private readonly consumersOf: Map<string, number[]>[];

  constructor(
    readonly members: readonly ChainMember[],
    private readonly codec: AvroCodec,
    private readonly states: PartitionStates,
    private readonly physical: (topic: string) => string,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly metrics?: RuntimeMetrics,
    private readonly global: StageContext['global'] = globalAccessor([], new Map()),
  ) {
    this.consumersOf = members.map((member, i) => {
      const map = new Map<string, number[]>();
      for (const topic of member.stage.outputs) {
        const readers = members.map((m, j) => (j > i && m.stage.inputs.includes(topic) ? j : -1)).filter((j) => j >= 0);
        if (readers.length > 0) map.set(topic, readers);
      }
      return map;
    });
  }

  get head(): Stage {
    return this.members[0].stage;
  }

  /** The topics written by one member and read by a later one (in memory). */
  intermediateTopics(): string[] {
    return [...new Set(this.consumersOf.flatMap((m) => [...m.keys()]))];
  }

  /**
   * Runs the chain from `start.from` on partition `partition`: every member's outputs, dead letters
   * and state changes, with the intermediate records sent through `send` as soon as a later member
   * needs them. Throws on a bug or an outage; the caller aborts the transaction.
   */
  async cascade(
    partition: number,
    partitionsOfTopic: (topic: string) => number,
    start: CascadeStart,
    send: (sends: Send[]) => Promise<Placement>,
  ): Promise<CascadeOutcome> {
    const state = await this.states.of(partition);
    const outcome: CascadeOutcome = {
      sends: new SendList(),
      changelog: new SendList(),
      groupOffsets: new Map(),
      counts: new Map(),
      state,
    };
    const inbox = this.members.map(() => [] as InputRecord[]);
    const originals = new Map<string, KafkaMessage>(start.originals ?? []);
    inbox[start.from] = [...start.records];
    for (let i = start.from; i < this.members.length; i++) {
      if (i > start.from && inbox[i].length === 0) continue;
      const { stage } = this.members[i];
      const stores = state.get(stage.name) ?? new Map();
      const step = await this.runMember(i, partition, inbox[i], stores, i === start.from ? start : undefined);
      state.set(stage.name, step.stores);
      const failed = i === start.from ? [...(start.failed ?? []), ...step.failed] : step.failed;
      outcome.sends.addAll(
        this.deadLetters(stage, failed, partition, originals, i === start.from ? start.source : undefined),
      );
      this.states.changelogMessages(stage, step.stores, partition, outcome.changelog);
      outcome.counts.set(stage.name, {
        in: inbox[i].length,
        out: step.pending.length,
        failed: failed.length,
        outByTopic: countByTopic(step.pending),
        observed: step.pending.flatMap((p) => (p.observed ? [[p.logical, p.observed] as [string, Observation]] : [])),
      });
      await this.pass(i, partition, step.pending, outcome, inbox, originals, partitionsOfTopic, send);
    }
    return outcome;
  }

  /** One member over its input (or, first in an expiry, its expired keys' outputs). */
  private async runMember(
    i: number,
    partition: number,
    records: InputRecord[],
    stores: Stores,
    start?: CascadeStart,
  ): Promise<{ pending: Pending[]; failed: FailedRecord[]; stores: Stores }> {
    const { stage } = this.members[i];
    const encode = (out: OutputRecord): Pending => this.encode(stage, out);
    if (start?.produce) return { pending: start.produce(stores).map(encode), failed: [], stores };
    if (records.length === 0) return { pending: [], failed: [], stores };
    const result = await processGuarded(
      stage,
      records,
      stores,
      { clock: this.clock, log: this.log, global: this.global },
      {
        encode,
        fresh: () => this.states.fresh(stage, partition),
        onIsolate: (reason) =>
          this.log.warn(
            `batch of ${records[0].topic}[${partition}] from offset ${records[0].offset} is processed by ${stage.name} record by record to find the bad one: ${reason.slice(0, 300)}`,
          ),
      },
    );
    return { pending: result.encoded, failed: result.failed, stores: result.stores };
  }

  /**
   * Queues a member's outputs; when a later member reads some of them, sends everything queued so
   * far and hands those records on, decoded from the bytes written (as a consumer would see them),
   * with their offsets.
   */
  private async pass(
    i: number,
    partition: number,
    pending: Pending[],
    outcome: CascadeOutcome,
    inbox: InputRecord[][],
    originals: Map<string, KafkaMessage>,
    partitionsOfTopic: (topic: string) => number,
    send: (sends: Send[]) => Promise<Placement>,
  ): Promise<void> {
    const readers = this.consumersOf[i];
    const handed = pending.filter((p) => readers.has(p.logical));
    for (const p of handed) p.message.partition = this.checkedPartition(p, partition, partitionsOfTopic(p.logical));
    for (const p of pending) outcome.sends.add(this.physical(p.logical), p.message);
    if (handed.length === 0) return;
    const placement = await send(outcome.sends.entries());
    outcome.sends.clear();
    const seen = new Map<string, number>();
    for (const p of handed) {
      const k = partitionKey(this.physical(p.logical), partition);
      const index = seen.get(k) ?? 0;
      seen.set(k, index + 1);
      const offset = placement.get(k)?.[index];
      if (offset === undefined)
        throw new TickflowError(
          'INVARIANT',
          `no offset learnt for record ${index} sent to ${k}`,
          'kafkajs did not report the base offset of a produce; report this',
        );
      const record: InputRecord = {
        topic: p.logical,
        partition,
        offset: offset.toString(),
        key: p.message.key?.toString() ?? null,
        value: this.codec.decodeOwn(p.logical, p.message.value as Buffer),
      };
      originals.set(`${p.logical}@${record.offset}`, kafkaMessageOf(p.message, record.offset));
      for (const j of readers.get(p.logical) ?? []) {
        inbox[j].push(record);
        const group = outcome.groupOffsets.get(this.members[j].groupId) ?? new Map<string, string>();
        group.set(k, (offset + 1n).toString());
        outcome.groupOffsets.set(this.members[j].groupId, group);
      }
    }
  }

  /** An intermediate record must belong to the task's partition, as its key would place it; else fusing was wrong. */
  private checkedPartition(p: Pending, partition: number, partitions: number): number {
    const key = p.message.key;
    if (key === null || key === undefined) {
      throw new TickflowError(
        'INVARIANT',
        `${p.logical} is read in memory by a fused stage, but a record was written to it without a key`,
        'a stage must key what it writes to a topic a fused stage reads (or run the stages unfused: tickflow run --no-fuse)',
      );
    }
    const metadata = Array.from(
      { length: partitions },
      (_, id) => ({ partitionId: id, leader: 0 }) as PartitionMetadata,
    );
    const target = defaultPartitioner({
      topic: p.logical,
      partitionMetadata: metadata,
      message: { key: p.message.key, value: null },
    });
    if (target !== partition) {
      throw new TickflowError(
        'INVARIANT',
        `a record keyed '${String(key).slice(0, 200)}' for ${p.logical} belongs to partition ${target}, but the fused task of partition ${partition} made it`,
        'stages fused into a chain must keep the key of their input (run them unfused: tickflow run --no-fuse)',
      );
    }
    return partition;
  }

  private encode(stage: Stage, out: OutputRecord): Pending {
    if (!stage.outputs.includes(out.topic))
      throw new TickflowError(
        'INVARIANT',
        `stage ${stage.name} emitted to ${out.topic}, which is not among its outputs`,
        `add ${out.topic} to the stage's outputs`,
      );
    return {
      logical: out.topic,
      message: { key: out.key, value: this.codec.encodeSync(out.topic, out.value) },
      observed: observe(out.topic, out.value),
    };
  }

  /**
   * Dead letters of one member: consumed records keep their original message, in-memory ones are rebuilt from the bytes
   * written.
   */
  private deadLetters(
    stage: Stage,
    failed: readonly FailedRecord[],
    partition: number,
    originals: ReadonlyMap<string, KafkaMessage>,
    source?: { topic: string; partition: number },
  ): Send[] {
    return deadLetterSends(
      stage.name,
      failed,
      (f) =>
        source
          ? { topic: source.topic, partition: source.partition, message: originals.get(f.input.offset) }
          : {
              topic: this.physical(f.input.topic),
              partition,
              message: originals.get(`${f.input.topic}@${f.input.offset}`),
            },
      { codec: this.codec, clock: this.clock, log: this.log, metrics: this.metrics },
    );
  }
}

function countByTopic(pending: readonly Pending[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of pending) counts.set(p.logical, (counts.get(p.logical) ?? 0) + 1);
  return counts;
}

function kafkaMessageOf(message: Message, offset: string): KafkaMessage {
  const key =
    message.key === null || message.key === undefined
      ? null
      : Buffer.isBuffer(message.key)
        ? message.key
        : Buffer.from(message.key);
  return {
    key,
    value: message.value as Buffer,
    offset,
    timestamp: String(Date.now()),
    attributes: 0,
    headers: {},
  } as KafkaMessage;
}
