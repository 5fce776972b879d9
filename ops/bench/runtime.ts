import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Sender } from '@questdb/nodejs-client';
import type { Kafka, Message, Producer } from 'kafkajs';
import { TRANSACTIONAL_RETRY } from '../../pipelines/runtime/transactions';
import { QuestDbSink, ensureTables } from '../../connectors/questdb/sink';
import { sql } from '../../connectors/questdb/sql';
import { TRADES, tableForTopic } from '../../connectors/questdb/tables';
import type { TableSpec } from '../../connectors/questdb/tables';
import { marketTrades } from '../../connectors/synthetic/market';
import { tardisTrades } from '../../connectors/tardis/formats';
import { NORMALIZE_CONFIG, normalizeStage } from '../../pipelines/normalize/normalize';
import { AGGREGATE_CONFIG, aggregateStage } from '../../pipelines/aggregate/aggregate';
import { SCORE_CONFIG, scoreStage } from '../../pipelines/score/score';
import { VALIDATE_CONFIG, validateStage } from '../../pipelines/validate/validate';
import type { Stage } from '../../pipelines/runtime/stage';
import { buildPeer, startPeer } from './peer';
import { processCpuSeconds } from './proc';
import type { PeerEvent } from './peer';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { RuntimeMetrics } from '../../pipelines/runtime/metrics';
import { Runner } from '../../pipelines/runtime/runner';
import type { InputRecord } from '../../pipelines/runtime/stage';
import { parseConfig } from '../../pipelines/runtime/config';
import { dlqTopicOf } from '../../topics/catalog';
import type { RawRecord, Trade } from '../../schemas/types.generated';
import { createNamespace } from '../topics/apply';
import { REPO_ROOT, endpoints, tickflowHome } from '../../pipelines/runtime/settings';
import { logger, readableLog } from '../../pipelines/runtime/log';
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
  /** false: skip the Kafka Streams comparison (no Java 17 or Maven here). */
  peer?: boolean;
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
  /** Raw kafkajs consume -> produce, a transaction per batch carrying the offsets: an exactly-once hop's floor. */
  rawExactlyOncePassthroughPerSecond: number;
  /** normalize, aggregate -> score -> validate (fused), the sink (trades, bars, signals): trades/s through all. */
  wholePipelinePerSecond: number;
  /** The same work in tickflow and in Kafka Streams (ops/bench/peer): normalize -> 1-minute bars, exactly-once. */
  peer?: {
    /** normalize and aggregate as two `tickflow run` processes, as a deployment scales them out. */
    tickflowProcessesPerSecond: number;
    tickflowProcessesCpuPer1000: number;
    tickflowPerSecond: number;
    kafkaStreamsPerSecond: number;
    tickflowCpuPer1000: number;
    kafkaStreamsCpuPer1000: number;
    kafkaStreamsPeakRssMb: number;
  };
  cpuSecondsPer1000: { rawPassthrough: number; pipelineExactlyOnce: number; wholePipeline: number };
  latencyAtRate: {
    rate: number;
    records: number;
    p50Ms: number;
    p99Ms: number;
    p999Ms: number;
    maxMs: number;
    /**
     * Intended send -> the fused aggregate -> score -> validate transaction that took the trade
     * committed (any signal it caused is then readable).
     */
    toSignal: { p50Ms: number; p99Ms: number; p999Ms: number };
    meanPhaseMs: Record<string, Record<string, number>>;
  };
  peakRssMb: number;
  ratios: {
    pipelineVsRawPassthrough: number;
    normalizeHopVsRawPassthrough: number;
    normalizeHopVsRawExactlyOnce: number;
    sinkVsRawQuestdb: number;
    tickflowVsKafkaStreams?: number;
    tickflowProcessesVsKafkaStreams?: number;
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

/** Stages of the signal chain, as `tickflow run` fuses them; intervals as configured by default. */
function chainStages(intervals?: string): Stage[] {
  return [
    aggregateStage(parseConfig('aggregate', AGGREGATE_CONFIG, intervals ? { intervals } : {})),
    scoreStage(parseConfig('score', SCORE_CONFIG, {})),
    validateStage(parseConfig('validate', VALIDATE_CONFIG, {})),
  ] as Stage[];
}

/** Every topic the stages (and a sink of `sinkTopics`) read, write, dead-letter to or keep state in. */
function topicsOf(stages: readonly Stage[], sinkTopics: readonly string[] = []): string[] {
  const topics = stages.flatMap((s) => [
    ...s.inputs,
    ...s.inputs.map(dlqTopicOf),
    ...s.outputs,
    ...(s.stores ?? []).map((store) => changelogTopic(s.name, store)),
  ]);
  return [...new Set([...topics, ...sinkTopics, ...sinkTopics.map(dlqTopicOf)])];
}

const CHAIN_SINK_TOPICS = ['md.trades.v1', 'md.bars.v1', 'signals.v1', 'signals.rejected.v1'];
const WHOLE_TOPICS = [...new Set([...NORMALIZE_TOPICS, ...topicsOf(chainStages(), CHAIN_SINK_TOPICS)])];

export function percentile(sorted: readonly number[], p: number): number {
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

/**
 * Raw kafkajs consume -> produce, exactly-once: per partition a transactional producer, and per
 * batch one transaction with the records and the consumed offset; no decode, no logic. What a
 * stage's hop costs at least.
 */
async function rawExactlyOncePassthrough(
  kafka: Kafka,
  prefix: string,
  n: number,
): Promise<{ perSecond: number; cpuPer1000: number }> {
  const source = `${prefix}md.raw.tardis.v1`;
  const target = `${prefix}md.trades.v1`;
  const groupId = `${prefix}raw-eos`;
  const producers = new Map<number, Promise<Producer>>();
  const producerOf = (partition: number): Promise<Producer> => {
    let producer = producers.get(partition);
    if (!producer) {
      const created = kafka.producer({
        transactionalId: `${prefix}raw-eos-${partition}`,
        idempotent: true,
        maxInFlightRequests: 1,
        retry: TRANSACTIONAL_RETRY,
      });
      producer = created.connect().then(() => created);
      producers.set(partition, producer);
    }
    return producer;
  };
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
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
    partitionsConsumedConcurrently: 8,
    eachBatch: async ({ batch }) => {
      const transaction = await (await producerOf(batch.partition)).transaction();
      try {
        await transaction.send({
          topic: target,
          messages: batch.messages.map((m) => ({ key: m.key, value: m.value })),
          acks: -1,
        });
        await transaction.sendOffsets({
          consumerGroupId: groupId,
          topics: [
            {
              topic: batch.topic,
              partitions: [{ partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() }],
            },
          ],
        });
        await transaction.commit();
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
      forwarded += batch.messages.length;
    },
  });
  await waitCount('raw exactly-once passthrough', () => forwarded, n);
  const seconds = (Date.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await consumer.disconnect();
  for (const producer of producers.values()) await (await producer).disconnect();
  return { perSecond: n / seconds, cpuPer1000: ((used.user + used.system) / 1e6 / n) * 1000 };
}

/**
 * The whole signal path over pre-loaded raw trades: normalize, the fused aggregate -> score ->
 * validate chain and the sink of trades, bars and signals, exactly-once; timed from every runner
 * being ready until the chain and the sink both took every trade.
 */
async function wholePipeline(
  kafka: Kafka,
  codec: AvroCodec,
  prefix: string,
  messages: Message[],
): Promise<{ perSecond: number; cpuPer1000: number }> {
  await produceAll(kafka, `${prefix}md.raw.tardis.v1`, messages);
  let chained = 0;
  let rows = 0;
  const options = { topicPrefix: prefix };
  const runners = [
    Runner.forStage(kafka, codec, NORMALIZE, options),
    Runner.forChain(kafka, codec, chainStages(), { ...options, onCommitted: (r) => (chained += r.length) }),
    Runner.forSink(kafka, codec, new QuestDbSink(CHAIN_SINK_TOPICS, endpoints().questdbUrl, '_bench'), {
      ...options,
      onCommitted: (r) => (rows += r.filter((x) => x.topic === 'md.trades.v1').length),
    }),
  ];
  const cpu = process.cpuUsage();
  for (const r of runners) await r.start();
  while (!runners.every((r) => r.isReady())) await new Promise((resolve) => setTimeout(resolve, 20));
  const started = Date.now();
  await waitCount('whole pipeline (chain)', () => chained, messages.length);
  await waitCount('whole pipeline (sink)', () => rows, messages.length);
  const seconds = (Date.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  for (const r of runners) await r.stop();
  return {
    perSecond: messages.length / seconds,
    cpuPer1000: ((used.user + used.system) / 1e6 / messages.length) * 1000,
  };
}

const CLI = path.join(REPO_ROOT, 'dist', 'ops', 'cli', 'main.js');

/**
 * normalize and aggregate (1-minute bars) as two `tickflow run` processes, one per stage, as a
 * deployment scales out: started and ready (every partition fenced and restored, `/readyz`) before
 * the messages are produced; timed from the first message produced until aggregate's group has
 * committed the whole of its input.
 */
async function tickflowProcesses(
  kafka: Kafka,
  prefix: string,
  messages: Message[],
): Promise<{ perSecond: number; cpuPer1000: number }> {
  const logFile = path.join(tickflowHome(), 'bench', `runtime-processes-${Date.now()}.log`);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const children = ['normalize', 'aggregate'].map((stage) => {
    const out = fs.openSync(logFile, 'a');
    const child = spawn(
      process.execPath,
      [
        CLI,
        'run',
        '--stages',
        stage,
        '--namespace',
        prefix,
        '--metrics-port',
        '0',
        ...(stage === 'aggregate' ? ['--set', 'aggregate.intervals=1m'] : []),
      ],
      { stdio: ['ignore', out, out], env: { ...process.env, TICKFLOW_LOG_FORMAT: 'json' } },
    );
    fs.closeSync(out);
    return child;
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ready = async (): Promise<boolean> => {
      const ports = [
        ...readableLog(fs.readFileSync(logFile, 'utf8')).matchAll(/metrics on http:\/\/127\.0\.0\.1:(\d+)\//g),
      ];
      if (ports.length < 2) return false;
      const answers = await Promise.all(
        ports.map((m) =>
          fetch(`http://127.0.0.1:${m[1]}/readyz`).then(
            (r) => r.ok,
            () => false,
          ),
        ),
      );
      return answers.every(Boolean);
    };
    const deadline = Date.now() + 120_000;
    while (!(await ready())) {
      if (children.some((c) => c.exitCode !== null) || Date.now() > deadline)
        throw new Error(`the tickflow run processes did not get ready; see ${logFile}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const cpuBefore = children.map((c) => processCpuSeconds(c.pid as number));
    const started = Date.now();
    await produceAll(kafka, `${prefix}md.raw.tardis.v1`, messages);
    const trades = `${prefix}md.trades.v1`;
    const done = async (): Promise<number> => {
      const highs = await admin.fetchTopicOffsets(trades);
      const committed = (await admin.fetchOffsets({ groupId: `tickflow.${prefix}aggregate`, topics: [trades] }))[0];
      let behind = 0;
      for (const { partition, high } of highs) {
        const at = committed?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
        behind += Math.max(0, Number(high) - Math.max(0, Number(at)));
      }
      return behind;
    };
    // Done when normalize wrote every trade and aggregate committed past all of them (a commit
    // marker may follow the last record: within one offset of the end counts as the end).
    let lastLog = Date.now();
    for (;;) {
      const highs = await admin.fetchTopicOffsets(trades);
      const written = highs.reduce((n, h) => n + Number(h.high), 0);
      const behind = await done();
      if (written >= messages.length && behind <= highs.length) break;
      if (Date.now() - started > 600_000) throw new Error(`tickflow processes: ${behind} trades behind after 600 s`);
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        log.info(`tickflow processes: ${written} trades written, aggregate ${behind} behind`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seconds = (Date.now() - started) / 1000;
    const cpu = children.reduce((sum, c, i) => sum + processCpuSeconds(c.pid as number) - cpuBefore[i], 0);
    return { perSecond: messages.length / seconds, cpuPer1000: (cpu / messages.length) * 1000 };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
    await admin.disconnect();
  }
}

/**
 * tickflow and Kafka Streams doing the same work on the same messages, one after the other:
 * normalize (Tardis trades) and 1-minute bars, exactly-once, no sink. Each is timed from running
 * (tickflow: every partition fenced and restored; Kafka Streams: RUNNING) to the last trade taken
 * by the bar stage; CPU is the process's over that span (the peer's own count, without JVM start).
 */
async function versusKafkaStreams(
  kafka: Kafka,
  codec: AvroCodec,
  prefixes: { tickflow: string; peer: string; processes: string },
  messages: Message[],
): Promise<NonNullable<BenchFigures['peer']>> {
  await produceAll(kafka, `${prefixes.tickflow}md.raw.tardis.v1`, messages);
  let aggregated = 0;
  const aggregate = aggregateStage(parseConfig('aggregate', AGGREGATE_CONFIG, { intervals: '1m' })) as Stage;
  const runners = [
    Runner.forStage(kafka, codec, NORMALIZE, { topicPrefix: prefixes.tickflow }),
    Runner.forStage(kafka, codec, aggregate, {
      topicPrefix: prefixes.tickflow,
      onCommitted: (r) => (aggregated += r.filter((x) => x.topic === 'md.trades.v1').length),
    }),
  ];
  for (const r of runners) await r.start();
  while (!runners.every((r) => r.isReady())) await new Promise((resolve) => setTimeout(resolve, 20));
  const cpu = process.cpuUsage();
  const started = Date.now();
  await waitCount('tickflow normalize -> aggregate', () => aggregated, messages.length);
  const tickflowSeconds = (Date.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  for (const r of runners) await r.stop();

  await buildPeer();
  await produceAll(kafka, `${prefixes.peer}md.raw.tardis.v1`, messages);
  let progress: PeerEvent | undefined;
  const peer = startPeer({
    input: `${prefixes.peer}md.raw.tardis.v1`,
    tradesTopic: `${prefixes.peer}md.trades.v1`,
    barsTopic: `${prefixes.peer}md.bars.v1`,
    bootstrapServers: endpoints().kafkaBrokers.join(','),
    applicationId: `${prefixes.peer}app`,
    registryUrl: endpoints().schemaRegistryUrl,
    stopAfterTrades: messages.length,
    idleStopSeconds: 60,
    onEvent: (event) => {
      if (event.event === 'progress') progress = event;
    },
  });
  const startedEvent = await peer.started;
  let finished = false;
  const ticker = setInterval(() => {
    log.info(`Kafka Streams peer: ${String(progress?.tradesIn ?? 0)} of ${messages.length} trades in bars`);
  }, 5000);
  const timeout = setTimeout(() => {
    if (!finished) void peer.stop();
  }, 600_000);
  const exited = await peer.exited.finally(() => {
    finished = true;
    clearInterval(ticker);
    clearTimeout(timeout);
  });
  const stopped = exited.stopped;
  if (!stopped || stopped.reason !== 'count')
    throw new Error(
      `the Kafka Streams peer stopped without taking every trade (${JSON.stringify(stopped ?? exited)}); its stderr is in the log above`,
    );
  const peerSeconds = (Number(stopped.lastRecordMs) - Number(startedEvent.startupMs)) / 1000;
  const processes = await tickflowProcesses(kafka, prefixes.processes, messages);
  const peerCpu = Number(stopped.cpuSeconds) - Number(startedEvent.cpuSeconds);
  return {
    tickflowProcessesPerSecond: processes.perSecond,
    tickflowProcessesCpuPer1000: processes.cpuPer1000,
    tickflowPerSecond: messages.length / tickflowSeconds,
    kafkaStreamsPerSecond: messages.length / peerSeconds,
    tickflowCpuPer1000: ((used.user + used.system) / 1e6 / messages.length) * 1000,
    kafkaStreamsCpuPer1000: (peerCpu / messages.length) * 1000,
    kafkaStreamsPeakRssMb: Number(stopped.peakRssMb),
  };
}

async function pipeline(
  kafka: Kafka,
  codec: AvroCodec,
  prefix: string,
  n: number,
  delivery: 'exactly-once' | 'at-least-once',
  onRow?: (r: InputRecord, now: number) => void,
  metrics?: RuntimeMetrics,
  onChained?: (r: InputRecord, now: number) => void,
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
  const runners = [normalize, sink];
  if (onChained) {
    runners.push(
      Runner.forChain(kafka, codec, chainStages(), {
        topicPrefix: prefix,
        delivery,
        metrics,
        onCommitted: (records) => {
          const now = Date.now();
          for (const r of records) if (r.topic === 'md.trades.v1') onChained(r, now);
        },
      }),
    );
  }
  for (const r of runners) await r.start();
  const ready = (async () => {
    while (!runners.every((r) => r.isReady())) await new Promise((resolve) => setTimeout(resolve, 50));
  })();
  void n;
  return { runners, rows: () => rows, normalized: () => normalized, ready };
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
  const toSignal: number[] = [];
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
    (r, now) => {
      toSignal.push(now - (r.value as Trade).tsRecv / 1000);
    },
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
  await waitCount('latency phase (signal chain)', () => toSignal.length, count);
  for (const r of p.runners) await r.stop();
  latencies.sort((a, b) => a - b);
  toSignal.sort((a, b) => a - b);
  for (const v of (await metrics.changelogBytes.get()).values)
    log.info(`changelog of ${String(v.labels.stage)}: ${Math.round(v.value / count)} bytes per trade`);
  return {
    rate: options.latencyRate,
    records: count,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    p999Ms: percentile(latencies, 99.9),
    maxMs: latencies[latencies.length - 1],
    toSignal: { p50Ms: percentile(toSignal, 50), p99Ms: percentile(toSignal, 99), p999Ms: percentile(toSignal, 99.9) },
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
    rawEos: `bench.${id}.raweos.`,
    whole: `bench.${id}.whole.`,
    tickflow: `bench.${id}.tickflow.`,
    peer: `bench.${id}.peer.`,
    processes: `bench.${id}.procs.`,
    latency: `bench.${id}.latency.`,
  };
  const created: string[] = [];
  const rss = new RssSampler();
  rss.start();
  try {
    const topicsFor: Record<keyof typeof prefixes, string[]> = {
      raw: NORMALIZE_TOPICS,
      alo: NORMALIZE_TOPICS,
      eos: NORMALIZE_TOPICS,
      rawEos: NORMALIZE_TOPICS,
      whole: WHOLE_TOPICS,
      tickflow: [...new Set([...NORMALIZE_TOPICS, ...topicsOf(chainStages().slice(0, 1))])],
      peer: ['md.raw.tardis.v1', 'md.raw.tardis.v1.dlq', 'md.trades.v1', 'md.bars.v1'],
      processes: [...new Set([...NORMALIZE_TOPICS, ...topicsOf(chainStages().slice(0, 1))])],
      latency: WHOLE_TOPICS,
    };
    for (const [phase, prefix] of Object.entries(prefixes))
      created.push(...(await createNamespace(admin, prefix, topicsFor[phase as keyof typeof prefixes], brokers)));
    for (const table of CHAIN_SINK_TOPICS.map((t) => tableForTopic(t)))
      if (table) await ensureTables([table as TableSpec<unknown>], '_bench');
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
    await produceAll(kafka, `${prefixes.rawEos}md.raw.tardis.v1`, messages);
    const rawEos = await rawExactlyOncePassthrough(kafka, prefixes.rawEos, messages.length);
    log.info(`raw exactly-once passthrough: ${Math.round(rawEos.perSecond)} records/s`);
    const whole = await wholePipeline(kafka, codec, prefixes.whole, messages);
    log.info(
      `whole pipeline (normalize, aggregate -> score -> validate, sink): ${Math.round(whole.perSecond)} trades/s`,
    );
    const peer = options.peer === false ? undefined : await versusKafkaStreams(kafka, codec, prefixes, messages);
    if (peer)
      log.info(
        `normalize -> 1m bars: tickflow ${Math.round(peer.tickflowPerSecond)} trades/s, Kafka Streams ${Math.round(peer.kafkaStreamsPerSecond)} trades/s`,
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
      rawExactlyOncePassthroughPerSecond: rawEos.perSecond,
      wholePipelinePerSecond: whole.perSecond,
      peer,
      cpuSecondsPer1000: {
        rawPassthrough: raw.cpuPer1000,
        pipelineExactlyOnce: eos.cpuPer1000,
        wholePipeline: whole.cpuPer1000,
      },
      latencyAtRate: latency,
      peakRssMb: rss.peak / 1024 / 1024,
      ratios: {
        pipelineVsRawPassthrough: eos.perSecond / raw.perSecond,
        normalizeHopVsRawPassthrough: eos.stagePerSecond / raw.perSecond,
        normalizeHopVsRawExactlyOnce: eos.stagePerSecond / rawEos.perSecond,
        ...(peer
          ? {
              tickflowVsKafkaStreams: peer.tickflowPerSecond / peer.kafkaStreamsPerSecond,
              tickflowProcessesVsKafkaStreams: peer.tickflowProcessesPerSecond / peer.kafkaStreamsPerSecond,
            }
          : {}),
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
    for (const table of ['trades_bench', 'trades_rawbench', 'bars_bench', 'signals_bench'])
      await sql(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  }
}

export function median(values: readonly number[]): number {
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
    `  raw exactly-once passthrough   ${Math.round(m((b) => b.rawExactlyOncePassthroughPerSecond))} records/s   (a transaction per batch with its offsets, no logic)`,
    `  whole pipeline                 ${Math.round(m((b) => b.wholePipelinePerSecond))} trades/s   (normalize, aggregate -> score -> validate fused, sink of trades, bars, signals; ${m((b) => b.cpuSecondsPer1000.wholePipeline).toFixed(3)} CPU s per 1,000)`,
    ...(runs.every((b) => b.peer)
      ? [
          `  normalize -> 1m bars, tickflow ${Math.round(m((b) => b.peer?.tickflowPerSecond ?? 0))} trades/s   (one process; ${m((b) => b.peer?.tickflowCpuPer1000 ?? 0).toFixed(3)} CPU s per 1,000)`,
          `  the same, a process per stage  ${Math.round(m((b) => b.peer?.tickflowProcessesPerSecond ?? 0))} trades/s   (${m((b) => b.peer?.tickflowProcessesCpuPer1000 ?? 0).toFixed(3)} CPU s per 1,000)`,
          `  the same in Kafka Streams      ${Math.round(m((b) => b.peer?.kafkaStreamsPerSecond ?? 0))} trades/s   (${m((b) => b.peer?.kafkaStreamsCpuPer1000 ?? 0).toFixed(3)} CPU s per 1,000, peak RSS ${m((b) => b.peer?.kafkaStreamsPeakRssMb ?? 0).toFixed(0)} MB)`,
        ]
      : []),
    `  QuestDB sink alone             ${Math.round(m((b) => b.sinkRowsPerSecond))} rows/s`,
    `  raw QuestDB client             ${Math.round(m((b) => b.rawQuestdbRowsPerSecond))} rows/s`,
    `  end-to-end latency at ${runs[0].latencyAtRate.rate}/s (intended send -> QuestDB ack): p50 ${m((b) => b.latencyAtRate.p50Ms).toFixed(0)} ms, p99 ${m((b) => b.latencyAtRate.p99Ms).toFixed(0)} ms, p99.9 ${m((b) => b.latencyAtRate.p999Ms).toFixed(0)} ms`,
    `  trade -> signal chain committed at ${runs[0].latencyAtRate.rate}/s (intended send -> aggregate -> score -> validate commit): p50 ${m((b) => b.latencyAtRate.toSignal.p50Ms).toFixed(0)} ms, p99 ${m((b) => b.latencyAtRate.toSignal.p99Ms).toFixed(0)} ms, p99.9 ${m((b) => b.latencyAtRate.toSignal.p999Ms).toFixed(0)} ms`,
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
    `  normalize hop / raw EOS hop    ${m((b) => b.ratios.normalizeHopVsRawExactlyOnce).toFixed(2)}   (target >= 0.7)`,
    ...(runs.every((b) => b.ratios.tickflowVsKafkaStreams !== undefined)
      ? [
          `  tickflow / Kafka Streams       ${m((b) => b.ratios.tickflowVsKafkaStreams ?? 0).toFixed(2)}   (target >= 1.0; normalize -> 1m bars)`,
        ]
      : []),
    `  sink / raw QuestDB client      ${m((b) => b.ratios.sinkVsRawQuestdb).toFixed(2)}   (target >= 0.85)`,
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
