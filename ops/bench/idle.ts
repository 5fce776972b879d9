import type { Kafka } from 'kafkajs';
import { runnableNames } from '../../pipelines/registry';
import { logger } from '../../pipelines/runtime/log';
import { Pipeline } from '../run/pipeline';

const log = logger('bench');

/**
 * `tickflow bench idle`: CPU of a running pipeline (every stage and sink) with no traffic, as a
 * share of one core, measured with process.cpuUsage over `seconds` after a warm-up, `runs` times.
 */
export async function benchIdle(kafka: Kafka, options: { seconds: number; runs: number }): Promise<number[]> {
  const pipeline = new Pipeline(kafka);
  await pipeline.start(runnableNames());
  const shares: number[] = [];
  try {
    const admin = kafka.admin();
    await admin.connect();
    await pipeline.waitUntilIdle(admin, { quietMs: 2000 });
    await admin.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 5000));
    for (let i = 0; i < options.runs; i++) {
      const cpu = process.cpuUsage();
      const started = process.hrtime.bigint();
      await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
      const used = process.cpuUsage(cpu);
      const wall = Number(process.hrtime.bigint() - started) / 1e9;
      shares.push(((used.user + used.system) / 1e6 / wall) * 100);
      log.info(`idle run ${i + 1}: ${shares[i].toFixed(2)}% of a core`);
    }
  } finally {
    await pipeline.stop();
  }
  return shares;
}
