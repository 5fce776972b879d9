import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { logger } from '../../pipelines/runtime/log';
import { RUNNABLES } from '../../pipelines/registry';
import { Decimal } from '../../schemas/decimal';
import type { Fill, Quote, RiskDecision, Signal } from '../../schemas/types.generated';
import { changelogTopic, dlqTopicOf } from '../../topics/catalog';
import { Pipeline } from '../run/pipeline';
import { clusterBrokers, createNamespace } from '../topics/apply';
import { median, percentile } from './runtime';
import { benchRiskConfig } from './trading-config';

const log = logger('bench');

/**
 * `tickflow bench trading`: the latency of the trading half at a fixed signal rate. Signals (as
 * route writes them, keyed by account) go to risk.signals.v1 at `rate` per second, each stamped
 * with its send time; a live market of quotes (one per instrument every `quoteIntervalMs`, stamped
 * now) runs meanwhile, so market orders find a fresh touch. risk, execution and marks run in this
 * process, exactly-once, as `tickflow run` runs them. A read_committed consumer times when each
 * decision and each signal's first fill become visible downstream: signal -> decision is one
 * exactly-once hop, signal -> fill three (risk, execution, and the execution latency model's
 * wait for the next market update after the order's arrival).
 */
export interface TradingBenchOptions {
  rate: number;
  seconds: number;
  instruments: number;
  accounts: number;
  quoteIntervalMs: number;
}

export interface TradingFigures {
  signals: number;
  decisions: number;
  fills: number;
  toDecision: { p50Ms: number; p99Ms: number };
  toFill: { p50Ms: number; p99Ms: number };
}

const STAGES = ['risk', 'execution', 'marks'];

/** Every topic the named stages read, write or keep state in (inputs with their dead-letter twins). */
export function stageTopics(names: readonly string[]): string[] {
  const topics = new Set<string>();
  for (const name of names) {
    const runnable = RUNNABLES[name];
    if (runnable.kind !== 'stage') continue;
    const stage = runnable.create({});
    for (const t of stage.inputs) topics.add(t).add(dlqTopicOf(t));
    for (const t of [...stage.outputs, ...(stage.globals ?? [])]) topics.add(t);
    for (const s of stage.stores ?? []) topics.add(changelogTopic(stage.name, s));
  }
  return [...topics];
}

