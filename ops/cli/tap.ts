import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { Decimal } from '../../schemas/decimal';
import { recordFilter } from './tap-filter';
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

/** Where a tap starts in each partition. */
export type TapStart = { kind: 'beginning' } | { kind: 'end' } | { kind: 'time'; ms: number };

export interface TapOptions {
  /** The catalog topic (its schema decodes the records). */
  topic: string;
  /** The namespace the topic is read under (`run --namespace`): reads `<prefix><topic>`. */
  prefix?: string;
  from: TapStart;
  /** Keep reading new records after the end; otherwise stop at the end the topic had at the start. */
  follow: boolean;
  max?: number;
  /** Keys to keep (`*` matches any run of characters); none: every key. */
  keys?: readonly string[];
  /** Field expressions every printed record satisfies (tap-filter.ts). */
  where?: readonly string[];
  format: 'line' | 'json' | 'table';
  out?: (line: string) => void;
  signal?: AbortSignal;
}

/** Thrown from the reader's callback to end a bounded read early (--max). */
class Enough extends Error {}

/**
 * Prints a topic's records decoded through the schema registry, one line each (or an aligned
 * table), filtered by key and field expressions; returns how many it printed. It reads with a
 * throwaway consumer group of its own that commits nothing and is deleted afterwards, so tapping
 * never moves or rebalances a pipeline's group.
 */
export async function tap(kafka: Kafka, options: TapOptions): Promise<number> {
  const spec = topicSpec(options.topic);
  if (!spec)
    throw new TickflowError(
      'USAGE',
      `topic ${options.topic} is not in the catalog`,
      'see `tickflow topics list`; for a namespaced copy give the catalog name and --namespace',
    );
  const physical = `${options.prefix ?? ''}${options.topic}`;
  const codec = new AvroCodec();
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const keep = recordFilter(options.keys ?? [], options.where ?? []);
  const printer = options.format === 'table' ? new TablePrinter(out) : undefined;
  let printed = 0;
  const onMessage = async (partition: number, message: KafkaMessage): Promise<void> => {
    if (options.max !== undefined && printed >= options.max) throw new Enough();
    const key = message.key ? message.key.toString('utf8') : null;
    let value: unknown;
    try {
      value = await codec.decode(options.topic, message.value);
      if (options.topic.endsWith(DLQ_SUFFIX)) value = await explainDeadLetter(codec, value as Record<string, unknown>);
    } catch (error) {
      if (!isRecordError(error)) throw error;
      value = { undecodable: (error as Error).message, bytes: message.value ? bytesText(message.value) : null };
    }
    if (!keep(key, value)) return;
    printed += 1;
    const record = {
      topic: physical,
      partition,
      offset: message.offset,
      timestamp: Number(message.timestamp),
      key,
      value,
    };
    if (printer) printer.add(record);
    else if (options.format === 'json') out(toJson(record));
    else out(`${physical}[${partition}]@${message.offset} ${key ?? '(no key)'} ${toJson(value)}`);
    if (options.max !== undefined && printed >= options.max) throw new Enough();
  };
  const admin = kafka.admin();
  await admin.connect();
  try {
    const starts = await startOffsets(admin, physical, options.from);
    try {
      if (options.follow) await follow(kafka, admin, physical, starts, onMessage, options.signal);
      else await readToEnd(kafka, physical, onMessage, { from: starts, timeoutMs: 600_000 });
    } catch (error) {
      if (!(error instanceof Enough)) throw error;
    }
  } finally {
    await admin.disconnect();
  }
  printer?.flush();
  return printed;
}

/** Per partition, the first offset to read. */
async function startOffsets(admin: Admin, topic: string, from: TapStart): Promise<Map<number, bigint>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  if (from.kind === 'beginning') return new Map(offsets.map((o) => [o.partition, BigInt(o.low)]));
  if (from.kind === 'end') return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  // The first record written at or after the time (Kafka's record timestamp); none: the end.
  const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, from.ms);
  return new Map(
    byTime.map((o) => {
      const high = offsets.find((x) => x.partition === o.partition)?.high ?? '0';
      return [o.partition, BigInt(o.offset === '-1' ? high : o.offset)];
    }),
  );
}

/** Reads from `starts` until aborted (or --max), with a throwaway group placed at the starts first. */
async function follow(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  starts: ReadonlyMap<number, bigint>,
  onMessage: (partition: number, message: KafkaMessage) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const groupId = `tickflow.tap.${randomUUID()}`;
  await admin.setOffsets({
    groupId,
    topic,
    partitions: [...starts].map(([partition, offset]) => ({ partition, offset: offset.toString() })),
  });
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 200,
  });
  let failure: unknown;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  if (signal?.aborted) finish();
  signal?.addEventListener('abort', () => finish());
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (failure !== undefined) return;
        try {
          await onMessage(partition, message);
        } catch (error) {
          failure = error;
          finish();
        }
      },
    });
    await done;
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  if (failure !== undefined) throw failure;
}

/**
 * An aligned table: columns are the envelope (partition, offset, key) and the value's top-level
 * fields; widths come from the first rows (up to 50, buffered) and longer cells are cut with '…'.
 */
class TablePrinter {
  private readonly pending: Record<string, string>[] = [];
  private columns?: { name: string; width: number }[];

  constructor(private readonly out: (line: string) => void) {}

  add(record: { partition: number; offset: string; key: string | null; value: unknown }): void {
    const row: Record<string, string> = {
      partition: String(record.partition),
      offset: record.offset,
      key: record.key ?? '',
    };
    const value = record.value;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [field, v] of Object.entries(value as Record<string, unknown>))
        row[field] = /^ts[A-Z]/.test(field) && typeof v === 'number' ? isoTime(v) : cellText(v);
    } else row.value = cellText(value);
    if (this.columns) this.print(row);
    else {
      this.pending.push(row);
      if (this.pending.length >= 50) this.flush();
    }
  }

  flush(): void {
    if (!this.columns) {
      if (this.pending.length === 0) return;
      const names = [...new Set(this.pending.flatMap((r) => Object.keys(r)))];
      this.columns = names.map((name) => ({
        name,
        width: Math.min(40, Math.max(name.length, ...this.pending.map((r) => (r[name] ?? '').length))),
      }));
      this.out(
        this.columns
          .map((c) => c.name.toUpperCase().padEnd(c.width))
          .join('  ')
          .trimEnd(),
      );
    }
    for (const row of this.pending.splice(0)) this.print(row);
  }

  private print(row: Record<string, string>): void {
    const cells = (this.columns ?? []).map((c) => {
      const text = row[c.name] ?? '';
      return (text.length > c.width ? `${text.slice(0, c.width - 1)}…` : text).padEnd(c.width);
    });
    this.out(cells.join('  ').trimEnd());
  }
}

/** Microseconds since the epoch as ISO time with microseconds (tables show times, JSON keeps the numbers). */
function isoTime(micros: number): string {
  const ms = Math.floor(micros / 1000);
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return String(micros);
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 23)}${String(((micros % 1000) + 1000) % 1000).padStart(3, '0')}Z`;
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Decimal.isDecimal(value)) return (value as Decimal).toFixed();
  return toJson(value);
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
