import fs from 'node:fs';
import type { Kafka } from 'kafkajs';
import type { RawRecord } from '../../schemas/types.generated';
import type { AvroCodec } from '../../pipelines/runtime/codec';
import type { RawOut, Speed } from '../file-replay/replay';
import { publishRaw } from '../file-replay/replay';
import { FORMATS } from '../formats';
import type { MarketEvent, MarketOptions } from './market';
import { syntheticMarket } from './market';

const FORMAT = 'tickflow-ndjson';
export const SYNTHETIC_SOURCE = 'synthetic';

/** The raw record of the i-th generated line: origin `synthetic:<seed>:<i>` is stable across runs. */
export function syntheticRaw(options: Pick<MarketOptions, 'seed'>, event: MarketEvent, i: number): RawRecord {
  return { source: SYNTHETIC_SOURCE, format: FORMAT, tsRecv: event.tsRecv, origin: `${SYNTHETIC_SOURCE}:${options.seed}:${i}`, sequence: i, payload: event.line };
}

/** Counts of the findings the generated stream must cause, by rule. */
export type ExpectedFindings = Map<string, number>;

function* rawOf(options: MarketOptions, count: number, expected: ExpectedFindings): Generator<RawOut> {
  let i = 0;
  for (const event of syntheticMarket(options, count)) {
    for (const rule of event.expected) expected.set(rule, (expected.get(rule) ?? 0) + 1);
    yield { key: event.key, tsEvent: event.tsEvent, raw: syntheticRaw(options, event, i) };
    i += 1;
  }
}

/** Publishes the synthetic market to md.raw.tickflow.v1 (paced by exchange time unless `max`). */
export async function publishMarket(kafka: Kafka, codec: AvroCodec, options: MarketOptions, count: number, speed: Speed, signal?: AbortSignal, namespace?: string): Promise<{ published: number; seconds: number; topic: string; expected: ExpectedFindings }> {
  const topic = FORMATS[FORMAT].rawTopic;
  const expected: ExpectedFindings = new Map();
  const result = await publishRaw(kafka, codec, topic, rawOf(options, count, expected), { speed, label: 'synthetic market', signal, namespace });
  return { ...result, topic, expected };
}

/** Writes the synthetic market as an NDJSON file (`tickflow replay FILE --format tickflow-ndjson` publishes it). */
export function writeMarket(file: string, options: MarketOptions, count: number): { lines: number; expected: ExpectedFindings } {
  const expected: ExpectedFindings = new Map();
  const fd = fs.openSync(file, 'w');
  let lines = 0;
  try {
    let chunk: string[] = [];
    for (const { raw } of rawOf(options, count, expected)) {
      chunk.push(raw.payload);
      lines += 1;
      if (chunk.length >= 5000) {
        fs.writeSync(fd, `${chunk.join('\n')}\n`);
        chunk = [];
      }
    }
    if (chunk.length > 0) fs.writeSync(fd, `${chunk.join('\n')}\n`);
  } finally {
    fs.closeSync(fd);
  }
  return { lines, expected };
}

/**
 * One generated stream as two redundant feeds of the same instruments, `primary` and `backup`, for
 * arbitration: every event in both (sources and origins differ), the backup `backupLag` events
 * behind, the primary silent (no records, no heartbeats) in its `stalls` (exchange time from the start).
 */
export function redundantRaw(options: MarketOptions, count: number, feeds: { primary: string; backup: string; backupLag: number; stalls: readonly { fromMs: number; durationMs: number }[] }): { events: MarketEvent[]; raw: { key: string; tsEvent: number; raw: RawRecord }[] } {
  const events = [...syntheticMarket(options, count)];
  const copy = (source: string, event: MarketEvent, i: number): { key: string; tsEvent: number; raw: RawRecord } => ({
    key: event.key,
    tsEvent: event.tsEvent,
    raw: { source, format: FORMAT, tsRecv: event.tsRecv, origin: `${source}:${options.seed}:${i}`, sequence: i, payload: event.line },
  });
  const stalled = (event: MarketEvent): boolean => feeds.stalls.some((s) => event.tsEvent >= options.startMicros + s.fromMs * 1000 && event.tsEvent < options.startMicros + (s.fromMs + s.durationMs) * 1000);
  const raw: { key: string; tsEvent: number; raw: RawRecord }[] = [];
  for (let i = 0; i < events.length + feeds.backupLag; i++) {
    if (i < events.length && !stalled(events[i])) raw.push(copy(feeds.primary, events[i], i));
    const j = i - feeds.backupLag;
    if (j >= 0) raw.push(copy(feeds.backup, events[j], j));
  }
  return { events, raw };
}
