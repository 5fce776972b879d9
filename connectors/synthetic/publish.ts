import fs from 'node:fs';
import type { Kafka } from 'kafkajs';
import type { RawRecord } from '../../schemas/types.generated';
import type { AvroCodec } from '../../pipelines/runtime/codec';
import type { ConfigOf, ConfigSchema } from '../../pipelines/runtime/config';
import type { RawOut, Speed } from '../file-replay/replay';
import { publishRaw } from '../file-replay/replay';
import { FORMATS } from '../formats';
import type { MarketEvent, MarketOptions } from './market';
import { MARKET_DEFAULTS, syntheticMarket } from './market';

const FORMAT = 'tickflow-ndjson';
export const SYNTHETIC_SOURCE = 'synthetic';

/** The settings of the synthetic market as a feed (`tickflow synth`, connectors/registry.ts). */
export const SYNTHETIC_CONFIG = {
  count: {
    type: 'number',
    default: 10_000,
    integer: true,
    min: 1,
    description: 'trades and quotes to generate (heartbeats come on top)',
  },
  eventsPerSecond: {
    type: 'number',
    default: MARKET_DEFAULTS.eventsPerSecond,
    integer: true,
    min: 1,
    description: 'events per second of exchange time over all instruments',
  },
  instruments: {
    type: 'number',
    default: MARKET_DEFAULTS.instruments,
    integer: true,
    min: 1,
    description: 'instruments',
  },
  seed: {
    type: 'number',
    default: MARKET_DEFAULTS.seed,
    integer: true,
    min: 1,
    description: 'the same seed gives the same stream',
  },
  faults: {
    type: 'number',
    default: 0,
    min: 0,
    max: 0.1,
    description: 'probability per event of each injected fault kind',
  },
  speed: { type: 'string', default: '1x', description: 'publish pace: 1x (real time at eventsPerSecond), Nx, or max' },
  start: {
    type: 'string',
    default: '',
    description: 'exchange time of the first event, ISO 8601 (empty: now, to the second)',
  },
  venue: {
    type: 'string',
    default: MARKET_DEFAULTS.venue,
    choices: ['SYN', 'SYN-EQ'],
    description: 'SYN is always open; SYN-EQ trades US equity hours',
  },
  prefix: {
    type: 'string',
    default: MARKET_DEFAULTS.prefix,
    description: 'symbol prefix: symbols are <prefix>0, <prefix>1, ...',
  },
} as const satisfies ConfigSchema;

export type SyntheticConfig = ConfigOf<typeof SYNTHETIC_CONFIG>;

/**
 * The market the settings describe; an empty `start` is `nowMs` to the second. Throws RangeError for a `start` that is
 * not a time.
 */
export function marketOf(config: SyntheticConfig, nowMs: number): MarketOptions {
  const startMs = config.start === '' ? Math.floor(nowMs / 1000) * 1000 : Date.parse(config.start);
  if (!Number.isFinite(startMs)) throw new RangeError(`start '${config.start}' is not an ISO 8601 time`);
  const p = config.faults;
  return {
    ...MARKET_DEFAULTS,
    seed: config.seed,
    instruments: config.instruments,
    eventsPerSecond: config.eventsPerSecond,
    venue: config.venue,
    prefix: config.prefix,
    startMicros: startMs * 1000,
    faults: { badPrint: p, nonPositive: p, crossed: p, locked: p, duplicate: p, outOfOrder: p, gap: p },
  };
}

/** The raw record of the i-th generated line: origin `synthetic:<seed>:<i>` is stable across runs. */
export function syntheticRaw(options: Pick<MarketOptions, 'seed'>, event: MarketEvent, i: number): RawRecord {
  return {
    source: SYNTHETIC_SOURCE,
    format: FORMAT,
    tsRecv: event.tsRecv,
    origin: `${SYNTHETIC_SOURCE}:${options.seed}:${i}`,
    sequence: i,
    payload: event.line,
  };
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
export async function publishMarket(
  kafka: Kafka,
  codec: AvroCodec,
  options: MarketOptions,
  count: number,
  speed: Speed,
  signal?: AbortSignal,
  namespace?: string,
): Promise<{ published: number; seconds: number; topic: string; expected: ExpectedFindings }> {
  const topic = FORMATS[FORMAT].rawTopic;
  const expected: ExpectedFindings = new Map();
  const result = await publishRaw(kafka, codec, topic, rawOf(options, count, expected), {
    speed,
    label: 'synthetic market',
    signal,
    namespace,
  });
  return { ...result, topic, expected };
}

/** Writes the synthetic market as an NDJSON file (`tickflow replay FILE --format tickflow-ndjson` publishes it). */
export function writeMarket(
  file: string,
  options: MarketOptions,
  count: number,
): { lines: number; expected: ExpectedFindings } {
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
export function redundantRaw(
  options: MarketOptions,
  count: number,
  feeds: {
    primary: string;
    backup: string;
    backupLag: number;
    stalls: readonly { fromMs: number; durationMs: number }[];
  },
): { events: MarketEvent[]; raw: { key: string; tsEvent: number; raw: RawRecord }[] } {
  const events = [...syntheticMarket(options, count)];
  const copy = (source: string, event: MarketEvent, i: number): { key: string; tsEvent: number; raw: RawRecord } => ({
    key: event.key,
    tsEvent: event.tsEvent,
    raw: {
      source,
      format: FORMAT,
      tsRecv: event.tsRecv,
      origin: `${source}:${options.seed}:${i}`,
      sequence: i,
      payload: event.line,
    },
  });
  const stalled = (event: MarketEvent): boolean =>
    feeds.stalls.some(
      (s) =>
        event.tsEvent >= options.startMicros + s.fromMs * 1000 &&
        event.tsEvent < options.startMicros + (s.fromMs + s.durationMs) * 1000,
    );
  const raw: { key: string; tsEvent: number; raw: RawRecord }[] = [];
  for (let i = 0; i < events.length + feeds.backupLag; i++) {
    if (i < events.length && !stalled(events[i])) raw.push(copy(feeds.primary, events[i], i));
    const j = i - feeds.backupLag;
    if (j >= 0) raw.push(copy(feeds.backup, events[j], j));
  }
  return { events, raw };
}
