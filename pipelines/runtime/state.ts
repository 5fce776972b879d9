import type { Kafka } from 'kafkajs';
import type { StateEntry } from '../../schemas/types.generated';
import { changelogTopic } from '../../topics/catalog';
import type { AvroCodec } from './codec';
import { TickflowError } from './errors';
import type { Stores } from './guarded';
import type { Logger } from './log';
import type { RuntimeMetrics } from './metrics';
import { readToEnd } from './read-to-end';
import type { Stage } from './stage';
import { TransactionalStore } from './store';
import { SendList, partitionKey, type Placement } from './transactions';

/**
 * Largest encoded state value (one store key). Changelog topics accept records up to their
 * `max.message.bytes` (topics/catalog.ts); a stage must keep each key's value well below it (split
 * large state over several keys). A larger one is a bug in the stage and stops it loudly, naming the
 * key, instead of leaving the partition stuck on a broker rejection.
 */
export const MAX_STATE_VALUE_BYTES = 512 * 1024;

/**
 * The state of a runner's stages, per partition number: each stage's stores, restored from its
 * changelogs, and a lock per partition so that the batches sharing it (co-partitioned inputs, the
 * expiry sweep) take turns. Stages without stores have an empty map.
 */
export class PartitionStates {
  /** Per partition number, per stage name. */
  private readonly states = new Map<number, Promise<Map<string, Stores>>>();
  private readonly queues = new Map<number, Promise<void>>();
  /**
   * Per changelog partition (`topic:partition`), the last offset this process committed to it. A
   * commit returns before the broker has written its markers, and until then a read_committed
   * reader's end (the last stable offset) lies before those records: a restore right after our own
   * commit (the guard's rerun, a failed batch) waits for the end to pass them.
   */
  private readonly committedUpTo = new Map<string, bigint>();

  constructor(
    private readonly kafka: Kafka,
    private readonly codec: AvroCodec,
    private readonly stages: readonly Stage[],
    private readonly physical: (topic: string) => string,
    private readonly log: Logger,
    private readonly metrics?: RuntimeMetrics,
  ) {}

  get stateful(): boolean {
    return this.stages.some((s) => (s.stores ?? []).length > 0);
  }

  /** Every store's changelog topic (logical names). */
  changelogTopics(): string[] {
    return this.stages.flatMap((s) => (s.stores ?? []).map((store) => changelogTopic(s.name, store)));
  }

  partitions(): number[] {
    return [...this.states.keys()];
  }

  /** The partition's stores, per stage, restored on first use. */
  of(partition: number): Promise<Map<string, Stores>> {
    let state = this.states.get(partition);
    if (!state) {
      state = this.restore(partition);
      state.catch(() => this.states.delete(partition));
      this.states.set(partition, state);
    }
    return state;
  }

  /** Whatever is in memory is forgotten; the next use restores from the changelogs. */
  drop(partition: number): void {
    this.states.delete(partition);
  }

  /** One stage's stores of the partition, restored afresh (the guard's record-by-record rerun). */
  async fresh(stage: Stage, partition: number): Promise<Stores> {
    const current = await this.of(partition).catch(() => undefined);
    const stores = await this.restoreStage(stage, partition);
    current?.set(stage.name, stores);
    return stores;
  }

  /** Records where a committed transaction's changelog records landed (see `committedUpTo`). */
  written(placement: Placement): void {
    for (const [k, offsets] of placement) {
      const last = offsets[offsets.length - 1];
      if (last !== undefined && last > (this.committedUpTo.get(k) ?? -1n)) this.committedUpTo.set(k, last);
    }
  }

  /** Waits for the partition's state to be free and takes it; call the result to hand it on. */
  async lock(partition: number): Promise<() => void> {
    const before = this.queues.get(partition) ?? Promise.resolve();
    let release = (): void => undefined;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const queued = before.then(() => mine);
    this.queues.set(partition, queued);
    await before;
    return () => {
      release();
      if (this.queues.get(partition) === queued) this.queues.delete(partition);
    };
  }

  private async restore(partition: number): Promise<Map<string, Stores>> {
    const result = new Map<string, Stores>();
    for (const stage of this.stages) result.set(stage.name, await this.restoreStage(stage, partition));
    return result;
  }

  /** Reads partition `partition` of each of the stage's changelogs up to its end (read_committed). */
  private async restoreStage(stage: Stage, partition: number): Promise<Stores> {
    const stores: Stores = new Map();
    for (const name of stage.stores ?? []) {
      const started = Date.now();
      const topic = changelogTopic(stage.name, name);
      const store = new TransactionalStore<unknown>();
      let records = 0;
      const physical = this.physical(topic);
      const last = this.committedUpTo.get(partitionKey(physical, partition));
      await readToEnd(
        this.kafka,
        physical,
        async (_partition, message) => {
          records += 1;
          const value = message.value
            ? JSON.parse((await this.codec.decode<StateEntry>(topic, message.value)).json)
            : null;
          store.load(message.key?.toString('utf8') ?? '', value, Number(message.timestamp));
        },
        { partitions: [partition], ...(last !== undefined ? { past: new Map([[partition, last]]) } : {}) },
      );
      stores.set(name, store);
      const seconds = (Date.now() - started) / 1000;
      this.metrics?.restoreSeconds.observe({ stage: stage.name, store: name }, seconds);
      this.metrics?.stateEntries.set({ stage: stage.name, store: name, partition: String(partition) }, store.size);
      const of = this.stages.length > 1 ? ` (${stage.name})` : '';
      this.log.info(
        `restored store ${name} partition ${partition}: ${store.size} keys from ${records} changelog records in ${seconds.toFixed(2)} s${of}`,
      );
    }
    return stores;
  }

  /** The changelog records of one stage's pending writes, each value bounded (MAX_STATE_VALUE_BYTES). */
  changelogMessages(stage: Stage, stores: Stores, partition: number, list = new SendList()): SendList {
    for (const [name, store] of stores) {
      const topic = changelogTopic(stage.name, name);
      for (const [k, v] of store.changes()) {
        const value =
          v === null ? null : this.codec.encodeSync(topic, { json: JSON.stringify(v) } satisfies StateEntry);
        if (value && value.length > MAX_STATE_VALUE_BYTES) {
          throw new TickflowError(
            'INVARIANT',
            `${stage.name} store ${name} key '${k.slice(0, 200)}' holds ${value.length} bytes; a state value may hold at most ${MAX_STATE_VALUE_BYTES}`,
            'the stage must split large state over several keys (see pipelines/normalize for an example) or bound it in its config',
          );
        }
        list.add(this.physical(topic), { key: k, partition, value });
        this.metrics?.changelogBytes.inc({ stage: stage.name, store: name }, k.length + (value?.length ?? 0));
      }
    }
    return list;
  }

  /** Applies (after a commit) or drops (after an abort) the pending writes of every store of the partition. */
  settle(
    state: Map<string, Stores> | undefined,
    outcome: 'commit' | 'abort',
    partition: number,
    nowMs = Date.now(),
  ): void {
    for (const [stage, stores] of state ?? []) {
      for (const [name, store] of stores) {
        if (outcome === 'commit') store.commit(nowMs);
        else store.abort();
        if (outcome === 'commit')
          this.metrics?.stateEntries.set({ stage, store: name, partition: String(partition) }, store.size);
      }
    }
  }
}
