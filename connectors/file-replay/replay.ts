import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Kafka, Message, Producer, TopicMessages } from 'kafkajs';
import type { DeadLetter, RawRecord } from '../../schemas/types.generated';
import { endpoints, tickflowHome } from '../../pipelines/runtime/settings';
import { TickflowError } from '../../pipelines/runtime/errors';
import { logger } from '../../pipelines/runtime/log';
import type { AvroCodec } from '../../pipelines/runtime/codec';
import type { ConfigSchema } from '../../pipelines/runtime/config';
import { dlqTopicOf } from '../../topics/catalog';
import { FORMATS, formatNames } from '../formats';

const log = logger('replay');

/** `max` sends as fast as the broker takes it; a multiplier paces by exchange time (1 = real time). */
export type Speed = { kind: 'max' } | { kind: 'factor'; factor: number };

export function parseSpeed(text: string): Speed {
  if (text === 'max') return { kind: 'max' };
  const match = /^(\d+(?:\.\d+)?)x$/.exec(text);
  if (match && Number(match[1]) > 0) return { kind: 'factor', factor: Number(match[1]) };
  throw new TickflowError(
    'USAGE',
    `--speed '${text}' is not max or a multiplier such as 1x or 10x`,
    'use --speed max, --speed 1x (real time) or --speed 60x',
  );
}

export interface ReplayResult {
  /** Data lines read (the header not counted), including any an earlier replay had published. */
  lines: number;
  /** Raw records this run published. */
  published: number;
  /** Lines this run sent to the raw topic's `.dlq` twin instead (longer than `maxLineBytes`). */
  deadLetters: number;
  topic: string;
  seconds: number;
  /** The last line an interrupted earlier replay had published (this run began after it), or null. */
  resumedAfterLine: number | null;
  /** False when `signal` stopped the replay before the end of the file: its checkpoint stays for a rerun. */
  completed: boolean;
}

export interface ReplayOptions {
  file: string;
  format: string;
  speed: Speed;
  /** Progress line interval. */
  progressMs?: number;
  /** Publish from the first line even when a checkpoint says an interrupted replay got further. */
  restart?: boolean;
  /** The longest line published, in bytes without its line end; a longer one becomes a dead letter. */
  maxLineBytes?: number;
  /** The brokers `kafka` talks to, part of the checkpoint's key; default: the configured ones (endpoints()). */
  brokers?: readonly string[];
  /** Stops after publishing what was read so far; the checkpoint stays, so a rerun continues. */
  signal?: AbortSignal;
}

const BATCH = 500;
/**
 * Bytes of keys and values in one send. kafkajs puts a send's messages for one partition into one
 * record batch, and the broker refuses a batch over `message.max.bytes` (1 MiB by default).
 */
const MAX_SEND_BYTES = 1_000_000;
/**
 * Default longest line: what still fits one Kafka message (1 MiB by default) once the raw record's
 * other fields and the Avro and batch framing are added.
 */
export const DEFAULT_MAX_LINE_BYTES = 900_000;
/** How much of an over-long line its dead letter keeps. */
export const DEAD_LETTER_HEAD_BYTES = 64 * 1024;

/** The settings of a file replay as a feed (`tickflow replay`, connectors/registry.ts). */
export const FILE_REPLAY_CONFIG = {
  file: { type: 'string', default: '', description: 'the recorded file' },
  format: { type: 'string', default: '', choices: formatNames(), description: 'the file format' },
  speed: { type: 'string', default: 'max', description: 'max, or pace by exchange time: 1x, 10x, ...' },
  restart: {
    type: 'boolean',
    default: false,
    description: 'publish from the first line, ignoring the checkpoint of an interrupted replay of the file',
  },
  maxLineBytes: {
    type: 'number',
    default: DEFAULT_MAX_LINE_BYTES,
    integer: true,
    min: 1,
    description: "longest line published; longer lines go to the raw topic's .dlq",
  },
} as const satisfies ConfigSchema;

/** A raw record ready to publish, with what pacing needs. */
export interface RawOut {
  readonly key: string | null;
  readonly tsEvent: number;
  readonly raw: RawRecord;
}

/** What a source could not publish as a raw record (a line too long for Kafka): a dead letter for the `.dlq` twin. */
export interface DeadLetterOut {
  readonly deadLetter: DeadLetter;
}

