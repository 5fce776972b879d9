import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { readToEnd } from '../../pipelines/runtime/read-to-end';
import { DLQ_SUFFIX, topicSpec } from '../../topics/catalog';
import { TickflowError, isRecordError } from '../../pipelines/runtime/errors';

/** JSON for decoded Avro values: Decimals as exact strings, bytes as text when printable else base64. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (
      v &&
      typeof v === 'object' &&
      (v as { type?: string }).type === 'Buffer' &&
      Array.isArray((v as { data?: unknown }).data)
    ) {
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
  if (!spec)
    throw new TickflowError('USAGE', `topic ${options.topic} is not in the catalog`, 'see `tickflow topics list`');
  const codec = new AvroCodec();
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const groupId = `tickflow.tap.${randomUUID()}`;
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 200,
  });
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
          if (options.topic.endsWith(DLQ_SUFFIX))
            value = await explainDeadLetter(codec, value as Record<string, unknown>);
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
 * Everything committed on a topic so far (read_committed, up to the high watermarks at the call),
 * decoded; for tests and checks. Undecodable records are skipped (they are the dead-letter path's
 * business, not this reader's); a TickflowError (no schema for the topic: a setup problem) stops
 * the read. `schemaTopic`: the catalog topic whose schema applies, when `topic` is a prefixed copy
 * (RunnerOptions.topicPrefix).
 */
export async function collectTopic<V = unknown>(
  kafka: Kafka,
  topic: string,
  timeoutMs = 60_000,
  schemaTopic = topic,
): Promise<Collected<V>[]> {
  const codec = new AvroCodec();
  const records: Collected<V>[] = [];
  await readToEnd(
    kafka,
    topic,
    async (partition, message) => {
      let value: V;
      try {
        value = await codec.decode<V>(schemaTopic, message.value);
      } catch (error) {
        // A record that does not decode is skipped; the registry being down is not a record's fault.
        if (!isRecordError(error)) throw error;
        return;
      }
      records.push({
        partition,
        offset: message.offset,
        key: message.key ? message.key.toString('utf8') : null,
        value,
      });
    },
    { timeoutMs },
  );
  return records;
}
