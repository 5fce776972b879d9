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
  sleep,
  startRun,
  volumeRows,
  waitFor,
  waitForVolumeRows,
} from '../support/runtime-harness';

/** Publishes `total` trades at `rate`/s while `act` runs instances against them, then checks exactly-once. */
async function scenario(
  kafka: Kafka,
  codec: AvroCodec,
  label: string,
  total: number,
  rate: number,
  act: (prefix: string, args: string[]) => Promise<void>,
): Promise<void> {
  const prefix = unique(label);
  const namespace = await volumeNamespace(kafka, label.toLowerCase());
  const trades = [...syntheticTrades({ seed: 11, instruments: 12, prefix, startMicros: Date.now() * 1000 }, total)];
  const publishing = publishTrades(kafka, codec, trades, rate, namespace);
  await act(prefix, runningVolumeArgs(namespace));
  await publishing;
  expect(await volumeRows(prefix)).toBe(total);
  expect(await checkVolumeOutputs(kafka, prefix, trades, () => true, namespace)).toEqual([]);
  const uninterrupted = new StageDriver(runningVolumeStage);
  uninterrupted.run(trades);
  expect(await restoredTotals(kafka, codec, prefix, namespace)).toEqual(uninterrupted.snapshot('totals'));
  await dropNamespace(kafka, namespace);
}

describe('consumer-group behaviour of a stateful stage (separate processes)', () => {
  let kafka: Kafka;
  const codec = new AvroCodec();
  beforeAll(() => {
    kafka = createKafka('test-group');
  });

  it('zombie: a frozen instance is fenced by its replacement and, when it wakes, produces no duplicate', async () => {
    const total = 100_000;
    await scenario(kafka, codec, 'ZOMBIE', total, 5000, async (prefix, args) => {
      const a = startRun(args, SHORT_SESSION_ENV, 'zombie-a');
      let b: ReturnType<typeof startRun> | undefined;
      try {
        await waitFor('A to make progress', async () => (await volumeRows(prefix)) >= total * 0.1, 120_000, 100);
        // Freeze A mid-stream: it keeps its transactional ids and whatever transaction it had open.
        a.child.kill('SIGSTOP');
        const frozenAt = await volumeRows(prefix);
        // B joins; once A's session expires B owns every partition and its producers fence A's.
        b = startRun(args, SHORT_SESSION_ENV, 'zombie-b');
        await waitFor('B to take over', async () => (await volumeRows(prefix)) > frozenAt + total * 0.1, 120_000, 200);
        // A wakes up believing it still owns its partitions: its commits must fail, not duplicate.
        a.child.kill('SIGCONT');
        await waitForVolumeRows(prefix, total, 180_000);
        await sleep(2000);
      } finally {
        a.child.kill('SIGCONT');
        await killRun(a, 'SIGTERM');
        if (b) await killRun(b, 'SIGTERM');
      }
    });
  }, 600_000);

  it('rebalance: a second instance joins mid-stream and the first leaves; exactly once holds and state moves with partitions', async () => {
    const total = 100_000;
    await scenario(kafka, codec, 'REBAL', total, 5000, async (prefix, args) => {
      const a = startRun(args, SHORT_SESSION_ENV, 'rebalance-a');
      let b: ReturnType<typeof startRun> | undefined;
      try {
        await waitFor('A to make progress', async () => (await volumeRows(prefix)) >= total * 0.15, 120_000, 100);
        b = startRun(args, SHORT_SESSION_ENV, 'rebalance-b');
        const joinedAt = await volumeRows(prefix);
        await waitFor(
          'progress with both instances',
          async () => (await volumeRows(prefix)) >= joinedAt + total * 0.2,
          120_000,
          100,
        );
        // A leaves cleanly (SIGTERM: drain, commit, leave the group, within 10 s); B gets everything.
        const stopping = Date.now();
        expect(await killRun(a, 'SIGTERM')).toBe(0);
        expect(Date.now() - stopping).toBeLessThan(10_000);
        await waitForVolumeRows(prefix, total, 180_000);
      } finally {
        await killRun(a, 'SIGKILL');
        if (b) await killRun(b, 'SIGTERM');
      }
    });
  }, 600_000);
});
