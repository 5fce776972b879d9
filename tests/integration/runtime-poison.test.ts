import type { Admin, Kafka } from 'kafkajs';
import { syntheticTrades } from '../../connectors/synthetic/trades';
import { createKafka } from '../../pipelines/runtime/kafka';
import { Pipeline } from '../../ops/run/pipeline';
import { collectTopic } from '../../ops/cli/tap';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { Decimal } from '../../schemas/decimal';
import type { DeadLetter, Trade } from '../../schemas/types.generated';
import { unique } from '../support/helpers';
import {
  checkVolumeOutputs,
  dropNamespace,
  metricSum,
  publishTrades,
  volumeNamespace,
  volumeRows,
  waitForVolumeRows,
} from '../support/runtime-harness';

describe('poison test: 1% malformed records in a 10,000-record stream', () => {
  let kafka: Kafka;
  let admin: Admin;
  const codec = new AvroCodec();
  beforeAll(async () => {
    kafka = createKafka('test-poison');
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
  });

  it('sends each bad record to md.trades.v1.dlq with its origin, processes every good one, and the counts reconcile', async () => {
    const prefix = unique('POISON');
    const trades = [...syntheticTrades({ seed: 3, instruments: 8, prefix, startMicros: Date.now() * 1000 }, 10_000)];
    // Every 100th record is bad: alternately undecodable bytes and a decodable trade with a bad value.
    const good: Trade[] = [];
    const stream: (Trade | { raw: Buffer; key: string })[] = trades.map((t, i) => {
      if (i % 100 !== 99) {
        good.push(t);
        return t;
      }
      if (i % 200 === 99) return { key: t.instrumentId, raw: Buffer.from(`not avro ${prefix} #${i}`) };
      return { ...t, size: new Decimal('-0.5') };
    });
    const namespace = await volumeNamespace(kafka, 'poison');
    const pipeline = new Pipeline(kafka, codec, {
      settings: new Map([['sink-questdb', { topics: 'md.volume.v1' }]]),
      topicPrefix: namespace,
    });
    const port = await pipeline.serve(0);
    await pipeline.start(['running-volume', 'sink-questdb']);
    try {
      await pipeline.waitUntilIdle(admin, { quietMs: 500 });
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      // What this instance consumed of earlier runs' backlog is counted before; the stream's own counts are the
      // difference.
      const stage0 = pipeline.runners.find((r) => r.name === 'running-volume');
      const before = {
        in: stage0?.stats.recordsIn ?? 0,
        out: stage0?.stats.recordsOut ?? 0,
        dlq: stage0?.stats.deadLetters ?? 0,
      };
      await publishTrades(kafka, codec, stream, undefined, namespace);
      await waitForVolumeRows(prefix, good.length, 120_000);
      await pipeline.waitUntilIdle(admin, { quietMs: 1000 });
      const stage = pipeline.runners.find((r) => r.name === 'running-volume');
      // in = out + dead letters, for everything this instance consumed, in the stats and the metrics.
      expect(stage?.stats.recordsIn).toBe((stage?.stats.recordsOut ?? 0) + (stage?.stats.deadLetters ?? 0));
      expect([
        (stage?.stats.recordsIn ?? 0) - before.in,
        (stage?.stats.recordsOut ?? 0) - before.out,
        (stage?.stats.deadLetters ?? 0) - before.dlq,
      ]).toEqual([10_000, 9_900, 100]);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const sum = (name: string): number => metricSum(metrics, name, 'stage="running-volume"');
      expect(sum('tickflow_records_in_total')).toBe(
        sum('tickflow_records_out_total') + sum('tickflow_dead_letters_total'),
      );
      expect(sum('tickflow_dead_letters_total')).toBeGreaterThanOrEqual(100);
      expect(metrics).toContain('tickflow_transactions_total{stage="running-volume",result="commit"}');
    } finally {
      await pipeline.stop();
    }
    expect(await volumeRows(prefix)).toBe(9_900);
    expect(await checkVolumeOutputs(kafka, prefix, good, (t) => t.size.isPositive(), namespace)).toEqual([]);

    const letters = (await collectTopic<DeadLetter>(kafka, `${namespace}md.trades.v1.dlq`, 60_000, 'md.trades.v1.dlq'))
      .map((r) => r.value)
      .filter((d) => d.originalKey?.toString().startsWith(`SYN:${prefix}`));
    expect(letters).toHaveLength(100);
    const undecodable = letters.filter((d) => d.errorCode === 'DECODE_ERROR');
    const invalid = letters.filter((d) => d.errorCode === 'INVALID_VALUE');
    expect(undecodable).toHaveLength(50);
    expect(invalid).toHaveLength(50);
    for (const d of letters) {
      expect(d.stage).toBe('running-volume');
      expect(d.sourceTopic).toBe(`${namespace}md.trades.v1`);
      expect(d.sourcePartition).toBeGreaterThanOrEqual(0);
      expect(d.sourceOffset).toMatch(/^\d+$/);
    }
    // The original bytes are kept as they were.
    expect(undecodable.map((d) => d.originalValue?.toString()).sort()).toEqual(
      trades
        .map((_, i) => i)
        .filter((i) => i % 200 === 99)
        .map((i) => `not avro ${prefix} #${i}`)
        .sort(),
    );
    expect(invalid.every((d) => /sizes must be positive/.test(d.errorMessage))).toBe(true);
    const decoded = await Promise.all(invalid.map((d) => codec.decode<Trade>('md.trades.v1', d.originalValue)));
    expect(decoded.every((t) => t.size.equals(new Decimal('-0.5')))).toBe(true);
    // Origins are distinct positions in the input topic.
    expect(new Set(letters.map((d) => `${d.sourcePartition}@${d.sourceOffset}`)).size).toBe(100);
    await dropNamespace(kafka, namespace);
  }, 300_000);
});
