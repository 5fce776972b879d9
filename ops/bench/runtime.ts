import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Sender } from '@questdb/nodejs-client';
import type { Kafka, Message } from 'kafkajs';
import { QuestDbSink, ensureTables } from '../../connectors/questdb/sink';
import { sql } from '../../connectors/questdb/sql';
import { TRADES } from '../../connectors/questdb/tables';
import type { TableSpec } from '../../connectors/questdb/tables';
import { marketTrades } from '../../connectors/synthetic/market';
import { tardisTrades } from '../../connectors/tardis/formats';
import { NORMALIZE_CONFIG, normalizeStage } from '../../pipelines/normalize/normalize';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { RuntimeMetrics } from '../../pipelines/runtime/metrics';
import { Runner } from '../../pipelines/runtime/runner';
import type { InputRecord } from '../../pipelines/runtime/stage';
import { parseConfig } from '../../pipelines/runtime/config';
import { dlqTopicOf } from '../../topics/catalog';
import type { RawRecord, Trade } from '../../schemas/types.generated';
import { createNamespace } from '../topics/apply';
import { endpoints, tickflowHome } from '../../pipelines/runtime/settings';
import { logger } from '../../pipelines/runtime/log';
import { questdbSenderConfig } from '../../pipelines/runtime/security';
import { changelogTopic } from '../../topics/catalog';

const log = logger('bench');

/**
 * `tickflow bench runtime`: synthetic market trades (connectors/synthetic/market.ts, as Tardis CSV lines in raw
 * records) through normalize
 * and the QuestDB sink, against baselines measured in the same run on the same messages: a raw
 * kafkajs consume-and-produce with no stage logic, and the raw QuestDB client writing the same rows.
 * Every phase runs in its own topic namespace (`bench.<id>.<phase>.`) and writes `*_bench` tables,
 * so nothing touches the real topics or tables; all of it is deleted afterwards.
 */
export interface BenchOptions {
  records: number;
  instruments: number;
  /** Records per second for the latency phase. */
  latencyRate: number;
  latencySeconds: number;
}

export interface BenchFigures {
  records: number;
  instruments: number;
  rawPassthroughPerSecond: number;
  pipelineAtLeastOncePerSecond: number;
  pipelineExactlyOncePerSecond: number;
  /** normalize alone (one Kafka hop, like the raw passthrough), exactly-once, measured inside the pipeline run. */
  normalizeExactlyOncePerSecond: number;
  sinkRowsPerSecond: number;
  rawQuestdbRowsPerSecond: number;
  cpuSecondsPer1000: { rawPassthrough: number; pipelineExactlyOnce: number };
  latencyAtRate: {
    rate: number;
    records: number;
    p50Ms: number;
    p99Ms: number;
    p999Ms: number;
    maxMs: number;
    meanPhaseMs: Record<string, Record<string, number>>;
  };
  peakRssMb: number;
  ratios: {
    pipelineVsRawPassthrough: number;
    normalizeHopVsRawPassthrough: number;
    sinkVsRawQuestdb: number;
    exactlyOnceVsAtLeastOnce: number;
  };
}

const NORMALIZE = normalizeStage(parseConfig('normalize', NORMALIZE_CONFIG, {}));
const NORMALIZE_TOPICS = [
  ...NORMALIZE.inputs,
  ...NORMALIZE.inputs.map(dlqTopicOf),
  ...NORMALIZE.outputs,
  'md.trades.v1.dlq',
  ...(NORMALIZE.stores ?? []).map((s) => changelogTopic(NORMALIZE.name, s)),
];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

class RssSampler {
  peak = 0;
  private timer?: NodeJS.Timeout;
  start(): void {
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, process.memoryUsage().rss);
    }, 100);
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/** A synthetic trade as a Tardis trades CSV line with local_timestamp `recvMicros`. */
function tardisLine(t: Trade, recvMicros: number): string {
  return [
    'bench',
    t.symbol,
    t.tsEvent,
    recvMicros,
    t.tradeId,
    t.side.toLowerCase(),
    t.price.toFixed(),
    t.size.toFixed(),
  ].join(',');
}

