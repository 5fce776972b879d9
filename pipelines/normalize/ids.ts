import type { KeyValueStore } from '../runtime/stage';
import type { ChunkedLogState } from './chunked-log';
import { ChunkedLog } from './chunked-log';

/**
 * The trade ids an instrument delivered recently, for the duplicate rule (and, for arbitrated
 * instruments, which source delivered each). Ids are remembered at least for the window the caller
 * prunes with; pruning drops whole chunks, so a few more may be remembered for a while.
 */
export interface IdWindow {
  /** Exchange time of the trade with this id, if it is remembered. */
  seen(id: string): number | undefined;
  /** The source that delivered it (arbitrated instruments record it). */
  sourceOf(id: string): string | undefined;
  add(id: string, tsEvent: number, source?: string): void;
  /** Forgets ids older than `before` (exchange time). */
  prune(before: number): void;
}

/** Most ids remembered per instrument, whatever the window and rate (the oldest go first). */
export const MAX_IDS = 1_000_000;

/** An in-memory window, for pure uses of the rules (tests, tools). */
export function memoryIds(): IdWindow {
  const ids = new Map<string, { ts: number; source?: string }>();
  return {
    seen: (id) => ids.get(id)?.ts,
    sourceOf: (id) => ids.get(id)?.source,
    add: (id, ts, source) => {
      ids.set(id, { ts, source });
      if (ids.size > MAX_IDS) ids.delete(ids.keys().next().value as string);
    },
    prune: (before) => {
      for (const [id, { ts }] of ids) if (ts < before) ids.delete(id);
    },
  };
}

type Entry = [id: string, tsEvent: number, source?: string];
interface Indexed {
  ts: number;
  source?: string;
  chunk: number;
}

/**
 * Lookups by id, built from the chunks once per store object and kept up to date by this module
 * (the runtime hands out a new store object whenever the contents may have changed otherwise).
 */
const indexes = new WeakMap<object, Map<string, Map<string, Indexed>>>();

/**
 * The window of `instrument` kept in `store` as a chunked log (keys `<instrument>#ids#<n>`) whose
 * bookkeeping is `log` (in the instrument's state, changed in place).
 */
export function storedIds(store: KeyValueStore<unknown>, instrument: string, log: ChunkedLogState): IdWindow {
  const chunks = new ChunkedLog<Entry>(store, `${instrument}#ids`, log);
  let perStore = indexes.get(store);
  if (!perStore) {
    perStore = new Map();
    indexes.set(store, perStore);
  }
  let index = perStore.get(instrument);
  if (!index) {
    index = new Map();
    for (const [n] of log.chunks)
      for (const [id, ts, source] of chunks.chunk(n)) index.set(id, { ts, source, chunk: n });
    perStore.set(instrument, index);
  }
  const known = index;
  const forget = (entries: Entry[], n: number): void => {
    for (const [id] of entries) if (known.get(id)?.chunk === n) known.delete(id);
  };
  return {
    seen: (id) => known.get(id)?.ts,
    sourceOf: (id) => known.get(id)?.source,
    add: (id, ts, source) => {
      const chunk = chunks.append(
        source === undefined ? [id, ts] : [id, ts, source],
        ts,
        id.length + 24 + (source?.length ?? 0),
      );
      known.set(id, { ts, source, chunk });
      while (known.size > MAX_IDS && chunks.dropOldest(forget));
    },
    prune: (before) => chunks.dropBefore(before, forget),
  };
}
