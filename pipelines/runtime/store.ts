import type { KeyValueStore } from './stage';

/**
 * In-memory store with a pending layer: writes made while processing a batch stay pending until
 * the runtime commits the batch's Kafka transaction (`commit`), or are dropped if it fails (`abort`).
 * `changes()` lists the pending writes (null = deleted) for the changelog.
 */
export class TransactionalStore<V> implements KeyValueStore<V> {
  private readonly base = new Map<string, V>();
  private readonly pending = new Map<string, V | null>();

  get(key: string): V | undefined {
    if (this.pending.has(key)) return this.pending.get(key) ?? undefined;
    return this.base.get(key);
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

  commit(): void {
    for (const [key, value] of this.pending) {
      if (value === null) this.base.delete(key);
      else this.base.set(key, value);
    }
    this.pending.clear();
  }

  abort(): void {
    this.pending.clear();
  }

  /** Restore path: applies a committed changelog record directly. */
  load(key: string, value: V | null): void {
    if (value === null) this.base.delete(key);
    else this.base.set(key, value);
  }

  snapshot(): Record<string, V> {
    return Object.fromEntries(this.entries());
  }
}

export function changelogTopic(stage: string, store: string): string {
  return `${stage}.${store}.changelog`;
}
