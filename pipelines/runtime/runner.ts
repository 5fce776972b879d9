import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { TickflowError, isTickflowError } from './errors';
import { fetchMaxWaitMs } from './fetch-wait';
import type { Logger } from './log';
import { logger } from './log';
import { coPartitionedAssigner } from './assigner';
import { bounded } from './bounded';
import type { AvroCodec } from './codec';
import type { RuntimeMetrics } from './metrics';
import type { BatchProcessor, DecodedBatch, RunnerContext, RunnerOptions, RunnerStats } from './runner-context';
import type { SinkWriter } from './sink';
import { SinkTasks } from './sink-tasks';
import type { Clock, FailedRecord, InputRecord, Stage } from './stage';
import { systemClock } from './stage';
import { StageTasks } from './stage-tasks';
import { partitionKey } from './transactions';
import { Watchdog } from './watchdog';

export { bounded } from './bounded';
export { chunked } from './transactions';
export type { RunnerOptions, RunnerStats } from './runner-context';

/**
 * The Kafka side of the runtime: one consumer group per stage, fused chain or sink
 * (`tickflow.<name>`, a chain's is its head's); each fetched batch holds one partition's records. A
 * partition has at most one batch in flight; the batches of different partitions may be processed
 * concurrently (TICKFLOW_CONCURRENT_BATCHES). In-flight work is bounded: kafkajs fetches from each
 * broker separately, and the next fetch from a broker waits until every batch of the previous one is
 * done, so at most one fetch response per broker and consumer is in memory, and a slow sink or
 * producer stops fetching.
 *
 * This class owns the consumer's lifecycle, its assignment and the decoding of batches; what a batch
 * does is the task's: ./stage-tasks.ts (a stage or a fused chain, Kafka to Kafka, exactly once) or
 * ./sink-tasks.ts (Kafka to a store). Either way a bad record becomes a dead letter and never stops
 * the partition (./guarded.ts).
 */
export class Runner {
  readonly stats: RunnerStats = { batches: 0, recordsIn: 0, recordsOut: 0, deadLetters: 0, lastBatchAt: 0 };
  readonly groupId: string;
  /** The stages this runner runs (a chain's head first), or the sink's name. */
  readonly members: readonly string[];
  private consumer?: Consumer;
  private readonly processor: BatchProcessor;
  private readonly positions = new Map<string, bigint>();
  private assignment = new Set<string>();
  private joined = false;
  private stopping = false;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly metrics?: RuntimeMetrics;
  private readonly prefix: string;
  private readonly watchdog = new Watchdog((phase, ms) =>
    this.metrics?.phaseSeconds.observe({ stage: this.name, phase }, ms / 1000),
  );
  private watchdogTimer?: NodeJS.Timeout;
  private lastStallReport = 0;

  private constructor(
    private readonly kafka: Kafka,
    private readonly codec: AvroCodec,
    readonly name: string,
    readonly inputs: readonly string[],
    mode: { kind: 'stages'; stages: readonly Stage[] } | { kind: 'sink'; sink: SinkWriter },
    private readonly options: RunnerOptions,
  ) {
    this.prefix = options.topicPrefix ?? '';
    const head = mode.kind === 'stages' ? mode.stages[0].name : name;
    this.groupId = options.groupId ?? `tickflow.${this.prefix}${head}`;
    this.log = logger(name);
    this.clock = options.clock ?? systemClock;
    this.metrics = options.metrics;
    this.members = mode.kind === 'stages' ? mode.stages.map((s) => s.name) : [name];
    this.processor =
      mode.kind === 'stages' ? new StageTasks(this.context(), mode.stages) : new SinkTasks(this.context(), mode.sink);
  }

  static forStage(kafka: Kafka, codec: AvroCodec, stage: Stage, options: RunnerOptions = {}): Runner {
    return new Runner(kafka, codec, stage.name, stage.inputs, { kind: 'stages', stages: [stage] }, options);
  }

