import type { Kafka } from 'kafkajs';
import { syntheticTrades } from '../../connectors/synthetic/trades';
import { createKafka } from '../../pipelines/runtime/kafka';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { StageDriver } from '../../pipelines/runtime/test-driver';
import { runningVolumeStage } from '../../pipelines/running-volume/running-volume';
import { unique } from '../support/helpers';
import {
  SHORT_SESSION_ENV,
  checkVolumeOutputs,
  dropNamespace,
  runningVolumeArgs,
  volumeNamespace,
  killRun,
  publishTrades,
  restoredTotals,
  startRun,
  volumeRows,
  waitFor,
  waitForVolumeRows,
} from '../support/runtime-harness';

describe('crash test: SIGKILL a stateful stage and the sink five times mid-stream', () => {
  let kafka: Kafka;
  const codec = new AvroCodec();
  beforeAll(() => {
    kafka = createKafka('test-crash');
  });

  it('200,000 trades: exactly one output each, exactly 200,000 rows, restored state equals an uninterrupted run', async () => {
    const prefix = unique('CRASH');
    const namespace = await volumeNamespace(kafka, 'crash');
    const total = 200_000;
    const trades = [...syntheticTrades({ seed: 42, instruments: 20, prefix, startMicros: Date.now() * 1000 }, total)];
    await publishTrades(kafka, codec, trades, undefined, namespace);

    // Five random moments, spread over the stream: kill as soon as QuestDB holds that many rows
    // (the stage is then ahead of the sink, so both have work in flight).
    const targets = Array.from({ length: 5 }, (_, i) => Math.floor(total * (0.05 + 0.17 * i + Math.random() * 0.12)));
    const kills: number[] = [];
    for (let i = 0; i < 5; i++) {
      const run = startRun(runningVolumeArgs(namespace), SHORT_SESSION_ENV, `crash-${i}`);
      await waitFor(`${targets[i]} rows`, async () => (await volumeRows(prefix)) >= targets[i], 180_000, 100);
      await killRun(run, 'SIGKILL');
      kills.push(await volumeRows(prefix));
    }
    process.stderr.write(`crash test: SIGKILL with ${kills.join(', ')} of ${total} rows in QuestDB\n`);
    expect(kills[kills.length - 1]).toBeLessThan(total); // the kills really happened mid-stream
    const last = startRun(runningVolumeArgs(namespace), SHORT_SESSION_ENV, 'crash-final');
    try {
      await waitForVolumeRows(prefix, total, 300_000);
    } finally {
      await killRun(last, 'SIGTERM');
    }
    expect(await volumeRows(prefix)).toBe(total);
    expect(await checkVolumeOutputs(kafka, prefix, trades, () => true, namespace)).toEqual([]);

    const uninterrupted = new StageDriver(runningVolumeStage);
    uninterrupted.run(trades);
    expect(await restoredTotals(kafka, codec, prefix, namespace)).toEqual(uninterrupted.snapshot('totals'));
    await dropNamespace(kafka, namespace);
  }, 900_000);
});
