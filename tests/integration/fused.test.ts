import type { Kafka, PartitionMetadata } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { syntheticTrades } from '../../connectors/synthetic/trades';
import { collectTopic } from '../../ops/cli/tap';
import { Pipeline } from '../../ops/run/pipeline';
import { AGGREGATE_CONFIG, aggregateStage } from '../../pipelines/aggregate/aggregate';
import { avroType } from '../../pipelines/runtime/avro';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { parseConfig } from '../../pipelines/runtime/config';
import type { OutputRecord } from '../../pipelines/runtime/stage';
import { StageDriver } from '../../pipelines/runtime/test-driver';
import { explainPlan } from '../../pipelines/runtime/topology';
import { SCORE_CONFIG, scoreStage } from '../../pipelines/score/score';
import { VALIDATE_CONFIG, validateStage } from '../../pipelines/validate/validate';
import type { Bar, Candidate, Heartbeat, Signal, Trade } from '../../schemas/types.generated';
import { topicSpec } from '../../topics/catalog';
import { publish, logOf, startFaultRun } from '../support/fault-children';
import type { Child } from '../support/fault-children';
import { unique } from '../support/helpers';
import { TestNamespaces } from '../support/namespaces';
import { sleep, waitFor } from '../support/runtime-harness';

/**
 * A fused chain (aggregate -> score -> validate in one task per partition) keeps exactly-once
 * through the faults the unfused stages are tested with: aggregate run alone and SIGKILLed (the
 * chain then drains the bars score has not read), a second instance joining (a rebalance), and
 * an instance frozen with a transaction open while the other takes its partitions (a zombie, fenced
 * when it wakes). The bars, candidates and signals written, and the state restored from the three
 * changelogs, equal an uninterrupted unfused run over the same records (StageDriver, stage by stage,
 * each stage reading the previous one's outputs as Avro, as from Kafka).
 */
const MINUTE = 60_000_000;
const STAGES = 'aggregate,score,validate';
const SETTINGS = JSON.stringify({ validate: { clock: 'event' } });
const TOPICS = [
  'md.trades.v1',
  'md.trades.v1.dlq',
  'md.heartbeats.v1',
  'md.heartbeats.v1.dlq',
  'md.bars.v1',
  'md.bars.v1.dlq',
  'md.quality.v1',
  'md.features.v1',
  'md.returns.v1',
  'strategy.candidates.v1',
  'strategy.candidates.v1.dlq',
  'signals.v1',
  'signals.rejected.v1',
  'aggregate.bars.changelog',
  'score.indicators.changelog',
  'validate.signals.changelog',
];

/** A fault-run child of the chain's stages (or `stages`), with short sessions and validate on event time. */
function startChain(namespace: string, env: Record<string, string>, label: string, stages = STAGES): Child {
  return startFaultRun(
    stages,
    namespace,
    { TICKFLOW_SESSION_TIMEOUT_MS: '6000', TICKFLOW_TEST_SETTINGS: SETTINGS, ...env },
    label,
  );
}

const partitioner = Partitioners.DefaultPartitioner();
const partitionOf = (key: string): number =>
  partitioner({
    topic: 't',
    partitionMetadata: [0, 1, 2].map((id) => ({ partitionId: id, leader: 0 }) as PartitionMetadata),
    message: { key, value: null },
  });

/** An instrument prefix whose 6 instruments land on every one of the 3 partitions (every instance gets work). */
function coveringPrefix(): string {
  for (;;) {
    const prefix = unique('FUS');
    if (new Set(Array.from({ length: 6 }, (_, i) => partitionOf(`SYN:${prefix}${i}`))).size === 3) return prefix;
  }
}

/**
 * Trades over about 90 minutes of exchange time (enough 1m bars for the strategies) and a heartbeat per instrument
 * every 400 trades.
 */
function market(prefix: string): { topic: string; key: string; value: Trade | Heartbeat }[] {
  const trades = [
    ...syntheticTrades(
      { seed: 23, instruments: 6, prefix, startMicros: Date.UTC(2024, 0, 3, 15) * 1000, stepMicros: 250_000 },
      21_600,
    ),
  ];
  const counts = new Map<string, number>();
  const records: { topic: string; key: string; value: Trade | Heartbeat }[] = [];
  const ids = [...new Set(trades.map((t) => t.instrumentId))].sort();
  const heartbeats = (ts: number): void => {
    for (const id of ids)
      records.push({
        topic: 'md.heartbeats.v1',
        key: id,
        value: {
          instrumentId: id,
          venue: 'SYN',
          symbol: id.slice(4),
          source: 'synthetic',
          tsEvent: ts,
          tsRecv: ts,
          trades: counts.get(id) ?? 0,
        },
      });
  };
  trades.forEach((t, i) => {
    records.push({ topic: 'md.trades.v1', key: t.instrumentId, value: t });
    counts.set(t.instrumentId, (counts.get(t.instrumentId) ?? 0) + 1);
    if (i % 400 === 399) heartbeats(t.tsEvent);
  });
  heartbeats(trades[trades.length - 1].tsEvent + 10 * MINUTE);
  return records;
}

