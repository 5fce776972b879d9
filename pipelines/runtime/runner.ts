import type { Batch, Consumer, EachBatchPayload, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import { CompressionTypes } from 'kafkajs';
import type { Admin } from 'kafkajs';
import { TickflowError, isTickflowError } from './errors';
import type { Logger } from './log';
import { logger } from './log';
import type { StateEntry } from '../../schemas/types.generated';
import { dlqTopicOf } from '../../topics/catalog';
import { coPartitionedAssigner } from './assigner';
import { backoffMs, bounded } from './bounded';
import type { AvroCodec } from './codec';
import { deadLetterOf } from './dead-letters';
import { reportFailure, reportOk } from './dependencies';
import type { Stores } from './guarded';
import { processGuarded } from './guarded';
import type { RuntimeMetrics } from './metrics';
import type { SinkHooks, SinkWriter } from './sink';
import type { Clock, FailedRecord, InputRecord, OutputRecord, Stage, StageContext } from './stage';
import { systemClock } from './stage';
import { readToEnd } from './read-to-end';
import { TransactionalStore } from './store';
import { Watchdog } from './watchdog';
import { changelogTopic } from '../../topics/catalog';

export { bounded } from './bounded';

/**
 * The Kafka side of the runtime. One consumer group per stage or sink (`tickflow.<name>`); each
 * fetched batch holds one partition's records. A partition has at most one batch in flight; the
 * batches of different partitions may be processed concurrently (TICKFLOW_CONCURRENT_BATCHES). In-flight work
 * is bounded: kafkajs fetches from each broker separately, and the next fetch from a broker waits
 * until every batch of the previous one is done, so at most one fetch response per broker and
 * consumer is in memory, and a slow sink or producer stops fetching.
 *
 * - Stages (Kafka to Kafka): outputs, dead letters, state changes (to the stores' compacted
 *   changelogs) and the consumed offsets are written in one Kafka transaction per batch by a
 *   transactional producer dedicated to the batch's task: for a stage with state, partition N of
 *   every input (the inputs are co-partitioned and share partition N's state) is ONE task with ONE
 *   transactional id (`tickflow.<stage>.partition-<N>`), like a Kafka Streams task; a stage without
 *   state has a task per input partition (`tickflow.<stage>.<topic>.<partition>`). Whoever owns a
 *   task initialises its id first, which fences every older producer that could write the task's
 *   outputs, offsets or state and aborts its open transaction; only then is the state restored from
 *   the changelog, so the restored state is exactly the state that matches the committed offsets.
 * - Sinks (Kafka to a store, ./sink.ts): the sink writes the batch and resolves only once the store
 *   acknowledged it; then dead letters are produced and offsets committed. While the store is down
 *   the partition is paused and the write retried with backoff (slow is not failed).
 * - A batch is processed through ./guarded.ts: one record a stage rejects, or whose output cannot be
 *   encoded, becomes a dead letter; it never stops the partition.
 */
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
  /** Fault injection for tests: called right before a stage's transaction commits (may wait). */
  beforeCommit?: (topic: string, partition: number) => Promise<void>;
  /** Fault injection for tests: wraps each transactional producer's connect (e.g. to delay it past its bound). */
  connectProducer?: (connect: () => Promise<void>, transactionalId: string) => Promise<void>;
  /** Bound of a transactional producer's connect (default 60 s). */
  producerConnectTimeoutMs?: number;
  /** How often expired state is swept (default: a quarter of the stage's `stateTtlMs`, at most 60 s). */
  expirySweepMs?: number;
}

/** Processes a decoded batch; `at` reports the batch's current phase to the watchdog. */
type Handler = (decoded: InputRecord[], failed: FailedRecord[], payload: EachBatchPayload, at: (phase: string) => void) => Promise<void>;

interface Send {
  topic: string;
  messages: Message[];
}

const key = (topic: string, partition: number): string => `${topic}:${partition}`;

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

/**
 * Largest encoded state value (one store key). Changelog topics accept records up to their
 * `max.message.bytes` (topics/catalog.ts); a stage must keep each key's value well below it (split
 * large state over several keys). A larger one is a bug in the stage and stops it loudly, naming the
 * key, instead of leaving the partition stuck on a broker rejection.
 */
