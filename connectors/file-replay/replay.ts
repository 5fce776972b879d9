import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Kafka, Message, Producer } from 'kafkajs';
import type { RawRecord } from '../../schemas/types.generated';
import { TickflowError } from '../../ops/errors';
import { logger } from '../../ops/log';
import type { AvroCodec } from '../../pipelines/runtime/codec';
import { FORMATS, formatNames } from '../registry';

const log = logger('replay');

/** `max` sends as fast as the broker takes it; a multiplier paces by exchange time (1 = real time). */
export type Speed = { kind: 'max' } | { kind: 'factor'; factor: number };

export function parseSpeed(text: string): Speed {
  if (text === 'max') return { kind: 'max' };
  const match = /^(\d+(?:\.\d+)?)x$/.exec(text);
  if (match && Number(match[1]) > 0) return { kind: 'factor', factor: Number(match[1]) };
  throw new TickflowError('USAGE', `--speed '${text}' is not max or a multiplier such as 1x or 10x`, 'use --speed max, --speed 1x (real time) or --speed 60x');
}

export interface ReplayResult {
  lines: number;
  published: number;
  topic: string;
  seconds: number;
}

export interface ReplayOptions {
  file: string;
  format: string;
  speed: Speed;
  /** Progress line interval. */
  progressMs?: number;
}

const BATCH = 500;

/** A raw record ready to publish, with what pacing needs. */
export interface RawOut {
  readonly key: string | null;
  readonly tsEvent: number;
  readonly raw: RawRecord;
}

/**
 * Publishes raw records to `topic` in order, in batches, paced by exchange time when `speed` is a
 * multiplier, logging progress every `progressMs` (`describe` says how far the source is).
 */
export async function publishRaw(kafka: Kafka, codec: AvroCodec, topic: string, records: AsyncIterable<RawOut> | Iterable<RawOut>, options: { speed: Speed; label: string; progressMs?: number; describe?: () => string; signal?: AbortSignal }): Promise<{ published: number; seconds: number }> {
  await codec.prepare([topic]);
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const started = Date.now();
  let published = 0;
  let pending: Message[] = [];
  let firstEvent: number | undefined;
  let lastProgress = started;
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    await producer.send({ topic, messages: pending, acks: -1 });
    published += pending.length;
    pending = [];
  };
  try {
    for await (const record of records) {
      if (options.signal?.aborted) break;
      if (options.speed.kind === 'factor' && Number.isFinite(record.tsEvent)) {
        firstEvent ??= record.tsEvent;
        const due = started + (record.tsEvent - firstEvent) / 1000 / options.speed.factor;
        const wait = due - Date.now();
        if (wait > 5) {
          await flush();
          await new Promise((resolve) => {
            const timer = setTimeout(resolve, wait);
            options.signal?.addEventListener('abort', () => (clearTimeout(timer), resolve(undefined)), { once: true });
          });
        }
      }
      pending.push({ key: record.key, value: await codec.encode(topic, record.raw) });
      if (pending.length >= BATCH) await flush();
      if (Date.now() - lastProgress >= (options.progressMs ?? 2000)) {
        lastProgress = Date.now();
        const rate = published / ((Date.now() - started) / 1000);
        log.info(`${options.label}: ${published} records published${options.describe ? ` (${options.describe()})` : ''}, ${Math.round(rate)}/s`);
      }
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
  return { published, seconds: (Date.now() - started) / 1000 };
}

/**
 * Publishes each data line of a recorded file as a raw record, verbatim, keyed by the vendor
 * instrument. Lines are not parsed here (normalize does that, and dead-letters bad ones), so a bad
 * line is never lost; only a wrong header stops the replay, because then every line would be wrong.
 * `sequence` is the line number, so replaying a file twice yields identical records.
 */
export async function replayFile(kafka: Kafka, codec: AvroCodec, options: ReplayOptions): Promise<ReplayResult> {
  const entry = FORMATS[options.format];
  if (!entry) throw new TickflowError('USAGE', `unknown format '${options.format}'`, `use --format ${formatNames().join('|')}`);
  if (!fs.existsSync(options.file)) throw new TickflowError('BAD_INPUT_FILE', `no file at ${options.file}`, 'check the path (relative paths are from the current directory)');
  const { format, source, rawTopic } = entry;
  const size = fs.statSync(options.file).size;
  const name = path.basename(options.file);
  let lineNo = 0;
  let bytesRead = 0;
  async function* records(): AsyncGenerator<RawOut> {
    const lines = readline.createInterface({ input: fs.createReadStream(options.file, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const rawLine of lines) {
      lineNo += 1;
      bytesRead += Buffer.byteLength(rawLine) + 1;
      const line = rawLine.replace(/\r$/, '');
      if (lineNo === 1 && format.header !== null) {
        if (line !== format.header) {
          throw new TickflowError('BAD_INPUT_FILE', `${name} does not start with the ${format.name} header.\n  expected: ${format.header.slice(0, 160)}\n  found:    ${line.slice(0, 160)}`, `check --format (one of ${formatNames().join(', ')}) or the file`);
        }
        continue;
      }
      if (line === '') continue;
      const { key, tsEvent, tsRecv } = format.locate(line, name);
      // The recorded receive time keeps replays deterministic; an unreadable one is left for normalize to reject.
      yield { key, tsEvent, raw: { source, format: format.name, tsRecv: Number.isSafeInteger(tsRecv) ? tsRecv : 0, origin: `${name}:${lineNo}`, sequence: lineNo, payload: line } };
    }
    if (lineNo === 0) throw new TickflowError('BAD_INPUT_FILE', `${name} is empty`, format.header === null ? 'pass a file with data lines' : 'pass a file with a header line and data lines');
  }
  const { published, seconds } = await publishRaw(kafka, codec, rawTopic, records(), { speed: options.speed, label: name, progressMs: options.progressMs, describe: () => `${Math.min(100, (100 * bytesRead) / size).toFixed(0)}%` });
  log.info(`${name}: replayed ${published} records to ${rawTopic} in ${seconds.toFixed(1)} s`);
  return { lines: format.header === null ? lineNo : lineNo - 1, published, topic: rawTopic, seconds };
}

/** A publisher of raw records for live feeds: each call sends its records in order and resolves once acknowledged. */
export async function rawPublisher(kafka: Kafka, codec: AvroCodec, topic: string): Promise<{ publish(records: RawOut[]): Promise<void>; close(): Promise<void> }> {
  await codec.prepare([topic]);
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  return {
    publish: async (records) => {
      const messages: Message[] = await Promise.all(records.map(async (r) => ({ key: r.key, value: await codec.encode(topic, r.raw) })));
      await producer.send({ topic, messages, acks: -1 });
    },
    close: () => producer.disconnect(),
  };
}
