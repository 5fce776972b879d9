import type { KafkaMessage, Message } from 'kafkajs';
import type { DeadLetter } from '../../schemas/types.generated';
import { dlqTopicOf } from '../../topics/catalog';
import type { AvroCodec } from './codec';
import type { RecordErrorCode } from './errors';
import { TickflowError } from './errors';
import type { Logger } from './log';
import type { RuntimeMetrics } from './metrics';
import type { Clock, FailedRecord } from './stage';

/** The dead letter for one input message: original bytes, error, stage and exact origin. */
export function deadLetterOf(
  stage: string,
  topic: string,
  partition: number,
  message: KafkaMessage,
  code: RecordErrorCode,
  errorMessage: string,
  nowMicros: number,
): { topic: string; key: Buffer | null; value: DeadLetter } {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.map((v) => v.toString()).join(',') : value.toString();
  }
  return {
    topic: dlqTopicOf(topic),
    key: message.key ?? null,
    value: {
      stage,
      errorCode: code,
      errorMessage: errorMessage.slice(0, 4000),
      sourceTopic: topic,
      sourcePartition: partition,
      sourceOffset: message.offset,
      originalKey: message.key ?? null,
      originalValue: message.value ?? null,
      originalHeaders: headers,
      tsFailed: nowMicros,
    },
  };
}

/** Dead letters per batch logged one by one (the rest are summarised by code). */
const DEAD_LETTERS_LOGGED = 3;

/** Where a failed record came from: its physical topic and partition, and the message as read (or written). */
export interface DeadLetterOrigin {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage | undefined;
}

export interface DeadLetterDeps {
  readonly codec: AvroCodec;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics?: RuntimeMetrics;
}

/**
 * The `.dlq` messages of a batch's failed records, encoded. The first few are logged one by one,
 * the rest as counts per code: a replayed file can reject thousands at once, and every one of them
 * is in the .dlq anyway.
 */
export function deadLetterSends(
  stage: string,
  failed: readonly FailedRecord[],
  originOf: (f: FailedRecord) => DeadLetterOrigin,
  deps: DeadLetterDeps,
): { topic: string; messages: Message[] }[] {
  const letters = failed.map((f, i) => {
    const { topic, partition, message } = originOf(f);
    if (!message)
      throw new TickflowError(
        'INVARIANT',
        `${stage} rejected ${f.input.topic}@${f.input.offset}, which is not among its input`,
        'a stage must only reject records of its input batch',
      );
    const letter = deadLetterOf(stage, topic, partition, message, f.code, f.message, deps.clock.nowMicros());
    if (i < DEAD_LETTERS_LOGGED)
      deps.log.warn(`dead letter: ${f.code} at ${topic}[${partition}]@${f.input.offset}: ${f.message.slice(0, 1000)}`);
    deps.metrics?.recordsFailed.inc({ stage, topic, code: f.code });
    deps.metrics?.deadLetters.inc({ stage, topic });
    return {
      topic: letter.topic,
      messages: [{ key: letter.key, value: deps.codec.encodeSync(dlqTopicOf(f.input.topic), letter.value) }],
    };
  });
  if (failed.length > DEAD_LETTERS_LOGGED) {
    const codes = new Map<string, number>();
    for (const f of failed.slice(DEAD_LETTERS_LOGGED)) codes.set(f.code, (codes.get(f.code) ?? 0) + 1);
    const first = originOf(failed[0]);
    deps.log.warn(
      `${failed.length - DEAD_LETTERS_LOGGED} more dead letters in this batch of ${first.topic}[${first.partition}] (${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}); \`tickflow tap ${dlqTopicOf(first.topic)}\` shows them`,
    );
  }
  return letters;
}
