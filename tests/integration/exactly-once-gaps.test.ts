import type { Admin, Kafka } from 'kafkajs';
import { syntheticTrades } from '../../connectors/synthetic/trades';
import { collectTopic } from '../../ops/cli/tap';
import { applyTopics } from '../../ops/topics/apply';
import { aggregateStage, AGGREGATE_CONFIG } from '../../pipelines/aggregate/aggregate';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { parseConfig } from '../../pipelines/runtime/config';
import { RuntimeMetrics } from '../../pipelines/runtime/metrics';
import { Runner } from '../../pipelines/runtime/runner';
import { StageDriver } from '../../pipelines/runtime/test-driver';
import { runningVolumeStage } from '../../pipelines/running-volume/running-volume';
import type { Bar, Heartbeat, Trade } from '../../schemas/types.generated';
import { topicSpec } from '../../topics/catalog';
import { oracleBarsOf } from '../support/bars-oracle';
import { logOf, publish, startFaultRun } from '../support/fault-children';
import type { Child } from '../support/fault-children';
import { unique } from '../support/helpers';
import { TestNamespaces } from '../support/namespaces';
import { checkVolumeOutputs, publishTrades, restoredTotals, sleep, waitFor } from '../support/runtime-harness';

/**
 * Exactly-once has no hidden gaps: a zombie of a stage with several inputs cannot commit state the
 * new owner misses; a partition kept across a rebalance never redoes its last batch; a producer
 * whose start-up timed out cannot fence its replacement; partition counts of keyed topics are not
 * raised behind the state's back. Each test runs in its own topic namespace.
 */
const MINUTE = 60_000_000;

function tradesAndHeartbeats(
  prefix: string,
  count: number,
  startMicros: number,
): { trades: Trade[]; records: { topic: string; key: string; value: Trade | Heartbeat }[] } {
  const trades = [...syntheticTrades({ seed: 17, instruments: 6, prefix, startMicros, stepMicros: 20_000 }, count)];
  const counts = new Map<string, number>();
  const records: { topic: string; key: string; value: Trade | Heartbeat }[] = [];
  const heartbeats = (ts: number): void => {
    for (const id of [...new Set(trades.map((t) => t.instrumentId))].sort()) {
      const symbol = id.slice(id.indexOf(':') + 1);
      records.push({
        topic: 'md.heartbeats.v1',
        key: id,
        value: {
          instrumentId: id,
          venue: 'SYN',
          symbol,
          source: 'synthetic',
          tsEvent: ts,
          tsRecv: ts,
          trades: counts.get(id) ?? 0,
        },
      });
    }
  };
  trades.forEach((t, i) => {
    records.push({ topic: 'md.trades.v1', key: t.instrumentId, value: t });
    counts.set(t.instrumentId, (counts.get(t.instrumentId) ?? 0) + 1);
    if (i % 400 === 399) heartbeats(t.tsEvent);
  });
  // A last heartbeat well past every bar's lateness makes every bar final.
  heartbeats(trades[trades.length - 1].tsEvent + 10 * MINUTE);
  return { trades, records };
}