/** A stage's outputs to `topic`, as a consumer of the topic reads them (Avro round trip). */
function asRead(out: readonly OutputRecord[], topic: string): unknown[] {
  const type = avroType(topicSpec(topic)?.valueSchema ?? 'bar');
  return out.filter((o) => o.topic === topic).map((o) => type.fromBuffer(type.toBuffer(o.value)));
}

/** The uninterrupted unfused run: each stage over the previous one's outputs. */
function oracle(records: readonly { topic: string; value: Trade | Heartbeat }[]): {
  bars: Bar[];
  candidates: Candidate[];
  signals: Signal[];
  state: Record<string, Record<string, unknown>>;
} {
  const aggregate = new StageDriver(aggregateStage(parseConfig('aggregate', AGGREGATE_CONFIG, {})), {
    topicOf: (v) => ('tradeId' in v ? 'md.trades.v1' : 'md.heartbeats.v1'),
  });
  const bars = asRead(aggregate.run(records.map((r) => r.value)).out, 'md.bars.v1') as Bar[];
  const score = new StageDriver(scoreStage(parseConfig('score', SCORE_CONFIG, {})));
  const candidates = asRead(score.run(bars).out, 'strategy.candidates.v1') as Candidate[];
  const validate = new StageDriver(validateStage(parseConfig('validate', VALIDATE_CONFIG, { clock: 'event' })));
  const validated = validate.run(candidates).out;
  const signals = [...asRead(validated, 'signals.v1'), ...asRead(validated, 'signals.rejected.v1')] as Signal[];
  return {
    bars,
    candidates,
    signals,
    state: {
      'aggregate.bars': aggregate.snapshot('bars'),
      'score.indicators': score.snapshot('indicators'),
      'validate.signals': validate.snapshot('signals'),
    },
  };
}

async function changelogState(kafka: Kafka, namespace: string, store: string): Promise<Record<string, unknown>> {
  const state: Record<string, unknown> = {};
  for (const r of await collectTopic<{ json: string } | null>(
    kafka,
    `${namespace}${store}.changelog`,
    60_000,
    `${store}.changelog`,
  )) {
    if (!r.key) continue;
    if (r.value) state[r.key] = JSON.parse(r.value.json);
    else delete state[r.key];
  }
  return state;
}

