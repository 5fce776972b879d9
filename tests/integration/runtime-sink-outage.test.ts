import type { Kafka } from 'kafkajs';
import { syntheticTrades } from '../../connectors/synthetic/trades';
import { createKafka } from '../../pipelines/runtime/kafka';
import { stackUp, stopComponent } from '../../ops/stack/stack';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { unique } from '../support/helpers';
import type { RunProcess } from '../support/runtime-harness';
import {
  checkVolumeOutputs,
  dropNamespace,
  runningVolumeArgs,
  volumeNamespace,
  killRun,
  metricSum,
  metricsPort,
  publishTrades,
  rssMb,
  runMetrics,
  sleep,
  startRun,
  volumeRows,
  waitFor,
  waitForVolumeRows,
} from '../support/runtime-harness';

async function metric(run: RunProcess, name: string, labels = ''): Promise<number> {
  return metricSum(await runMetrics(run), name, labels);
}

describe('sink outage: QuestDB stopped for 60 s while 100,000 records flow', () => {
  let kafka: Kafka;
  const codec = new AvroCodec();
  beforeAll(() => {
    kafka = createKafka('test-outage');
  });

  it('pauses, keeps RSS under 300 MB, and writes every row exactly once when QuestDB is back', async () => {
    const prefix = unique('OUTAGE');
    const namespace = await volumeNamespace(kafka, 'outage');
    const total = 100_000;
    const trades = [...syntheticTrades({ seed: 5, instruments: 10, prefix, startMicros: Date.now() * 1000 }, total)];
    const run = startRun(runningVolumeArgs(namespace), {}, 'outage');
    let maxRss = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          maxRss = Math.max(maxRss, rssMb(run.child.pid as number));
        } catch {
          /* exited */
        }
        await sleep(250);
      }
    })();
    try {
      await waitFor('metrics endpoint', async () => metricsPort(run) !== undefined, 30_000, 200);
      // The stream keeps flowing through the outage: 100,000 trades over about 40 s.
      const publishing = publishTrades(kafka, codec, trades, 2500, namespace);
      await waitFor('rows to flow', async () => (await volumeRows(prefix)) >= 10_000, 120_000, 200);
      expect(await stopComponent('questdb', 5000)).toBe(true);
      const outageStarted = Date.now();
      await waitFor(
        'the sink to pause',
        async () => (await metric(run, 'tickflow_paused_partitions')) >= 1,
        30_000,
        500,
      );
      const retriesDuringOutage = await metric(run, 'tickflow_sink_retries_total');
      expect(retriesDuringOutage).toBeGreaterThan(0);
      await sleep(Math.max(0, 60_000 - (Date.now() - outageStarted)));
      // Slow is not failed: nothing became a dead letter.
      expect(await metric(run, 'tickflow_dead_letters_total', 'stage="sink-questdb"')).toBe(0);
      await stackUp({});
      await publishing;
      await waitForVolumeRows(prefix, total, 240_000);
      expect(await metric(run, 'tickflow_paused_partitions')).toBe(0);
    } finally {
      sampling = false;
      await sampler;
      await killRun(run, 'SIGTERM');
      await stackUp({});
    }
    process.stderr.write(`sink outage: peak RSS of the pipeline process ${maxRss.toFixed(0)} MB\n`);
    expect(maxRss).toBeLessThan(300);
    expect(await volumeRows(prefix)).toBe(total);
    expect(await checkVolumeOutputs(kafka, prefix, trades, () => true, namespace)).toEqual([]);
    await dropNamespace(kafka, namespace);
  }, 600_000);
});
