import type { FailedRecord, InputRecord } from './stage';

/**
 * The sink contract (Kafka to a store such as QuestDB). The runtime hands a sink one partition's
 * batch at a time; the sink writes it and resolves only once the store acknowledged it; then dead
 * letters are produced and offsets committed. While the store is down the partition is paused and
 * the write retried with backoff (slow is not failed); a record the store rejects for good is
 * returned in `failed` (a dead letter), never retried.
 */
export interface SinkHooks {
  /** Keeps the group membership alive during long retries. */
  heartbeat(): Promise<void>;
  /** The sink reports that it is (or no longer is) waiting on its store. */
  stalled(on: boolean): void;
  /** True once the runner is stopping: give up retrying (the batch is redone after restart). */
  stopping(): boolean;
}

export interface SinkWriter<V = unknown> {
  readonly name: string;
  readonly inputs: readonly string[];
  open?(): Promise<void>;
  /**
   * Writes the batch durably; resolves only after the store acknowledged it. Idempotent on retry.
   * May be called concurrently for batches of different partitions (never twice at once for one partition).
   */
  write(batch: readonly InputRecord<V>[], hooks: SinkHooks): Promise<{ failed: FailedRecord[] }>;
  close?(): Promise<void>;
}