  /**
   * A fused chain (./topology.ts plans them): `stages` in topological order, the head first; only
   * the head's inputs are consumed, the rest pass in memory (./chain.ts).
   */
  static forChain(kafka: Kafka, codec: AvroCodec, stages: readonly Stage[], options: RunnerOptions = {}): Runner {
    if (stages.length === 0) throw new TickflowError('INVARIANT', 'a chain needs at least one stage', 'report this');
    return new Runner(
      kafka,
      codec,
      stages.map((s) => s.name).join('+'),
      stages[0].inputs,
      { kind: 'stages', stages },
      options,
    );
  }

  static forSink(kafka: Kafka, codec: AvroCodec, sink: SinkWriter, options: RunnerOptions = {}): Runner {
    return new Runner(kafka, codec, sink.name, sink.inputs, { kind: 'sink', sink }, options);
  }

  private context(): RunnerContext {
    return {
      kafka: this.kafka,
      codec: this.codec,
      name: this.name,
      groupId: this.groupId,
      prefix: this.prefix,
      log: this.log,
      clock: this.clock,
      metrics: this.metrics,
      options: this.options,
      stats: this.stats,
      physical: (topic) => `${this.prefix}${topic}`,
      logical: (topic) => (topic.startsWith(this.prefix) ? topic.slice(this.prefix.length) : topic),
      consumer: () => {
        if (!this.consumer)
          throw new TickflowError('INVARIANT', `${this.name} used its consumer before start`, 'report this');
        return this.consumer;
      },
      stopping: () => this.stopping,
      assignment: () => this.assignment,
    };
  }

  private physical(topic: string): string {
    return `${this.prefix}${topic}`;
  }

  private logical(topic: string): string {
    return topic.startsWith(this.prefix) ? topic.slice(this.prefix.length) : topic;
  }

  /** Ready once the group assigned partitions and (stages) every owned partition is fenced and restored. */
  isReady(): boolean {
    if (!this.joined || this.stopping) return false;
    return this.processor.ready(this.assignment);
  }

  describe(): Record<string, unknown> {
    const paused = this.processor instanceof SinkTasks ? this.processor.pausedPartitions() : 0;
    return {
      group: this.groupId,
      members: this.members,
      joined: this.joined,
      assigned: [...this.assignment].sort(),
      paused,
      ...this.stats,
    };
  }

