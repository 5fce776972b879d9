import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { TickflowError } from './errors';

/**
 * Reads a topic (read_committed) from the beginning up to the high watermarks it had when called,
 * with a throwaway consumer group that is deleted afterwards: state restore reads a changelog
 * partition with it, checks and tests read "everything committed so far". kafkajs cannot assign
 * partitions directly, so the group reads the whole topic and other partitions are skipped.
 * Messages of a partition arrive in offset order; the end is judged by the consumer's position
 * (which passes transaction markers), not by the last data record. An error thrown by `onMessage`
 * stops the read and is thrown from here.
 */
export async function readToEnd(
  kafka: Kafka,
  topic: string,
  onMessage: (partition: number, message: KafkaMessage) => Promise<void>,
  options: { partitions?: readonly number[]; timeoutMs?: number } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `tickflow.read.${randomUUID()}`;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    for (const p of options.partitions ?? []) {
      if (!offsets.some((o) => o.partition === p)) throw new TickflowError('CONFIG', `${topic} has no partition ${p}`, `give ${topic} as many partitions as the stage's input (topics/catalog.ts), then \`tickflow topics apply\``);
    }
    const ends = new Map(
      offsets.filter((o) => (!options.partitions || options.partitions.includes(o.partition)) && o.high !== o.low).map((o) => [o.partition, { high: BigInt(o.high), low: BigInt(o.low) }]),
    );
    if (ends.size === 0) return;
    const consumer = kafka.consumer({ groupId, readUncommitted: false, allowAutoTopicCreation: false, maxWaitTimeInMs: 100, maxBytesPerPartition: 4_194_304 });
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
        if (Date.now() > deadline) throw new TickflowError('INVARIANT', `reading ${topic} did not reach its end within ${timeoutMs / 1000} s`, 'an open transaction may be blocking it; check the broker');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (failure) throw failure;
    } finally {
      await consumer.disconnect();
    }
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
