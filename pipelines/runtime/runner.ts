import type { Admin, Batch, Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { TickflowError } from '../../ops/errors';
import type { Logger } from '../../ops/log';
import { logger } from '../../ops/log';
import type { AvroCodec } from './codec';
import { DecodeError } from './codec';
import { deadLetterOf } from './dead-letters';
import type { Clock, FailedRecord, InputRecord, OutputRecord, Stage, StageContext } from './stage';
import { systemClock } from './stage';
import { dlqTopicOf } from '../../topics/catalog';

/**
 * The Kafka side of the runtime. One consumer group per stage or sink; each fetched batch holds
 * one partition's records. Undecodable records and records a stage rejects go to `<topic>.dlq`.
 *
 * - Stages (Kafka to Kafka): outputs, dead letters and the consumed offsets are written in one
 *   Kafka transaction per batch, by a transactional producer dedicated to the input partition
 *   (transactional id `tickflow.<stage>.<topic>.<partition>`). A new instance owning the partition
 *   initialises the same id, which fences the old one (kafkajs has no group-metadata fencing).
 * - Sinks (Kafka to an external store): the sink writes the batch and resolves only once the store
 *   acknowledged it; only then are offsets committed (with dead letters produced before).
 */
export interface SinkWriter<V = unknown> {
  readonly name: string;
  readonly inputs: readonly string[];
  open?(): Promise<void>;
  /** Writes the batch durably; resolves only after the store acknowledged it. Idempotent on retry. */
  write(batch: readonly InputRecord<V>[]): Promise<{ failed: FailedRecord[] }>;
  close?(): Promise<void>;
}

export interface RunnerStats {
  batches: number;
  recordsIn: number;
  recordsOut: number;
  deadLetters: number;
  lastBatchAt: number;
}

type Handler = (decoded: InputRecord[], failed: FailedRecord[], batch: Batch) => Promise<void>;

export class Runner {
  readonly stats: RunnerStats = { batches: 0, recordsIn: 0, recordsOut: 0, deadLetters: 0, lastBatchAt: 0 };
  readonly groupId: string;
  private consumer?: Consumer;
  private dlqProducer?: Producer;
  private readonly producers = new Map<string, Producer>();
  /** Next offset to read per `topic:partition`, as seen by this consumer (includes control records). */
  private readonly positions = new Map<string, bigint>();
  private readonly log: Logger;
  private readonly ctx: StageContext;

  private constructor(
    private readonly kafka: Kafka,
    private readonly codec: AvroCodec,
    readonly name: string,
    readonly inputs: readonly string[],
    private readonly outputs: readonly string[],
    private readonly mode: { kind: 'stage'; stage: Stage } | { kind: 'sink'; sink: SinkWriter },
    clock: Clock,
  ) {
    this.groupId = `tickflow.${name}`;
    this.log = logger(name);
    this.ctx = { clock, log: this.log };
  }

  static forStage(kafka: Kafka, codec: AvroCodec, stage: Stage, clock: Clock = systemClock): Runner {
    return new Runner(kafka, codec, stage.name, stage.inputs, stage.outputs, { kind: 'stage', stage }, clock);
  }

  static forSink(kafka: Kafka, codec: AvroCodec, sink: SinkWriter, clock: Clock = systemClock): Runner {
    return new Runner(kafka, codec, sink.name, sink.inputs, [], { kind: 'sink', sink }, clock);
  }

  async start(): Promise<void> {
    await this.codec.prepare([...this.outputs, ...this.inputs.map(dlqTopicOf)]);
    if (this.mode.kind === 'stage') this.mode.stage.open?.(this.ctx);
    else await this.mode.sink.open?.();
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      maxBytesPerPartition: 1_048_576,
      maxWaitTimeInMs: 200,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      const { topic, partition, lastOffset } = event.payload;
      this.positions.set(`${topic}:${partition}`, BigInt(lastOffset) + 1n);
    });
    await consumer.connect();
    for (const topic of this.inputs) await consumer.subscribe({ topic, fromBeginning: true });
    const handler = this.mode.kind === 'stage' ? this.stageHandler(this.mode.stage) : this.sinkHandler(this.mode.sink);
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.onBatch(payload, handler),
    });
    this.log.info(`consuming ${this.inputs.join(', ')} as group ${this.groupId}`);
  }

  private async onBatch(payload: EachBatchPayload, handler: Handler): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0 || !payload.isRunning() || payload.isStale()) return;
    const decoded: InputRecord[] = [];
    const failed: FailedRecord[] = [];
    for (const message of batch.messages) {
      const key = message.key ? message.key.toString('utf8') : null;
      const base = { topic: batch.topic, partition: batch.partition, offset: message.offset, key };
      try {
        decoded.push({ ...base, value: await this.codec.decode(batch.topic, message.value) });
      } catch (error) {
        if (!(error instanceof DecodeError)) throw error;
        failed.push({ input: { ...base, value: message }, code: error.code, message: error.message });
      }
    }
    await handler(decoded, failed, batch);
    this.stats.batches += 1;
    this.stats.recordsIn += batch.messages.length;
    this.stats.lastBatchAt = Date.now();
    payload.resolveOffset(batch.lastOffset());
    await payload.heartbeat();
  }

  private deadLetterMessages(failed: FailedRecord[], batch: Batch): Promise<{ topic: string; messages: { key: Buffer | null; value: Buffer }[] }[]> {
    const byOffset = new Map<string, KafkaMessage>(batch.messages.map((m) => [m.offset, m]));
    return Promise.all(
      failed.map(async (f) => {
        const original = byOffset.get(f.input.offset);
        if (!original) throw new TickflowError('INVARIANT', `${this.name} rejected offset ${f.input.offset}, which is not in the batch`, 'a stage must only reject records of its input batch');
        const letter = deadLetterOf(this.name, batch.topic, batch.partition, original, f.code, f.message, this.ctx.clock.nowMicros());
        this.log.warn(`dead letter: ${f.code} at ${batch.topic}[${batch.partition}]@${f.input.offset}: ${f.message}`);
        return { topic: letter.topic, messages: [{ key: letter.key, value: await this.codec.encode(letter.topic, letter.value) }] };
      }),
    );
  }

  private async producerFor(topic: string, partition: number): Promise<Producer> {
    const id = `${topic}:${partition}`;
    let producer = this.producers.get(id);
    if (!producer) {
      producer = this.kafka.producer({ transactionalId: `tickflow.${this.name}.${topic}.${partition}`, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
      this.producers.set(id, producer);
    }
    return producer;
  }

  private async dropProducer(topic: string, partition: number): Promise<void> {
    const id = `${topic}:${partition}`;
    const producer = this.producers.get(id);
    this.producers.delete(id);
    await producer?.disconnect().catch(() => undefined);
  }

  private stageHandler(stage: Stage): Handler {
    return async (decoded, decodeFailures, batch) => {
      const result = stage.process(decoded, this.ctx);
      const failed = [...decodeFailures, ...result.failed];
      const topicMessages = new Map<string, { key: string | null; value: Buffer }[]>();
      for (const out of result.out as OutputRecord[]) {
        if (!this.outputs.includes(out.topic)) throw new TickflowError('INVARIANT', `stage ${stage.name} emitted to ${out.topic}, which is not among its outputs`, `add ${out.topic} to the stage's outputs`);
        const list = topicMessages.get(out.topic) ?? [];
        list.push({ key: out.key, value: await this.codec.encode(out.topic, out.value) });
        topicMessages.set(out.topic, list);
      }
      const letters = await this.deadLetterMessages(failed, batch);
      const producer = await this.producerFor(batch.topic, batch.partition);
      const transaction = await producer.transaction();
      try {
        const all = [...[...topicMessages.entries()].map(([topic, messages]) => ({ topic, messages })), ...letters];
        if (all.length > 0) await transaction.sendBatch({ topicMessages: all, acks: -1 });
        await transaction.sendOffsets({
          consumerGroupId: this.groupId,
          topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() }] }],
        });
        await transaction.commit();
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        // A failed transaction may leave the producer unusable (e.g. a lost coordinator): start afresh.
        await this.dropProducer(batch.topic, batch.partition);
        throw error;
      }
      this.stats.recordsOut += result.out.length;
      this.stats.deadLetters += failed.length;
    };
  }

  private sinkHandler(sink: SinkWriter): Handler {
    return async (decoded, decodeFailures, batch) => {
      const result = decoded.length > 0 ? await sink.write(decoded) : { failed: [] };
      const failed = [...decodeFailures, ...result.failed];
      if (failed.length > 0) {
        if (!this.dlqProducer) {
          this.dlqProducer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
          await this.dlqProducer.connect();
        }
        await this.dlqProducer.sendBatch({ topicMessages: await this.deadLetterMessages(failed, batch), acks: -1 });
      }
      await (this.consumer as Consumer).commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() }]);
      this.stats.recordsOut += decoded.length - result.failed.length;
      this.stats.deadLetters += failed.length;
    };
  }

  /**
   * True when this consumer has read every partition of its inputs up to the high watermark
   * (counting control records, which is why lag on transactional topics is judged by position
   * rather than committed offset).
   */
  async caughtUp(admin: Admin): Promise<boolean> {
    for (const topic of this.inputs) {
      const highs = await admin.fetchTopicOffsets(topic);
      const committed = await admin.fetchOffsets({ groupId: this.groupId, topics: [topic] });
      const committedOf = new Map(committed[0]?.partitions.map((p) => [p.partition, BigInt(p.offset)]) ?? []);
      for (const { partition, high, low } of highs) {
        const position = this.positions.get(`${topic}:${partition}`) ?? ((committedOf.get(partition) ?? -1n) >= 0n ? (committedOf.get(partition) as bigint) : BigInt(low));
        if (position < BigInt(high)) return false;
      }
    }
    return true;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch((error: Error) => this.log.warn(`consumer disconnect: ${error.message}`));
    for (const producer of this.producers.values()) await producer.disconnect().catch(() => undefined);
    this.producers.clear();
    await this.dlqProducer?.disconnect().catch(() => undefined);
    if (this.mode.kind === 'stage') this.mode.stage.close?.();
    else await this.mode.sink.close?.();
  }
}
