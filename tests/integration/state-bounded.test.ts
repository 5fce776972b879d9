import type { Admin, Kafka } from 'kafkajs';
import { MARKET_DEFAULTS, NO_FAULTS } from '../../connectors/synthetic/market';
import { publishMarket } from '../../connectors/synthetic/publish';
import { syntheticTrades } from '../../connectors/synthetic/trades';
import { collectTopic } from '../../ops/cli/tap';
import { AGGREGATE_CONFIG, aggregateStage } from '../../pipelines/aggregate/aggregate';
import { NORMALIZE_CONFIG, normalizeStage } from '../../pipelines/normalize/normalize';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { parseConfig } from '../../pipelines/runtime/config';
import { RuntimeMetrics } from '../../pipelines/runtime/metrics';
import { readToEnd } from '../../pipelines/runtime/read-to-end';
import { Runner } from '../../pipelines/runtime/runner';
import { runningVolumeStage } from '../../pipelines/running-volume/running-volume';
import type { Bar, RunningVolume, Trade } from '../../schemas/types.generated';
import { RAW_TOPICS } from '../../connectors/formats';
import { dlqTopicOf } from '../../topics/catalog';
import { unique } from '../support/helpers';
import { TestNamespaces } from '../support/namespaces';
import { publishTrades, sleep, waitFor } from '../support/runtime-harness';

/**
 * State stays bounded: a busy instrument's normalize state reaches the changelog in small records
 * (its recent trade ids in chunks, not the whole window per batch), and state of instruments gone
 * silent expires with tombstones, after the stage emitted what the expiry implies. Each test runs
 * in its own topic namespace.
 */