/** Synthetic trades as raw Tardis CSV records; `recvMicros(i)` sets local_timestamp (the latency origin). */
async function rawMessages(codec: AvroCodec, trades: Trade[], recvMicros: (i: number) => number): Promise<Message[]> {
  return Promise.all(
    trades.map(async (t, i) => {
      const raw: RawRecord = {
        source: 'bench',
        format: 'tardis-trades',
        tsRecv: recvMicros(i),
        origin: `bench:${i}`,
        sequence: i,
        payload: tardisLine(t, recvMicros(i)),
      };
      return { key: `bench:${t.symbol}`, value: await codec.encode('md.raw.tardis.v1', raw) };
    }),
  );
}

async function produceAll(kafka: Kafka, topic: string, messages: Message[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < messages.length; i += 5000)
    await producer.send({ topic, messages: messages.slice(i, i + 5000), acks: -1 });
  await producer.disconnect();
}

async function waitCount(what: string, count: () => number, target: number, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastLog = Date.now();
  while (count() < target) {
    if (Date.now() > deadline) throw new Error(`${what}: ${count()} of ${target} after ${timeoutMs / 1000} s`);
    if (Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      log.info(`${what}: ${count()} of ${target}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Raw kafkajs consume-and-produce of the same messages, no decode, no logic. */
async function rawPassthrough(
  kafka: Kafka,
  prefix: string,
  n: number,
): Promise<{ perSecond: number; cpuPer1000: number }> {
  const source = `${prefix}md.raw.tardis.v1`;
  const target = `${prefix}md.trades.v1`;
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const consumer = kafka.consumer({
    groupId: `${prefix}raw`,
    maxBytesPerPartition: 524_288,
    maxBytes: 4_194_304,
    maxWaitTimeInMs: 250,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: source, fromBeginning: true });
  let forwarded = 0;
  const cpu = process.cpuUsage();
  const started = Date.now();
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      await producer.send({
        topic: target,
        messages: batch.messages.map((m) => ({ key: m.key, value: m.value })),
        acks: -1,
      });
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() },
      ]);
      forwarded += batch.messages.length;
    },
  });
  await waitCount('raw passthrough', () => forwarded, n);
  const seconds = (Date.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await consumer.disconnect();
  await producer.disconnect();
  return { perSecond: n / seconds, cpuPer1000: ((used.user + used.system) / 1e6 / n) * 1000 };
}

async function pipeline(
  kafka: Kafka,
  codec: AvroCodec,
  prefix: string,
  n: number,
  delivery: 'exactly-once' | 'at-least-once',
  onRow?: (r: InputRecord, now: number) => void,
  metrics?: RuntimeMetrics,
): Promise<{ runners: Runner[]; rows: () => number; normalized: () => number; ready: Promise<void> }> {
  let rows = 0;
  let normalized = 0;
  const normalize = Runner.forStage(kafka, codec, NORMALIZE, {
    topicPrefix: prefix,
    delivery,
    metrics,
    onCommitted: (r) => (normalized += r.length),
  });
  const sink = Runner.forSink(kafka, codec, new QuestDbSink(['md.trades.v1'], endpoints().questdbUrl, '_bench'), {
    topicPrefix: prefix,
    metrics,
    onCommitted: (records) => {
      rows += records.length;
      if (onRow) {
        const now = Date.now();
        for (const r of records) onRow(r, now);
      }
    },
  });
  await normalize.start();
  await sink.start();
  const ready = (async () => {
    while (!normalize.isReady() || !sink.isReady()) await new Promise((resolve) => setTimeout(resolve, 50));
  })();
  void n;
  return { runners: [normalize, sink], rows: () => rows, normalized: () => normalized, ready };
}

async function pipelineThroughput(
  kafka: Kafka,
  codec: AvroCodec,
  prefix: string,
  messages: Message[],
  delivery: 'exactly-once' | 'at-least-once',
): Promise<{ perSecond: number; stagePerSecond: number; cpuPer1000: number }> {
  await produceAll(kafka, `${prefix}md.raw.tardis.v1`, messages);
  const cpu = process.cpuUsage();
  const started = Date.now();
  const p = await pipeline(kafka, codec, prefix, messages.length, delivery);
  let stageSeconds = 0;
  const stageDone = waitCount(`normalize (${delivery})`, p.normalized, messages.length).then(
    () => (stageSeconds = (Date.now() - started) / 1000),
  );
  await waitCount(`pipeline (${delivery})`, p.rows, messages.length);
  await stageDone;
  const seconds = (Date.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  for (const r of p.runners) await r.stop();
  return {
    perSecond: messages.length / seconds,
    stagePerSecond: messages.length / stageSeconds,
    cpuPer1000: ((used.user + used.system) / 1e6 / messages.length) * 1000,
  };
}

/** The sink alone over trades already on a topic, then the raw QuestDB client writing the same rows. */
async function sinkVsRaw(
  kafka: Kafka,
  codec: AvroCodec,
  prefix: string,
  trades: Trade[],
): Promise<{ sink: number; raw: number }> {
  let rows = 0;
  const sink = Runner.forSink(kafka, codec, new QuestDbSink(['md.trades.v1'], endpoints().questdbUrl, '_bench'), {
    topicPrefix: prefix,
    groupId: `${prefix}sink-only`,
    onCommitted: (r) => (rows += r.length),
  });
  const started = Date.now();
  await sink.start();
  await waitCount('sink alone', () => rows, trades.length);
  const sinkSeconds = (Date.now() - started) / 1000;
  await sink.stop();

  await ensureTables([TRADES as unknown as TableSpec<unknown>], '_rawbench');
  const url = new URL(endpoints().questdbUrl);
  const sender = await Sender.fromConfig(
    `${url.protocol === 'https:' ? 'https' : 'http'}::addr=${url.host};auto_flush=off;protocol_version=3${questdbSenderConfig(endpoints().questdbUrl)}`,
  );
  const rawStarted = Date.now();
  for (let i = 0; i < trades.length; i += 2000) {
    for (const t of trades.slice(i, i + 2000)) {
      sender.table('trades_rawbench');
      TRADES.row(sender, t);
      await sender.at(BigInt(t.tsEvent), 'us');
    }
    await sender.flush();
  }
  const rawSeconds = (Date.now() - rawStarted) / 1000;
  await sender.close();
  return { sink: trades.length / sinkSeconds, raw: trades.length / rawSeconds };
}

async function latencyAtRate(
  kafka: Kafka,
  codec: AvroCodec,
  prefix: string,
  options: BenchOptions,
): Promise<BenchFigures['latencyAtRate']> {
  const count = options.latencyRate * options.latencySeconds;
  // Exchange times at the send rate, a second before each record's intended send time (its receive
  // time below): never in the future of receipt, which normalize flags (FUTURE_TIMESTAMP).
  const startMs = Date.now() + 2500;
  const trades = marketTrades(
    {
      seed: 99,
      instruments: options.instruments,
      prefix: 'L',
      eventsPerSecond: options.latencyRate,
      startMicros: (startMs - 1000) * 1000,
    },
    count,
  );
  const latencies: number[] = [];
  const metrics = new RuntimeMetrics();
  const p = await pipeline(
    kafka,
    codec,
    prefix,
    count,
    'exactly-once',
    (r, now) => {
      latencies.push(now - (r.value as Trade).tsRecv / 1000);
    },
    metrics,
  );
  await p.ready;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  // The load generator must not be the bottleneck, and must keep the records in order (normalize
  // flags records more than a second out of order): one send at a time carries everything that
  // fell due while the previous one was in flight. Each record's receive time is its intended send
  // time, so any queueing (in the generator, the broker or the pipeline) counts as latency.
  const producer = kafka.producer({ maxInFlightRequests: 1 });
  await producer.connect();
  const start = Math.max(startMs, Date.now() + 200);
  const messages = await rawMessages(codec, trades, (i) =>
    Math.round((start + (i * 1000) / options.latencyRate) * 1000),
  );
  let due: typeof messages = [];
  let sending: Promise<void> | undefined;
  const pump = async (): Promise<void> => {
    while (due.length > 0) {
      const batch = due;
      due = [];
      await producer.send({ topic: `${prefix}md.raw.tardis.v1`, messages: batch, acks: 1 });
    }
  };
  let next = 0;
  while (next < messages.length) {
    const dueCount = Math.min(messages.length, Math.floor(((Date.now() - start) * options.latencyRate) / 1000) + 1);
    if (dueCount > next) {
      due.push(...messages.slice(next, dueCount));
      next = dueCount;
      sending ??= pump().finally(() => (sending = undefined));
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  while (sending) await sending;
  await producer.disconnect();
  await waitCount('latency phase', p.rows, count);
  for (const r of p.runners) await r.stop();
  latencies.sort((a, b) => a - b);
  return {
    rate: options.latencyRate,
    records: count,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    p999Ms: percentile(latencies, 99.9),
    maxMs: latencies[latencies.length - 1],
    meanPhaseMs: await meanPhases(metrics),
  };
}

/** Mean milliseconds per batch phase (and per fetch), per stage: where a record's latency goes. */
async function meanPhases(metrics: RuntimeMetrics): Promise<Record<string, Record<string, number>>> {
  const sums = new Map<string, { sum: number; count: number }>();
  const add = (stage: string, phase: string, kind: string, value: number): void => {
    const k = `${stage}\u0000${phase}`;
    const entry = sums.get(k) ?? { sum: 0, count: 0 };
    if (kind.endsWith('_sum')) entry.sum = value;
    if (kind.endsWith('_count')) entry.count = value;
    sums.set(k, entry);
  };
  for (const v of (await metrics.phaseSeconds.get()).values)
    add(String(v.labels.stage), String(v.labels.phase), v.metricName ?? '', v.value);
  for (const v of (await metrics.fetchSeconds.get()).values)
    add(String(v.labels.stage), 'fetch', v.metricName ?? '', v.value);
  const result: Record<string, Record<string, number>> = {};
  for (const [k, { sum, count }] of sums) {
    if (count === 0) continue;
    const [stage, phase] = k.split('\u0000');
    (result[stage] ??= {})[phase] = Number(((sum / count) * 1000).toFixed(2));
  }
  return result;
}

export async function benchRuntime(kafka: Kafka, options: BenchOptions): Promise<BenchFigures> {
  const codec = new AvroCodec();
  const admin = kafka.admin();
  await admin.connect();
  const brokers = (await admin.describeCluster()).brokers.length;
  const id = randomBytes(3).toString('hex');
  const prefixes = {
    raw: `bench.${id}.raw.`,
    alo: `bench.${id}.alo.`,
    eos: `bench.${id}.eos.`,
    latency: `bench.${id}.latency.`,
  };
  const created: string[] = [];
  const rss = new RssSampler();
  rss.start();
  try {
    for (const prefix of Object.values(prefixes))
      created.push(...(await createNamespace(admin, prefix, NORMALIZE_TOPICS, brokers)));
    await ensureTables([TRADES as unknown as TableSpec<unknown>], '_bench');
    // A recorded past, as a replay: exchange and receive times end a minute before now (1,000 events/s
    // of exchange time), so normalize's FUTURE_TIMESTAMP rule never applies.
    const trades = marketTrades(
      {
        seed: 1,
        instruments: options.instruments,
        prefix: 'B',
        startMicros: (Date.now() - (options.records / 1000) * 1000 - 60_000) * 1000,
      },
      options.records,
    );
    const messages = await rawMessages(codec, trades, (i) => trades[i].tsRecv);
    log.info(`bench ${id}: ${options.records} records over ${options.instruments} instruments`);

    await produceAll(kafka, `${prefixes.raw}md.raw.tardis.v1`, messages);
    const raw = await rawPassthrough(kafka, prefixes.raw, messages.length);
    log.info(`raw kafkajs passthrough: ${Math.round(raw.perSecond)} records/s`);
    const alo = await pipelineThroughput(kafka, codec, prefixes.alo, messages, 'at-least-once');
    log.info(`pipeline at-least-once: ${Math.round(alo.perSecond)} records/s`);
    const eos = await pipelineThroughput(kafka, codec, prefixes.eos, messages, 'exactly-once');
    log.info(`pipeline exactly-once: ${Math.round(eos.perSecond)} records/s`);
    const normalized = trades.map(
      (t) =>
        tardisTrades.parse({
          source: 'bench',
          format: 'tardis-trades',
          tsRecv: t.tsRecv,
          origin: '',
          sequence: 0,
          payload: tardisLine(t, t.tsRecv),
        }) as Trade,
    );
    const sink = await sinkVsRaw(kafka, codec, prefixes.eos, normalized);
    log.info(`sink ${Math.round(sink.sink)} rows/s, raw QuestDB client ${Math.round(sink.raw)} rows/s`);
    const latency = await latencyAtRate(kafka, codec, prefixes.latency, options);
    log.info(`latency at ${options.latencyRate}/s: p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms`);
    return {
      records: options.records,
      instruments: options.instruments,
      rawPassthroughPerSecond: raw.perSecond,
      pipelineAtLeastOncePerSecond: alo.perSecond,
      pipelineExactlyOncePerSecond: eos.perSecond,
      normalizeExactlyOncePerSecond: eos.stagePerSecond,
      sinkRowsPerSecond: sink.sink,
      rawQuestdbRowsPerSecond: sink.raw,
      cpuSecondsPer1000: { rawPassthrough: raw.cpuPer1000, pipelineExactlyOnce: eos.cpuPer1000 },
      latencyAtRate: latency,
      peakRssMb: rss.peak / 1024 / 1024,
      ratios: {
        pipelineVsRawPassthrough: eos.perSecond / raw.perSecond,
        normalizeHopVsRawPassthrough: eos.stagePerSecond / raw.perSecond,
        sinkVsRawQuestdb: sink.sink / sink.raw,
        exactlyOnceVsAtLeastOnce: eos.perSecond / alo.perSecond,
      },
    };
  } finally {
    rss.stop();
    await admin
      .deleteTopics({ topics: created })
      .catch((error: Error) => log.warn(`could not delete bench topics: ${error.message}`));
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.includes(`bench.${id}.`));
    if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
    await admin.disconnect();
    for (const table of ['trades_bench', 'trades_rawbench'])
      await sql(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export function formatFigures(runs: BenchFigures[]): string {
  const m = (f: (b: BenchFigures) => number): number => median(runs.map(f));
  const lines = [
    `tickflow bench runtime: ${runs[0].records} records, ${runs[0].instruments} instruments, ${runs.length} run(s); medians:`,
    `  raw kafkajs passthrough        ${Math.round(m((b) => b.rawPassthroughPerSecond))} records/s   (${m((b) => b.cpuSecondsPer1000.rawPassthrough).toFixed(3)} CPU s per 1,000)`,
    `  pipeline, at-least-once        ${Math.round(m((b) => b.pipelineAtLeastOncePerSecond))} records/s`,
    `  pipeline, exactly-once         ${Math.round(m((b) => b.pipelineExactlyOncePerSecond))} records/s   (${m((b) => b.cpuSecondsPer1000.pipelineExactlyOnce).toFixed(3)} CPU s per 1,000)`,
    `  normalize hop alone (in it)    ${Math.round(m((b) => b.normalizeExactlyOncePerSecond))} records/s   (one Kafka hop, like the passthrough)`,
    `  QuestDB sink alone             ${Math.round(m((b) => b.sinkRowsPerSecond))} rows/s`,
    `  raw QuestDB client             ${Math.round(m((b) => b.rawQuestdbRowsPerSecond))} rows/s`,
    `  end-to-end latency at ${runs[0].latencyAtRate.rate}/s (intended send -> QuestDB ack): p50 ${m((b) => b.latencyAtRate.p50Ms).toFixed(0)} ms, p99 ${m((b) => b.latencyAtRate.p99Ms).toFixed(0)} ms, p99.9 ${m((b) => b.latencyAtRate.p999Ms).toFixed(0)} ms`,
    ...Object.entries(runs[Math.floor(runs.length / 2)].latencyAtRate.meanPhaseMs ?? {}).map(
      ([stage, phases]) =>
        `    mean ms per batch phase, ${stage}: ${Object.entries(phases)
          .map(([p, ms]) => `${p} ${ms}`)
          .join(', ')}`,
    ),
    `  peak RSS                       ${m((b) => b.peakRssMb).toFixed(0)} MB`,
    'ratios (each measured within one run, then the median):',
    `  pipeline / raw passthrough     ${m((b) => b.ratios.pipelineVsRawPassthrough).toFixed(2)}   (target >= 0.5; two hops plus QuestDB against one hop)`,
    `  normalize hop / passthrough    ${m((b) => b.ratios.normalizeHopVsRawPassthrough).toFixed(2)}`,
    `  sink / raw QuestDB client      ${m((b) => b.ratios.sinkVsRawQuestdb).toFixed(2)}   (target >= 0.7)`,
    `  exactly-once / at-least-once   ${m((b) => b.ratios.exactlyOnceVsAtLeastOnce).toFixed(2)}   (target >= 0.8)`,
  ];
  return lines.join('\n');
}

export function writeFigures(runs: BenchFigures[]): string {
  const dir = path.join(tickflowHome(), 'bench');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `runtime-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify({ runs, when: new Date().toISOString() }, null, 2)}\n`);
  return file;
}
