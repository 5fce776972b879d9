import type { Admin, Kafka, Message } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { sql } from '../../connectors/questdb/sql';
import type { TableSpec } from '../../connectors/questdb/tables';
import { TABLES } from '../../connectors/questdb/tables';
import type { Speed } from '../../connectors/file-replay/replay';
import type { AvroCodec } from '../../pipelines/runtime/codec';
import { TickflowError, isRecordError } from '../../pipelines/runtime/errors';
import { readToEnd } from '../../pipelines/runtime/read-to-end';
import { TOPICS, topicSpec } from '../../topics/catalog';
import { createNamespace } from '../topics/apply';

export interface TopicReplayOptions {
  /** The catalog topic to replay. */
  topic: string;
  /** The namespace it is read from ('' = the live pipeline's topics). */
  sourcePrefix: string;
  /** The namespace written to: never the source's. */
  prefix: string;
  /** Event-time range [from, to) in microseconds. */
  fromMicros: number;
  toMicros: number;
  speed: Speed;
  brokers: number;
  /** Called about four times a second and at the end. */
  onProgress?: (progress: ReplayProgress) => void;
  signal?: AbortSignal;
}

export interface ReplayProgress {
  readonly phase: 'scan' | 'publish';
  readonly done: number;
  readonly total: number;
  /** Seconds left at the current pace, when it can be judged. */
  readonly etaSeconds: number | null;
}

export interface TopicReplayResult {
  readonly scanned: number;
  readonly published: number;
  readonly target: string;
  /** Catalog topics this call created in the namespace (the first replay into it creates them all). */
  readonly created: number;
  readonly seconds: number;
  readonly completed: boolean;
}

interface Selected {
  readonly partition: number;
  readonly offset: bigint;
  readonly micros: number;
  readonly message: Message;
}

/** The most records one replay holds in memory to order them by event time; a longer range is refused. */
export const MAX_REPLAY_RECORDS = 2_000_000;

/**
 * The event time of a record: its `tsEvent` (every market and trading value has one), else the
 * Kafka record timestamp.
 */
function eventMicros(value: unknown, kafkaTimestamp: string): number {
  const ts = (value as { tsEvent?: unknown } | null)?.tsEvent;
  return typeof ts === 'number' && Number.isFinite(ts) ? ts : Number(kafkaTimestamp) * 1000;
}

/**
 * Re-plays the records of `topic` whose event time lies in [from, to) into `<prefix><topic>`,
 * keeping key, value bytes, headers and partition, in event-time order, at `speed` (paced by event
 * time, or as fast as possible). The namespace gets every catalog topic it lacks (the catalog's
 * retention, compaction and partitions), so `tickflow run --namespace <prefix>` can process the
 * copy: its groups, offsets and tables (`_<prefix>` suffix) are its own. The source is read with a
 * throwaway group: the live pipeline's offsets are never touched.
 */
export async function replayTopic(
  kafka: Kafka,
  admin: Admin,
  codec: AvroCodec,
  options: TopicReplayOptions,
): Promise<TopicReplayResult> {
  const started = Date.now();
  if (!topicSpec(options.topic))
    throw new TickflowError('USAGE', `${options.topic} is not in the topic catalog`, 'see `tickflow topics list`');
  if (options.prefix === options.sourcePrefix)
    throw new TickflowError(
      'USAGE',
      `replaying ${options.topic} into its own namespace would feed the live pipeline`,
      'give another --namespace, e.g. --namespace replay1.',
    );
  if (!(options.fromMicros < options.toMicros))
    throw new TickflowError(
      'USAGE',
      '--from must be before --to',
      'e.g. --from 2020-02-22T00:00:00Z --to 2020-02-22T01:00:00Z',
    );
  const source = `${options.sourcePrefix}${options.topic}`;
  const target = `${options.prefix}${options.topic}`;
  const existing = new Set(await admin.listTopics());
  if (!existing.has(source))
    throw new TickflowError('USAGE', `topic ${source} does not exist`, '`tickflow topics list` shows the topics');
  const created = await ensureNamespace(admin, options.prefix, options.brokers, existing);

  const offsets = await admin.fetchTopicOffsets(source);
  const total = offsets.reduce((sum, o) => sum + Number(BigInt(o.high) - BigInt(o.low)), 0);
  const selected: Selected[] = [];
  let scanned = 0;
  const report = rateReporter(options.onProgress);
  await codec.prepare([options.topic]);
  await readToEnd(
    kafka,
    source,
    async (partition, message) => {
      scanned += 1;
      report('scan', scanned, total);
      let value: unknown = null;
      try {
        value = await codec.decode(options.topic, message.value);
      } catch (error) {
        if (!isRecordError(error)) throw error; // an undecodable record keeps its Kafka time
      }
      const micros = eventMicros(value, message.timestamp);
      if (micros < options.fromMicros || micros >= options.toMicros) return;
      if (selected.length >= MAX_REPLAY_RECORDS)
        throw new TickflowError(
          'USAGE',
          `the range holds more than ${MAX_REPLAY_RECORDS} records of ${options.topic}`,
          'narrow --from/--to and replay it in parts',
        );
      selected.push({
        partition,
        offset: BigInt(message.offset),
        micros,
        message: { key: message.key, value: message.value, headers: message.headers, partition },
      });
    },
    { timeoutMs: 600_000 },
  );
  report('scan', scanned, scanned, true);
  // Event-time order across partitions; within a partition, ties keep their log order.
  selected.sort((a, b) => a.micros - b.micros || a.partition - b.partition || (a.offset < b.offset ? -1 : 1));

  const { published, completed } = await publishPaced(kafka, target, selected, options.speed, report, options.signal);
  report('publish', published, selected.length, true);
  return { scanned, published, target, created, seconds: (Date.now() - started) / 1000, completed };
}

