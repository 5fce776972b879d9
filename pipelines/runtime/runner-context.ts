import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { AvroCodec } from './codec';
import type { Logger } from './log';
import type { RuntimeMetrics } from './metrics';
import type { Clock, FailedRecord, InputRecord } from './stage';

/**
 * What a runner's consumer (./runner.ts) shares with the task that processes its batches (the
 * transactional stage task ./stage-tasks.ts, or the sink task ./sink-tasks.ts).
 */
export interface RunnerStats {
  batches: number;
  recordsIn: number;
  recordsOut: number;
  deadLetters: number;
  lastBatchAt: number;
}

export interface RunnerOptions {
  clock?: Clock;
  metrics?: RuntimeMetrics;
  sessionTimeoutMs?: number;
  /** Consumer group; default `tickflow.<name>`. */
  groupId?: string;
  /** Called when the consumer stopped for good; the process should exit non-zero. */
  onFatal?: (error: Error) => void;
  /**
   * Prefix of every physical topic (inputs, outputs, dead letters, changelogs) and of the group:
   * an isolated namespace for benchmarks and experiments. Stages still see catalog (logical) names.
   */
  topicPrefix?: string;
  /** Where a new group starts; default the beginning. */
  fromBeginning?: boolean;
  /** `at-least-once` skips transactions (for comparison in the benchmark); default `exactly-once`. */
  delivery?: 'exactly-once' | 'at-least-once';
  /**
   * Longest time a fetch waits for data when there is none (default 1 s; shorter costs idle CPU, and new data ends the
   * wait at once).
   */
  maxWaitMs?: number;
  /** Called with each batch's decoded records once its results are committed. */
  onCommitted?: (records: readonly InputRecord[]) => void;
  /**
   * Fault injection for tests: called right after a stage's transaction committed; if it throws, the
   * runner behaves as when a commit's response is lost (a broker died after committing): the batch
   * counts as failed although its transaction committed.
   */
  afterCommit?: (topic: string, partition: number) => void;
  /** Fault injection for tests: called right before a stage's transaction commits (may wait). */
  beforeCommit?: (topic: string, partition: number) => Promise<void>;
  /** Fault injection for tests: wraps each transactional producer's connect (e.g. to delay it past its bound). */
  connectProducer?: (connect: () => Promise<void>, transactionalId: string) => Promise<void>;
  /** Bound of a transactional producer's connect (default 60 s). */
  producerConnectTimeoutMs?: number;
  /** How often expired state is swept (default: a quarter of the stage's `stateTtlMs`, at most 60 s). */
  expirySweepMs?: number;
}

export interface RunnerContext {
  readonly kafka: Kafka;
  readonly codec: AvroCodec;
  readonly name: string;
  readonly groupId: string;
  readonly prefix: string;
  readonly log: Logger;
  readonly clock: Clock;
  readonly metrics?: RuntimeMetrics;
  readonly options: RunnerOptions;
  readonly stats: RunnerStats;
  physical(topic: string): string;
  logical(topic: string): string;
  consumer(): Consumer;
  stopping(): boolean;
  /** Input partitions (physical `topic:partition`) the group assigned to this instance. */
  assignment(): ReadonlySet<string>;
}

/** One consumed batch, decoded; `at` reports its phase to the watchdog. */
export interface DecodedBatch {
  readonly payload: EachBatchPayload;
  readonly decoded: InputRecord[];
  readonly failed: FailedRecord[];
  at(phase: string): void;
  /** Something moved (a sink's heartbeat while its store is slow): not a stall. */
  progress(): void;
}

/** What a runner's consumer drives: the task that turns batches into effects. */
export interface BatchProcessor {
  /** Logical topics whose schema ids must be known before the first batch (outputs, dead letters, changelogs). */
  topicsToPrepare(): string[];
  open(): Promise<void>;
  /** A new assignment (physical `topic:partition` keys): drop what was lost, prepare what was gained. */
  assigned(assignment: ReadonlySet<string>): void;
  /** True once every assigned partition can be processed at once. */
  ready(assignment: ReadonlySet<string>): boolean;
  process(batch: DecodedBatch): Promise<void>;
  stop(): Promise<void>;
}
