import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { TickflowError } from './errors';

/**
 * Reads a topic (read_committed) from the beginning (or per partition from `from`) up to the high
 * watermarks it had when called,
 * with a throwaway consumer group that is deleted afterwards: state restore reads a changelog
 * partition with it, checks and tests read "everything committed so far". kafkajs cannot assign
 * partitions directly, so the group reads the whole topic and other partitions are skipped.
 * Messages of a partition arrive in offset order; the end is judged by the consumer's position
 * (which passes transaction markers), not by the last data record. An error thrown by `onMessage`
 * stops the read and is thrown from here. `past` names offsets (per partition) that are known to be
 * committed: the read first waits until the committed end lies beyond them (their transaction's
 * markers may still be on their way).
 */
type Ends = Map<number, { high: bigint; low: bigint }>;

interface ReadOptions {
  partitions?: readonly number[];
  timeoutMs?: number;
  from?: ReadonlyMap<number, bigint>;
  past?: ReadonlyMap<number, bigint>;
}

export async function readToEnd(
  kafka: Kafka,
  topic: string,
  onMessage: (partition: number, message: KafkaMessage) => Promise<void>,
  options: ReadOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `tickflow.read.${randomUUID()}`;
  try {
    const ends = await readRange(admin, topic, options, timeoutMs);
    if (ends.size === 0) return;
    if (options.from) {
      const partitions = [...ends]
        .filter(([p]) => options.from?.has(p))
        .map(([partition, { low }]) => ({ partition, offset: low.toString() }));
      if (partitions.length > 0) await admin.setOffsets({ groupId, topic, partitions });
    }
    await consumeRange(kafka, groupId, topic, ends, onMessage, timeoutMs);
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

/** Per partition to read, where to start (`low`) and the end to reach (`high`, exclusive). */
async function readRange(admin: Admin, topic: string, options: ReadOptions, timeoutMs: number): Promise<Ends> {
  const offsets = await committedEnds(admin, topic, options.past, timeoutMs);
  for (const p of options.partitions ?? []) {
    if (!offsets.some((o) => o.partition === p))
      throw new TickflowError(
        'CONFIG',
        `${topic} has no partition ${p}`,
        `give ${topic} as many partitions as the stage's input (topics/catalog.ts), then \`tickflow topics apply\``,
      );
  }
  // `from` moves a partition's start past its low watermark (never before it: older records are gone).
  const startOf = (o: { partition: number; low: string }): bigint => {
    const from = options.from?.get(o.partition);
    return from !== undefined && from > BigInt(o.low) ? from : BigInt(o.low);
  };
  return new Map(
    offsets
      .filter((o) => (!options.partitions || options.partitions.includes(o.partition)) && startOf(o) < BigInt(o.high))
      .map((o) => [o.partition, { high: BigInt(o.high), low: startOf(o) }]),
  );
}

async function consumeRange(
  kafka: Kafka,
  groupId: string,
  topic: string,
  ends: Ends,
  onMessage: (partition: number, message: KafkaMessage) => Promise<void>,
  timeoutMs: number,
): Promise<void> {
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 100,
    maxBytesPerPartition: 4_194_304,
  });
  const positions = new Map<number, bigint>();
  let failure: Error | undefined;
  consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
    positions.set(event.payload.partition, BigInt(event.payload.lastOffset) + 1n);
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const end = ends.get(batch.partition);
        if (!end) return;
        for (const message of batch.messages) {
          if (BigInt(message.offset) >= end.high || failure) break;
          try {
            await onMessage(batch.partition, message);
          } catch (error) {
            failure = error as Error;
          }
        }
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (!failure && [...ends].some(([p, { high, low }]) => (positions.get(p) ?? low) < high)) {
      if (Date.now() > deadline)
        throw new TickflowError(
          'INVARIANT',
          `reading ${topic} did not reach its end within ${timeoutMs / 1000} s`,
          'an open transaction may be blocking it; check the broker',
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (failure) throw failure;
  } finally {
    await consumer.disconnect();
  }
}

/** The topic's offsets (read_committed ends), once every partition's end lies beyond `past`. */
async function committedEnds(
  admin: Admin,
  topic: string,
  past: ReadonlyMap<number, bigint> | undefined,
  timeoutMs: number,
): ReturnType<Admin['fetchTopicOffsets']> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const offsets = await admin.fetchTopicOffsets(topic);
    const behind = [...(past ?? [])].filter(
      ([p, last]) => BigInt(offsets.find((o) => o.partition === p)?.high ?? '0') <= last,
    );
    if (behind.length === 0) return offsets;
    if (Date.now() > deadline) {
      throw new TickflowError(
        'INVARIANT',
        `${topic}[${behind[0][0]}] did not show offset ${behind[0][1]} as committed within ${timeoutMs / 1000} s`,
        'its transaction markers were not written; check the broker',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
