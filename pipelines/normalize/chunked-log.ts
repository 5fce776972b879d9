import type { KeyValueStore } from '../runtime/stage';

/**
 * An append-only log kept in a store as chunks, one key each (`<prefix>#<n>`), so the changelog
 * gets only what changed: a batch rewrites the open chunk it appended to, a full chunk is never
 * written again, and old chunks leave whole (one tombstone each). A log of recent trade ids at
 * thousands of trades per second then costs its new entries per batch, not the whole window (which
 * once passed Kafka's message size and stuck the partition).
 *
 * The bookkeeping (`ChunkedLogState`: which chunks are live, their newest time, entries and
 * approximate bytes) lives in the owner's own state value and is changed in place; the owner puts
 * that value back in the same batch (KeyValueStore's contract).
 */
export interface ChunkedLogState {
  next: number;
  /** Live chunks, oldest first: [chunk number, newest entry time, entries, approximate bytes]. */
  chunks: [number, number, number, number][];
}

export function emptyLog(): ChunkedLogState {
  return { next: 0, chunks: [] };
}

export interface ChunkLimits {
  /** Entries per chunk. */
  readonly entries: number;
  /** Approximate bytes per chunk (closed once over; one larger entry still fits alone). */
  readonly bytes: number;
}

export const DEFAULT_CHUNK: ChunkLimits = { entries: 256, bytes: 128 * 1024 };

export class ChunkedLog<T> {
  constructor(
    private readonly store: KeyValueStore<unknown>,
    private readonly prefix: string,
    readonly state: ChunkedLogState,
    private readonly limits: ChunkLimits = DEFAULT_CHUNK,
  ) {}

  private key(n: number): string {
    return `${this.prefix}#${n}`;
  }

  /** Entries of chunk `n`, oldest first (empty when the chunk is gone). */
  chunk(n: number): T[] {
    return (this.store.get(this.key(n)) as T[] | undefined) ?? [];
  }

  get count(): number {
    let n = 0;
    for (const c of this.state.chunks) n += c[2];
    return n;
  }

  /** Appends an entry of time `ts` and about `bytes` bytes; returns the number of its chunk. */
  append(entry: T, ts: number, bytes = 64): number {
    let open = this.state.chunks[this.state.chunks.length - 1];
    if (!open || open[2] >= this.limits.entries || open[3] + bytes > this.limits.bytes) {
      open = [this.state.next, ts, 0, 0];
      this.state.next += 1;
      this.state.chunks.push(open);
    }
    const entries = this.chunk(open[0]);
    entries.push(entry);
    this.store.put(this.key(open[0]), entries);
    open[1] = Math.max(open[1], ts);
    open[2] += 1;
    open[3] += bytes;
    return open[0];
  }

  /** Drops the oldest chunk, handing its entries to `onDrop`; false when the log is empty. */
  dropOldest(onDrop?: (entries: T[], n: number) => void): boolean {
    const oldest = this.state.chunks.shift();
    if (!oldest) return false;
    onDrop?.(this.chunk(oldest[0]), oldest[0]);
    this.store.delete(this.key(oldest[0]));
    return true;
  }

  /** Drops whole chunks whose newest entry is older than `before`. */
  dropBefore(before: number, onDrop?: (entries: T[], n: number) => void): void {
    while (this.state.chunks.length > 0 && this.state.chunks[0][1] < before) this.dropOldest(onDrop);
  }

  /** Every entry, oldest first. */
  entries(): T[] {
    return this.state.chunks.flatMap(([n]) => this.chunk(n));
  }

  /** Every entry, oldest first; the log is emptied. */
  drain(): T[] {
    const all = this.entries();
    while (this.dropOldest());
    return all;
  }
}
