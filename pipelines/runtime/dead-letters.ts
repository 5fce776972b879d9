import type { KafkaMessage } from 'kafkajs';
import type { DeadLetter } from '../../schemas/types.generated';
import { dlqTopicOf } from '../../topics/catalog';
import type { RecordErrorCode } from './errors';

/** The dead letter for one input message: original bytes, error, stage and exact origin. */
export function deadLetterOf(stage: string, topic: string, partition: number, message: KafkaMessage, code: RecordErrorCode, errorMessage: string, nowMicros: number): { topic: string; key: Buffer | null; value: DeadLetter } {
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
