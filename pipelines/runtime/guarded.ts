import type { RecordErrorCode } from './errors';
import { TickflowError, isRecordError } from './errors';
import type { FailedRecord, InputRecord, KeyValueStore, OutputRecord, Stage, StageContext } from './stage';
import type { TransactionalStore } from './store';

/**
 * Runs a stage over a batch so that one record can never stop its partition. The fast path runs
 * the whole batch and encodes every output. If the stage throws a TickflowError, or an output cannot
 * be encoded for its topic (a value a parser let through that the schema cannot hold), the batch is
 * run again one record at a time on freshly restored state: each record's state writes are kept only
 * if its outputs encode, otherwise they are rolled back and the record becomes a dead letter with
 * the reason. Anything else a stage throws is a bug and propagates (the stage stops loudly).
 *
 * While isolated, a store's reads return copies (an in-place change reaches the store only through
 * `put`, which a rollback undoes) and `ctx.store()` returns a new object per record, so a stage's
 * caches keyed by the store object (see KeyValueStore) start empty for every record.
 */
export type Stores = Map<string, TransactionalStore<unknown>>;

export interface Guarded<E> {
  /** The outputs, encoded, in the order the stage emitted them. */
  readonly encoded: E[];
  readonly out: OutputRecord[];
  readonly failed: FailedRecord[];
  /** The stores holding the batch's pending writes: `stores` as given, or fresh ones after isolation. */
  readonly stores: Stores;
  /** True when the batch was run record by record. */
  readonly isolated: boolean;
}

export interface GuardOptions<E> {
  /** Encodes one output; throws on a value its topic cannot hold (TickflowError INVARIANT: a stage bug). */
  encode(out: OutputRecord): E;
  /** The partition's committed state, freshly restored (the fast path may have changed it in place). */
  fresh(): Promise<Stores>;
  /** Called once when a batch falls back to one record at a time, with the reason. */
  onIsolate?(reason: string): void;
}

/** A failure one record causes (as opposed to a bug or an outage). */
export function isRecordFault(error: unknown): error is TickflowError & { code: RecordErrorCode } {
  return isRecordError(error);
}

function encodeAll<E>(out: readonly OutputRecord[], encode: (out: OutputRecord) => E): E[] {
  const encoded: E[] = [];
  for (const o of out) {
    try {
      encoded.push(encode(o));
    } catch (error) {
      // A bug (an undeclared topic, an unprepared schema) stops the stage; an output the schema
      // refuses is the fault of the input that produced it.
      if (error instanceof TickflowError && !isRecordError(error)) throw error;
      throw new TickflowError(
        'INVALID_OUTPUT',
        `an output to ${o.topic} cannot be encoded: ${(error as Error).message.slice(0, 500)}`,
      );
    }
  }
  return encoded;
}

function view<V>(store: TransactionalStore<V>): KeyValueStore<V> {
  return {
    get: (key) => store.get(key),
    put: (key, value) => store.put(key, value),
    delete: (key) => store.delete(key),
    get size() {
      return store.size;
    },
    entries: () => store.entries(),
  };
}

function contextOf(stage: Stage, base: Omit<StageContext, 'store'>, stores: Stores, fresh: boolean): StageContext {
  return {
    ...base,
    store: <V>(name: string) => {
      const store = stores.get(name);
      if (!store) {
        throw new TickflowError(
          'INVARIANT',
          `stage ${stage.name} used store '${name}', which it does not declare`,
          `add '${name}' to the stage's stores`,
        );
      }
      return (fresh ? view(store) : store) as unknown as KeyValueStore<V>;
    },
  };
}

/** The whole batch at once; throws a record-kind TickflowError when a record must be isolated. */
export function processBatchOnce<In, E>(
  stage: Stage<In>,
  batch: readonly InputRecord<In>[],
  stores: Stores,
  base: Omit<StageContext, 'store'>,
  encode: (out: OutputRecord) => E,
): Guarded<E> {
  const result = stage.process(batch, contextOf(stage as Stage, base, stores, false));
  return { encoded: encodeAll(result.out, encode), out: result.out, failed: result.failed, stores, isolated: false };
}

/**
 * One record at a time on `stores` (committed state, nothing pending): a record's writes are kept
 * only if its outputs encode; a rejected record is rolled back and becomes a dead letter.
 */
export function processRecordByRecord<In, E>(
  stage: Stage<In>,
  batch: readonly InputRecord<In>[],
  stores: Stores,
  base: Omit<StageContext, 'store'>,
  encode: (out: OutputRecord) => E,
): Guarded<E> {
  const all = [...stores.values()];
  const encoded: E[] = [];
  const out: OutputRecord[] = [];
  const failed: FailedRecord[] = [];
  for (const store of all) store.isolate(true);
  try {
    for (const input of batch) {
      const points = all.map((store) => store.savepoint());
      try {
        const result = stage.process([input], contextOf(stage as Stage, base, stores, true));
        encoded.push(...encodeAll(result.out, encode));
        out.push(...result.out);
        failed.push(...result.failed);
      } catch (error) {
        if (!isRecordFault(error)) throw error;
        all.forEach((store, i) => store.rollback(points[i]));
        failed.push({ input: input as InputRecord, code: error.code, message: error.message });
      }
    }
  } finally {
    for (const store of all) store.isolate(false);
  }
  return { encoded, out, failed, stores, isolated: true };
}

/** The runtime's entry: the whole batch, or record by record on fresh state when a record is at fault. */
export async function processGuarded<In, E>(
  stage: Stage<In>,
  batch: readonly InputRecord<In>[],
  stores: Stores,
  base: Omit<StageContext, 'store'>,
  options: GuardOptions<E>,
): Promise<Guarded<E>> {
  try {
    return processBatchOnce(stage, batch, stores, base, options.encode);
  } catch (error) {
    if (!isRecordFault(error)) throw error;
    options.onIsolate?.(error.message);
  }
  for (const store of stores.values()) store.abort();
  return processRecordByRecord(stage, batch, await options.fresh(), base, options.encode);
}