describe('a fused chain keeps exactly-once', () => {
  const ns = new TestNamespaces('test-fused');
  const codec = new AvroCodec();
  beforeAll(async () => {
    await ns.open();
  });
  afterAll(async () => {
    await ns.close();
  });

  it('tickflow run plans aggregate -> score -> validate as one chain and the hops around it', () => {
    const pipeline = new Pipeline(ns.kafka, codec);
    const text = explainPlan(
      pipeline.plan(['normalize', 'aggregate', 'score', 'validate', 'correlate', 'sink-questdb']).plan,
    );
    expect(text).toContain('aggregate -> score -> validate: FUSED');
    expect(text).toMatch(/normalize -> aggregate via md\.trades\.v1, md\.heartbeats\.v1: the key changes/);
    expect(text).toMatch(/score -> correlate via md\.returns\.v1: the key changes/);
    const apart = explainPlan(
      new Pipeline(ns.kafka, codec, { fuse: false }).plan(['aggregate', 'score', 'validate']).plan,
    );
    expect(apart).not.toContain('FUSED');
    expect(apart).toContain('aggregate -> score via md.bars.v1: fusing is off (--no-fuse)');
  });

  it('after aggregate ran alone and crashed, through a rebalance and a zombie: outputs and state equal an uninterrupted unfused run', async () => {
    const kafka = ns.kafka;
    const namespace = await ns.create('chain', TOPICS);
    const records = market(coveringPrefix());
    const expected = oracle(records);
    expect(expected.candidates.length).toBeGreaterThan(5); // the chain really carries signals
    const third = Math.floor(records.length / 3);
    // 1. aggregate alone, SIGKILLed mid-stream: score and validate have read none of its bars.
    const a = startChain(namespace, { TICKFLOW_TEST_NO_FUSE: '1' }, 'fused-a', 'aggregate');
    let b: Child | undefined;
    let c: Child | undefined;
    try {
      await publish(kafka, codec, namespace, records.slice(0, third), 3000);
      await sleep(1500);
      a.kill('SIGKILL');
      await a.exited;
      // 2. The chain fused (B), a second instance (C) joining: a rebalance; C freezes with its 4th
      // transaction open and B takes its partitions once C's session expires.
      b = startChain(namespace, {}, 'fused-b');
      await waitFor(
        'B to fuse the chain',
        async () => logOf(b as Child).includes('fused aggregate -> score -> validate'),
        60_000,
        200,
      );
      c = startChain(namespace, { TICKFLOW_TEST_FREEZE_BEFORE_COMMIT: 'md.trades.v1:3' }, 'fused-c');
      // Both own partitions (each restored its share and drained the bars aggregate wrote alone)
      // before the next records come, slowly enough for many small batches.
      await waitFor(
        'B and C to share the partitions',
        async () =>
          logOf(c as Child).includes('drained') &&
          logOf(b as Child).includes('drained') &&
          !/assigned .*md\.trades\.v1:0.*md\.trades\.v1:1.*md\.trades\.v1:2/.test(
            logOf(b as Child)
              .split('\n')
              .filter((l) => l.includes('assigned'))
              .pop() ?? '',
          ),
        90_000,
        200,
      );
      await publish(kafka, codec, namespace, records.slice(third, 2 * third), 1500, 100);
      await waitFor(
        'C to freeze with a transaction open',
        async () => logOf(c as Child).includes('fault: frozen before committing'),
        90_000,
        200,
      );
      await publish(kafka, codec, namespace, records.slice(2 * third), 3000);
      await sleep(10_000);
      c.kill('SIGCONT');
      await waitFor(
        'C to be fenced',
        async () =>
          /failed; it will be retried: Producer attempted an operation with an old epoch/.test(logOf(c as Child)),
        60_000,
        200,
      );
      // 3. Everything final, exactly once.
      const candidatesOut = async (): Promise<Candidate[]> =>
        (
          await collectTopic<Candidate>(kafka, `${namespace}strategy.candidates.v1`, 120_000, 'strategy.candidates.v1')
        ).map((r) => r.value);
      const finalBars = async (): Promise<Bar[]> =>
        (await collectTopic<Bar>(kafka, `${namespace}md.bars.v1`, 120_000, 'md.bars.v1'))
          .map((r) => r.value)
          .filter((bar) => bar.final);
      const wantFinals = expected.bars.filter((bar) => bar.final);
      await waitFor('every bar final', async () => (await finalBars()).length >= wantFinals.length, 240_000, 2000);
      await waitFor(
        'every candidate',
        async () => (await candidatesOut()).length >= expected.candidates.length,
        120_000,
        2000,
      );
      await sleep(3000);
      const barKey = (bar: Bar): string =>
        `${bar.instrumentId}|${bar.interval}|${bar.tsStart}|${bar.open.toFixed()}|${bar.high.toFixed()}|${bar.low.toFixed()}|${bar.close.toFixed()}|${bar.volume.toFixed()}|${bar.tradeCount}`;
      expect((await finalBars()).map(barKey).sort()).toEqual(wantFinals.map(barKey).sort());
      const candidateKey = (x: Candidate): string => `${x.id}|${x.side}|${x.confidence}|${x.price.toFixed()}`;
      expect((await candidatesOut()).map(candidateKey).sort()).toEqual(expected.candidates.map(candidateKey).sort());
      const signals = [
        ...(await collectTopic<Signal>(kafka, `${namespace}signals.v1`, 60_000, 'signals.v1')),
        ...(await collectTopic<Signal>(kafka, `${namespace}signals.rejected.v1`, 60_000, 'signals.rejected.v1')),
      ].map((r) => r.value);
      const signalKey = (s: Signal): string => `${s.id}|${s.status}|${s.rejectCode ?? ''}`;
      expect(signals.map(signalKey).sort()).toEqual(expected.signals.map(signalKey).sort());
      // The state a new owner restores equals the uninterrupted run's, store by store.
      for (const [store, want] of Object.entries(expected.state)) {
        const got = await changelogState(kafka, namespace, store);
        expect([store, Object.keys(got).sort()]).toEqual([store, Object.keys(want).sort()]);
        if (store !== 'aggregate.bars') expect([store, got]).toEqual([store, JSON.parse(JSON.stringify(want))]);
      }
      // The chain took over from aggregate alone: it read what score had not read yet, first.
      expect(logOf(b)).toMatch(/drained \d+ records of .*md\.bars\.v1/);
    } finally {
      a.kill('SIGKILL');
      c?.kill('SIGCONT');
      c?.kill('SIGKILL');
      b?.kill('SIGTERM');
      await b?.exited;
    }
  }, 900_000);
});
