import type { Admin, Kafka } from 'kafkajs';
import { QuestDbSink } from '../../connectors/questdb/sink';
import { sql, waitForWalApplied } from '../../connectors/questdb/sql';
import { syntheticTrades } from '../../connectors/synthetic/trades';
import { collectTopic } from '../../ops/cli/tap';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { RuntimeMetrics } from '../../pipelines/runtime/metrics';
import { Runner } from '../../pipelines/runtime/runner';
import type { InputRecord, OutputRecord, Stage, StageContext, StageResult } from '../../pipelines/runtime/stage';
import { Decimal } from '../../schemas/decimal';
import type { DeadLetter, Feature, RunningVolume, Signal, Trade } from '../../schemas/types.generated';
import { unique } from '../support/helpers';
import { TestNamespaces } from '../support/namespaces';
import { publishTrades, restoredTotals, waitFor } from '../support/runtime-harness';

/**
 * One record must never stop the pipeline, even when a stage's output cannot be encoded or the store
 * rejects a row for good: that record becomes a dead letter with the reason, its state changes are
 * rolled back, and everything around it goes through at once. Each test has its own namespace.
 */
interface Totals {
  count: number;
  volume: string;
}

/**
 * A running-volume stage with a bug a hostile input can reach: a trade whose id starts with
 * `POISON` yields an output whose time is not a safe integer (Avro cannot encode it). It updates
 * its state before emitting, so a rollback is needed for the state to stay right.
 */
const buggyStage: Stage<Trade> = {
  name: 'running-volume',
  inputs: ['md.trades.v1'],
  outputs: ['md.volume.v1'],
  stores: ['totals'],
  process(batch: readonly InputRecord<Trade>[], ctx: StageContext): StageResult {
    const totals = ctx.store<Totals>('totals');
    const out: OutputRecord[] = [];
    for (const { value: t } of batch) {
      const before = totals.get(t.instrumentId) ?? { count: 0, volume: '0' };
      const after = { count: before.count + 1, volume: new Decimal(before.volume).plus(t.size).toFixed() };
      totals.put(t.instrumentId, after);
      const value: RunningVolume = {
        instrumentId: t.instrumentId,
        venue: t.venue,
        symbol: t.symbol,
        source: t.source,
        tsEvent: t.tradeId.startsWith('POISON') ? 2 ** 60 : t.tsEvent,
        tsRecv: t.tsRecv,
        tradeId: t.tradeId,
        tradeCount: after.count,
        volume: new Decimal(after.volume),
        lastPrice: t.price,
      };
      out.push({ topic: 'md.volume.v1', key: t.instrumentId, value });
    }
    return { out, failed: [] };
  },
};

