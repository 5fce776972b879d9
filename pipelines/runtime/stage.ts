import type { RecordErrorCode } from './errors';
import type { Logger } from './log';

/**
 * The stage contract. A stage is a pure function of its input batch (and, later, its own state):
 * it never touches Kafka, QuestDB or the wall clock. The runtime owns all I/O, so the same stage
 * runs on Kafka, in a replay, and in-process in tests.
 */
export interface InputRecord<V = unknown> {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offset as a decimal string (int64). */
  readonly offset: string;
  readonly key: string | null;
  readonly value: V;
}

export interface OutputRecord {
  readonly topic: string;
  readonly key: string | null;
  readonly value: unknown;
}

/** A record the stage rejects: the runtime sends it to `<input topic>.dlq` with its origin. */
export interface FailedRecord {
  readonly input: InputRecord;
  readonly code: RecordErrorCode;
  readonly message: string;
}

export interface StageResult {
  readonly out: OutputRecord[];
  readonly failed: FailedRecord[];
}

/** Time seam: stages read time only from here; windows use event time from the records. */
export interface Clock {
  nowMicros(): number;
}

export const systemClock: Clock = { nowMicros: () => Date.now() * 1000 };

/**
 * A stage's keyed state. Reads see the batch's own writes; the runtime commits the writes together
 * with the batch's outputs and offsets (and a changelog record per change), or discards them if the
 * batch fails. Values must be JSON-serialisable; keep money as decimal strings.
 * A value read from the store may be changed in place (large windows need not be copied per
 * record) as long as it is `put` back in the same batch: after a failed batch the runtime rebuilds
 * the partition's state from the changelog, so an in-place change never outlives its batch.
 * A stage may cache what it derives from stored values (an index, parsed objects) in a WeakMap keyed
 * by the store object `ctx.store()` returned: the runtime hands out a new object whenever the
 * contents may have changed other than through the stage's own writes (a restore, a rollback).
 */
export interface KeyValueStore<V> {
  get(key: string): V | undefined;
  put(key: string, value: V): void;
  delete(key: string): void;
  readonly size: number;
  entries(): IterableIterator<[string, V]>;
}

/**
 * A global table: the latest value per key of a compacted topic, read whole by every instance (like
 * Kafka Streams' GlobalKTable). It is not synchronised with the stage's input offsets: it holds what
 * the instance has read so far, so a stage must treat it as reference data (latest marks,
 * instruments, configuration) and decide nothing that needs to be replayed identically from it alone.
 */
export interface GlobalView<V> {
  get(key: string): V | undefined;
  readonly size: number;
  entries(): IterableIterator<[string, V]>;
}

export interface StageContext {
  readonly clock: Clock;
  readonly log: Logger;
  /** A table declared in `Stage.globals`, by its (catalog) topic name. */
  global<V>(topic: string): GlobalView<V>;
  /**
   * A store declared in `Stage.stores`, scoped to the partition of the batch being processed
   * (state is partitioned like the input, so it moves with the partition on a rebalance).
   */
  store<V>(name: string): KeyValueStore<V>;
}

export interface Stage<In = unknown> {
  readonly name: string;
  /** Topics consumed; each needs a `.dlq` twin in the catalog. */
  readonly inputs: readonly string[];
  /** Topics produced; every `out` record must name one of these. */
  readonly outputs: readonly string[];
  /** Named state stores; each has a compacted changelog topic `<stage>.<store>.changelog` in the catalog. */
  readonly stores?: readonly string[];
  /**
   * Compacted topics read whole as global tables (ctx.global): the runtime reads each to its end
   * before the stage's first batch and follows it afterwards.
   */
  readonly globals?: readonly string[];
  open?(ctx: Omit<StageContext, 'store'>): void;
  process(batch: readonly InputRecord<In>[], ctx: StageContext): StageResult;
  close?(): void;
  /**
   * Keys of any store not written for this long (wall clock) are expired by the runtime: `expire`
   * is called first (its outputs are committed with the deletion, e.g. bars that can now never
   * change, emitted final), then the key is deleted, with a tombstone in the changelog. Absent:
   * state is kept forever.
   */
  readonly stateTtlMs?: number;
  expire?(store: string, key: string, value: unknown, ctx: StageContext): OutputRecord[];
  /**
   * Work that is due without an input record (Kafka Streams' wall-clock punctuation): every
   * `intervalMs` the runtime asks `due` for each partition it owns (read-only: it must not write),
   * and when it answers true runs `run` in a transaction of that partition of its own, committing its
   * outputs with its state changes exactly like a batch. Risk uses it to revalue accounts against
   * the latest marks and trip loss breakers while no signal or fill arrives.
   */
  readonly punctuate?: {
    readonly intervalMs: number;
    due(ctx: StageContext): boolean;
    run(ctx: StageContext): OutputRecord[];
  };
}