  async start(): Promise<void> {
    await this.codec.prepare(this.processor.topicsToPrepare());
    await this.processor.open();
    const consumer = this.createConsumer();
    this.consumer = consumer;
    this.watch(consumer);
    await consumer.connect();
    for (const topic of this.inputs)
      await consumer.subscribe({ topic: this.physical(topic), fromBeginning: this.options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Partitions are independent (a stage: own producer, transaction and state; a sink: its own
      // write per partition), so the batches of one fetch may be processed at once: a fetch cycle
      // then lasts as long as its slowest batch rather than their sum. One partition still has one
      // batch in flight at a time.
      partitionsConsumedConcurrently: concurrentBatches(),
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.log.info(`consuming ${this.inputs.join(', ')} as group ${this.groupId}`);
    this.watchdogTimer = setInterval(() => this.checkStall(), 5000).unref();
  }

  private createConsumer(): Consumer {
    const sessionTimeout = this.options.sessionTimeoutMs ?? 30_000;
    return this.kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      sessionTimeout,
      rebalanceTimeout: 60_000,
      heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeout / 4)),
      // Bounded in-flight work: one fetch of at most 4 MB (512 KB per partition) is in memory at a time.
      maxBytesPerPartition: 524_288,
      maxBytes: 4_194_304,
      // kafkajs heartbeats between fetches: an idle fetch must end well within the session timeout.
      maxWaitTimeInMs: this.options.maxWaitMs ?? Math.min(fetchMaxWaitMs(), Math.floor(sessionTimeout / 4)),
      partitionAssigners: [coPartitionedAssigner],
    });
  }

  private watch(consumer: Consumer): void {
    consumer.on(consumer.events.GROUP_JOIN, (event) => this.onAssignment(event.payload.memberAssignment));
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      const { topic, partition, lastOffset, offsetLag } = event.payload;
      this.positions.set(partitionKey(topic, partition), BigInt(lastOffset) + 1n);
      this.metrics?.consumerLag.set({ stage: this.name, topic, partition: String(partition) }, Number(offsetLag));
    });
    consumer.on(consumer.events.FETCH_START, (event) => this.watchdog.fetchStarted(event.payload.nodeId));
    consumer.on(consumer.events.FETCH, (event) => {
      this.watchdog.fetchEnded(event.payload.nodeId);
      this.metrics?.fetchSeconds.observe({ stage: this.name }, event.payload.duration / 1000);
    });
    consumer.on(consumer.events.REBALANCING, () => this.log.info('the group is rebalancing'));
    consumer.on(consumer.events.CRASH, (event) => {
      if (event.payload.restart) {
        this.log.warn(`consumer restarting after an error: ${event.payload.error.message}`);
        return;
      }
      // kafkajs gave up on this consumer: a broken invariant or a non-retriable error. Crash loudly.
      const fenced = /old epoch|fenced/i.test(event.payload.error.message);
      this.log.error(
        fenced
          ? 'this instance was fenced: a newer owner of one of its partitions initialised the same transactional id (this one stalled longer than the session timeout). Nothing it had not committed is kept; exiting so it can be restarted cleanly'
          : `consumer stopped for good: ${event.payload.error.message}`,
      );
      this.options.onFatal?.(event.payload.error);
    });
  }

  /** Logs (and shows in metrics) a consumer that made no progress for STALL_MS, naming what it waits on. */
  private checkStall(): void {
    const idle = this.watchdog.idleFor();
    this.metrics?.secondsSinceProgress.set({ stage: this.name }, idle / 1000);
    const stalled = this.watchdog.stalled(STALL_MS);
    if (!stalled || this.stopping || Date.now() - this.lastStallReport < STALL_MS) return;
    this.lastStallReport = Date.now();
    this.log.warn(stalled);
  }

  /**
   * A new assignment: the task drops what was lost and (stages) fences and restores what was gained before its first
   * batch.
   */
  private onAssignment(assignment: Record<string, number[]>): void {
    const next = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment))
      for (const p of partitions) next.add(partitionKey(topic, p));
    // A partition another instance now owns reports its lag there; a stale gauge here would add to it.
    this.forgetMetrics([...this.assignment].filter((k) => !next.has(k)));
    this.assignment = next;
    this.joined = true;
    this.metrics?.assignedPartitions.set({ stage: this.name }, next.size);
    this.log.info(`assigned ${[...next].sort().join(', ') || 'nothing'}`);
    this.processor.assigned(next);
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0 || !payload.isRunning() || payload.isStale()) return;
    const k = partitionKey(batch.topic, batch.partition);
    const at = (phase: string): void => this.watchdog.phase(k, phase);
    at('decode');
    try {
      const started = Date.now();
      const decoded = await this.decode(payload, at);
      await this.processor.process(decoded);
      this.options.onCommitted?.(decoded.decoded);
      this.count(payload, decoded.decoded, started);
      payload.resolveOffset(batch.lastOffset());
      at('heartbeat');
      await payload.heartbeat();
    } finally {
      this.watchdog.batchEnded(k);
    }
  }

  private async decode(payload: EachBatchPayload, at: (phase: string) => void): Promise<DecodedBatch> {
    const { batch } = payload;
    const decoded: InputRecord[] = [];
    const failed: FailedRecord[] = [];
    const topic = this.logical(batch.topic);
    for (const message of batch.messages) {
      const recordKey = message.key ? message.key.toString('utf8') : null;
      // Record literals written out, not spread from a common base: this runs per record.
      try {
        decoded.push({
          topic,
          partition: batch.partition,
          offset: message.offset,
          key: recordKey,
          value: await this.codec.decode(topic, message.value),
        });
      } catch (error) {
        if (!isTickflowError(error, 'DECODE_ERROR')) throw error;
        failed.push({
          input: { topic, partition: batch.partition, offset: message.offset, key: recordKey, value: message },
          code: 'DECODE_ERROR',
          message: error.message,
        });
      }
    }
    return { payload, decoded, failed, at, progress: () => this.watchdog.progress() };
  }

  private count(payload: EachBatchPayload, decoded: readonly InputRecord[], started: number): void {
    const { batch } = payload;
    const now = Date.now();
    this.stats.batches += 1;
    this.stats.recordsIn += batch.messages.length;
    this.stats.lastBatchAt = now;
    if (!this.metrics) return;
    const labels = { stage: this.name };
    this.metrics.recordsIn.inc(
      { ...labels, topic: batch.topic, partition: String(batch.partition) },
      batch.messages.length,
    );
    this.metrics.batchSize.observe(labels, batch.messages.length);
    this.metrics.processingSeconds.observe(labels, (now - started) / 1000);
    for (const record of decoded) {
      const value = record.value as { tsEvent?: unknown; tsRecv?: unknown };
      if (typeof value.tsEvent === 'number')
        this.metrics.latencyFromEvent.observe(labels, Math.max(0, now / 1000 - value.tsEvent / 1e6));
      if (typeof value.tsRecv === 'number')
        this.metrics.latencyFromRecv.observe(labels, Math.max(0, now / 1000 - value.tsRecv / 1e6));
    }
  }

  /**
   * Moves the consumer of an owned input partition (physical topic name) to `offset`: tools and
   * fault tests. Records below the partition's floor are still skipped, never processed twice.
   */
  seek(topic: string, partition: number, offset: string): void {
    this.consumer?.seek({ topic, partition, offset });
  }

  /**
   * True when this consumer has read every partition of its inputs up to the high watermark. The
   * position after the last processed batch counts control records (a transactional topic ends
   * with a commit marker, which a committed offset never passes); the committed offset counts what
   * was done before a consumer restart or by an earlier owner. The larger of the two is the position.
   */
  async caughtUp(admin: Admin): Promise<boolean> {
    for (const logicalTopic of this.inputs) {
      const topic = this.physical(logicalTopic);
      const highs = await bounded(admin.fetchTopicOffsets(topic), `reading the offsets of ${topic}`);
      const committed = await bounded(
        admin.fetchOffsets({ groupId: this.groupId, topics: [topic] }),
        `reading the committed offsets of ${this.groupId}`,
      );
      const committedOf = new Map(committed[0]?.partitions.map((p) => [p.partition, BigInt(p.offset)]) ?? []);
      for (const { partition, high, low } of highs) {
        const committed = committedOf.get(partition) ?? -1n;
        const seen = this.positions.get(partitionKey(topic, partition)) ?? -1n;
        const position = [committed, seen, BigInt(low)].reduce((a, b) => (b > a ? b : a));
        if (position < BigInt(high)) return false;
      }
    }
    return true;
  }

  /** Finishes the batch in flight (a sink stuck on its store gives up; the batch is redone later), leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.watchdogTimer);
    await this.consumer?.disconnect().catch((error: Error) => this.log.warn(`consumer disconnect: ${error.message}`));
    await this.processor.stop();
    this.forgetMetrics([...this.assignment]);
  }

  /** Partitions this runner no longer owns report their lag and states elsewhere; their gauges here go. */
  private forgetMetrics(partitions: readonly string[]): void {
    for (const k of partitions) {
      const at = k.lastIndexOf(':');
      this.metrics?.consumerLag.remove({ stage: this.name, topic: k.slice(0, at), partition: k.slice(at + 1) });
      this.metrics?.forgetPartition(this.name, Number(k.slice(at + 1)));
    }
  }
}

/** Time without any fetch returning or batch moving after which the runner reports a stall. */
const STALL_MS = 60_000;

/**
 * Batches (each of one input partition) a runner processes at the same time,
 * `TICKFLOW_CONCURRENT_BATCHES` (default 8; 1 processes a fetch's batches one after another). In
 * the benchmark at 5,000 records/s, 8 halves the end-to-end p50 and p99 against 1. (The broker-loss
 * "stall" once blamed on concurrency was kafkajs losing messages, see ops/patches.)
 */
function concurrentBatches(): number {
  const text = process.env.TICKFLOW_CONCURRENT_BATCHES ?? '8';
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 64) {
    throw new TickflowError(
      'CONFIG',
      `TICKFLOW_CONCURRENT_BATCHES is '${text}'`,
      'set it to a whole number from 1 to 64, or unset it (default 8)',
    );
  }
  return value;
}
