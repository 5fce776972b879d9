import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { syntheticTrades } from '../../connectors/synthetic/trades';
import { createKafka } from '../../pipelines/runtime/kafka';
import { registerCatalog } from '../../ops/schemas/registry';
import { stackDown, stackUp } from '../../ops/stack/stack';
import { applyTopics } from '../../ops/topics/apply';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { StageDriver } from '../../pipelines/runtime/test-driver';
import { runningVolumeStage } from '../../pipelines/running-volume/running-volume';
import { unique } from '../support/helpers';
import {
  RUNNING_VOLUME_ARGS,
  checkVolumeOutputs,
  diagnose,
  inputTrades,
  killRun,
  publishTrades,
  restoredTotals,
  sleep,
  startRun,
  volumeRows,
  waitFor,
  waitForVolumeRows,
} from '../support/runtime-harness';

const BASE = 19092;
const BROKERS = [BASE, BASE + 2, BASE + 4].map((p) => `127.0.0.1:${p}`);

/**
 * A second, three-node Kafka cluster on other ports (QuestDB and the registry are the main stack's),
 * so one broker can be killed without touching the cluster the other tests use.
 */
describe('broker test: a broker of a three-node cluster is killed and restarted mid-stream', () => {
  const saved = { ...process.env };
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tickflow-3node-'));
  let kafka: Kafka;
  const codec = new AvroCodec();

  beforeAll(async () => {
    Object.assign(process.env, {
      TICKFLOW_HOME: home,
      TICKFLOW_KAFKA_PORT: String(BASE),
      TICKFLOW_QUESTDB_URL: 'http://127.0.0.1:9000',
      TICKFLOW_SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7',
    });
    await stackUp({ brokers: 3 });
    kafka = createKafka('test-broker', BROKERS);
    const admin = kafka.admin();
    await admin.connect();
    await applyTopics(admin);
    await admin.disconnect();
    await registerCatalog();
  }, 300_000);

  afterAll(async () => {
    await stackDown({ purge: true });
    process.env = { ...saved };
    fs.rmSync(home, { recursive: true, force: true });
  }, 120_000);

  it('loses nothing and duplicates nothing', async () => {
    const prefix = unique('BROKER');
    const total = 60_000;
    const trades = [...syntheticTrades({ seed: 9, instruments: 12, prefix, startMicros: Date.now() * 1000 }, total)];
    const publishing = publishTrades(kafka, codec, trades, 3000);
    const run = startRun(
      RUNNING_VOLUME_ARGS,
      { TICKFLOW_KAFKA_BROKERS: BROKERS.join(','), TICKFLOW_SESSION_TIMEOUT_MS: '10000' },
      'broker',
    );
    try {
      await waitFor('progress', async () => (await volumeRows(prefix)) >= total * 0.15, 180_000, 200);
      const pid = Number(fs.readFileSync(path.join(home, 'run', 'kafka-2.pid'), 'utf8'));
      process.kill(pid, 'SIGKILL');
      const killedAt = await volumeRows(prefix);
      await sleep(10_000);
      const restarted = await stackUp({});
      expect(restarted.started).toEqual(['Kafka broker 2']);
      await publishing;
      await waitForVolumeRows(prefix, total, 240_000).catch(async (error: Error) => {
        throw new Error(
          `${error.message}\n${await diagnose(kafka, run, { 'md.trades.v1': 'tickflow.running-volume', 'md.volume.v1': 'tickflow.sink-questdb' })}`,
        );
      });
      process.stderr.write(`broker test: broker 2 killed at ${killedAt} of ${total} rows, restarted after 10 s\n`);
    } finally {
      await killRun(run, 'SIGTERM');
    }
    // Every published trade is in QuestDB once (a trade the load producer had to resend across the
    // broker failure is the same row); the stage saw the input exactly as it is on the topic.
    expect(await volumeRows(prefix)).toBe(total);
    const input = await inputTrades(kafka, prefix);
    expect(new Set(input.map((t) => t.tradeId)).size).toBe(total);
    expect(await checkVolumeOutputs(kafka, prefix)).toEqual([]);
    const uninterrupted = new StageDriver(runningVolumeStage);
    uninterrupted.run(input);
    expect(await restoredTotals(kafka, codec, prefix)).toEqual(uninterrupted.snapshot('totals'));
  }, 600_000);
});
