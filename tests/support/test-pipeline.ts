import type { Admin, Kafka } from 'kafkajs';
import { createKafka } from '../../pipelines/runtime/kafka';
import { Pipeline } from '../../ops/run/pipeline';
import { AvroCodec } from '../../pipelines/runtime/codec';

/** An in-process pipeline of `stages` on the real stack, with the admin client its idleness check needs. */
export interface TestPipeline {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly codec: AvroCodec;
  readonly pipeline: Pipeline;
  /** Waits until every input of every stage is drained (1 s without progress). */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `fuse: false` runs every stage on its own (a test that writes into a fused chain's intermediate topic needs that).
 */
export async function startTestPipeline(
  clientId: string,
  stages: readonly string[],
  settings: Record<string, Record<string, string>> = {},
  options: { fuse?: boolean } = {},
): Promise<TestPipeline> {
  const kafka = createKafka(clientId);
  const admin = kafka.admin();
  await admin.connect();
  const codec = new AvroCodec();
  const pipeline = new Pipeline(kafka, codec, { settings: new Map(Object.entries(settings)), fuse: options.fuse });
  await pipeline.start([...stages]);
  return {
    kafka,
    admin,
    codec,
    pipeline,
    drain: () => pipeline.waitUntilIdle(admin, { quietMs: 1000 }),
    stop: async () => {
      await pipeline.stop();
      await admin.disconnect();
    },
  };
}