export type SourceOut = RawOut | DeadLetterOut;

const isDeadLetter = (item: SourceOut): item is DeadLetterOut => 'deadLetter' in item;

/**
 * Publishes raw records to `topic` in order, in batches (at most BATCH records and MAX_SEND_BYTES
 * bytes a send), paced by exchange time when `speed` is a multiplier, logging progress every
 * `progressMs` (`describe` says how far the source is). Dead letters go to the `.dlq` twin of
 * `topic` in the same sends. `onAcked` hears of the last item of each send Kafka acknowledged.
 */
export async function publishRaw(
  kafka: Kafka,
  codec: AvroCodec,
  topic: string,
  records: AsyncIterable<SourceOut> | Iterable<SourceOut>,
  options: {
    speed: Speed;
    label: string;
    progressMs?: number;
    describe?: () => string;
    signal?: AbortSignal;
    onAcked?: (last: SourceOut) => void;
    /**
     * Prefix of the physical topics (an isolated namespace, as RunnerOptions.topicPrefix); `topic` stays the catalog
     * name.
     */
    namespace?: string;
  },
): Promise<{ published: number; deadLetters: number; seconds: number }> {
  await codec.prepare([topic, dlqTopicOf(topic)]);
  const schemaDlq = dlqTopicOf(topic);
  const namespace = options.namespace ?? '';
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  const started = Date.now();
  let published = 0;
  let deadLetters = 0;
  let raws: Message[] = [];
  let dead: Message[] = [];
  let pendingBytes = 0;
  let last: SourceOut | undefined;
  let firstEvent: number | undefined;
  let lastProgress = started;
  const flush = async (): Promise<void> => {
    if (!last) return;
    const topicMessages: TopicMessages[] = [];
    if (raws.length > 0) topicMessages.push({ topic: `${namespace}${topic}`, messages: raws });
    if (dead.length > 0) topicMessages.push({ topic: `${namespace}${schemaDlq}`, messages: dead });
    await producer.sendBatch({ topicMessages, acks: -1 });
    published += raws.length;
    deadLetters += dead.length;
    const acked = last;
    raws = [];
    dead = [];
    pendingBytes = 0;
    last = undefined;
    options.onAcked?.(acked);
  };
  try {
    for await (const record of records) {
      if (options.signal?.aborted) break;
      if (!isDeadLetter(record) && options.speed.kind === 'factor' && Number.isFinite(record.tsEvent)) {
        firstEvent ??= record.tsEvent;
        const due = started + (record.tsEvent - firstEvent) / 1000 / options.speed.factor;
        const wait = due - Date.now();
        if (wait > 5) {
          await flush();
          await new Promise<void>((resolve) => {
            const done = (): void => {
              clearTimeout(timer);
              options.signal?.removeEventListener('abort', done);
              resolve();
            };
            const timer = setTimeout(done, wait);
            options.signal?.addEventListener('abort', done, { once: true });
          });
        }
      }
      const message: Message = isDeadLetter(record)
        ? { key: record.deadLetter.originalKey, value: await codec.encode(schemaDlq, record.deadLetter) }
        : { key: record.key, value: await codec.encode(topic, record.raw) };
      const bytes = (message.value as Buffer).length + (message.key ? Buffer.byteLength(message.key) : 0);
      if (last && pendingBytes + bytes > MAX_SEND_BYTES) await flush();
      (isDeadLetter(record) ? dead : raws).push(message);
      pendingBytes += bytes;
      last = record;
      if (raws.length + dead.length >= BATCH) await flush();
      if (Date.now() - lastProgress >= (options.progressMs ?? 2000)) {
        lastProgress = Date.now();
        const rate = published / ((Date.now() - started) / 1000);
        const letters = deadLetters > 0 ? `, ${deadLetters} dead letters to ${namespace}${schemaDlq}` : '';
        const where = options.describe ? ` (${options.describe()})` : '';
        log.info(`${options.label}: ${published} records published${letters}${where}, ${Math.round(rate)}/s`);
      }
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
  return { published, deadLetters, seconds: (Date.now() - started) / 1000 };
}

/** One line of a byte stream: its text, or, when it is longer than the limit, its length and first bytes. */
export type FileLine =
  | { readonly kind: 'line'; readonly lineNo: number; readonly text: string; readonly endOffset: number }
  | {
      readonly kind: 'too-long';
      readonly lineNo: number;
      readonly bytes: number;
      readonly head: Buffer;
      readonly endOffset: number;
    };

/**
 * The lines of a byte stream, split at LF; a CR before the LF is dropped; a last line without LF
 * counts, nothing after a final LF does. A line is decoded as UTF-8 only once whole, so a character
 * split across chunks stays whole. Memory stays bounded whatever the input: at most `maxLineBytes`
 * (plus one byte, a CR that may precede the LF) of a line are held; a longer line is yielded as
 * `too-long` with its length in bytes (without the line end) and its first `headBytes` bytes, the
 * rest read past. `endOffset`: bytes of the stream consumed through the end of the line.
 */
export async function* readLines(
  input: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  options: { maxLineBytes: number; headBytes?: number },
): AsyncGenerator<FileLine> {
  const max = options.maxLineBytes;
  const headBytes = options.headBytes ?? DEAD_LETTER_HEAD_BYTES;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new TickflowError('CONFIG', `maxLineBytes must be a positive integer, not ${max}`);
  }
  let parts: Buffer[] = [];
  /** Bytes in `parts`. */
  let held = 0;
  /** Bytes of the current line so far, held or not. */
  let length = 0;
  /** Set once the current line is over the limit: its first bytes; nothing more is held. */
  let head: Buffer | undefined;
  let lastByte = -1;
  let lineNo = 0;
  let offset = 0;
  const take = (piece: Buffer): void => {
    if (piece.length === 0) return;
    length += piece.length;
    lastByte = piece[piece.length - 1];
    if (head !== undefined) return;
    if (held + piece.length <= max + 1) {
      parts.push(piece);
      held += piece.length;
      return;
    }
    // A copy, so the chunks it came from are not kept alive.
    head = Buffer.concat([...parts, piece], Math.min(headBytes, held + piece.length));
    parts = [];
    held = 0;
  };
  const finish = (): FileLine => {
    lineNo += 1;
    const bytes = lastByte === 13 ? length - 1 : length;
    let line: FileLine;
    if (head === undefined && bytes <= max) {
      const whole = parts.length === 1 ? parts[0] : Buffer.concat(parts, held);
      line = { kind: 'line', lineNo, text: whole.toString('utf8', 0, bytes), endOffset: offset };
    } else {
      // The head may end in the CR of a CRLF when the line is shorter than it: never more than the line.
      const kept = head ?? Buffer.concat(parts, held);
      line = { kind: 'too-long', lineNo, bytes, head: kept.subarray(0, Math.min(headBytes, bytes)), endOffset: offset };
    }
    parts = [];
    held = 0;
    length = 0;
    head = undefined;
    lastByte = -1;
    return line;
  };
  for await (const chunk of input) {
    const buffer =
      typeof chunk === 'string'
        ? Buffer.from(chunk, 'utf8')
        : Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    while (start < buffer.length) {
      const newline = buffer.indexOf(10, start);
      if (newline === -1) {
        take(buffer.subarray(start));
        offset += buffer.length - start;
        break;
      }
      take(buffer.subarray(start, newline));
      offset += newline - start + 1;
      yield finish();
      start = newline + 1;
    }
  }
  if (length > 0) yield finish();
}

/**
 * What a replay checkpoint belongs to: this file as it is now (absolute path, size, modification
 * time), read in this format, to this topic of this cluster. Any change makes another checkpoint.
 */
export interface CheckpointKey {
  readonly file: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly format: string;
  readonly topic: string;
  readonly brokers: readonly string[];
}

/** How far an unfinished replay got: every record of lines 1..`line` was acknowledged by Kafka. */
export interface ReplayCheckpoint extends CheckpointKey {
  readonly line: number;
  readonly updatedAt: string;
  /** The process replaying it right now; absent once that replay stopped. */
  readonly pid?: number;
}

/** Whether process `pid` runs (on this machine); a process of another user counts as running. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function checkpointDir(): string {
  return path.join(tickflowHome(), 'replay');
}

function sameKey(a: CheckpointKey, b: CheckpointKey): boolean {
  const brokers = (k: CheckpointKey): string => [...k.brokers].sort().join(',');
  return (
    a.file === b.file &&
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.format === b.format &&
    a.topic === b.topic &&
    brokers(a) === brokers(b)
  );
}

/** The checkpoint file of `key`: the data file's name (to find it by eye) and a hash of the whole key. */
export function checkpointPath(key: CheckpointKey, dir = checkpointDir()): string {
  const id = createHash('sha256')
    .update(JSON.stringify([key.file, key.size, key.mtimeMs, key.format, key.topic, [...key.brokers].sort()]))
    .digest('hex')
    .slice(0, 24);
  return path.join(
    dir,
    `${path
      .basename(key.file)
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .slice(0, 80)}.${id}.json`,
  );
}

/** The checkpoint of `key`, or undefined when there is none; a TickflowError when it cannot be read. */
export function readCheckpoint(key: CheckpointKey, dir = checkpointDir()): ReplayCheckpoint | undefined {
  const file = checkpointPath(key, dir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TickflowError(
      'CONFIG',
      `cannot read the replay checkpoint ${file}: ${(error as Error).message}`,
      `fix its permissions, or pass --restart to publish ${key.file} from the top`,
    );
  }
  let checkpoint: ReplayCheckpoint | undefined;
  try {
    checkpoint = JSON.parse(text) as ReplayCheckpoint;
  } catch {
    checkpoint = undefined;
  }
  const lineOk = (c: ReplayCheckpoint): boolean => Number.isSafeInteger(c.line) && c.line >= 0;
  if (!checkpoint || !lineOk(checkpoint) || !Array.isArray(checkpoint.brokers) || !sameKey(checkpoint, key)) {
    throw new TickflowError(
      'CONFIG',
      `the replay checkpoint ${file} is damaged or belongs to another replay`,
      `pass --restart to publish ${key.file} from the top (that deletes the checkpoint), or delete ${file}`,
    );
  }
  return checkpoint;
}

/** Writes a checkpoint atomically (a temporary file renamed over it), so a crash leaves the old one or the new one. */
export function writeCheckpoint(checkpoint: ReplayCheckpoint, dir = checkpointDir()): void {
  const file = checkpointPath(checkpoint, dir);
  fs.mkdirSync(dir, { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(checkpoint, null, 2)}\n`);
  fs.renameSync(temporary, file);
}

export function deleteCheckpoint(key: CheckpointKey, dir = checkpointDir()): void {
  fs.rmSync(checkpointPath(key, dir), { force: true });
}

/** Deletes checkpoints of earlier versions of `key.file` (another size or modification time): they can never resume. */
export function deleteOutdatedCheckpoints(key: CheckpointKey, dir = checkpointDir()): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((name) => name.endsWith('.json'));
  } catch {
    return;
  }
  for (const name of names) {
    try {
      const other = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as Partial<ReplayCheckpoint>;
      const outdated = other.file === key.file && (other.size !== key.size || other.mtimeMs !== key.mtimeMs);
      if (outdated) fs.rmSync(path.join(dir, name), { force: true });
    } catch {
      /* someone else's business: leave it */
    }
  }
}

/**
 * Publishes each data line of a recorded file as a raw record, verbatim, keyed by the vendor
 * instrument. Lines are not parsed here (normalize does that, and dead-letters bad ones), so a bad
 * line is never lost; only a wrong header stops the replay, because then every line would be wrong.
 * `sequence` is the line number, so replaying a file twice yields identical records.
 *
 * A line longer than `maxLineBytes` cannot be a Kafka message: it becomes a dead letter (stage
 * `replay`, code LINE_TOO_LONG, its first 64 KiB) on the raw topic's `.dlq` twin, and the replay
 * goes on. The replay keeps a checkpoint under `${tickflowHome()}/replay/` (the last line whose
 * records Kafka acknowledged); a rerun of an interrupted replay continues after that line unless
 * `restart`, and a completed replay deletes it, so replaying a finished file again replays it whole.
 */
export async function replayFile(kafka: Kafka, codec: AvroCodec, options: ReplayOptions): Promise<ReplayResult> {
  const entry = FORMATS[options.format];
  if (!entry)
    throw new TickflowError('USAGE', `unknown format '${options.format}'`, `use --format ${formatNames().join('|')}`);
  if (!fs.existsSync(options.file))
    throw new TickflowError(
      'BAD_INPUT_FILE',
      `no file at ${options.file}`,
      'check the path (relative paths are from the current directory)',
    );
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) {
    const problem = `the longest line must be a positive number of bytes, not ${maxLineBytes}`;
    throw new TickflowError('USAGE', problem, `leave it at ${DEFAULT_MAX_LINE_BYTES}`);
  }
  const { format, source, rawTopic } = entry;
  const file = path.resolve(options.file);
  const { size, mtimeMs } = fs.statSync(file);
  const name = path.basename(file);
  const brokers = [...(options.brokers ?? endpoints().kafkaBrokers)];
  const key: CheckpointKey = { file, size, mtimeMs, format: format.name, topic: rawTopic, brokers };

  deleteOutdatedCheckpoints(key);
  let resumeAfter = 0;
  let existing: ReplayCheckpoint | undefined;
  try {
    existing = readCheckpoint(key);
  } catch (error) {
    if (!options.restart) throw error;
  }
  // Two replays of one file to one topic at once would publish lines twice (one resuming from the other's checkpoint).
  if (existing?.pid !== undefined && existing.pid !== process.pid && running(existing.pid)) {
    throw new TickflowError(
      'USAGE',
      `${name} is being replayed to ${rawTopic} by process ${existing.pid} right now`,
      `wait for it to end or stop it (a rerun continues where it stopped); if none runs, delete ${checkpointPath(key)}`,
    );
  }
  if (options.restart) {
    if (existing) log.info(`${name}: from the top (--restart); its checkpoint is deleted`);
    deleteCheckpoint(key);
  } else if (existing && existing.line > 0) {
    resumeAfter = existing.line;
    log.info(`resuming ${name} at line ${resumeAfter + 1}; --restart publishes it from the top`);
  }

  let lineNo = 0;
  let bytesRead = 0;
  let finished = false;
  let ackedLine = resumeAfter;
  const save = (line: number, pid?: number): void => {
    writeCheckpoint({ ...key, line, updatedAt: new Date().toISOString(), pid });
  };
  /** When this replay stops early: keep how far it got (not running any more), or nothing when it got nowhere. */
  const release = (): void => (ackedLine > 0 ? save(ackedLine) : deleteCheckpoint(key));
  // Marks the replay as running from the start, so a concurrent one is refused before anything is published.
  save(resumeAfter, process.pid);
  const lineOf = new WeakMap<SourceOut, number>();
  const tooLong = (line: Extract<FileLine, { kind: 'too-long' }>): DeadLetterOut => ({
    deadLetter: {
      stage: 'replay',
      errorCode: 'LINE_TOO_LONG',
      errorMessage:
        `${name}:${line.lineNo} is ${line.bytes} bytes long; a line may have at most ${maxLineBytes} bytes to fit ` +
        `a Kafka message. originalValue holds its first ${line.head.length} bytes; split or shorten the line and ` +
        'replay the file again',
      sourceTopic: rawTopic,
      sourcePartition: -1,
      sourceOffset: '-1',
      originalKey: null,
      originalValue: line.head,
      originalHeaders: { origin: `${name}:${line.lineNo}` },
      tsFailed: Date.now() * 1000,
    },
  });
  async function* records(): AsyncGenerator<SourceOut> {
    const input = fs.createReadStream(file);
    try {
      for await (const line of readLines(input, { maxLineBytes })) {
        lineNo = line.lineNo;
        bytesRead = line.endOffset;
        if (lineNo === 1 && format.header !== null) {
          const found = line.kind === 'line' ? line.text : `${line.head.toString('utf8', 0, 160)}... (${line.bytes} B)`;
          if (found !== format.header) {
            const lines = `expected: ${format.header.slice(0, 160)}\n  found:    ${found.slice(0, 160)}`;
            throw new TickflowError(
              'BAD_INPUT_FILE',
              `${name} does not start with the ${format.name} header.\n  ${lines}`,
              `check --format (one of ${formatNames().join(', ')}) or the file`,
            );
          }
          continue;
        }
        if (lineNo <= resumeAfter || (line.kind === 'line' && line.text === '')) continue;
        let item: SourceOut;
        if (line.kind === 'too-long') {
          item = tooLong(line);
        } else {
          let located: { key: string | null; tsEvent: number; tsRecv: number };
          try {
            located = format.locate(line.text, name);
          } catch {
            // Unreadable: no key and no times; normalize rejects the record with its origin.
            located = { key: null, tsEvent: Number.NaN, tsRecv: Number.NaN };
          }
          const { key: recordKey, tsEvent, tsRecv } = located;
          // The recorded receive time keeps replays deterministic; an unreadable one is left for normalize to reject.
          const raw: RawRecord = {
            source,
            format: format.name,
            tsRecv: Number.isSafeInteger(tsRecv) ? tsRecv : 0,
            origin: `${name}:${lineNo}`,
            sequence: lineNo,
            payload: line.text,
          };
          item = { key: recordKey, tsEvent, raw };
        }
        lineOf.set(item, lineNo);
        yield item;
      }
      if (lineNo === 0) {
        const fix = `pass a file with ${format.header === null ? '' : 'a header line and '}data lines`;
        throw new TickflowError('BAD_INPUT_FILE', `${name} is empty`, fix);
      }
      finished = true;
    } finally {
      input.destroy();
    }
  }
  const onAcked = (last: SourceOut): void => {
    const line = lineOf.get(last);
    if (line === undefined) return;
    ackedLine = line;
    save(line, process.pid);
  };
  let result: { published: number; deadLetters: number; seconds: number };
  try {
    result = await publishRaw(kafka, codec, rawTopic, records(), {
      speed: options.speed,
      label: name,
      progressMs: options.progressMs,
      signal: options.signal,
      onAcked,
      describe: () => `${size === 0 ? 100 : Math.min(100, (100 * bytesRead) / size).toFixed(0)}%`,
    });
  } catch (error) {
    release();
    if (ackedLine > 0) log.warn(`${name}: stopped after line ${ackedLine} (published up to there); replay to continue`);
    throw error;
  }
  const { published, deadLetters, seconds } = result;
  const plural = deadLetters === 1 ? '' : 's';
  const dlq = dlqTopicOf(rawTopic);
  const letters = deadLetters > 0 ? `, and ${deadLetters} over-long line${plural} as dead letters to ${dlq}` : '';
  if (finished) {
    deleteCheckpoint(key);
    const resumed = resumeAfter > 0 ? ` (resumed after line ${resumeAfter})` : '';
    log.info(`${name}: replayed ${published} records to ${rawTopic}${letters} in ${seconds.toFixed(1)} s${resumed}`);
  } else {
    release();
    log.info(`${name}: stopped after line ${ackedLine}: ${published} records to ${rawTopic}${letters}; replay resumes`);
  }
  return {
    lines: format.header === null ? lineNo : Math.max(0, lineNo - 1),
    published,
    deadLetters,
    topic: rawTopic,
    seconds,
    resumedAfterLine: resumeAfter > 0 ? resumeAfter : null,
    completed: finished,
  };
}

/**
 * A publisher of raw records for live feeds: each call sends its records in order (in sends of at
 * most MAX_SEND_BYTES, so a large call is not refused as one oversized batch) and resolves once
 * all are acknowledged.
 */
export async function rawPublisher(
  kafka: Kafka,
  codec: AvroCodec,
  topic: string,
): Promise<{ publish(records: RawOut[]): Promise<void>; close(): Promise<void> }> {
  await codec.prepare([topic]);
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  return {
    publish: async (records) => {
      const messages: Message[] = await Promise.all(
        records.map(async (r) => ({ key: r.key, value: await codec.encode(topic, r.raw) })),
      );
      // In order, one send at a time: the idempotent producer keeps them in that order.
      let send: Message[] = [];
      let bytes = 0;
      for (const message of messages) {
        const size = (message.value as Buffer).length + (message.key ? Buffer.byteLength(message.key) : 0);
        if (send.length > 0 && bytes + size > MAX_SEND_BYTES) {
          await producer.send({ topic, messages: send, acks: -1 });
          send = [];
          bytes = 0;
        }
        send.push(message);
        bytes += size;
      }
      if (send.length > 0) await producer.send({ topic, messages: send, acks: -1 });
    },
    close: () => producer.disconnect(),
  };
}