describe('state stays bounded', () => {
  const ns = new TestNamespaces('test-state-bounded');
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

  /** Every record of a changelog: key, encoded size, and whether it is a tombstone. */
  async function changelog(topic: string): Promise<{ key: string; bytes: number; tombstone: boolean }[]> {
    const records: { key: string; bytes: number; tombstone: boolean }[] = [];
    await readToEnd(
      kafka,
      topic,
      async (_p, m) =>
        void records.push({ key: m.key?.toString() ?? '', bytes: m.value?.length ?? 0, tombstone: m.value === null }),
    );
    return records;
  }

  it('a busy instrument (5,000 events/s of exchange time) writes its normalize state in small records, old trade ids leaving as tombstones', async () => {
    const namespace = await namespaceWith('busy', [
      ...RAW_TOPICS,
      ...RAW_TOPICS.map(dlqTopicOf),
      'md.trades.v1',
      'md.quotes.v1',
      'md.book.v1',
      'md.heartbeats.v1',
      'md.quality.v1',
      'normalize.quality.changelog',
    ]);
    const prefix = unique('BUSY');
    const market = {
      ...MARKET_DEFAULTS,
      seed: 41,
      instruments: 1,
      prefix,
      eventsPerSecond: 5_000,
      faults: NO_FAULTS,
      startMicros: (Date.now() - 600_000) * 1000,
    };
    // 16 s of exchange time: three times normalize's 5 s duplicate window.
    const count = 80_000;
    const runner = Runner.forStage(kafka, codec, normalizeStage(parseConfig('normalize', NORMALIZE_CONFIG, {})), {
      topicPrefix: namespace,
      metrics: new RuntimeMetrics(),
    });
    try {
      await runner.start();
      const published = await publishMarket(kafka, codec, market, count, { kind: 'max' }, undefined, namespace);
      expect(published.published).toBeGreaterThanOrEqual(count);
      await waitFor('normalize to catch up', () => runner.caughtUp(admin), 180_000, 500);
    } finally {
      await runner.stop();
    }
    const trades = await collectTopic<Trade>(kafka, `${namespace}md.trades.v1`, 120_000, 'md.trades.v1');
    // Half the events are trades; a 5 s duplicate window at this rate holds about 12,500 ids.
    expect(trades.length).toBeGreaterThan(count * 0.4);
    const records = await changelog(`${namespace}normalize.quality.changelog`);
    const largest = Math.max(...records.map((r) => r.bytes));
    const perTrade = records.reduce((sum, r) => sum + r.bytes, 0) / trades.length;
    process.stderr.write(
      `busy instrument: ${records.length} changelog records, largest ${largest} bytes, ${perTrade.toFixed(1)} changelog bytes per trade\n`,
    );
    expect(largest).toBeLessThan(64 * 1024);
    // Old chunks leave as tombstones once their ids are out of the window.
    expect(records.filter((r) => r.tombstone && r.key.includes('#ids#')).length).toBeGreaterThan(10);
  }, 300_000);

  it('the state of an instrument silent for the TTL expires with a tombstone; it starts afresh when it trades again', async () => {
    const namespace = await namespaceWith('expiry', [
      'md.trades.v1',
      'md.trades.v1.dlq',
      'md.volume.v1',
      'running-volume.totals.changelog',
    ]);
    const prefix = unique('TTL');
    const metrics = new RuntimeMetrics();
    const runner = Runner.forStage(
      kafka,
      codec,
      { ...runningVolumeStage, stateTtlMs: 4000 },
      { topicPrefix: namespace, metrics, expirySweepMs: 500 },
    );
    const first = [...syntheticTrades({ seed: 43, instruments: 3, prefix, startMicros: Date.now() * 1000 }, 300)];
    try {
      await runner.start();
      await publishTrades(kafka, codec, first, undefined, namespace);
      await waitFor('the trades to be counted', () => runner.caughtUp(admin), 60_000, 250);
      await waitFor(
        'the silent instruments to expire',
        async () => (await metrics.stateExpired.get()).values.reduce((s, v) => s + v.value, 0) >= 3,
        30_000,
        250,
      );
      const later = [...syntheticTrades({ seed: 47, instruments: 3, prefix, startMicros: Date.now() * 1000 }, 30)].map(
        (t) => ({ ...t, tradeId: `later-${t.tradeId}` }),
      );
      await publishTrades(kafka, codec, later, undefined, namespace);
      await waitFor('the later trades to be counted', () => runner.caughtUp(admin), 60_000, 250);
      const outputs = (
        await collectTopic<RunningVolume>(kafka, `${namespace}md.volume.v1`, 60_000, 'md.volume.v1')
      ).map((r) => r.value);
      // After the expiry each instrument counts from 1 again.
      const firstLater = new Map<string, number>();
      for (const o of outputs)
        if (o.tradeId.startsWith('later-') && !firstLater.has(o.instrumentId))
          firstLater.set(o.instrumentId, o.tradeCount);
      expect([...firstLater.values()]).toEqual([1, 1, 1]);
    } finally {
      await runner.stop();
    }
    const records = await changelog(`${namespace}running-volume.totals.changelog`);
    const tombstones = records
      .filter((r) => r.tombstone)
      .map((r) => r.key)
      .sort();
    expect(tombstones).toEqual([...new Set(first.map((t) => t.instrumentId))].sort());
  }, 180_000);

  it('aggregate: an instrument silent for the TTL has its open bars emitted final before its state goes', async () => {
    const namespace = await namespaceWith('barsttl', [
      'md.trades.v1',
      'md.trades.v1.dlq',
      'md.heartbeats.v1',
      'md.heartbeats.v1.dlq',
      'md.bars.v1',
      'md.quality.v1',
      'aggregate.bars.changelog',
    ]);
    const prefix = unique('BTTL');
    const metrics = new RuntimeMetrics();
    const stage = { ...aggregateStage(parseConfig('aggregate', AGGREGATE_CONFIG, {})), stateTtlMs: 4000 };
    const runner = Runner.forStage(kafka, codec, stage, { topicPrefix: namespace, metrics, expirySweepMs: 500 });
    // Two minutes of trades, no heartbeat: the last bars stay open until the expiry.
    const trades = [
      ...syntheticTrades(
        { seed: 53, instruments: 2, prefix, startMicros: (Date.now() - 200_000) * 1000, stepMicros: 200_000 },
        600,
      ),
    ];
    try {
      await runner.start();
      await publishTrades(kafka, codec, trades, undefined, namespace);
      await waitFor(
        'the expiry',
        async () => (await metrics.stateExpired.get()).values.reduce((s, v) => s + v.value, 0) >= 2,
        60_000,
        250,
      );
      await sleep(500);
    } finally {
      await runner.stop();
    }
    const bars = (await collectTopic<Bar>(kafka, `${namespace}md.bars.v1`, 60_000, 'md.bars.v1')).map((r) => r.value);
    for (const id of new Set(trades.map((t) => t.instrumentId))) {
      const last = Math.max(...trades.filter((t) => t.instrumentId === id).map((t) => t.tsEvent));
      for (const interval of ['1s', '1m', '5m']) {
        const finals = bars.filter((b) => b.instrumentId === id && b.interval === interval && b.final);
        // The bar holding the instrument's last trade is final, as the expiry left it.
        expect(finals.some((b) => b.tsStart <= last && last < b.tsEnd)).toBe(true);
      }
    }
  }, 180_000);
});
