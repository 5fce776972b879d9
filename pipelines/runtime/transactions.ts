import type { Batch, Message, Producer, RecordMetadata, Transaction } from 'kafkajs';
import { CompressionTypes } from 'kafkajs';
import { isTickflowError } from './errors';
import { bounded } from './bounded';
import { reportOk } from './dependencies';

/** Messages for one topic, in order; a message with `partition` set goes to that partition. */
export interface Send {
  topic: string;
  messages: Message[];
}

/** Consumed offsets to commit in a transaction, per consumer group. */
export interface OffsetCommit {
  groupId: string;
  topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
}

/** Messages per produce call: small enough that a record batch stays well under 1 MB. */
export const SEND_CHUNK = 1000;

/** Changelog records of one transaction above this many bytes are sent gzip-compressed. */
export const COMPRESS_CHANGELOG_BYTES = 32 * 1024;

/**
 * Retry policy of the transactional producers. A transaction that starts right after the previous
 * one on the same id finds the broker still writing the previous commit markers (a few ms) and gets
 * CONCURRENT_TRANSACTIONS; kafkajs retries that with the client's general backoff (200 ms and up),
 * which would put a fifth of a second on most batches. A short first backoff that still grows to
 * seconds keeps broker outages covered (every call is also bounded by KAFKA_CALL_TIMEOUT_MS).
 */
export const TRANSACTIONAL_RETRY = { initialRetryTime: 5, retries: 15, maxRetryTime: 5000, factor: 0.2, multiplier: 2 };

/** Errors that mean Kafka did not answer (an outage), as opposed to an answer such as "fenced". */
const OUTAGE_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSTimeout',
]);

export function kafkaFailure(error: unknown): boolean {
  return isTickflowError(error, 'TIMEOUT') || OUTAGE_ERRORS.has((error as Error)?.name ?? '');
}

/** The offset to commit once `batch` is done: the one after its last (a control record included). */
export function offsetAfter(batch: Batch): string {
  return (BigInt(batch.lastOffset()) + 1n).toString();
}

export const partitionKey = (topic: string, partition: number): string => `${topic}:${partition}`;

/** Splits per-topic message lists into groups of at most `size` messages in total. */
export function chunked(topics: Send[], size: number): Send[][] {
  const chunks: Send[][] = [];
  let current: Send[] = [];
  let count = 0;
  for (const { topic, messages } of topics) {
    for (let i = 0; i < messages.length;) {
      const take = Math.min(size - count, messages.length - i);
      current.push({ topic, messages: messages.slice(i, i + take) });
      count += take;
      i += take;
      if (count === size) {
        chunks.push(current);
        current = [];
        count = 0;
      }
    }
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Groups messages by topic, keeping their order. */
export class SendList {
  private readonly byTopic = new Map<string, Message[]>();
  bytes = 0;
  count = 0;

  add(topic: string, message: Message): void {
    const list = this.byTopic.get(topic) ?? [];
    list.push(message);
    this.byTopic.set(topic, list);
    this.bytes += (message.value as Buffer | null)?.length ?? 0;
    this.count += 1;
  }

  addAll(sends: readonly Send[]): void {
    for (const { topic, messages } of sends) for (const message of messages) this.add(topic, message);
  }

  entries(): Send[] {
    return [...this.byTopic.entries()].map(([topic, messages]) => ({ topic, messages }));
  }

  clear(): void {
    this.byTopic.clear();
    this.bytes = 0;
    this.count = 0;
  }
}

/**
 * Where each message of a send landed: `${topic}:${partition}` -> the offsets of that partition's
 * messages, in order. A produce call writes each partition's messages as one record batch, so the
 * n-th message of a partition sits at the batch's base offset plus n (an idempotent retry of the
 * same batch is answered with its original base offset).
 */
export type Placement = Map<string, bigint[]>;

function place(chunk: Send[], metadata: RecordMetadata[], placement: Placement): void {
  const counts = new Map<string, number>();
  for (const { topic, messages } of chunk) {
    for (const m of messages) {
      if (m.partition === undefined || m.partition === null) continue;
      const k = partitionKey(topic, m.partition);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  for (const meta of metadata) {
    const k = partitionKey(meta.topicName, meta.partition);
    const n = counts.get(k);
    if (n === undefined || meta.baseOffset === undefined) continue;
    const list = placement.get(k) ?? [];
    const base = BigInt(meta.baseOffset);
    for (let i = 0; i < n; i++) list.push(base + BigInt(i));
    placement.set(k, list);
  }
}

/**
 * Sends within an open transaction, in chunks that keep each record batch under the broker's
 * message size limit; changelog-like sends over COMPRESS_CHANGELOG_BYTES go gzip-compressed. For
 * messages with an explicit partition, `placement` (when given) learns their offsets.
 */
export async function sendInTransaction(
  transaction: Transaction,
  sends: Send[],
  options: { compress?: boolean; placement?: Placement; what?: string } = {},
): Promise<void> {
  for (const chunk of chunked(sends, SEND_CHUNK)) {
    const metadata = await bounded(
      transaction.sendBatch({
        topicMessages: chunk,
        acks: -1,
        ...(options.compress ? { compression: CompressionTypes.GZIP } : {}),
      }),
      options.what ?? 'transactional send',
    );
    if (options.placement) place(chunk, metadata, options.placement);
  }
}

/** Begins a transaction on `producer` (bounded). */
export async function beginTransaction(producer: Producer): Promise<Transaction> {
  return bounded(producer.transaction(), 'begin transaction');
}

/**
 * The metadata every offset commit carries: when it was made, so `tickflow lag` can show each
 * partition's last commit without asking the process that made it.
 */
export function commitMetadata(): string {
  return JSON.stringify({ committedAt: Date.now() });
}

/**
 * Adds the consumed offsets of every group to the transaction and commits it; on any failure the
 * transaction is aborted and the error thrown (the caller decides what it means).
 */
export async function commitTransaction(
  transaction: Transaction,
  offsets: readonly OffsetCommit[],
  at: (phase: string) => void,
  beforeCommit?: () => Promise<void>,
): Promise<void> {
  if (offsets.length > 0) at('send offsets');
  for (const commit of offsets) {
    await bounded(
      transaction.sendOffsets({
        consumerGroupId: commit.groupId,
        topics: commit.topics.map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((p) => ({ ...p, metadata: commitMetadata() })),
        })),
      }),
      'sending offsets to the transaction',
    );
  }
  if (beforeCommit) await beforeCommit();
  at('commit');
  await bounded(transaction.commit(), 'transaction commit');
  reportOk('kafka');
}

export async function abortTransaction(transaction: Transaction): Promise<void> {
  await bounded(transaction.abort(), 'transaction abort', 10_000).catch(() => undefined);
}