describe('one record never stops the pipeline', () => {
  const ns = new TestNamespaces('test-one-record');
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

  it('an output that cannot be encoded is a dead letter of the input that caused it; its state change is rolled back, the rest commits', async () => {
    const namespace = await ns.create('output', [
      'md.trades.v1',
      'md.trades.v1.dlq',
      'md.volume.v1',
      'running-volume.totals.changelog',
    ]);
    const prefix = unique('OUT');
    const trades = [...syntheticTrades({ seed: 31, instruments: 4, prefix, startMicros: Date.now() * 1000 }, 3000)].map(
      (t, i) => (i % 500 === 250 ? { ...t, tradeId: `POISON-${i}` } : t),
    );
    const poison = trades.filter((t) => t.tradeId.startsWith('POISON'));
    const metrics = new RuntimeMetrics();
    const runner = Runner.forStage(kafka, codec, buggyStage, { topicPrefix: namespace, metrics });
    const started = Date.now();
    try {
      await runner.start();
      await publishTrades(kafka, codec, trades, undefined, namespace);
      await waitFor('the stage to catch up', () => runner.caughtUp(admin), 120_000, 250);
    } finally {
      await runner.stop();
    }
    expect(Date.now() - started).toBeLessThan(60_000);
    const outputs = (await collectTopic<RunningVolume>(kafka, `${namespace}md.volume.v1`, 60_000, 'md.volume.v1')).map(
      (r) => r.value,
    );
    expect(outputs).toHaveLength(trades.length - poison.length);
    expect(outputs.some((o) => o.tradeId.startsWith('POISON'))).toBe(false);
    const letters = (
      await collectTopic<DeadLetter>(kafka, `${namespace}md.trades.v1.dlq`, 60_000, 'md.trades.v1.dlq')
    ).map((r) => r.value);
    expect(letters.map((l) => [l.errorCode, l.stage, l.sourceTopic])).toEqual(
      poison.map(() => ['INVALID_OUTPUT', 'running-volume', `${namespace}md.trades.v1`]),
    );
    expect(letters[0].errorMessage).toMatch(/an output to md.volume.v1 cannot be encoded/);
    // The poison trades' own state changes were rolled back: the counts are those of the good trades.
    const good = trades.filter((t) => !t.tradeId.startsWith('POISON'));
    const expected: Record<string, Totals> = {};
    for (const t of good) {
      const before = expected[t.instrumentId] ?? { count: 0, volume: '0' };
      expected[t.instrumentId] = { count: before.count + 1, volume: new Decimal(before.volume).plus(t.size).toFixed() };
    }
    expect(await restoredTotals(kafka, codec, prefix, namespace)).toEqual(expected);
    // Each output's count is its trade's position among the good trades of its instrument: exactly once.
    const positions = new Map<string, number>();
    for (const t of good) {
      const n = (positions.get(t.instrumentId) ?? 0) + 1;
      positions.set(t.instrumentId, n);
      positions.set(`${t.instrumentId}#${t.tradeId}`, n);
    }
    for (const o of outputs)
      expect([o.tradeId, o.tradeCount]).toEqual([o.tradeId, positions.get(`${o.instrumentId}#${o.tradeId}`)]);
  }, 180_000);

  it("a row QuestDB rejects for good is a dead letter with QuestDB's message; its batch and every other table are written without retrying", async () => {
    const namespace = await ns.create('reject', [
      'md.trades.v1',
      'md.trades.v1.dlq',
      'md.features.v1',
      'md.features.v1.dlq',
      'signals.rejected.v1',
      'signals.rejected.v1.dlq',
    ]);
    const suffix = `_${unique('rej')}`;
    // Tables made by hand, differently from tickflow's: features without the `exact` column (QuestDB
    // answers a row carrying it with 500 "decimal columns cannot be created automatically"), signals
    // with `reject_detail` a LONG (a row with a text detail is a 400 cast error). Other rows are taken.
    await sql(
      `CREATE TABLE features${suffix} (ts TIMESTAMP, instrument_id SYMBOL, venue SYMBOL, symbol SYMBOL, source SYMBOL, basis SYMBOL, feature SYMBOL, value DOUBLE, ts_recv TIMESTAMP, event_id VARCHAR) TIMESTAMP(ts) PARTITION BY DAY WAL`,
    );
    await sql(
      `CREATE TABLE signals${suffix} (ts TIMESTAMP, id VARCHAR, price DECIMAL(38, 12), reject_detail LONG) TIMESTAMP(ts) PARTITION BY DAY WAL`,
    );
    const prefix = unique('REJ');
    const t0 = Date.now() * 1000;
    const features: Feature[] = Array.from({ length: 600 }, (_, i) => ({
      instrumentId: `SYN:${prefix}`,
      venue: 'SYN',
      symbol: prefix,
      source: 'test',
      tsEvent: t0 + i * 1000,
      tsRecv: t0 + i * 1000 + 5,
      basis: 'quote',
      name: i % 100 === 7 ? 'mid' : 'imbalance_l1',
      value: i / 1000,
      exact: i % 100 === 7 ? new Decimal('101.5') : null,
      eventId: String(i),
    }));
    const signals: Signal[] = Array.from({ length: 40 }, (_, i) => ({
      id: `${prefix}-${i}`,
      strategy: 'test',
      instrumentId: `SYN:${prefix}`,
      venue: 'SYN',
      symbol: prefix,
      source: 'test',
      interval: '1m',
      side: 'BUY',
      confidence: 0.9,
      reason: 'test',
      price: new Decimal('100'),
      barStart: t0 + i * 60_000_000,
      barRevision: 0,
      tsEvent: t0 + (i + 1) * 60_000_000,
      tsRecv: t0 + (i + 1) * 60_000_000,
      features: {},
      status: 'REJECTED',
      rejectCode: i % 10 === 3 ? 'LOW_CONFIDENCE' : null,
      rejectDetail: i % 10 === 3 ? 'confidence 0.1 is below 0.6' : null,
      tsValidated: t0,
    }));
    const trades = [...syntheticTrades({ seed: 37, instruments: 3, prefix, startMicros: t0 }, 2000)];
    const metrics = new RuntimeMetrics();
    const sink = new QuestDbSink(['md.features.v1', 'md.trades.v1', 'signals.rejected.v1'], undefined, suffix);
    const runner = Runner.forSink(kafka, codec, sink, { topicPrefix: namespace, metrics });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const started = Date.now();
    try {
      await runner.start();
      await producer.connect();
      await producer.send({
        topic: `${namespace}md.features.v1`,
        messages: await Promise.all(
          features.map(async (f) => ({ key: f.instrumentId, value: await codec.encode('md.features.v1', f) })),
        ),
        acks: -1,
      });
      await producer.send({
        topic: `${namespace}signals.rejected.v1`,
        messages: await Promise.all(
          signals.map(async (x) => ({ key: x.instrumentId, value: await codec.encode('signals.rejected.v1', x) })),
        ),
        acks: -1,
      });
      await publishTrades(kafka, codec, trades, undefined, namespace);
      await waitFor('the sink to catch up', () => runner.caughtUp(admin), 120_000, 250);
    } finally {
      await producer.disconnect();
      await runner.stop();
    }
    expect(Date.now() - started).toBeLessThan(60_000);
    await waitForWalApplied([`features${suffix}`, `trades${suffix}`, `signals${suffix}`]);
    const badFeatures = features.filter((f) => f.exact !== null);
    const badSignals = signals.filter((x) => x.rejectDetail !== null);
    expect((await sql(`SELECT count() FROM features${suffix}`)).dataset[0][0]).toBe(
      features.length - badFeatures.length,
    );
    expect((await sql(`SELECT count() FROM signals${suffix}`)).dataset[0][0]).toBe(signals.length - badSignals.length);
    expect((await sql(`SELECT count() FROM trades${suffix}`)).dataset[0][0]).toBe(trades.length);
    const lettersOf = async <V>(topic: string): Promise<{ value: V; message: string; code: string }[]> =>
      Promise.all(
        (await collectTopic<DeadLetter>(kafka, `${namespace}${topic}.dlq`, 60_000, `${topic}.dlq`)).map(async (r) => ({
          value: await codec.decode<V>(topic, r.value.originalValue),
          message: r.value.errorMessage,
          code: r.value.errorCode,
        })),
      );
    const featureLetters = await lettersOf<Feature>('md.features.v1');
    expect(featureLetters.map((l) => l.value.eventId).sort()).toEqual(badFeatures.map((f) => f.eventId).sort());
    for (const l of featureLetters)
      expect([l.code, l.message]).toEqual([
        'REJECTED_BY_STORE',
        expect.stringMatching(
          /QuestDB rejected the row for features_rej[\s\S]*decimal columns cannot be created automatically/,
        ),
      ]);
    const signalLetters = await lettersOf<Signal>('signals.rejected.v1');
    expect(signalLetters.map((l) => l.value.id).sort()).toEqual(badSignals.map((x) => x.id).sort());
    for (const l of signalLetters)
      expect([l.code, l.message]).toEqual([
        'REJECTED_BY_STORE',
        expect.stringMatching(
          /QuestDB rejected the row for signals_rej[\s\S]*cast error from protocol type: STRING to column type: LONG/,
        ),
      ]);
    // Not an outage: nothing was retried with backoff, nothing paused.
    const retries = (await metrics.sinkRetries.get()).values.reduce((sum, v) => sum + v.value, 0);
    expect(retries).toBe(0);
    for (const table of ['features', 'signals', 'trades']) await sql(`DROP TABLE ${table}${suffix}`);
  }, 180_000);
});