/** Creates every catalog topic the namespace lacks, with the catalog's retention; returns how many. */
async function ensureNamespace(
  admin: Admin,
  prefix: string,
  brokers: number,
  existing: ReadonlySet<string>,
): Promise<number> {
  const missing = TOPICS.map((t) => t.name).filter((name) => !existing.has(`${prefix}${name}`));
  if (missing.length > 0) await createNamespace(admin, prefix, missing, brokers, { keepRetention: true });
  return missing.length;
}

/**
 * Publishes `selected` (in event-time order) to `target`, paced by event time at `speed` (or as fast
 * as possible), in sends of up to 500 due records; stops early when `signal` aborts.
 */
async function publishPaced(
  kafka: Kafka,
  target: string,
  selected: readonly Selected[],
  speed: Speed,
  report: (phase: ReplayProgress['phase'], done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<{ published: number; completed: boolean }> {
  // The runtime's partitioner (a key lands where every stage expects it) for records without a partition.
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  let published = 0;
  let completed = true;
  try {
    const pace = speed.kind === 'factor' ? speed.factor : undefined;
    const t0 = selected[0]?.micros ?? 0;
    const wall0 = Date.now();
    let i = 0;
    while (i < selected.length) {
      if (signal?.aborted) {
        completed = false;
        break;
      }
      const batch: Message[] = [];
      while (i < selected.length && batch.length < 500) {
        const due = pace === undefined ? 0 : wall0 + (selected[i].micros - t0) / 1000 / pace;
        if (due > Date.now()) break;
        batch.push(selected[i].message);
        i += 1;
      }
      if (batch.length === 0) {
        const due = wall0 + (selected[i].micros - t0) / 1000 / (pace ?? 1);
        await new Promise((resolve) => setTimeout(resolve, Math.min(250, Math.max(1, due - Date.now()))));
        report('publish', published, selected.length);
        continue;
      }
      await producer.send({ topic: target, acks: -1, messages: batch });
      published += batch.length;
      report('publish', published, selected.length);
    }
  } finally {
    await producer.disconnect();
  }
  return { published, completed };
}

export interface TableReplayOptions extends Omit<TopicReplayOptions, 'topic' | 'sourcePrefix'> {
  /** A QuestDB table a replay can read back (connectors/questdb/tables.ts `fromRow`): trades, quotes. */
  table: string;
}

/** Rows one /exec request reads. */
const TABLE_PAGE = 10_000;

/**
 * Re-plays the rows of a QuestDB table in [from, to) (its designated timestamp, the event time) as
 * the records they were written from, into `<prefix><the table's topic>`, keyed by instrument, in
 * event-time order at `speed`. For when the topic no longer holds the range (retention) but the
 * table does.
 */
export async function replayTable(
  kafka: Kafka,
  admin: Admin,
  codec: AvroCodec,
  options: TableReplayOptions,
): Promise<TopicReplayResult> {
  const started = Date.now();
  const spec = TABLES.find((t) => t.name === options.table) as TableSpec<unknown> | undefined;
  const readable = TABLES.filter((t) => t.fromRow).map((t) => t.name);
  if (!spec?.fromRow)
    throw new TickflowError(
      'USAGE',
      `table ${options.table} cannot be replayed`,
      `replay one of ${readable.join(', ')} (their rows are the records they were written from), or replay a topic with --topic`,
    );
  if (!(options.fromMicros < options.toMicros))
    throw new TickflowError(
      'USAGE',
      '--from must be before --to',
      'e.g. --from 2020-02-22T00:00:00Z --to 2020-02-22T01:00:00Z',
    );
  if (options.prefix === '')
    throw new TickflowError(
      'USAGE',
      'replaying a table into the live namespace would feed the live pipeline',
      'give --namespace',
    );
  const created = await ensureNamespace(admin, options.prefix, options.brokers, new Set(await admin.listTopics()));
  const where = `ts >= ${options.fromMicros}::timestamp AND ts < ${options.toMicros}::timestamp`;
  const total = Number((await sql(`SELECT count() FROM ${spec.name} WHERE ${where}`)).dataset[0]?.[0] ?? 0);
  if (total > MAX_REPLAY_RECORDS)
    throw new TickflowError(
      'USAGE',
      `the range holds ${total} rows of ${spec.name}, more than ${MAX_REPLAY_RECORDS}`,
      'narrow --from/--to and replay it in parts',
    );
  const report = rateReporter(options.onProgress);
  await codec.prepare([spec.topic]);
  const selected: Selected[] = [];
  for (let lo = 0; lo < total; lo += TABLE_PAGE) {
    const page = await sql(`SELECT * FROM ${spec.name} WHERE ${where} ORDER BY ts LIMIT ${lo},${lo + TABLE_PAGE}`);
    const names = page.columns.map((c) => c.name);
    for (const cells of page.dataset) {
      const row = Object.fromEntries(names.map((n, i) => [n, cells[i]]));
      const value = spec.fromRow(row) as { instrumentId?: string };
      selected.push({
        partition: 0,
        offset: BigInt(selected.length),
        micros: spec.ts(value),
        message: { key: value.instrumentId ?? null, value: await codec.encode(spec.topic, value) },
      });
    }
    report('scan', selected.length, total);
  }
  report('scan', selected.length, total, true);
  const target = `${options.prefix}${spec.topic}`;
  const { published, completed } = await publishPaced(kafka, target, selected, options.speed, report, options.signal);
  report('publish', published, selected.length, true);
  return { scanned: selected.length, published, target, created, seconds: (Date.now() - started) / 1000, completed };
}

/** Throttles progress callbacks to about four a second and estimates the time left from the pace so far. */
function rateReporter(
  onProgress: ((progress: ReplayProgress) => void) | undefined,
): (phase: ReplayProgress['phase'], done: number, total: number, final?: boolean) => void {
  let last = 0;
  let phaseStart = { phase: '', at: Date.now() };
  return (phase, done, total, final = false) => {
    if (!onProgress) return;
    const now = Date.now();
    if (phaseStart.phase !== phase) phaseStart = { phase, at: now };
    if (!final && now - last < 250) return;
    last = now;
    const elapsed = (now - phaseStart.at) / 1000;
    const etaSeconds = done > 0 && elapsed > 0.5 ? ((total - done) * elapsed) / done : null;
    onProgress({ phase, done, total, etaSeconds: final ? 0 : etaSeconds });
  };
}

/** `[#####.....]  45%  4,500 / 10,000  ETA 12 s`: one line for a terminal (rewritten in place) or a log. */
export function progressLine(progress: ReplayProgress): string {
  const fraction = progress.total > 0 ? Math.min(1, progress.done / progress.total) : 1;
  const width = 30;
  const filled = Math.round(fraction * width);
  const eta =
    progress.etaSeconds === null
      ? 'ETA ?'
      : progress.etaSeconds === 0
        ? 'done'
        : `ETA ${progress.etaSeconds < 90 ? `${Math.ceil(progress.etaSeconds)} s` : `${Math.ceil(progress.etaSeconds / 60)} min`}`;
  const verb = progress.phase === 'scan' ? 'scanning' : 'publishing';
  return `${verb.padEnd(10)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${progress.done.toLocaleString('en-US')} / ${progress.total.toLocaleString('en-US')}  ${eta}`;
}
