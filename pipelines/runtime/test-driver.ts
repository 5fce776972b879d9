import { logger } from '../../ops/log';
import type { Clock, InputRecord, Stage, StageContext, StageResult } from './stage';
import { TransactionalStore } from './store';

/**
 * Runs a stage in-process with no broker: for unit tests now and backtests later. Records get
 * consecutive offsets on the partition given by `partitionOf` (default 0) of the stage's first
 * input, and are processed in batches of `batchSize` per partition, each batch committing its state
 * like the Kafka runtime does. The driver keeps its stores, so a second `run` continues from them.
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

export class StageDriver<In> {
  private readonly stores = new Map<number, Map<string, TransactionalStore<unknown>>>();
  private readonly offsets = new Map<number, number>();

  constructor(
    private readonly stage: Stage<In>,
    private readonly options: DriverOptions<In> = {},
  ) {}

  private storesOf(partition: number): Map<string, TransactionalStore<unknown>> {
    let stores = this.stores.get(partition);
    if (!stores) {
      stores = new Map((this.stage.stores ?? []).map((name) => [name, new TransactionalStore<unknown>()]));
      this.stores.set(partition, stores);
    }
    return stores;
  }

  run(values: readonly In[]): StageResult {
    const topic = this.options.topic ?? this.stage.inputs[0];
    const log = logger(`test:${this.stage.name}`);
    const clock = this.options.clock ?? fixedClock(0);
    const byPartition = new Map<number, InputRecord<In>[]>();
    for (const value of values) {
      const partition = this.options.partitionOf ? this.options.partitionOf(value) : 0;
      const offset = this.offsets.get(partition) ?? 0;
      this.offsets.set(partition, offset + 1);
      const list = byPartition.get(partition) ?? [];
      list.push({ topic: this.options.topicOf ? this.options.topicOf(value) : topic, partition, offset: String(offset), key: this.options.key ? this.options.key(value) : null, value });
      byPartition.set(partition, list);
    }
    this.stage.open?.({ clock, log });
    const out: StageResult['out'][number][] = [];
    const failed: StageResult['failed'][number][] = [];
    const size = this.options.batchSize ?? 500;
    for (const [partition, records] of byPartition) {
      const stores = this.storesOf(partition);
      const ctx: StageContext = {
        clock,
        log,
        store: <V>(name: string) => {
          const store = stores.get(name);
          if (!store) throw new Error(`stage ${this.stage.name} used undeclared store '${name}'`);
          return store as unknown as TransactionalStore<V>;
        },
      };
      for (let i = 0; i < records.length; i += size) {
        const result = this.stage.process(records.slice(i, i + size), ctx);
        for (const store of stores.values()) store.commit();
        out.push(...result.out);
        failed.push(...result.failed);
      }
    }
    this.stage.close?.();
    return { out, failed };
  }

  snapshot(store: string, partition = 0): Record<string, unknown> {
    return (this.storesOf(partition).get(store) as TransactionalStore<unknown>).snapshot();
  }
}

export function driveStage<In>(stage: Stage<In>, values: readonly In[], options: DriverOptions<In> = {}): StageResult {
  return new StageDriver(stage, options).run(values);
}