export const MAX_STATE_VALUE_BYTES = 512 * 1024;

/** Changelog records of one transaction above this many bytes are sent gzip-compressed. */
const COMPRESS_CHANGELOG_BYTES = 32 * 1024;

/** Keys expired per store partition and sweep, so one expiry transaction stays small. */
const EXPIRE_PER_SWEEP = 5000;

/** Splits per-topic message lists into groups of at most `size` messages in total. */
export function chunked(topics: Send[], size: number): Send[][] {
  const chunks: Send[][] = [];
  let current: Send[] = [];
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

/** Groups messages by topic, keeping their order. */
class SendList {
  private readonly byTopic = new Map<string, Message[]>();
  bytes = 0;

  add(topic: string, message: Message): void {
    const list = this.byTopic.get(topic) ?? [];
    list.push(message);
    this.byTopic.set(topic, list);
    this.bytes += (message.value as Buffer | null)?.length ?? 0;
  }

  entries(): Send[] {
    return [...this.byTopic.entries()].map(([topic, messages]) => ({ topic, messages }));
  }
}

/** Errors that mean Kafka did not answer (an outage), as opposed to an answer such as "fenced". */
const OUTAGE_ERRORS = new Set(['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', 'KafkaJSNumberOfRetriesExceeded', 'KafkaJSBrokerNotFound', 'KafkaJSTimeout']);

function kafkaFailure(error: unknown): boolean {
  return isTickflowError(error, 'TIMEOUT') || OUTAGE_ERRORS.has((error as Error)?.name ?? '');
}

export class Runner {
  readonly stats: RunnerStats = { batches: 0, recordsIn: 0, recordsOut: 0, deadLetters: 0, lastBatchAt: 0 };
  readonly groupId: string;
  private consumer?: Consumer;
  private dlqProducer?: Promise<Producer>;
  /** Transactional producer per task (see the class comment): `#<partition>` for stages with state, else `topic:partition`. */
  private readonly tasks = new Map<string, Promise<Producer>>();
  /**
   * Per transactional id, the retirement of its last producer (its connect settled, then it was
   * disconnected). A new producer of the id waits for it: a connect that timed out may still reach
   * the broker and would fence the new producer.
   */
  private readonly retiring = new Map<string, Promise<void>>();
  /**
   * Per input partition, the offset below which every record is known to be committed: the group's
   * committed offset as read right after fencing, advanced after every commit of this instance.
   * Records below it are skipped; see `ensureTask`.
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
  private expiryTimer?: NodeJS.Timeout;
  private sweeping = false;
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

  private get stateful(): boolean {
    return this.storeNames.length > 0;
  }

  private get exactlyOnce(): boolean {
    return this.mode.kind === 'stage' && this.options.delivery !== 'at-least-once';
  }

  /** The task a batch of `topic` (physical) partition `partition` belongs to. */
  private taskOf(topic: string, partition: number): string {
    return this.stateful ? `#${partition}` : key(topic, partition);
  }

  private transactionalId(topic: string, partition: number): string {
    return this.stateful ? `tickflow.${this.name}.${this.prefix}partition-${partition}` : `tickflow.${this.name}.${topic}.${partition}`;
  }

  /** The input partitions (physical `topic:partition` keys) a task covers. */
  private partitionsOf(topic: string, partition: number): string[] {
    return this.stateful ? this.inputs.map((t) => key(this.physical(t), partition)) : [key(topic, partition)];
  }

  /** Ready once the group assigned partitions and (stages) every owned partition is fenced and restored. */
  isReady(): boolean {
    if (!this.joined || this.stopping) return false;
    return !this.exactlyOnce || [...this.assignment].every((k) => this.readyTasks.has(k));
  }

  describe(): Record<string, unknown> {
    return { group: this.groupId, joined: this.joined, assigned: [...this.assignment].sort(), paused: this.paused, ...this.stats };
  }

  async start(): Promise<void> {
    await this.codec.prepare([...this.outputs, ...this.inputs.map(dlqTopicOf), ...this.storeNames.map((s) => changelogTopic(this.name, s))]);
    if (this.stateful) await this.checkCoPartitioned();
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
    const ttl = this.mode.kind === 'stage' ? this.mode.stage.stateTtlMs : undefined;
    if (ttl !== undefined && this.stateful && this.exactlyOnce) {
      const every = this.options.expirySweepMs ?? Math.max(1000, Math.min(60_000, Math.floor(ttl / 4)));
      this.expiryTimer = setInterval(() => void this.sweep(ttl), every).unref();
    }
  }

  /**
   * A stage with state keeps one state per partition number, shared by all its inputs and written
   * to changelogs partitioned the same way: every one of those topics must have the same partition
   * count, or a key's state would sit in a partition its records never reach.
   */
  private async checkCoPartitioned(): Promise<void> {
    const topics = [...this.inputs, ...this.storeNames.map((s) => changelogTopic(this.name, s))].map((t) => this.physical(t));
    const metadata = await bounded((await this.adminClient()).fetchTopicMetadata({ topics }), 'reading topic metadata');
    const counts = metadata.topics.map((t) => [t.name, t.partitions.length] as const);
    if (new Set(counts.map(([, n]) => n)).size > 1) {
      throw new TickflowError(
        'CONFIG',
        `${this.name} keeps state per partition, but its inputs and changelogs have different partition counts: ${counts.map(([t, n]) => `${t} ${n}`).join(', ')}`,
        'give them equal partition counts in topics/catalog.ts and recreate the differing topics (raising partitions moves keys; see `tickflow topics apply --force-partitions`)',
      );
    }
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
    const nextTasks = new Set([...next].map((k) => this.taskOf(k.slice(0, k.lastIndexOf(':')), Number(k.slice(k.lastIndexOf(':') + 1)))));
    for (const task of [...this.tasks.keys()]) if (!nextTasks.has(task)) void this.dropTask(task);
    const partitionNumbers = new Set([...next].map((k) => Number(k.split(':').pop())));
    for (const p of [...this.stores.keys()]) if (!partitionNumbers.has(p)) this.stores.delete(p);
    this.assignment = next;
    this.joined = true;
    this.metrics?.assignedPartitions.set({ stage: this.name }, next.size);
    this.log.info(`assigned ${[...next].sort().join(', ') || 'nothing'}`);
    if (this.exactlyOnce) for (const k of next) this.prepare(k, 1);
  }

  /**
   * Fences and restores an assigned partition ahead of its first batch; a failure is retried with
   * backoff until it works or the partition is gone, so an idle partition becomes ready too.
   */
  private prepare(k: string, attempt: number): void {
    const [topic, p] = [k.slice(0, k.lastIndexOf(':')), Number(k.slice(k.lastIndexOf(':') + 1))];
    this.ensureTask(topic, p).catch((error: Error) => {
      const delay = backoffMs(attempt, 500, 30_000);
      this.log.warn(`preparing ${k} failed (attempt ${attempt}; again in ${Math.round(delay)} ms, or at its next batch): ${error.message}`);
      setTimeout(() => {
        if (!this.stopping && this.assignment.has(k) && !this.readyTasks.has(k)) this.prepare(k, attempt + 1);
      }, delay).unref();
    });
  }

  private adminClient(): Promise<Admin> {
    if (!this.admin) {
      this.admin = (async () => {
        const admin = this.kafka.admin();
        await bounded(admin.connect(), 'connecting the admin client');
        return admin;
      })();
      this.admin.catch(() => (this.admin = undefined));
    }
    return this.admin;
  }

  /**
   * The task's transactional producer, created on first use: fences every older producer of the
   * task (initialising the id waits until the older owner's last transaction is complete, committed
   * or aborted, with its offsets applied), then reads the floors and restores the state.
   *
   * The consumer may have read its start offset before the fencing (kafkajs fetches committed
   * offsets as soon as the group assigns, in parallel with this), or be redoing a batch whose commit
   * succeeded without us learning it (a broker died with the response): both would process
   * committed records again. Reading the committed offset after the fencing gives the floor below
   * which records are skipped; every later commit of ours raises it (a rebalance that keeps a
   * partition re-reads the committed offset, and that read need not see our last commit yet).
   */
  private ensureTask(topic: string, partition: number): Promise<Producer> {
    const task = this.taskOf(topic, partition);
    let pending = this.tasks.get(task);
    if (!pending) {
      const id = this.transactionalId(topic, partition);
      const covered = this.partitionsOf(topic, partition);
      const created = (async () => {
        await this.retiring.get(id);
        const producer = this.kafka.producer({ transactionalId: id, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, transactionTimeout: 60_000, retry: TRANSACTIONAL_RETRY });
        const connect = this.options.connectProducer ? this.options.connectProducer(() => producer.connect(), id) : producer.connect();
        try {
          await bounded(connect, `initialising transactional producer ${id}`, this.options.producerConnectTimeoutMs ?? 60_000);
          reportOk('kafka');
          const committed = await bounded(this.committedOffsets(covered), `reading the committed offsets of ${covered.join(', ')}`);
          for (const k of covered) this.floors.set(k, committed.get(k) ?? 0n);
          if (this.stateful) await this.storesFor(partition);
        } catch (error) {
          if (kafkaFailure(error)) reportFailure('kafka', error as Error);
          this.retire(id, producer, connect);
          throw error;
        }
        for (const k of covered) this.readyTasks.add(k);
        return producer;
      })();
      pending = created;
      created.catch(() => {
        if (this.tasks.get(task) === created) this.tasks.delete(task);
      });
      this.tasks.set(task, created);
    }
    return pending;
  }

  /**
   * Disconnects a producer once its connect has settled, and makes the next producer of the same id
   * wait for that (bounded: kafkajs' own request timeout ends a connect that never answers).
   */
  private retire(id: string, producer: Producer, connect: Promise<unknown>): void {
    const done = bounded(
      connect.then(
        () => producer.disconnect(),
        () => producer.disconnect(),
      ),
      `retiring producer ${id}`,
      90_000,
    ).catch((error: Error) => this.log.warn(`retiring producer ${id}: ${error.message}`));
    const retired = done.then(() => {
      if (this.retiring.get(id) === retired) this.retiring.delete(id);
    });
    this.retiring.set(id, retired);
  }

  /** The group's committed offsets of input partitions (`topic:partition` keys; absent: none). */
  private async committedOffsets(partitions: readonly string[]): Promise<Map<string, bigint>> {
    const topics = [...new Set(partitions.map((k) => k.slice(0, k.lastIndexOf(':'))))];
    const offsets = await (await this.adminClient()).fetchOffsets({ groupId: this.groupId, topics });
    const result = new Map<string, bigint>();
    for (const { topic, partitions: ps } of offsets) {
      for (const p of ps) {
        const offset = BigInt(p.offset);
        if (offset >= 0n) result.set(key(topic, p.partition), offset);
      }
    }
    return result;
  }

  private plainProducer(): Promise<Producer> {
    this.aloProducer ??= (async () => {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
      return producer;
    })();
    return this.aloProducer;
  }

  private async dropTask(task: string): Promise<void> {
    const pending = this.tasks.get(task);
    this.tasks.delete(task);
    const partition = Number(task.slice(task.lastIndexOf(task.startsWith('#') ? '#' : ':') + 1));
    const covered = task.startsWith('#') ? this.inputs.map((t) => key(this.physical(t), partition)) : [task];
    for (const k of covered) {
      this.floors.delete(k);
      this.readyTasks.delete(k);
    }
    const producer = await pending?.catch(() => undefined);
    if (producer) await bounded(producer.disconnect(), 'producer disconnect', 5000).catch(() => undefined);
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
        store.load(message.key?.toString('utf8') ?? '', value, Number(message.timestamp));
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
        if (!isTickflowError(error, 'DECODE_ERROR')) throw error;
        failed.push({ input: { topic, partition: batch.partition, offset: message.offset, key: recordKey, value: message }, code: 'DECODE_ERROR', message: error.message });
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

  private deadLetterMessages(failed: FailedRecord[], batch: Batch): Send[] {
    const byOffset = new Map<string, KafkaMessage>(batch.messages.map((m) => [m.offset, m]));
    const letters = failed.map((f, i) => {
      const original = byOffset.get(f.input.offset);
      if (!original) throw new TickflowError('INVARIANT', `${this.name} rejected offset ${f.input.offset}, which is not in the batch`, 'a stage must only reject records of its input batch');
      const letter = deadLetterOf(this.name, batch.topic, batch.partition, original, f.code, f.message, this.clock.nowMicros());
      if (i < DEAD_LETTERS_LOGGED) this.log.warn(`dead letter: ${f.code} at ${batch.topic}[${batch.partition}]@${f.input.offset}: ${f.message.slice(0, 1000)}`);
      this.metrics?.recordsFailed.inc({ stage: this.name, topic: batch.topic, code: f.code });
      this.metrics?.deadLetters.inc({ stage: this.name, topic: batch.topic });
      return { topic: letter.topic, messages: [{ key: letter.key, value: this.codec.encodeSync(dlqTopicOf(this.logical(batch.topic)), letter.value) }] };
    });
    // The first few dead letters of a batch are logged one by one (above), the rest as counts per
    // code: a replayed file can reject thousands at once, and every one of them is in the .dlq anyway.
    if (failed.length > DEAD_LETTERS_LOGGED) {
      const codes = new Map<string, number>();
      for (const f of failed.slice(DEAD_LETTERS_LOGGED)) codes.set(f.code, (codes.get(f.code) ?? 0) + 1);
      this.log.warn(`${failed.length - DEAD_LETTERS_LOGGED} more dead letters in this batch of ${batch.topic}[${batch.partition}] (${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}); \`tickflow tap ${dlqTopicOf(batch.topic)}\` shows them`);
    }
    return letters;
  }

  /** Encodes one output for its topic; emitting to a topic the stage does not declare is a bug. */
  private encodeOutput(stage: Stage, out: OutputRecord): { topic: string; message: Message } {
    if (!this.outputs.includes(out.topic)) throw new TickflowError('INVARIANT', `stage ${stage.name} emitted to ${out.topic}, which is not among its outputs`, `add ${out.topic} to the stage's outputs`);
    return { topic: this.physical(out.topic), message: { key: out.key, value: this.codec.encodeSync(out.topic, out.value) } };
  }

  /** The changelog records of the stores' pending writes, each value bounded (MAX_STATE_VALUE_BYTES). */
  private changelogMessages(stores: Stores, partition: number): SendList {
    const list = new SendList();
    for (const [name, store] of stores) {
      const topic = changelogTopic(this.name, name);
      for (const [k, v] of store.changes()) {
        const value = v === null ? null : this.codec.encodeSync(topic, { json: JSON.stringify(v) } satisfies StateEntry);
        if (value && value.length > MAX_STATE_VALUE_BYTES) {
          throw new TickflowError(
            'INVARIANT',
            `${this.name} store ${name} key '${k.slice(0, 200)}' holds ${value.length} bytes; a state value may hold at most ${MAX_STATE_VALUE_BYTES}`,
            'the stage must split large state over several keys (see pipelines/normalize for an example) or bound it in its config',
          );
        }
        list.add(this.physical(topic), { key: k, partition, value });
        this.metrics?.changelogBytes.inc({ stage: this.name, store: name }, k.length + (value?.length ?? 0));
      }
    }
    return list;
  }

  /**
   * One transaction: outputs and dead letters, the changelog records (gzip when large), and the
   * consumed offsets when given. Throws (after aborting) on any failure; the caller decides.
   */
  private async transact(producer: Producer, outputs: Send[], changelog: SendList, offsets: { topic: string; partition: number; offset: string } | undefined, at: (phase: string) => void): Promise<void> {
    const compress = changelog.bytes > COMPRESS_CHANGELOG_BYTES;
    const plain = chunked(compress ? outputs : [...outputs, ...changelog.entries()], SEND_CHUNK);
    const packed = compress ? chunked(changelog.entries(), SEND_CHUNK) : [];
    at('begin transaction');
    const transaction = await bounded(producer.transaction(), 'begin transaction');
    try {
      // Several sends per transaction keep each record batch under the broker's message size limit.
      at('transactional send');
      for (const chunk of plain) await bounded(transaction.sendBatch({ topicMessages: chunk, acks: -1 }), 'transactional send');
      for (const chunk of packed) await bounded(transaction.sendBatch({ topicMessages: chunk, acks: -1, compression: CompressionTypes.GZIP }), 'transactional send (changelog)');
      if (offsets) {
        at('send offsets');
        await bounded(
          transaction.sendOffsets({ consumerGroupId: this.groupId, topics: [{ topic: offsets.topic, partitions: [{ partition: offsets.partition, offset: offsets.offset }] }] }),
          'sending offsets to the transaction',
        );
        if (this.options.beforeCommit) await this.options.beforeCommit(offsets.topic, offsets.partition);
      }
      at('commit');
      await bounded(transaction.commit(), 'transaction commit');
      reportOk('kafka');
    } catch (error) {
      at('abort');
      await bounded(transaction.abort(), 'transaction abort', 10_000).catch(() => undefined);
      throw error;
    }
  }

  private stageHandler(stage: Stage): Handler {
    return async (allDecoded, allDecodeFailures, payload, at) => {
      const { batch } = payload;
      at('fence');
      const producer = this.exactlyOnce ? await this.ensureTask(batch.topic, batch.partition) : undefined;
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
      const release = this.stateful ? await this.stateLock(batch.partition) : () => undefined;
      let stores: Stores = new Map();
      try {
        at('restore');
        stores = this.stateful ? await this.storesFor(batch.partition) : stores;
        at('process');
        const result = await processGuarded(stage, decoded, stores, { clock: this.clock, log: this.log }, {
          encode: (out) => this.encodeOutput(stage, out),
          fresh: () => {
            this.stores.delete(batch.partition);
            return this.stateful ? this.storesFor(batch.partition) : Promise.resolve(new Map());
          },
          onIsolate: (reason) => this.log.warn(`batch of ${batch.topic}[${batch.partition}] from offset ${batch.firstOffset()} is processed record by record to find the bad one: ${reason.slice(0, 300)}`),
        });
        stores = result.stores;
        const failed = [...decodeFailures, ...result.failed];
        const outputs = new SendList();
        for (const { topic, message } of result.encoded) outputs.add(topic, message);
        const changelog = this.changelogMessages(stores, batch.partition);
        const sends = [...outputs.entries(), ...this.deadLetterMessages(failed, batch)];
        at('send');
        if (!producer) {
          const plain = await this.plainProducer();
          for (const chunk of chunked([...sends, ...changelog.entries()], SEND_CHUNK)) await bounded(plain.sendBatch({ topicMessages: chunk, acks: -1 }), 'send');
          await bounded((this.consumer as Consumer).commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: offsetAfter(batch) }]), 'offset commit');
        } else {
          await this.transact(producer, sends, changelog, { topic: batch.topic, partition: batch.partition, offset: offsetAfter(batch) }, at);
          // Everything below the committed offset is ours now: a re-read of an older committed offset must not redo it.
          this.floors.set(key(batch.topic, batch.partition), BigInt(offsetAfter(batch)));
          this.options.afterCommit?.(batch.topic, batch.partition);
        }
        const now = Date.now();
        for (const store of stores.values()) store.commit(now);
        this.metrics?.transactions.inc({ stage: this.name, result: 'commit' });
        for (const { topic, messages } of outputs.entries()) this.metrics?.recordsOut.inc({ stage: this.name, topic }, messages.length);
        this.stats.recordsOut += result.out.length;
        this.stats.deadLetters += failed.length;
        if (this.metrics) for (const [name, store] of stores) this.metrics.stateEntries.set({ stage: this.name, store: name, partition: String(batch.partition) }, store.size);
      } catch (error) {
        for (const store of stores.values()) store.abort();
        this.metrics?.transactions.inc({ stage: this.name, result: 'abort' });
        if (kafkaFailure(error)) reportFailure('kafka', error as Error);
        // The outcome may be unknown (e.g. a lost coordinator): rebuild the producer and, since
        // memory may now disagree with what was committed, the partition's state from its changelog.
        at('drop producer');
        await this.dropTask(this.taskOf(batch.topic, batch.partition));
        this.stores.delete(batch.partition);
        this.log.warn(`batch at ${batch.topic}[${batch.partition}] from offset ${batch.firstOffset()} failed; it will be retried: ${(error as Error).message}`);
        throw error;
      } finally {
        release();
      }
    };
  }

  /**
   * Expires state keys not written for `ttlMs` (wall clock): per owned state partition, under its
   * lock, the stage's `expire` hook gives the outputs the expiry implies, and one transaction (no
   * offsets) carries them with the changelog tombstones. A failure drops the partition's producer
   * and state (restored on the next batch), as a failed batch does; the next sweep tries again.
   */
  private async sweep(ttlMs: number): Promise<void> {
    if (this.sweeping || this.stopping || this.mode.kind !== 'stage') return;
    this.sweeping = true;
    const stage = this.mode.stage;
    try {
      for (const partition of [...this.stores.keys()]) {
        if (this.stopping) return;
        const cutoff = Date.now() - ttlMs;
        const current = await this.stores.get(partition)?.catch(() => undefined);
        if (!current || ![...current.values()].some((s) => s.stale(cutoff).length > 0)) continue;
        const release = await this.stateLock(partition);
        try {
          await this.expirePartition(stage, partition, cutoff);
        } catch (error) {
          this.log.warn(`expiring state of partition ${partition} failed (retried at the next sweep): ${(error as Error).message}`);
        } finally {
          release();
        }
      }
    } finally {
      this.sweeping = false;
    }
  }

  private async expirePartition(stage: Stage, partition: number, cutoff: number): Promise<void> {
    const first = this.physical(this.inputs[0]);
    if (!this.assignment.has(key(first, partition))) return;
    const noop = (): void => undefined;
    const producer = await this.ensureTask(first, partition);
    const stores = await this.storesFor(partition);
    const ctx: StageContext = {
      clock: this.clock,
      log: this.log,
      store: <V>(name: string) => stores.get(name) as unknown as TransactionalStore<V>,
    };
    const outputs = new SendList();
    let expired = 0;
    try {
      for (const [name, store] of stores) {
        for (const k of store.stale(cutoff).slice(0, EXPIRE_PER_SWEEP)) {
          const value = store.get(k);
          for (const out of stage.expire?.(name, k, value, ctx) ?? []) {
            const { topic, message } = this.encodeOutput(stage, out);
            outputs.add(topic, message);
          }
          store.delete(k);
          expired += 1;
          this.metrics?.stateExpired.inc({ stage: this.name, store: name });
        }
      }
      await this.transact(producer, outputs.entries(), this.changelogMessages(stores, partition), undefined, noop);
      for (const store of stores.values()) store.commit();
      for (const { topic, messages } of outputs.entries()) this.metrics?.recordsOut.inc({ stage: this.name, topic }, messages.length);
      this.log.info(`expired ${expired} state keys of partition ${partition} not written for ${((Date.now() - cutoff) / 1000).toFixed(0)} s`);
    } catch (error) {
      for (const store of stores.values()) store.abort();
      await this.dropTask(this.taskOf(first, partition));
      this.stores.delete(partition);
      throw error;
    }
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
        await bounded((await this.dlqProducer).sendBatch({ topicMessages: this.deadLetterMessages(failed, batch), acks: -1 }), 'dead-letter send');
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
      const committed = await bounded(admin.fetchOffsets({ groupId: this.groupId, topics: [topic] }), `reading the committed offsets of ${this.groupId}`);
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
    clearInterval(this.expiryTimer);
    await this.consumer?.disconnect().catch((error: Error) => this.log.warn(`consumer disconnect: ${error.message}`));
    for (const task of [...this.tasks.keys()]) await this.dropTask(task);
    await Promise.all([...this.retiring.values()]);
    await (await this.dlqProducer?.catch(() => undefined))?.disconnect().catch(() => undefined);
    await (await this.admin?.catch(() => undefined))?.disconnect().catch(() => undefined);
    await (await this.aloProducer?.catch(() => undefined))?.disconnect().catch(() => undefined);
    if (this.mode.kind === 'stage') this.mode.stage.close?.();
    else await this.mode.sink.close?.();
  }
}
