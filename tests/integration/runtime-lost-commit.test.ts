import type { Kafka } from 'kafkajs';
import { syntheticTrades } from '../../connectors/synthetic/trades';
import { createKafka } from '../../pipelines/runtime/kafka';
import { clusterBrokers, createNamespace } from '../../ops/topics/apply';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { RuntimeMetrics } from '../../pipelines/runtime/metrics';
import { Runner } from '../../pipelines/runtime/runner';
import { StageDriver } from '../../pipelines/runtime/test-driver';
import { runningVolumeStage } from '../../pipelines/running-volume/running-volume';
import { unique } from '../support/helpers';
import { checkVolumeOutputs, publishTrades, restoredTotals, waitFor } from '../support/runtime-harness';

/**
 * A transaction that committed although the runner never learned it (a broker died with the commit
 * response, a call timed out after the broker had done it) must not be applied twice when the batch
 * is redone. The runner is told, after every 4th commit, that the commit failed: exactly what it
 * sees when the response is lost. In its own topic namespace, so other tests' traffic is not read.
 */
describe('a commit whose response was lost', () => {
  let kafka: Kafka;
  const codec = new AvroCodec();
  beforeAll(() => {
    kafka = createKafka('test-lost-commit');
  });

  it('is not applied twice: outputs exactly once, state equal to an uninterrupted run', async () => {
    const namespace = `${unique('test.lostcommit.')}.`;
    const admin = kafka.admin();
    await admin.connect();
    await createNamespace(
      admin,
      namespace,
      ['md.trades.v1', 'md.trades.v1.dlq', 'md.volume.v1', 'running-volume.totals.changelog'],
      await clusterBrokers(admin),
    );
    const prefix = unique('LOST');
    const total = 20_000;
    const trades = [...syntheticTrades({ seed: 5, instruments: 9, prefix, startMicros: Date.now() * 1000 }, total)];
    const metrics = new RuntimeMetrics();
    let commits = 0;
    let injected = 0;
    const fatal: Error[] = [];
    const runner = Runner.forStage(kafka, codec, runningVolumeStage, {
      topicPrefix: namespace,
      metrics,
      sessionTimeoutMs: 10_000,
      onFatal: (error) => fatal.push(error),
      afterCommit: () => {
        commits += 1;
        if (commits % 4 === 0) {
          injected += 1;
          throw new Error('injected: the commit response was lost');
        }
      },
    });
    try {
      await runner.start();
      // Published at a rate, so that the input arrives in many small batches and many commits.
      await publishTrades(kafka, codec, trades, 4000, namespace);
      await waitFor('the stage to catch up', () => runner.caughtUp(admin), 180_000);
    } finally {
      await runner.stop();
    }
    expect(fatal).toEqual([]);
    expect(injected).toBeGreaterThanOrEqual(3);
    expect(await checkVolumeOutputs(kafka, prefix, trades, () => true, namespace)).toEqual([]);
    const uninterrupted = new StageDriver(runningVolumeStage);
    uninterrupted.run(trades);
    expect(await restoredTotals(kafka, codec, prefix, namespace)).toEqual(uninterrupted.snapshot('totals'));
    // The lost commits' batches came back and were recognised as already committed.
    const skipped = (await metrics.recordsSkipped.get()).values.reduce((sum, v) => sum + v.value, 0);
    expect(skipped).toBeGreaterThan(0);
    await admin
      .deleteTopics({ topics: (await admin.listTopics()).filter((t) => t.startsWith(namespace)) })
      .catch(() => undefined);
    await admin.disconnect();
  }, 300_000);
});