describe('exactly-once has no hidden gaps', () => {
  const ns = new TestNamespaces('test-eos-gaps');
  const codec = new AvroCodec();
  let kafka: Kafka;
  let admin: Admin;
  beforeAll(async () => {
    await ns.open();
    kafka = ns.kafka;
    admin = ns.admin;
  });
  afterAll(async () => {
    await ns.close();
  });

  const namespaceWith = (label: string, topics: string[]): Promise<string> => ns.create(label, topics);

  it('a zombie of a stage with two inputs (aggregate: trades and heartbeats), frozen with a heartbeats transaction open, is fenced when it wakes; the bars are exact', async () => {
    const namespace = await namespaceWith('zombie', [
      'md.trades.v1',
      'md.trades.v1.dlq',
      'md.heartbeats.v1',
      'md.heartbeats.v1.dlq',
      'md.bars.v1',
      'md.quality.v1',
      'aggregate.bars.changelog',
    ]);
    const prefix = unique('AGGZ');
    const { trades, records } = tradesAndHeartbeats(prefix, 24_000, Date.UTC(2024, 0, 3, 15) * 1000);
    const half = Math.floor(records.length / 2);
    const env = { TICKFLOW_SESSION_TIMEOUT_MS: '6000' };
    const a = startFaultRun(
      'aggregate',
      namespace,
      { ...env, TICKFLOW_TEST_FREEZE_BEFORE_COMMIT: 'md.heartbeats.v1:3' },
      'eos-zombie-a',
    );
    let b: Child | undefined;
    try {
      await publish(kafka, codec, namespace, records.slice(0, half), 4000);
      await waitFor(
        'A to freeze with a heartbeats transaction open',
        async () => logOf(a).includes('fault: frozen before committing'),
        60_000,
        200,
      );
      // B joins; once A's session expires B owns every partition and fences A's transactional ids.
      b = startFaultRun('aggregate', namespace, env, 'eos-zombie-b');
      const rest = publish(kafka, codec, namespace, records.slice(half), 4000);
      // B restores a partition only after fencing every producer that could write it.
      await waitFor(
        'B to fence and restore every partition',
        async () => [0, 1, 2].every((p) => logOf(b as Child).includes(`restored store bars partition ${p}`)),
        90_000,
        500,
      );
      await rest;
      await sleep(2000);
      // A wakes inside its transaction and commits: B fenced it, so the commit fails (nothing of it
      // lands); A then learns it left the group and either exits or rejoins as a new member, which
      // restores the state B committed.
      a.kill('SIGCONT');
      await waitFor('A to try its commit', async () => logOf(a).includes('fault: resumed'), 30_000, 200);
      await waitFor(
        'A to be fenced',
        async () =>
          /md\.heartbeats\.v1\[\d\] from offset \d+ failed; it will be retried: Producer attempted an operation with an old epoch/.test(
            logOf(a),
          ),
        30_000,
        200,
      );
      expect(logOf(a)).toMatch(/fault: resumed; committing .*md\.heartbeats\.v1/);
      const expectedFinals = new Map<string, number>();
      for (const interval of [
        ['1s', 1_000_000],
        ['1m', MINUTE],
      ] as const) {
        for (const id of new Set(trades.map((t) => t.instrumentId))) {
          const mine = trades
            .filter((t) => t.instrumentId === id)
            .map((t) => ({ ts: t.tsEvent, price: t.price.toFixed(), size: t.size.toFixed() }));
          for (const [start, bar] of oracleBarsOf(mine, interval[1]))
            expectedFinals.set(`${id}|${interval[0]}|${start}`, bar.count);
        }
      }
      const finals = async (): Promise<Bar[]> =>
        (await collectTopic<Bar>(kafka, `${namespace}md.bars.v1`, 120_000, 'md.bars.v1'))
          .map((r) => r.value)
          .filter((bar) => bar.final && bar.interval !== '5m');
      await waitFor('every bar final', async () => (await finals()).length >= expectedFinals.size, 180_000, 2000);
      const got = await finals();
      // Exactly one final emission per bar, each equal to the bar computed from the trades.
      const seen = new Map<string, Bar>();
      for (const bar of got) {
        const key = `${bar.instrumentId}|${bar.interval}|${bar.tsStart}`;
        expect(seen.has(key) ? `${key} final twice` : key).toBe(key);
        seen.set(key, bar);
      }
      expect([...seen.keys()].sort()).toEqual([...expectedFinals.keys()].sort());
      for (const interval of [
        ['1s', 1_000_000],
        ['1m', MINUTE],
      ] as const) {
        for (const id of new Set(trades.map((t) => t.instrumentId))) {
          const mine = trades
            .filter((t) => t.instrumentId === id)
            .map((t) => ({ ts: t.tsEvent, price: t.price.toFixed(), size: t.size.toFixed() }));
          for (const [start, want] of oracleBarsOf(mine, interval[1])) {
            const bar = seen.get(`${id}|${interval[0]}|${start}`) as Bar;
            expect([
              bar.open.toFixed(),
              bar.high.toFixed(),
              bar.low.toFixed(),
              bar.close.toFixed(),
              bar.volume.toFixed(),
              bar.vwap.toFixed(),
              bar.tradeCount,
            ]).toEqual([want.open, want.high, want.low, want.close, want.volume, want.vwap, want.count]);
          }
        }
      }
      // Nothing was too late: the restored state saw every trade once.
      const quality = (
        await collectTopic<{ rule: string }>(kafka, `${namespace}md.quality.v1`, 60_000, 'md.quality.v1')
      ).map((r) => r.value.rule);
      expect(quality).toEqual([]);
      // The state B restores equals an uninterrupted run over the same records.
      const uninterrupted = new StageDriver(aggregateStage(parseConfig('aggregate', AGGREGATE_CONFIG, {})), {
        topicOf: (v) => ('tradeId' in v ? 'md.trades.v1' : 'md.heartbeats.v1'),
      });
      uninterrupted.run(records.map((r) => r.value));
      const restored: Record<string, unknown> = {};
      for (const r of await collectTopic<{ json: string } | null>(
        kafka,
        `${namespace}aggregate.bars.changelog`,
        60_000,
        'aggregate.bars.changelog',
      )) {
        if (r.key) restored[r.key] = r.value ? JSON.parse(r.value.json) : undefined;
      }
      for (const key of Object.keys(restored)) if (restored[key] === undefined) delete restored[key];
      expect(Object.keys(restored).sort()).toEqual(Object.keys(uninterrupted.snapshot('bars')).sort());
    } finally {
      a.kill('SIGCONT');
      a.kill('SIGKILL');
      b?.kill('SIGTERM');
      await b?.exited;
    }
  }, 600_000);

  it('a partition kept across a rebalance never redoes its last batch: the floor follows every commit', async () => {
    const namespace = await namespaceWith('floor', [
      'md.trades.v1',
      'md.trades.v1.dlq',
      'md.volume.v1',
      'running-volume.totals.changelog',
    ]);
    const prefix = unique('FLOOR');
    const trades = [...syntheticTrades({ seed: 23, instruments: 6, prefix, startMicros: Date.now() * 1000 }, 12_000)];
    const metrics = new RuntimeMetrics();
    let rewinds = 0;
    // After every 3rd commit the consumer goes back to the committed batch's first offset: what a
    // rebalance that keeps the partition does when its re-read of the committed offset does not
    // see the commit yet (kafkajs reads it without requiring stability).
    const runner: Runner = Runner.forStage(kafka, codec, runningVolumeStage, {
      topicPrefix: namespace,
      metrics,
      sessionTimeoutMs: 10_000,
      afterCommit: (topic, partition) => {
        const at = lastBatchStart.get(`${topic}:${partition}`);
        if (at !== undefined && (commits += 1) % 3 === 0) {
          rewinds += 1;
          runner.seek(topic, partition, at);
        }
      },
      onCommitted: (records) => {
        if (records.length > 0)
          lastBatchStart.set(`${namespace}${records[0].topic}:${records[0].partition}`, records[0].offset);
      },
    });
    let commits = 0;
    const lastBatchStart = new Map<string, string>();
    const admin2 = kafka.admin();
    await admin2.connect();
    try {
      await runner.start();
      await publishTrades(kafka, codec, trades, 3000, namespace);
      await waitFor('the stage to catch up', () => runner.caughtUp(admin2), 180_000);
    } finally {
      await runner.stop();
      await admin2.disconnect();
    }
    expect(rewinds).toBeGreaterThanOrEqual(3);
    expect(await checkVolumeOutputs(kafka, prefix, trades, () => true, namespace)).toEqual([]);
    const uninterrupted = new StageDriver(runningVolumeStage);
    uninterrupted.run(trades);
    expect(await restoredTotals(kafka, codec, prefix, namespace)).toEqual(uninterrupted.snapshot('totals'));
    const skipped = (await metrics.recordsSkipped.get()).values.reduce((sum, v) => sum + v.value, 0);
    expect(skipped).toBeGreaterThan(0);
  }, 300_000);

  it('a producer whose start-up timed out never fences its replacement: no transaction is aborted', async () => {
    const namespace = await namespaceWith('retire', [
      'md.trades.v1',
      'md.trades.v1.dlq',
      'md.volume.v1',
      'running-volume.totals.changelog',
    ]);
    const prefix = unique('RETIRE');
    const trades = [...syntheticTrades({ seed: 29, instruments: 6, prefix, startMicros: Date.now() * 1000 }, 6000)];
    const metrics = new RuntimeMetrics();
    const slow = new Set<string>();
    let fenced = 0;
    // The first start-up of every transactional id takes 6 s, past the 2 s bound: the runner gives
    // up on it and starts a replacement, while the first one's initialisation still reaches the
    // broker later. Without retiring it, that late initialisation fences the replacement.
    const runner = Runner.forStage(kafka, codec, runningVolumeStage, {
      topicPrefix: namespace,
      metrics,
      producerConnectTimeoutMs: 2000,
      connectProducer: async (connect, id) => {
        if (!slow.has(id)) {
          slow.add(id);
          await sleep(6000);
        }
        await connect();
      },
      onFatal: () => (fenced += 1),
    });
    const admin2 = kafka.admin();
    await admin2.connect();
    try {
      await runner.start();
      await publishTrades(kafka, codec, trades, 3000, namespace);
      await waitFor('the stage to catch up', () => runner.caughtUp(admin2), 180_000);
    } finally {
      await runner.stop();
      await admin2.disconnect();
    }
    expect(slow.size).toBe(3);
    expect(fenced).toBe(0);
    const aborted = (await metrics.transactions.get()).values
      .filter((v) => v.labels.result === 'abort')
      .reduce((sum, v) => sum + v.value, 0);
    expect(aborted).toBe(0);
    expect(await checkVolumeOutputs(kafka, prefix, trades, () => true, namespace)).toEqual([]);
  }, 300_000);

  it('`topics apply` refuses to raise the partitions of a keyed topic unless forced, and says why', async () => {
    const namespace = await namespaceWith('partitions', []);
    const name = `${namespace}md.trades.v1`;
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: name, numPartitions: 2, replicationFactor: 1 }],
    });
    const spec = { ...(topicSpec('md.trades.v1') as NonNullable<ReturnType<typeof topicSpec>>), name };
    await expect(applyTopics(admin, [spec])).rejects.toThrow(
      /has 2 partitions, the catalog says 3: raising them moves keys/,
    );
    expect((await admin.fetchTopicMetadata({ topics: [name] })).topics[0].partitions).toHaveLength(2);
    const changes = await applyTopics(admin, [spec], { forcePartitions: true });
    expect(changes.map((c) => c.kind)).toContain('partitions');
    expect((await admin.fetchTopicMetadata({ topics: [name] })).topics[0].partitions).toHaveLength(3);
  }, 120_000);
});
