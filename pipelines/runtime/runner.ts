import type { Batch, Consumer, EachBatchPayload, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import type { Admin } from 'kafkajs';
import { TickflowError } from '../../ops/errors';
import type { Logger } from '../../ops/log';
import { logger } from '../../ops/log';
import type { StateEntry } from '../../schemas/types.generated';
import { dlqTopicOf } from '../../topics/catalog';
import { coPartitionedAssigner } from './assigner';
import type { AvroCodec } from './codec';
import { DecodeError } from './codec';
import { deadLetterOf } from './dead-letters';
import type { RuntimeMetrics } from './metrics';
import type { Clock, FailedRecord, InputRecord, OutputRecord, Stage, StageContext } from './stage';
import { systemClock } from './stage';
import { readToEnd } from './read-to-end';
import { TransactionalStore, changelogTopic } from './store';
import { Watchdog } from './watchdog';

/**
 * The Kafka side of the runtime. One consumer group per stage or sink (`tickflow.<name>`); each
 * fetched batch holds one partition's records. A partition has at most one batch in flight; the
 * batches of different partitions may be processed concurrently (TICKFLOW_CONCURRENT_BATCHES). In-flight work
 * is bounded: kafkajs fetches from each broker separately, and the next fetch from a broker waits
 * until every batch of the previous one is done, so at most one fetch response per broker and
 * consumer is in memory, and a slow sink or producer stops fetching.
 *
 * - Stages (Kafka to Kafka): outputs, dead letters, state changes (to the stores' compacted
 *   changelogs) and the consumed offsets are written in one Kafka transaction per batch, by a
 *   transactional producer dedicated to the input partition (`tickflow.<stage>.<topic>.<partition>`).
 *   Whoever owns the partition initialises that id first, which fences any older owner and aborts
 *   its open transaction; only then is the partition's state restored from the changelog, so the
 *   restored state is exactly the state that matches the committed offsets.
 * - Sinks (Kafka to a store): the sink writes the batch and resolves only once the store
 *   acknowledged it; then dead letters are produced and offsets committed. While the store is down
 *   the partition is paused and the write retried with backoff (slow is not failed).
 */
export interface SinkHooks {
  /** Keeps the group membership alive during long retries. */
  heartbeat(): Promise<void>;
  /** The sink reports that it is (or no longer is) waiting on its store. */
  stalled(on: boolean): void;
  /** True once the runner is stopping: give up retrying (the batch is redone after restart). */
  stopping(): boolean;
}

export interface SinkWriter<V = unknown> {
  readonly name: string;
  readonly inputs: readonly string[];
  open?(): Promise<void>;
  /**
   * Writes the batch durably; resolves only after the store acknowledged it. Idempotent on retry.
   * May be called concurrently for batches of different partitions (never twice at once for one partition).
   */
  write(batch: readonly InputRecord<V>[], hooks: SinkHooks): Promise<{ failed: FailedRecord[] }>;
  close?(): Promise<void>;
}

export class StoppingError extends Error {
  constructor() {
    super('stopping');
    this.name = 'StoppingError';
  }
}

export interface RunnerStats {
  batches: number;
  recordsIn: number;
  recordsOut: number;
  deadLetters: number;
  lastBatchAt: number;
}

export interface RunnerOptions {
  clock?: Clock;
  metrics?: RuntimeMetrics;
  sessionTimeoutMs?: number;
  /** Consumer group; default `tickflow.<name>`. */
  groupId?: string;
  /** Called when the consumer stopped for good; the process should exit non-zero. */
  onFatal?: (error: Error) => void;
  /**
   * Prefix of every physical topic (inputs, outputs, dead letters, changelogs) and of the group:
   * an isolated namespace for benchmarks and experiments. Stages still see catalog (logical) names.
   */
  topicPrefix?: string;
  /** Where a new group starts; default the beginning. */
  fromBeginning?: boolean;
  /** `at-least-once` skips transactions (for comparison in the benchmark); default `exactly-once`. */
  delivery?: 'exactly-once' | 'at-least-once';
  /** Longest time a fetch waits for data when there is none (default 1 s; shorter costs idle CPU, and new data ends the wait at once). */
  maxWaitMs?: number;
  /** Called with each batch's decoded records once its results are committed. */
  onCommitted?: (records: readonly InputRecord[]) => void;
  /**
   * Fault injection for tests: called right after a stage's transaction committed; if it throws, the
   * runner behaves as when a commit's response is lost (a broker died after committing): the batch
   * counts as failed although its transaction committed.
   */
  afterCommit?: (topic: string, partition: number) => void;
}

/** Processes a decoded batch; `at` reports the batch's current phase to the watchdog. */
type Handler = (decoded: InputRecord[], failed: FailedRecord[], payload: EachBatchPayload, at: (phase: string) => void) => Promise<void>;
type Stores = Map<string, TransactionalStore<unknown>>;

const key = (topic: string, partition: number): string => `${topic}:${partition}`;

/**
 * Upper bound for one Kafka producer call. kafkajs 2.2.4 can leave a request on a connection that a
 * dying broker closed unresolved forever; a bounded call turns that into an ordinary failure (the
 * batch is aborted and redone, the producer rebuilt, which fences the stuck one).
 */
const KAFKA_CALL_TIMEOUT_MS = 30_000;

export function bounded<T>(promise: Promise<T>, what: string, ms = KAFKA_CALL_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not complete within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Time without any fetch returning or batch moving after which the runner reports a stall. */
const STALL_MS = 60_000;

/**
 * Retry policy of the transactional producers. A transaction that starts right after the previous
 * one on the same id finds the broker still writing the previous commit markers (a few ms) and gets
 * CONCURRENT_TRANSACTIONS; kafkajs retries that with the client's general backoff (200 ms and up),
 * which would put a fifth of a second on most batches. A short first backoff that still grows to
 * seconds keeps broker outages covered (every call is also bounded by KAFKA_CALL_TIMEOUT_MS).
 */
const TRANSACTIONAL_RETRY = { initialRetryTime: 5, retries: 15, maxRetryTime: 5000, factor: 0.2, multiplier: 2 };

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
    throw new TickflowError('CONFIG', `TICKFLOW_CONCURRENT_BATCHES is '${text}'`, 'set it to a whole number from 1 to 64, or unset it (default 8)');
  }
  return value;
}

