import type { KafkaMessage, Producer } from 'kafkajs';
import { dlqTopicOf } from '../../topics/catalog';
import { bounded } from './bounded';
import { deadLetterSends } from './dead-letters';
import type { BatchProcessor, DecodedBatch, RunnerContext } from './runner-context';
import type { SinkHooks, SinkWriter } from './sink';
import type { FailedRecord } from './stage';
import { commitMetadata, offsetAfter } from './transactions';

/**
 * The sink task (Kafka to a store, contract in ./sink.ts): the sink writes the batch and resolves
 * only once the store acknowledged it; then dead letters are produced and offsets committed. While
 * the store is down the partition is paused and the write retried with backoff (slow is not failed).
 */
export class SinkTasks implements BatchProcessor {
  private dlqProducer?: Promise<Producer>;
  private paused = 0;

  constructor(
    private readonly ctx: RunnerContext,
    private readonly sink: SinkWriter,
  ) {}

  topicsToPrepare(): string[] {
    return this.sink.inputs.map(dlqTopicOf);
  }

  async open(): Promise<void> {
    await this.sink.open?.();
  }

  assigned(): void {
    // A sink keeps nothing per partition: its writes are idempotent (DEDUP keys).
  }

  ready(): boolean {
    return true;
  }

  pausedPartitions(): number {
    return this.paused;
  }

  async process(batch: DecodedBatch): Promise<void> {
    const { batch: b } = batch.payload;
    let result: { failed: FailedRecord[] };
    batch.at('write');
    const hooks = this.hooks(batch);
    try {
      result = batch.decoded.length > 0 ? await this.sink.write(batch.decoded, hooks) : { failed: [] };
    } finally {
      hooks.stalled(false);
    }
    const failed = [...batch.failed, ...result.failed];
    if (failed.length > 0) {
      batch.at('dead letters');
      await this.sendDeadLetters(failed, b.topic, b.partition, b.messages);
    }
    batch.at('offset commit');
    await bounded(
      this.ctx
        .consumer()
        .commitOffsets([
          { topic: b.topic, partition: b.partition, offset: offsetAfter(b), metadata: commitMetadata() },
        ]),
      'offset commit',
    );
    const written = batch.decoded.length - result.failed.length;
    this.ctx.metrics?.recordsOut.inc({ stage: this.ctx.name, topic: b.topic }, written);
    this.ctx.stats.recordsOut += written;
    this.ctx.stats.deadLetters += failed.length;
  }

  /** Heartbeats while the store is slow, and pauses the partition while it is down. */
  private hooks(batch: DecodedBatch): SinkHooks {
    const { batch: b } = batch.payload;
    let pausedHere = false;
    return {
      heartbeat: async () => {
        batch.progress();
        await batch.payload.heartbeat().catch(() => undefined);
      },
      stalled: (on) => {
        if (on === pausedHere) return;
        pausedHere = on;
        const tp = [{ topic: b.topic, partitions: [b.partition] }];
        if (on) this.ctx.consumer().pause(tp);
        else this.ctx.consumer().resume(tp);
        this.paused += on ? 1 : -1;
        this.ctx.metrics?.pausedPartitions.set({ stage: this.ctx.name }, this.paused);
        if (on) this.ctx.metrics?.sinkRetries.inc({ stage: this.ctx.name });
      },
      stopping: () => this.ctx.stopping(),
    };
  }

  private async sendDeadLetters(
    failed: FailedRecord[],
    topic: string,
    partition: number,
    messages: KafkaMessage[],
  ): Promise<void> {
    if (!this.dlqProducer) {
      this.dlqProducer = (async () => {
        const producer = this.ctx.kafka.producer({
          idempotent: true,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
        });
        await producer.connect();
        return producer;
      })();
      this.dlqProducer.catch(() => (this.dlqProducer = undefined));
    }
    const byOffset = new Map(messages.map((m) => [m.offset, m]));
    const sends = deadLetterSends(
      this.ctx.name,
      failed,
      (f) => ({ topic, partition, message: byOffset.get(f.input.offset) }),
      this.ctx,
    );
    await bounded((await this.dlqProducer).sendBatch({ topicMessages: sends, acks: -1 }), 'dead-letter send');
  }

  async stop(): Promise<void> {
    await (await this.dlqProducer?.catch(() => undefined))?.disconnect().catch(() => undefined);
    await this.sink.close?.();
  }
}