export async function benchTrading(kafka: Kafka, options: TradingBenchOptions): Promise<TradingFigures> {
  const codec = new AvroCodec();
  const admin = kafka.admin();
  await admin.connect();
  const id = randomBytes(3).toString('hex');
  const prefix = `bench.${id}.trading.`;
  const brokers = await clusterBrokers(admin);
  const created = await createNamespace(admin, prefix, stageTopics(STAGES), brokers);
  const accounts = Array.from({ length: options.accounts }, (_, i) => `bench-${i}`);
  const instruments = Array.from({ length: options.instruments }, (_, i) => `SYN:BT${id}${i}`);
  const configFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tickflow-bench-')), 'risk.json');
  fs.writeFileSync(configFile, JSON.stringify(benchRiskConfig(accounts, instruments), null, 2));
  const pipeline = new Pipeline(kafka, codec, {
    topicPrefix: prefix,
    settings: new Map([['risk', { configFile }]]),
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: `${prefix}probe`, readUncommitted: false, maxWaitTimeInMs: 50 });
  const sentAt = new Map<string, number>();
  const toDecision: number[] = [];
  const toFill: number[] = [];
  const filled = new Set<string>();
  let fills = 0;
  let stopQuotes = false;
  try {
    await pipeline.start(STAGES);
    while (!pipeline.runners.every((r) => r.isReady())) await new Promise((resolve) => setTimeout(resolve, 50));
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic: `${prefix}risk.decisions.v1`, fromBeginning: true });
    await consumer.subscribe({ topic: `${prefix}fills.v1`, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        const now = Date.now();
        if (topic.endsWith('risk.decisions.v1')) {
          const d = await codec.decode<RiskDecision>('risk.decisions.v1', message.value);
          const sent = sentAt.get(d.signalId);
          if (sent !== undefined) toDecision.push(now - sent);
        } else {
          const f = await codec.decode<Fill>('fills.v1', message.value);
          fills += 1;
          const sent = f.signalId === null ? undefined : sentAt.get(f.signalId);
          if (f.signalId !== null && sent !== undefined && !filled.has(f.signalId)) {
            filled.add(f.signalId);
            toFill.push(now - sent);
          }
        }
      },
    });
    const mids = instruments.map((_, i) => (100 + i) * 100);
    let sequence = 0;
    const quotes = (async () => {
      while (!stopQuotes) {
        const ts = Date.now() * 1000;
        const messages = await Promise.all(
          instruments.map(async (instrumentId, i) => {
            mids[i] += Math.floor(Math.random() * 3) - 1;
            const quote: Quote = {
              instrumentId,
              venue: 'SYN',
              symbol: instrumentId.slice(4),
              source: 'bench',
              tsEvent: ts,
              tsRecv: ts,
              bidPrice: new Decimal(mids[i]).div(100),
              bidSize: new Decimal(1000),
              askPrice: new Decimal(mids[i] + 1).div(100),
              askSize: new Decimal(1000),
              sequence: sequence++,
            };
            return { key: instrumentId, value: await codec.encode('md.quotes.v1', quote) };
          }),
        );
        await producer.send({ topic: `${prefix}md.quotes.v1`, acks: -1, messages });
        await new Promise((resolve) => setTimeout(resolve, options.quoteIntervalMs));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const total = options.rate * options.seconds;
    const start = Date.now();
    log.info(`bench trading ${id}: ${total} signals at ${options.rate}/s over ${instruments.length} instruments`);
    for (let k = 0; k < total; k++) {
      const due = start + (k * 1000) / options.rate;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const i = k % instruments.length;
      const ts = Date.now() * 1000;
      const signal: Signal = {
        id: `bench:${instruments[i]}:${k}`,
        strategy: 'bench',
        instrumentId: instruments[i],
        venue: 'SYN',
        symbol: instruments[i].slice(4),
        source: 'bench',
        interval: '1m',
        side: k % 2 === 0 ? 'BUY' : 'SELL',
        confidence: 0.8,
        reason: 'bench',
        price: new Decimal(mids[i]).div(100),
        barStart: ts - 60_000_000,
        barRevision: 0,
        tsEvent: ts,
        tsRecv: ts,
        features: {},
        status: 'ACCEPTED',
        rejectCode: null,
        rejectDetail: null,
        tsValidated: ts,
      };
      sentAt.set(signal.id, ts / 1000);
      await producer.send({
        topic: `${prefix}risk.signals.v1`,
        acks: -1,
        messages: [{ key: accounts[k % accounts.length], value: await codec.encode('risk.signals.v1', signal) }],
      });
      if (k > 0 && k % (options.rate * 5) === 0)
        log.info(`${k} signals sent, ${toDecision.length} decided, ${filled.size} filled`);
    }
    const deadline = Date.now() + 60_000;
    while ((toDecision.length < total || filled.size < total) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    stopQuotes = true;
    await quotes;
    toDecision.sort((a, b) => a - b);
    toFill.sort((a, b) => a - b);
    return {
      signals: total,
      decisions: toDecision.length,
      fills,
      toDecision: { p50Ms: percentile(toDecision, 50), p99Ms: percentile(toDecision, 99) },
      toFill: { p50Ms: percentile(toFill, 50), p99Ms: percentile(toFill, 99) },
    };
  } finally {
    stopQuotes = true;
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await pipeline.stop();
    await admin.deleteTopics({ topics: created }).catch(() => undefined);
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.includes(prefix));
    if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
    await admin.disconnect();
    fs.rmSync(path.dirname(configFile), { recursive: true, force: true });
  }
}

export function formatTrading(runs: readonly TradingFigures[], options: TradingBenchOptions): string {
  const m = (f: (r: TradingFigures) => number): number => median(runs.map(f));
  return [
    `tickflow bench trading: ${options.rate} signals/s for ${options.seconds} s, ${options.instruments} instruments, ${options.accounts} accounts, a quote per instrument every ${options.quoteIntervalMs} ms; ${runs.length} run(s), medians:`,
    `  signal -> risk decision visible   p50 ${m((r) => r.toDecision.p50Ms).toFixed(0)} ms, p99 ${m((r) => r.toDecision.p99Ms).toFixed(0)} ms   (${runs.map((r) => `${r.decisions}/${r.signals}`).join(', ')} decided)`,
    `  signal -> first fill visible      p50 ${m((r) => r.toFill.p50Ms).toFixed(0)} ms, p99 ${m((r) => r.toFill.p99Ms).toFixed(0)} ms   (${runs.map((r) => r.fills).join(', ')} fills)`,
  ].join('\n');
}