/** The offset to commit once `batch` is done: the one after its last (a control record included). */
function offsetAfter(batch: Batch): string {
  return (BigInt(batch.lastOffset()) + 1n).toString();
}

/** Dead letters per batch logged one by one (the rest are summarised by code). */
const DEAD_LETTERS_LOGGED = 3;

/** Messages per produce call: small enough that a record batch stays well under 1 MB. */
const SEND_CHUNK = 1000;

/** Splits per-topic message lists into groups of at most `size` messages in total. */
export function chunked(topics: { topic: string; messages: Message[] }[], size: number): { topic: string; messages: Message[] }[][] {
  const chunks: { topic: string; messages: Message[] }[][] = [];
  let current: { topic: string; messages: Message[] }[] = [];
  let count = 0;
  for (const { topic, messages } of topics) {
    for (let i = 0; i < messages.length; ) {
      const take = Math.min(size - count, messages.length - i);
      current.push({ topic, messages: messages.slice(i, i + take) });
      count += take;
      i += take;
      if (count === size) {
        chunks.push(current);
        current = [];
        count = 0;
      }
    }
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export class Runner {
  readonly stats: RunnerStats = { batches: 0, recordsIn: 0, recordsOut: 0, deadLetters: 0, lastBatchAt: 0 };
  readonly groupId: string;
  private consumer?: Consumer;
  private dlqProducer?: Promise<Producer>;
  /** Transactional producer per owned input partition. */
  private readonly tasks = new Map<string, Promise<Producer>>();
  /**
   * Per input partition, the group's committed offset as read right after fencing. Records below it
   * were committed by an earlier owner (or by this instance in a transaction whose outcome it did
   * not learn) and are skipped; see `ensureTask`.
   */
  private readonly floors = new Map<string, bigint>();
  private admin?: Promise<Admin>;
  /** State per input partition number (co-partitioned inputs share it). */
  private readonly stores = new Map<number, Promise<Stores>>();
  /** Per partition number, the end of the last batch queued for its state (see `stateLock`). */
  private readonly stateQueues = new Map<number, Promise<void>>();
  private readonly positions = new Map<string, bigint>();
  private assignment = new Set<string>();
  private readonly readyTasks = new Set<string>();
  private joined = false;
  private stopping = false;
  private paused = 0;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly metrics?: RuntimeMetrics;
  private readonly storeNames: readonly string[];
  private readonly prefix: string;
  private aloProducer?: Promise<Producer>;
  private readonly watchdog = new Watchdog((phase, ms) => this.metrics?.phaseSeconds.observe({ stage: this.name, phase }, ms / 1000));
  private watchdogTimer?: NodeJS.Timeout;
  private lastStallReport = 0;

  private physical(topic: string): string {
    return `${this.prefix}${topic}`;
  }

  private logical(topic: string): string {
    return topic.startsWith(this.prefix) ? topic.slice(this.prefix.length) : topic;
  }

  private constructor(
    private readonly kafka: Kafka,
    private readonly codec: AvroCodec,
    readonly name: string,
    readonly inputs: readonly string[],
    private readonly outputs: readonly string[],
    private readonly mode: { kind: 'stage'; stage: Stage } | { kind: 'sink'; sink: SinkWriter },
    private readonly options: RunnerOptions,
  ) {
    this.prefix = options.topicPrefix ?? '';
    this.groupId = options.groupId ?? `tickflow.${this.prefix}${name}`;
    this.log = logger(name);
    this.clock = options.clock ?? systemClock;
    this.metrics = options.metrics;
    this.storeNames = mode.kind === 'stage' ? (mode.stage.stores ?? []) : [];
  }

  static forStage(kafka: Kafka, codec: AvroCodec, stage: Stage, options: RunnerOptions = {}): Runner {
    return new Runner(kafka, codec, stage.name, stage.inputs, stage.outputs, { kind: 'stage', stage }, options);
  }

  static forSink(kafka: Kafka, codec: AvroCodec, sink: SinkWriter, options: RunnerOptions = {}): Runner {
    return new Runner(kafka, codec, sink.name, sink.inputs, [], { kind: 'sink', sink }, options);
  }

  /** Ready once the group assigned partitions and (stages) every owned partition is fenced and restored. */
  isReady(): boolean {
    if (!this.joined || this.stopping) return false;
    return this.mode.kind === 'sink' || this.options.delivery === 'at-least-once' || [...this.assignment].every((k) => this.readyTasks.has(k));
  }

  describe(): Record<string, unknown> {
    return { group: this.groupId, joined: this.joined, assigned: [...this.assignment].sort(), paused: this.paused, ...this.stats };
  }

  async start(): Promise<void> {
    await this.codec.prepare([...this.outputs, ...this.inputs.map(dlqTopicOf), ...this.storeNames.map((s) => changelogTopic(this.name, s))]);
    if (this.mode.kind === 'stage') this.mode.stage.open?.({ clock: this.clock, log: this.log });
    else await this.mode.sink.open?.();
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: 60_000,
      heartbeatInterval: Math.min(3_000, Math.floor((this.options.sessionTimeoutMs ?? 30_000) / 4)),
      // Bounded in-flight work: one fetch of at most 4 MB (512 KB per partition) is in memory at a time.
      maxBytesPerPartition: 524_288,
      maxBytes: 4_194_304,
      maxWaitTimeInMs: this.options.maxWaitMs ?? 1000,
      partitionAssigners: [coPartitionedAssigner],
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => this.onAssignment(event.payload.memberAssignment));
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      const { topic, partition, lastOffset, offsetLag } = event.payload;
      this.positions.set(key(topic, partition), BigInt(lastOffset) + 1n);
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
    await consumer.connect();
    for (const topic of this.inputs) await consumer.subscribe({ topic: this.physical(topic), fromBeginning: this.options.fromBeginning ?? true });
    const handler = this.mode.kind === 'stage' ? this.stageHandler(this.mode.stage) : this.sinkHandler(this.mode.sink);
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Partitions are independent (a stage: own producer, transaction and state; a sink: its own
      // write per partition), so the batches of one fetch may be processed at once: a fetch cycle
      // then lasts as long as its slowest batch rather than their sum. One partition still has one
      // batch in flight at a time.
      partitionsConsumedConcurrently: concurrentBatches(),
      eachBatch: (payload) => this.onBatch(payload, handler),
    });
    this.log.info(`consuming ${this.inputs.join(', ')} as group ${this.groupId}`);
    this.watchdogTimer = setInterval(() => this.checkStall(), 5000).unref();
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
   * A new assignment: drop producers and state of partitions we lost, and (for stages) fence and
   * restore the ones we gained before their first batch.
   */
  private onAssignment(assignment: Record<string, number[]>): void {
    const next = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) for (const p of partitions) next.add(key(topic, p));
    for (const k of [...this.tasks.keys()]) if (!next.has(k)) void this.dropTask(k);
    const partitionNumbers = new Set([...next].map((k) => Number(k.split(':').pop())));
    for (const p of [...this.stores.keys()]) if (!partitionNumbers.has(p)) this.stores.delete(p);
    this.assignment = next;
    this.joined = true;
    this.metrics?.assignedPartitions.set({ stage: this.name }, next.size);
    this.log.info(`assigned ${[...next].sort().join(', ') || 'nothing'}`);
    if (this.mode.kind === 'stage' && this.options.delivery !== 'at-least-once') {
      for (const k of next) {
        const [topic, p] = [k.slice(0, k.lastIndexOf(':')), Number(k.slice(k.lastIndexOf(':') + 1))];
        this.ensureTask(topic, p).catch((error: Error) => this.log.warn(`preparing ${k} failed (retried on its next batch): ${error.message}`));
      }
    }
  }

  private ensureTask(topic: string, partition: number): Promise<Producer> {
    const k = key(topic, partition);
    let task = this.tasks.get(k);
    if (!task) {
      task = (async () => {
        const producer = this.kafka.producer({ transactionalId: `tickflow.${this.name}.${topic}.${partition}`, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, transactionTimeout: 60_000, retry: TRANSACTIONAL_RETRY });
        // connect() initialises the transactional id: this fences an older owner of the partition.
        // It returns only once that owner's last transaction is complete (committed or aborted,
        // with its offsets applied by the group coordinator), so from here on the committed offset
        // and the changelog cannot move under us. The consumer may have read its start offset
        // before that (kafkajs fetches committed offsets as soon as the group assigns, in parallel
        // with this), or be redoing a batch whose commit succeeded without us learning it (a broker
        // died with the response): both would process committed records again. Reading the
        // committed offset now gives the floor below which records are skipped.
        await bounded(producer.connect(), `initialising transactional producer for ${k}`, 60_000);
        this.floors.set(k, await bounded(this.committedOffset(topic, partition), `reading the committed offset of ${k}`));
        if (this.storeNames.length > 0) await this.storesFor(partition);
        this.readyTasks.add(k);
        return producer;
      })();
      task.catch(() => this.tasks.delete(k));
      this.tasks.set(k, task);
    }
    return task;
  }

  /** The group's committed offset of a partition (0 when none). */
  private async committedOffset(topic: string, partition: number): Promise<bigint> {
    if (!this.admin) {
      this.admin = (async () => {
        const admin = this.kafka.admin();
        await admin.connect();
        return admin;
      })();
      this.admin.catch(() => (this.admin = undefined));
    }
    const offsets = await (await this.admin).fetchOffsets({ groupId: this.groupId, topics: [topic] });
    const offset = BigInt(offsets[0]?.partitions.find((p) => p.partition === partition)?.offset ?? '-1');
    return offset < 0n ? 0n : offset;
  }

  private plainProducer(): Promise<Producer> {
    this.aloProducer ??= (async () => {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
      return producer;
    })();
    return this.aloProducer;
  }

  private async dropTask(k: string): Promise<void> {
    const task = this.tasks.get(k);
    this.tasks.delete(k);
    this.floors.delete(k);
    this.readyTasks.delete(k);
    const producer = await task?.catch(() => undefined);
    await bounded(producer?.disconnect() ?? Promise.resolve(), 'producer disconnect', 5000).catch(() => undefined);
  }

  private storesFor(partition: number): Promise<Stores> {
    let stores = this.stores.get(partition);
    if (!stores) {
      stores = this.restore(partition);
      stores.catch(() => this.stores.delete(partition));
      this.stores.set(partition, stores);
    }
    return stores;
  }

  /** Waits for the partition's state to be free and takes it; call the result to hand it on. */
  private async stateLock(partition: number): Promise<() => void> {
    const before = this.stateQueues.get(partition) ?? Promise.resolve();
    let release = (): void => undefined;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const queued = before.then(() => mine);
    this.stateQueues.set(partition, queued);
    await before;
    return () => {
      release();
      if (this.stateQueues.get(partition) === queued) this.stateQueues.delete(partition);
    };
  }

  /** Reads partition `partition` of every store's changelog up to its end (read_committed). */
  private async restore(partition: number): Promise<Stores> {
    const stores: Stores = new Map();
    for (const name of this.storeNames) {
      const started = Date.now();
      const topic = changelogTopic(this.name, name);
      const store = new TransactionalStore<unknown>();
      let records = 0;
      await readToEnd(this.kafka, this.physical(topic), async (_partition, message) => {
        records += 1;
        const value = message.value ? JSON.parse((await this.codec.decode<StateEntry>(topic, message.value)).json) : null;
        store.load(message.key?.toString('utf8') ?? '', value);
      }, { partitions: [partition] });
      stores.set(name, store);
      const seconds = (Date.now() - started) / 1000;
      this.metrics?.restoreSeconds.observe({ stage: this.name, store: name }, seconds);
      this.metrics?.stateEntries.set({ stage: this.name, store: name, partition: String(partition) }, store.size);
      this.log.info(`restored store ${name} partition ${partition}: ${store.size} keys from ${records} changelog records in ${seconds.toFixed(2)} s`);
    }
    return stores;
  }

  private async onBatch(payload: EachBatchPayload, handler: Handler): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0 || !payload.isRunning() || payload.isStale()) return;
    const k = key(batch.topic, batch.partition);
    const at = (phase: string): void => this.watchdog.phase(k, phase);
    at('decode');
    try {
      await this.processBatch(payload, handler, at);
    } finally {
      this.watchdog.batchEnded(k);
    }
  }

  private async processBatch(payload: EachBatchPayload, handler: Handler, at: (phase: string) => void): Promise<void> {
    const { batch } = payload;
    const started = Date.now();
    const decoded: InputRecord[] = [];
    const failed: FailedRecord[] = [];
    const topic = this.logical(batch.topic);
    for (const message of batch.messages) {
      const recordKey = message.key ? message.key.toString('utf8') : null;
      // Record literals written out, not spread from a common base: this runs per record.
      try {
        decoded.push({ topic, partition: batch.partition, offset: message.offset, key: recordKey, value: await this.codec.decode(topic, message.value) });
      } catch (error) {
        if (!(error instanceof DecodeError)) throw error;
        failed.push({ input: { topic, partition: batch.partition, offset: message.offset, key: recordKey, value: message }, code: error.code, message: error.message });
      }
    }
    await handler(decoded, failed, payload, at);
    this.options.onCommitted?.(decoded);
    const now = Date.now();
    this.stats.batches += 1;
    this.stats.recordsIn += batch.messages.length;
    this.stats.lastBatchAt = now;
    if (this.metrics) {
      const labels = { stage: this.name };
      this.metrics.recordsIn.inc({ ...labels, topic: batch.topic, partition: String(batch.partition) }, batch.messages.length);
      this.metrics.batchSize.observe(labels, batch.messages.length);
      this.metrics.processingSeconds.observe(labels, (now - started) / 1000);
      for (const record of decoded) {
        const value = record.value as { tsEvent?: unknown; tsRecv?: unknown };
        if (typeof value.tsEvent === 'number') this.metrics.latencyFromEvent.observe(labels, Math.max(0, now / 1000 - value.tsEvent / 1e6));
        if (typeof value.tsRecv === 'number') this.metrics.latencyFromRecv.observe(labels, Math.max(0, now / 1000 - value.tsRecv / 1e6));
      }
    }
    payload.resolveOffset(batch.lastOffset());
    at('heartbeat');
    await payload.heartbeat();
  }

  private deadLetterMessages(failed: FailedRecord[], batch: Batch): Promise<{ topic: string; messages: Message[] }[]> {
    const byOffset = new Map<string, KafkaMessage>(batch.messages.map((m) => [m.offset, m]));
    const letters = failed.map(async (f, i) => {
      const original = byOffset.get(f.input.offset);
      if (!original) throw new TickflowError('INVARIANT', `${this.name} rejected offset ${f.input.offset}, which is not in the batch`, 'a stage must only reject records of its input batch');
      const letter = deadLetterOf(this.name, batch.topic, batch.partition, original, f.code, f.message, this.clock.nowMicros());
      if (i < DEAD_LETTERS_LOGGED) this.log.warn(`dead letter: ${f.code} at ${batch.topic}[${batch.partition}]@${f.input.offset}: ${f.message}`);
      this.metrics?.recordsFailed.inc({ stage: this.name, topic: batch.topic, code: f.code });
      this.metrics?.deadLetters.inc({ stage: this.name, topic: batch.topic });
      return { topic: letter.topic, messages: [{ key: letter.key, value: await this.codec.encode(dlqTopicOf(this.logical(batch.topic)), letter.value) }] };
    });
    // The first few dead letters of a batch are logged one by one (above), the rest as counts per
    // code: a replayed file can reject thousands at once, and every one of them is in the .dlq anyway.
    if (failed.length > DEAD_LETTERS_LOGGED) {
      const codes = new Map<string, number>();
      for (const f of failed.slice(DEAD_LETTERS_LOGGED)) codes.set(f.code, (codes.get(f.code) ?? 0) + 1);
      this.log.warn(`${failed.length - DEAD_LETTERS_LOGGED} more dead letters in this batch of ${batch.topic}[${batch.partition}] (${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}); \`tickflow tap ${dlqTopicOf(batch.topic)}\` shows them`);
    }
    return Promise.all(letters);
  }

  private stageHandler(stage: Stage): Handler {
    return async (allDecoded, allDecodeFailures, payload, at) => {
      const { batch } = payload;
      at('fence');
      const producer = this.options.delivery === 'at-least-once' ? undefined : await this.ensureTask(batch.topic, batch.partition);
      const floor = this.floors.get(key(batch.topic, batch.partition)) ?? 0n;
      let decoded = allDecoded;
      let decodeFailures = allDecodeFailures;
      if (BigInt(batch.firstOffset() ?? batch.lastOffset()) < floor) {
        decoded = allDecoded.filter((r) => BigInt(r.offset) >= floor);
        decodeFailures = allDecodeFailures.filter((f) => BigInt(f.input.offset) >= floor);
        const skipped = allDecoded.length + allDecodeFailures.length - decoded.length - decodeFailures.length;
        this.log.info(`skipping ${skipped} records of ${batch.topic}[${batch.partition}] below offset ${floor}: an earlier transaction already committed them`);
        this.metrics?.recordsSkipped.inc({ stage: this.name, topic: batch.topic }, skipped);
        if (BigInt(batch.lastOffset()) < floor) return;
      }
      // Co-partitioned inputs share the partition's state: their batches take turns with it, so one
      // batch's pending writes are never committed or dropped by another's transaction.
      at('state lock');
      const release = this.storeNames.length > 0 ? await this.stateLock(batch.partition) : () => undefined;
      try {
        at('restore');
        const stores = this.storeNames.length > 0 ? await this.storesFor(batch.partition) : new Map<string, TransactionalStore<unknown>>();
        const ctx: StageContext = {
          clock: this.clock,
          log: this.log,
          store: <V>(name: string) => {
            const store = stores.get(name);
            if (!store) throw new TickflowError('INVARIANT', `stage ${stage.name} used store '${name}', which it does not declare`, `add '${name}' to the stage's stores`);
            return store as unknown as TransactionalStore<V>;
          },
        };
        const all = [...stores.values()];
        try {
          at('process');
          const result = stage.process(decoded, ctx);
          const failed = [...decodeFailures, ...result.failed];
          const topicMessages = new Map<string, Message[]>();
          const add = (topic: string, message: Message): void => {
            const list = topicMessages.get(topic) ?? [];
            list.push(message);
            topicMessages.set(topic, list);
          };
          for (const out of result.out as OutputRecord[]) {
            if (!this.outputs.includes(out.topic)) throw new TickflowError('INVARIANT', `stage ${stage.name} emitted to ${out.topic}, which is not among its outputs`, `add ${out.topic} to the stage's outputs`);
            add(this.physical(out.topic), { key: out.key, value: await this.codec.encode(out.topic, out.value) });
          }
          for (const [name, store] of stores) {
            const topic = changelogTopic(stage.name, name);
            for (const [k, v] of store.changes()) {
              add(this.physical(topic), { key: k, partition: batch.partition, value: v === null ? null : await this.codec.encode(topic, { json: JSON.stringify(v) } satisfies StateEntry) });
            }
          }
          const letters = await this.deadLetterMessages(failed, batch);
          const sends = chunked([...[...topicMessages.entries()].map(([topic, messages]) => ({ topic, messages })), ...letters], SEND_CHUNK);
          at('send');
          if (this.options.delivery === 'at-least-once') {
            const plain = await this.plainProducer();
            for (const chunk of sends) await bounded(plain.sendBatch({ topicMessages: chunk, acks: -1 }), 'send');
            await bounded((this.consumer as Consumer).commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: offsetAfter(batch) }]), 'offset commit');
          } else {
          at('begin transaction');
          const transaction = await bounded((producer as Producer).transaction(), 'begin transaction');
          try {
            // Several sends per transaction keep each record batch under the broker's message size limit.
            at('transactional send');
            for (const chunk of sends) await bounded(transaction.sendBatch({ topicMessages: chunk, acks: -1 }), 'transactional send');
            at('send offsets');
            await bounded(
              transaction.sendOffsets({
                consumerGroupId: this.groupId,
                topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: offsetAfter(batch) }] }],
              }),
              'sending offsets to the transaction',
            );
            at('commit');
            await bounded(transaction.commit(), 'transaction commit');
            this.options.afterCommit?.(batch.topic, batch.partition);
          } catch (error) {
            at('abort');
            await bounded(transaction.abort(), 'transaction abort', 10_000).catch(() => undefined);
            throw error;
          }
          }
          for (const store of all) store.commit();
          this.metrics?.transactions.inc({ stage: this.name, result: 'commit' });
          for (const [topic, messages] of topicMessages) if (!topic.endsWith('.changelog')) this.metrics?.recordsOut.inc({ stage: this.name, topic }, messages.length);
          this.stats.recordsOut += result.out.length;
          this.stats.deadLetters += failed.length;
          if (this.metrics) for (const [name, store] of stores) this.metrics.stateEntries.set({ stage: this.name, store: name, partition: String(batch.partition) }, store.size);
        } catch (error) {
          for (const store of all) store.abort();
          this.metrics?.transactions.inc({ stage: this.name, result: 'abort' });
          // The outcome may be unknown (e.g. a lost coordinator): rebuild the producer and, since
          // memory may now disagree with what was committed, the partition's state from its changelog.
          at('drop producer');
          await this.dropTask(key(batch.topic, batch.partition));
          this.stores.delete(batch.partition);
          this.log.warn(`batch at ${batch.topic}[${batch.partition}] from offset ${batch.firstOffset()} failed; it will be retried: ${(error as Error).message}`);
          throw error;
        }
      } finally {
        release();
      }
    };
  }

  private sinkHandler(sink: SinkWriter): Handler {
    return async (decoded, decodeFailures, payload, at) => {
      const { batch } = payload;
      const consumer = this.consumer as Consumer;
      let pausedHere = false;
      const hooks: SinkHooks = {
        heartbeat: async () => {
          this.watchdog.progress();
          await payload.heartbeat().catch(() => undefined);
        },
        stalled: (on) => {
          if (on === pausedHere) return;
          pausedHere = on;
          const tp = [{ topic: batch.topic, partitions: [batch.partition] }];
          if (on) consumer.pause(tp);
          else consumer.resume(tp);
          this.paused += on ? 1 : -1;
          this.metrics?.pausedPartitions.set({ stage: this.name }, this.paused);
          if (on) this.metrics?.sinkRetries.inc({ stage: this.name });
        },
        stopping: () => this.stopping,
      };
      let result: { failed: FailedRecord[] };
      at('write');
      try {
        result = decoded.length > 0 ? await sink.write(decoded, hooks) : { failed: [] };
      } finally {
        hooks.stalled(false);
      }
      const failed = [...decodeFailures, ...result.failed];
      if (failed.length > 0) {
        at('dead letters');
        if (!this.dlqProducer) {
          this.dlqProducer = (async () => {
            const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
            await producer.connect();
            return producer;
          })();
          this.dlqProducer.catch(() => (this.dlqProducer = undefined));
        }
        await bounded((await this.dlqProducer).sendBatch({ topicMessages: await this.deadLetterMessages(failed, batch), acks: -1 }), 'dead-letter send');
      }
      at('offset commit');
      await bounded(consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: offsetAfter(batch) }]), 'offset commit');
      const written = decoded.length - result.failed.length;
      this.metrics?.recordsOut.inc({ stage: this.name, topic: batch.topic }, written);
      this.stats.recordsOut += written;
      this.stats.deadLetters += failed.length;
    };
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
      const highs = await admin.fetchTopicOffsets(topic);
      const committed = await admin.fetchOffsets({ groupId: this.groupId, topics: [topic] });
      const committedOf = new Map(committed[0]?.partitions.map((p) => [p.partition, BigInt(p.offset)]) ?? []);
      for (const { partition, high, low } of highs) {
        const committed = committedOf.get(partition) ?? -1n;
        const seen = this.positions.get(key(topic, partition)) ?? -1n;
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
    for (const k of [...this.tasks.keys()]) await this.dropTask(k);
    await (await this.dlqProducer?.catch(() => undefined))?.disconnect().catch(() => undefined);
    await (await this.admin?.catch(() => undefined))?.disconnect().catch(() => undefined);
    await (await this.aloProducer?.catch(() => undefined))?.disconnect().catch(() => undefined);
    if (this.mode.kind === 'stage') this.mode.stage.close?.();
    else await this.mode.sink.close?.();
  }

}
