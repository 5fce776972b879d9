import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { AvroCodec } from '../pipelines/runtime/codec';
import { DLQ_SUFFIX, topicSpec } from '../topics/catalog';
import { TickflowError } from './errors';

/** JSON for decoded Avro values: Decimals as exact strings, bytes as text when printable else base64. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return bytesText(Buffer.from((v as { data: number[] }).data));
    }
    return v;
  });
}

function bytesText(buf: Buffer): string {
  const text = buf.toString('utf8');
  return /^[\x20-\x7e\t\r\n]*$/.test(text) ? text : `base64:${buf.toString('base64')}`;
}

export interface TapOptions {
  topic: string;
  fromBeginning: boolean;
  max?: number;
  json: boolean;
  out?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * Prints a topic's records decoded from Avro, one line each. Uses a throwaway consumer group that is
 * deleted afterwards, so tapping never disturbs the pipeline's own groups.
 */
export async function tap(kafka: Kafka, options: TapOptions): Promise<number> {
  const spec = topicSpec(options.topic);
  if (!spec) throw new TickflowError('USAGE', `topic ${options.topic} is not in the catalog`, 'see `tickflow topics list`');
  const codec = new AvroCodec();
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const groupId = `tickflow.tap.${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, allowAutoTopicCreation: false, maxWaitTimeInMs: 200 });
  let seen = 0;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  options.signal?.addEventListener('abort', () => finish());
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (options.max !== undefined && seen >= options.max) return;
        seen += 1;
        let value: unknown;
        try {
          value = await codec.decode(options.topic, message.value);
          if (options.topic.endsWith(DLQ_SUFFIX)) value = await explainDeadLetter(codec, value as Record<string, unknown>);
        } catch (error) {
          value = { undecodable: (error as Error).message, bytes: message.value ? bytesText(message.value) : null };
        }
        const key = message.key ? message.key.toString('utf8') : null;
        if (options.json) out(toJson({ topic: options.topic, partition, offset: message.offset, key, value }));
        else out(`${options.topic}[${partition}]@${message.offset} ${key ?? '(no key)'} ${toJson(value)}`);
        if (options.max !== undefined && seen >= options.max) finish();
      },
    });
    await done;
  } finally {
    await consumer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
  return seen;
}

/** A dead letter with its original value decoded where possible, so `tap X.dlq` reads well. */
async function explainDeadLetter(codec: AvroCodec, letter: Record<string, unknown>): Promise<Record<string, unknown>> {
  const original = letter.originalValue as Buffer | null;
  let decodedOriginal: unknown;
  if (original) {
    try {
      decodedOriginal = await codec.decode(String(letter.sourceTopic), original);
    } catch (error) {
      decodedOriginal = { undecodable: (error as Error).message };
    }
  }
  return { ...letter, originalValueDecoded: decodedOriginal };
}

export interface Collected<V = unknown> {
  partition: number;
  offset: string;
  key: string | null;
  value: V;
}

/**
 * Reads a topic (read_committed) from the beginning up to the high watermarks it had when called,
 * decoded; for tests and checks that need "everything committed so far". Undecodable records are
 * skipped (they are the dead-letter path's business, not this reader's). `schemaTopic`: the catalog
 * topic whose schema applies, when `topic` is a prefixed copy (RunnerOptions.topicPrefix).
 */
export async function collectTopic<V = unknown>(kafka: Kafka, topic: string, timeoutMs = 60_000, schemaTopic = topic): Promise<Collected<V>[]> {
  const admin = kafka.admin();
  await admin.connect();
  const highs = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, { high: BigInt(o.high), low: BigInt(o.low) }]));
  const codec = new AvroCodec();
  const groupId = `tickflow.collect.${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
  const positions = new Map<number, bigint>();
  const records: Collected<V>[] = [];
  let failure: TickflowError | undefined;
  const done = (): boolean => [...highs.entries()].every(([p, { high, low }]) => high === low || (positions.get(p) ?? low) >= high);
  consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
    if (event.payload.topic === topic) positions.set(event.payload.partition, BigInt(event.payload.lastOffset) + 1n);
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (BigInt(message.offset) >= (highs.get(partition)?.high ?? 0n)) return;
        let value: V;
        try {
          value = await codec.decode<V>(schemaTopic, message.value);
        } catch (error) {
          // A TickflowError is a setup problem (no schema for this topic): stop with it rather
          // than let kafkajs retry the message forever.
          if (error instanceof TickflowError) failure ??= error;
          return;
        }
        records.push({ partition, offset: message.offset, key: message.key ? message.key.toString('utf8') : null, value });
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (failure) throw failure;
      if (Date.now() > deadline) throw new TickflowError('INVARIANT', `reading ${topic} did not reach the end within ${timeoutMs / 1000} s`, 'check the broker');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
  return records;
}
