import { logger } from './log';
import { topicSpec } from '../../topics/catalog';
import type { Stores } from './guarded';
import { isRecordFault, processBatchOnce, processRecordByRecord } from './guarded';
import type { Clock, InputRecord, KeyValueStore, OutputRecord, Stage, StageResult } from './stage';
import { systemClock } from './stage';
import { TransactionalStore } from './store';
import { avroType } from './avro';
import { globalAccessor } from './global-table';

/**
 * Runs a stage in-process with no broker: for unit tests now and backtests later. Records get
 * consecutive offsets on the partition given by `partitionOf` (default 0) of the stage's first
 * input, and are processed in batches of `batchSize` per partition, each batch committing its state
 * like the Kafka runtime does. The driver keeps its stores, so a second `run` continues from them.
 * Like the runtime (./guarded.ts), outputs are checked against their topic's Avro schema, and a
 * record the stage rejects or whose output cannot be encoded is isolated into `failed`; the state
 * is then rebuilt from a changelog the driver keeps (the JSON of every committed write).
 */
export function fixedClock(micros: number): Clock {
  return { nowMicros: () => micros };
}

export interface DriverOptions<In> {
  topic?: string;
  /** Topic per record, for stages with several inputs (default: `topic`, else the stage's first input). */
  topicOf?: (v: In) => string;
  key?: (v: In) => string | null;
  partitionOf?: (v: In) => number;
  batchSize?: number;
  clock?: Clock;
}

/** Validates an output like the runtime's encoder would (topics outside the catalog are not checked). */
function checkEncodable(out: OutputRecord): OutputRecord {
  const spec = topicSpec(out.topic);
  if (spec) avroType(spec.valueSchema).toBuffer(out.value);
  return out;
}

export class StageDriver<In> {
  private readonly stores = new Map<number, Stores>();
  /** Per partition and store, the JSON of every committed value: the driver's changelog. */
  private readonly changelogs = new Map<number, Map<string, Map<string, string>>>();
  private readonly offsets = new Map<number, number>();
  /** The stage's global tables (ctx.global): what tests put with `setGlobal`. */
  private readonly globals = new Map<string, Map<string, unknown>>();

  constructor(
    private readonly stage: Stage<In>,
    private readonly options: DriverOptions<In> = {},
  ) {}

  private storesOf(partition: number): Stores {
    let stores = this.stores.get(partition);
    if (!stores) {
      stores = new Map((this.stage.stores ?? []).map((name) => [name, new TransactionalStore<unknown>()]));
      this.stores.set(partition, stores);
    }
    return stores;
  }

  /** Commits the pending writes and records them in the driver's changelog. */
  private commit(partition: number, stores: Stores): void {
    const logs = this.changelogs.get(partition) ?? new Map<string, Map<string, string>>();
    this.changelogs.set(partition, logs);
    for (const [name, store] of stores) {
      const log = logs.get(name) ?? new Map<string, string>();
      logs.set(name, log);
      for (const [k, v] of store.changes()) {
        if (v === null) log.delete(k);
        else log.set(k, JSON.stringify(v));
      }
      store.commit();
    }
  }

  /** New stores holding the committed state, as the runtime restores them from the changelog. */
  private restored(partition: number): Stores {
    const stores: Stores = new Map();
    for (const name of this.stage.stores ?? []) {
      const store = new TransactionalStore<unknown>();
      for (const [k, json] of this.changelogs.get(partition)?.get(name) ?? []) store.load(k, JSON.parse(json));
      stores.set(name, store);
    }
    this.stores.set(partition, stores);
    return stores;
  }

  /** Puts (or with `undefined`, deletes) a key of a global table the stage declares, as a record on its topic would. */
  setGlobal(topic: string, key: string, value: unknown): void {
    const map = this.globals.get(topic) ?? new Map<string, unknown>();
    this.globals.set(topic, map);
    if (value === undefined) map.delete(key);
    else map.set(key, value);
  }

  run(values: readonly In[]): StageResult {
    const topic = this.options.topic ?? this.stage.inputs[0];
    const log = logger(`test:${this.stage.name}`);
    // The processing clock is the wall clock unless a test fixes it (stages compare receive times with it).
    const clock = this.options.clock ?? systemClock;
    const byPartition = new Map<number, InputRecord<In>[]>();
    for (const value of values) {
      const partition = this.options.partitionOf ? this.options.partitionOf(value) : 0;
      const offset = this.offsets.get(partition) ?? 0;
      this.offsets.set(partition, offset + 1);
      const list = byPartition.get(partition) ?? [];
      list.push({
        topic: this.options.topicOf ? this.options.topicOf(value) : topic,
        partition,
        offset: String(offset),
        key: this.options.key ? this.options.key(value) : null,
        value,
      });
      byPartition.set(partition, list);
    }
    for (const topic of this.stage.globals ?? []) if (!this.globals.has(topic)) this.globals.set(topic, new Map());
    const base = { clock, log, global: globalAccessor([this.stage as Stage], this.globals) };
    this.stage.open?.(base);
    const out: StageResult['out'][number][] = [];
    const failed: StageResult['failed'][number][] = [];
    const size = this.options.batchSize ?? 500;
    for (const [partition, records] of byPartition) {
      for (let i = 0; i < records.length; i += size) {
        const batch = records.slice(i, i + size);
        let stores = this.storesOf(partition);
        let result: StageResult;
        try {
          result = processBatchOnce(this.stage, batch, stores, base, checkEncodable);
        } catch (error) {
          if (!isRecordFault(error)) throw error;
          stores = this.restored(partition);
          result = processRecordByRecord(this.stage, batch, stores, base, checkEncodable);
        }
        this.commit(partition, stores);
        out.push(...result.out);
        failed.push(...result.failed);
      }
    }
    this.stage.close?.();
    return { out, failed };
  }

  /**
   * The stage's punctuation on `partition`, as the runtime runs it when it is due (Stage.punctuate):
   * its outputs, committed with its state changes; nothing when `due` says no.
   */
  punctuate(partition = 0, clock: Clock = this.options.clock ?? systemClock): StageResult {
    const punctuation = this.stage.punctuate;
    if (!punctuation) throw new Error(`stage ${this.stage.name} has no punctuation`);
    const stores = this.storesOf(partition);
    const ctx = {
      clock,
      log: logger(`test:${this.stage.name}`),
      global: globalAccessor([this.stage as Stage], this.globals),
      store: <V>(name: string) => stores.get(name) as unknown as KeyValueStore<V>,
    };
    if (!punctuation.due(ctx)) return { out: [], failed: [] };
    const out = punctuation.run(ctx).map(checkEncodable);
    this.commit(partition, stores);
    return { out, failed: [] };
  }

  snapshot(store: string, partition = 0): Record<string, unknown> {
    return (this.storesOf(partition).get(store) as TransactionalStore<unknown>).snapshot();
  }
}

export function driveStage<In>(stage: Stage<In>, values: readonly In[], options: DriverOptions<In> = {}): StageResult {
  return new StageDriver(stage, options).run(values);
}
