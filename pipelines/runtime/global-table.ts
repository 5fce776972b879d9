import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { AvroCodec } from './codec';
import { TickflowError } from './errors';
import { fetchMaxWaitMs } from './fetch-wait';
import type { Logger } from './log';
import type { GlobalView, Stage, StageContext } from './stage';

/**
 * Global tables (ctx.global): every instance of a stage reads a compacted topic whole and keeps the
 * latest value per key, like Kafka Streams' GlobalKTable. `open` reads each topic to the committed
 * end it has when called (so a stage starts with every mark or reference record that existed), then
 * a follower keeps applying new records until `close`. Tombstones delete keys; a record that cannot
 * be decoded is logged and skipped (the table keeps the previous value: reference data must not stop
 * a stage). The consumer group is throwaway (`<stage group>.global.<random>`, deleted on close; one
 * left by a killed process holds no offsets and the broker drops it) and commits nothing, so a table
 * never disturbs the pipeline's groups.
 */
export type GlobalMaps = ReadonlyMap<string, Map<string, unknown>>;

function view<V>(map: Map<string, unknown>): GlobalView<V> {
  return {
    get: (key) => map.get(key) as V | undefined,
    get size() {
      return map.size;
    },
    entries: () => map.entries() as IterableIterator<[string, V]>,
  };
}

/** The `global` function of a stage's context over `maps`, refusing tables the stage did not declare. */
export function globalAccessor(stages: readonly Stage[], maps: GlobalMaps): StageContext['global'] {
  return <V>(topic: string): GlobalView<V> => {
    const map = maps.get(topic);
    if (!map || !stages.some((s) => (s.globals ?? []).includes(topic))) {
      throw new TickflowError(
        'INVARIANT',
        `stage ${stages.map((s) => s.name).join('+')} read global table '${topic}', which it does not declare`,
        `add '${topic}' to the stage's globals`,
      );
    }
    return view<V>(map);
  };
}

export class GlobalTables {
  private readonly maps = new Map<string, Map<string, unknown>>();
  private consumer?: Consumer;
  private readonly groupId: string;
  private readonly positions = new Map<string, bigint>();
  private applied = 0;
  /** Called after a key of a table changed (set or deleted), once the table is being followed. */
  onChange?: (topic: string, key: string) => void;

  constructor(
    private readonly kafka: Kafka,
    private readonly codec: AvroCodec,
    /** Catalog names of the tables. */
    private readonly topics: readonly string[],
    private readonly physical: (topic: string) => string,
    private readonly log: Logger,
    /** The stage's group: the table's throwaway group is named after it (`<group>.global.<uuid>`). */
    owner = 'tickflow',
  ) {
    this.groupId = `${owner}.global.${randomUUID()}`;
    for (const t of topics) this.maps.set(t, new Map());
  }

  get tables(): GlobalMaps {
    return this.maps;
  }

  /** Reads every table to its current committed end, then follows it. */
  async open(timeoutMs = 120_000): Promise<void> {
    if (this.topics.length === 0) return;
    const admin = this.kafka.admin();
    await admin.connect();
    const ends = new Map<string, bigint>();
    try {
      for (const topic of this.topics) {
        for (const o of await admin.fetchTopicOffsets(this.physical(topic)))
          if (BigInt(o.high) > BigInt(o.low)) ends.set(`${this.physical(topic)}:${o.partition}`, BigInt(o.high));
      }
    } finally {
      await admin.disconnect();
    }
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      // Idle like a runner's consumer (a fetch returns as soon as there is data).
      maxWaitTimeInMs: fetchMaxWaitMs(),
      maxBytesPerPartition: 1_048_576,
    });
    this.consumer = consumer;
    await consumer.connect();
    for (const topic of this.topics) await consumer.subscribe({ topic: this.physical(topic), fromBeginning: true });
    const logicalOf = new Map(this.topics.map((t) => [this.physical(t), t]));
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      this.positions.set(`${event.payload.topic}:${event.payload.partition}`, BigInt(event.payload.lastOffset) + 1n);
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const topic = logicalOf.get(batch.topic) as string;
        const map = this.maps.get(topic) as Map<string, unknown>;
        for (const message of batch.messages) {
          const key = message.key?.toString() ?? '';
          if (message.value === null) {
            map.delete(key);
            this.onChange?.(topic, key);
            continue;
          }
          try {
            map.set(key, await this.codec.decode(topic, message.value));
            this.applied += 1;
            this.onChange?.(topic, key);
          } catch (error) {
            this.log.warn(
              `global table ${topic}: record at ${batch.partition}@${message.offset} cannot be decoded and is skipped: ${(error as Error).message}`,
            );
          }
        }
      },
    });
    const deadline = Date.now() + timeoutMs;
    while ([...ends].some(([k, end]) => (this.positions.get(k) ?? 0n) < end)) {
      if (Date.now() > deadline) {
        throw new TickflowError(
          'TIMEOUT',
          `global tables ${this.topics.join(', ')} were not read to their end within ${timeoutMs / 1000} s`,
          'check the broker (an open transaction on the topic blocks read_committed readers)',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.log.info(
      `global tables ${this.topics.join(', ')} loaded: ${[...this.maps].map(([t, m]) => `${t} ${m.size} keys`).join(', ')}`,
    );
  }

  async close(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    if (!consumer) return;
    await consumer.disconnect().catch(() => undefined);
    const admin = this.kafka.admin();
    await admin.connect().catch(() => undefined);
    await admin.deleteGroups([this.groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
