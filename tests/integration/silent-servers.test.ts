import fs from 'node:fs';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { syntheticTrades } from '../../connectors/synthetic/trades';
import { tickflowHome } from '../../pipelines/runtime/settings';
import { TickflowError } from '../../pipelines/runtime/errors';
import { createKafka } from '../../pipelines/runtime/kafka';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { unique } from '../support/helpers';
import type { RunProcess } from '../support/runtime-harness';
import {
  dropNamespace,
  killRun,
  runningVolumeArgs,
  volumeNamespace,
  metricSum,
  metricsPort,
  publishTrades,
  runLog,
  runMetrics,
  sleep,
  startRun,
  volumeRows,
  waitFor,
  waitForVolumeRows,
} from '../support/runtime-harness';

/**
 * A server that stops answering (SIGSTOP: its port still accepts connections, nothing answers, as
 * a hung process or a dead kept-alive connection does) is an outage that shows in health, logs and
 * metrics, and is waited out; never a silent hang. Every process frozen here is woken in `finally`.
 */
function pidOf(component: 'registry' | 'questdb'): number {
  return Number(fs.readFileSync(path.join(tickflowHome(), 'run', `${component}.pid`), 'utf8').trim());
}

function freeze(component: 'registry' | 'questdb'): () => void {
  const pid = pidOf(component);
  process.kill(pid, 'SIGSTOP');
  return () => process.kill(pid, 'SIGCONT');
}

async function ready(
  run: RunProcess,
): Promise<{ status: number; body: { dependencies?: Record<string, { up: boolean; lastError?: string }> } }> {
  const response = await fetch(`http://127.0.0.1:${metricsPort(run)}/readyz`);
  return {
    status: response.status,
    body: (await response.json()) as { dependencies?: Record<string, { up: boolean }> },
  };
}

describe('servers that stop answering', () => {
  let kafka: Kafka;
  const codec = new AvroCodec();
  beforeAll(() => {
    kafka = createKafka('test-silent-servers');
  });

  it('a schema registry that stops answering fails a lookup within its bound (NOT_REACHABLE, not a hang), and works again once it answers', async () => {
    const wake = freeze('registry');
    let woken = false;
    try {
      // A fresh codec must ask the registry; each call is bounded (here 2 s) and retried 3 times.
      const fresh = new AvroCodec(undefined, 2000);
      const started = Date.now();
      const error = await fresh.prepare(['md.trades.v1']).then(
        () => undefined,
        (e: unknown) => e,
      );
      const seconds = (Date.now() - started) / 1000;
      expect(error).toBeInstanceOf(TickflowError);
      expect((error as TickflowError).code).toBe('NOT_REACHABLE');
      expect((error as Error).message).toMatch(
        /schema registry at .*lookup of md.trades.v1-value failed 3 times: schema registry lookup of md.trades.v1-value did not complete within 2 s/,
      );
      expect(seconds).toBeLessThan(15);
      wake();
      woken = true;
      await fresh.prepare(['md.trades.v1']);
      expect(
        fresh.encodeSync(
          'md.trades.v1',
          [...syntheticTrades({ seed: 1, instruments: 1, prefix: 'X', startMicros: Date.now() * 1000 }, 1)][0],
        ).length,
      ).toBeGreaterThan(5);
    } finally {
      if (!woken) wake();
    }
  }, 120_000);

  it('a QuestDB that stops answering: the sink pauses, /readyz says which server is down, the metrics show it, and every row lands once it answers', async () => {
    const prefix = unique('SILENTQ');
    const total = 8000;
    const trades = [...syntheticTrades({ seed: 9, instruments: 6, prefix, startMicros: Date.now() * 1000 }, total)];
    const namespace = await volumeNamespace(kafka, 'silent');
    const run = startRun(runningVolumeArgs(namespace), {}, 'silent-questdb');
    let wake: (() => void) | undefined;
    try {
      await waitFor('metrics endpoint', async () => metricsPort(run) !== undefined, 30_000, 200);
      await waitFor('the pipeline to be ready', async () => (await ready(run)).status === 200, 60_000, 500);
      const publishing = publishTrades(kafka, codec, trades, 1000, namespace);
      await waitFor('rows to flow', async () => (await volumeRows(prefix)) >= 1000, 60_000, 200);
      wake = freeze('questdb');
      const frozenAt = Date.now();
      // The sink's flush is bounded (15 s): the outage is noticed and reported, not waited on forever.
      await waitFor(
        'the outage to show in /readyz',
        async () => {
          const r = await ready(run);
          return r.status === 503 && r.body.dependencies?.questdb?.up === false;
        },
        60_000,
        1000,
      );
      expect(Date.now() - frozenAt).toBeLessThan(45_000);
      const metrics = await runMetrics(run);
      expect(metricSum(metrics, 'tickflow_dependency_up', 'dependency="questdb"')).toBe(0);
      expect(metricSum(metrics, 'tickflow_dependency_failures_total', 'dependency="questdb"')).toBeGreaterThan(0);
      expect(metricSum(metrics, 'tickflow_paused_partitions')).toBeGreaterThanOrEqual(1);
      expect(runLog(run)).toMatch(/questdb is not answering/);
      wake();
      wake = undefined;
      await publishing;
      await waitForVolumeRows(prefix, total, 180_000);
      await waitFor('QuestDB to count as up again', async () => (await ready(run)).status === 200, 60_000, 1000);
      expect(runLog(run)).toMatch(/questdb answers again after/);
      expect(await volumeRows(prefix)).toBe(total);
      expect(metricSum(await runMetrics(run), 'tickflow_dead_letters_total', 'stage="sink-questdb"')).toBe(0);
    } finally {
      wake?.();
      await sleep(100);
      await killRun(run, 'SIGTERM');
      await dropNamespace(kafka, namespace);
    }
  }, 400_000);
});
