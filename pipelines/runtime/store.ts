import type { KeyValueStore } from './stage';

/**
 * In-memory store with a pending layer: writes made while processing a batch stay pending until
 * the runtime commits the batch's Kafka transaction (`commit`), or are dropped if it fails (`abort`).
 * `changes()` lists the pending writes (null = deleted) for the changelog.
 *
 * It also remembers when each key was last written (the commit time, or on restore the changelog
 * record's timestamp), so the runtime can expire keys that have not been written for a while
 * (`stale`), and it can isolate a batch record by record (`isolate`, `savepoint`, `rollback`): see
 * pipelines/runtime/guarded.ts.
 */
export class TransactionalStore<V> implements KeyValueStore<V> {
  private readonly base = new Map<string, V>();
  private pending = new Map<string, V | null>();
  private readonly writtenAt = new Map<string, number>();
  private isolated = false;

  get(key: string): V | undefined {
    const value = this.pending.has(key) ? (this.pending.get(key) ?? undefined) : this.base.get(key);
    // Isolated: the caller gets its own copy, so an in-place change reaches the store only by `put`
    // (which a rollback can undo).
    return this.isolated && value !== undefined ? structuredClone(value) : value;
  }

  put(key: string, value: V): void {
    this.pending.set(key, value);
  }

  delete(key: string): void {
    this.pending.set(key, null);
  }

  get size(): number {
    let size = this.base.size;
    for (const [key, value] of this.pending) {
      if (value === null && this.base.has(key)) size -= 1;
      else if (value !== null && !this.base.has(key)) size += 1;
    }
    return size;
  }

  *entries(): IterableIterator<[string, V]> {
    for (const [key, value] of this.base) if (!this.pending.has(key)) yield [key, value];
    for (const [key, value] of this.pending) if (value !== null) yield [key, value];
  }

  changes(): [string, V | null][] {
    return [...this.pending.entries()];
  }

  /** Applies the pending writes; `nowMs` is when they became durable (their last-write time). */
  commit(nowMs = Date.now()): void {
    for (const [key, value] of this.pending) {
      if (value === null) {
        this.base.delete(key);
        this.writtenAt.delete(key);
      } else {
        this.base.set(key, value);
        this.writtenAt.set(key, nowMs);
      }
    }
    this.pending.clear();
  }

  abort(): void {
    this.pending.clear();
  }

  /**
   * Reads return copies while isolated (see `get`). Only meaningful together with `savepoint` and
   * `rollback`, around one record at a time.
   */
  isolate(on: boolean): void {
    this.isolated = on;
  }

  /** The pending writes so far; `rollback` returns to them. */
  savepoint(): Map<string, V | null> {
    return new Map(this.pending);
  }

  rollback(savepoint: Map<string, V | null>): void {
    this.pending = new Map(savepoint);
  }

  /** Restore path: applies a committed changelog record directly; `writtenAtMs` is its timestamp. */
  load(key: string, value: V | null, writtenAtMs = Date.now()): void {
    if (value === null) {
      this.base.delete(key);
      this.writtenAt.delete(key);
    } else {
      this.base.set(key, value);
      this.writtenAt.set(key, writtenAtMs);
    }
  }

  /** Committed keys last written before `cutoffMs`, oldest first. */
  stale(cutoffMs: number): string[] {
    const keys: [string, number][] = [];
    for (const [key, at] of this.writtenAt) if (at < cutoffMs && !this.pending.has(key)) keys.push([key, at]);
    return keys.sort((a, b) => a[1] - b[1]).map(([key]) => key);
  }

  snapshot(): Record<string, V> {
    return Object.fromEntries(this.entries());
  }
}
