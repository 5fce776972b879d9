import type { Admin, KafkaMessage, Producer, Transaction } from 'kafkajs';
import { dlqTopicOf } from '../../topics/catalog';
import { backoffMs, bounded } from './bounded';
import type { ChainMember, CascadeOutcome, CascadeStart } from './chain';
import { Chain } from './chain';
import { reportFailure, reportOk } from './dependencies';
import { TickflowError } from './errors';
import type { Stores } from './guarded';
import { GlobalTables, globalAccessor } from './global-table';
import { readToEnd } from './read-to-end';
import { PartitionStates } from './state';
import type { BatchProcessor, DecodedBatch, RunnerContext } from './runner-context';
import type { InputRecord, KeyValueStore, OutputRecord, Stage, StageContext } from './stage';
import { TransactionalProducers } from './producers';
import type { OffsetCommit, Placement, Send } from './transactions';
import {
  COMPRESS_CHANGELOG_BYTES,
  abortTransaction,
  beginTransaction,
  commitMetadata,
  commitTransaction,
  kafkaFailure,
  offsetAfter,
  partitionKey,
  sendInTransaction,
} from './transactions';

/** Keys expired per store partition and sweep, so one expiry transaction stays small. */
const EXPIRE_PER_SWEEP = 5000;

/** How often a batch waiting for its task heartbeats (kafkajs sends at most one per heartbeat interval). */
const HEARTBEAT_WHILE_WAITING_MS = 500;

/** Intermediate records a drain (see `drain`) hands on per transaction. */
const DRAIN_CHUNK = 2000;

/**
 * The transactional stage task: a stage, or a fused chain of stages (./chain.ts), Kafka to Kafka.
 *
 * Outputs, dead letters, state changes (to the stores' compacted changelogs) and the consumed
 * offsets are written in one Kafka transaction per batch, by a transactional producer dedicated to
 * the batch's task: for a stage with state or a chain, partition N of every input (co-partitioned;
 * they share partition N's state) is ONE task with ONE transactional id
 * (`tickflow.<head>.<prefix>partition-<N>`), like a Kafka Streams task; a single stage without state
 * has a task per input partition (`tickflow.<stage>.<topic>.<partition>`). Whoever owns a task
 * initialises its id first, which fences every older producer that could write the task's outputs,
 * offsets or state and aborts its open transaction (for a chain, the ids its members use when run
 * alone too); only then are the floors read and the state restored, so the restored state is
 * exactly the state that matches the committed offsets.
 */
export class StageTasks implements BatchProcessor {
  private readonly chain: Chain;
  private readonly states: PartitionStates;
  private readonly globals: GlobalTables;
  private readonly producers: TransactionalProducers;
  /** Producer per task (`#<partition>` when partitioned, else `topic:partition`). */
  private readonly tasks = new Map<string, Promise<Producer>>();
  /**
   * Per input partition, the offset below which every record is known to be committed: the group's
   * committed offset as read right after fencing, advanced after every commit of this instance.
   * Records below it are skipped; see `ensureTask`.
   */
  private readonly floors = new Map<string, bigint>();
  private readonly readyTasks = new Set<string>();
  private readonly partitionCounts = new Map<string, number>();
  private admin?: Promise<Admin>;
  private plain?: Promise<Producer>;
  private expiryTimer?: NodeJS.Timeout;
  private sweeping = false;
  private punctuationTimer?: NodeJS.Timeout;
  private punctuating = false;
  /**
   * Per intermediate topic-partition of a chain, the offset its next record should get: the chain
   * is the only writer, so anything else between our records was written by someone else, and the
   * fused stage does not read it (warned, counted). Unknown after an abort or a new owner.
   */
  private readonly nextOffset = new Map<string, bigint>();

  constructor(
    private readonly ctx: RunnerContext,
    stages: readonly Stage[],
  ) {
    const members: ChainMember[] = stages.map((stage) => ({ stage, groupId: `tickflow.${ctx.prefix}${stage.name}` }));
    this.states = new PartitionStates(ctx.kafka, ctx.codec, stages, (t) => ctx.physical(t), ctx.log, ctx.metrics);
    this.globals = new GlobalTables(
      ctx.kafka,
      ctx.codec,
      [...new Set(stages.flatMap((s) => s.globals ?? []))],
      (t) => ctx.physical(t),
      ctx.log,
      ctx.groupId,
    );
    this.chain = new Chain(
      members,
      ctx.codec,
      this.states,
      (t) => ctx.physical(t),
      ctx.log,
      ctx.clock,
      ctx.metrics,
      globalAccessor(stages, this.globals.tables),
    );
    this.producers = new TransactionalProducers(
      ctx.kafka,
      ctx.log,
      ctx.options.connectProducer,
      ctx.options.producerConnectTimeoutMs,
    );
  }

  private get head(): Stage {
    return this.chain.head;
  }

  private get stages(): Stage[] {
    return this.chain.members.map((m) => m.stage);
  }

  /** One task per partition number (state, or a chain), else one per input partition. */
  private get partitioned(): boolean {
    return this.chain.members.length > 1 || this.states.stateful;
  }

  private get exactlyOnce(): boolean {
    return this.ctx.options.delivery !== 'at-least-once';
  }

  topicsToPrepare(): string[] {
    const stages = this.stages;
    return [
      ...new Set([
        ...stages.flatMap((s) => s.outputs),
        ...stages.flatMap((s) => s.inputs).map(dlqTopicOf),
        ...this.states.changelogTopics(),
      ]),
    ];
  }

  async open(): Promise<void> {
    await this.readPartitionCounts();
    await this.globals.open();
    const global = globalAccessor(this.stages, this.globals.tables);
    for (const stage of this.stages) stage.open?.({ clock: this.ctx.clock, log: this.ctx.log, global });
    const ttls = this.stages.map((s) => s.stateTtlMs).filter((t): t is number => t !== undefined);
    if (ttls.length > 0 && this.states.stateful && this.exactlyOnce) {
      const every =
        this.ctx.options.expirySweepMs ?? Math.max(1000, Math.min(60_000, Math.floor(Math.min(...ttls) / 4)));
      this.expiryTimer = setInterval(() => void this.sweep(), every).unref();
    }
    const intervals = this.stages.map((s) => s.punctuate?.intervalMs).filter((t): t is number => t !== undefined);
    if (intervals.length > 0 && this.states.stateful && this.exactlyOnce)
      this.punctuationTimer = setInterval(
        () => void this.punctuateAll(),
        Math.max(100, Math.min(...intervals)),
      ).unref();
  }

  /** Runs each punctuating member on every partition this instance owns where it says work is due. */
  private async punctuateAll(): Promise<void> {
    if (this.punctuating || this.ctx.stopping()) return;
    this.punctuating = true;
    try {
      for (const partition of this.states.partitions()) {
        for (let i = 0; i < this.chain.members.length; i++) {
          if (!this.chain.members[i].stage.punctuate || this.ctx.stopping()) continue;
          await this.punctuatePartition(i, partition).catch((error: Error) =>
            this.ctx.log.warn(
              `punctuation of ${this.chain.members[i].stage.name} partition ${partition} failed (tried again at the next one): ${error.message}`,
            ),
          );
        }
      }
    } finally {
      this.punctuating = false;
    }
  }

  private contextOver(stage: Stage, stores: Stores): StageContext {
    return {
      clock: this.ctx.clock,
      log: this.ctx.log,
      global: globalAccessor([stage], this.globals.tables),
      store: <V>(name: string) => stores.get(name) as unknown as KeyValueStore<V>,
    };
  }

  private async punctuatePartition(member: number, partition: number): Promise<void> {
    const stage = this.chain.members[member].stage;
    const punctuate = stage.punctuate;
    const first = this.ctx.physical(this.head.inputs[0]);
    if (!punctuate || !this.ctx.assignment().has(partitionKey(first, partition))) return;
    const current = (await this.states.of(partition).catch(() => undefined))?.get(stage.name);
    if (!current || !punctuate.due(this.contextOver(stage, current))) return;
    const release = await this.states.lock(partition);
    try {
      await this.transactProduced(member, partition, (stores) => punctuate.run(this.contextOver(stage, stores)));
    } finally {
      release();
    }
  }

  /**
   * Commits what `produce` makes of a partition's stores, with no input records (expiry,
   * punctuation), in a transaction of the partition's task; a failure drops the task's state like a
   * failed batch and is thrown.
   */
  private async transactProduced(
    member: number,
    partition: number,
    produce: (stores: Stores) => OutputRecord[],
  ): Promise<void> {
    const first = this.ctx.physical(this.head.inputs[0]);
    const producer = await this.ensureTask(first, partition);
    try {
      const outcome = await this.transact(
        producer,
        partition,
        { from: member, records: [], produce },
        undefined,
        () => undefined,
      );
      this.committed(outcome, partition);
    } catch (error) {
      await this.failed(error, first, partition, () => undefined);
      throw error;
    }
  }

  /**
   * Partition counts of every topic the task reads or writes in place. A task keeps one state per
   * partition number, shared by all its inputs and written to changelogs partitioned the same way,
   * and a chain hands records on by partition: all of those topics must have the same count, or a
   * key's state (or record) would sit in a partition its records never reach.
   */
  private async readPartitionCounts(): Promise<void> {
    const topics = [
      ...new Set([...this.head.inputs, ...this.chain.intermediateTopics(), ...this.states.changelogTopics()]),
    ];
    const metadata = await bounded(
      (await this.adminClient()).fetchTopicMetadata({ topics: topics.map((t) => this.ctx.physical(t)) }),
      'reading topic metadata',
    );
    for (const t of metadata.topics) this.partitionCounts.set(this.ctx.logical(t.name), t.partitions.length);
    const counts = topics.map((t) => [t, this.partitionCounts.get(t) ?? 0] as const);
    if (this.partitioned && new Set(counts.map(([, n]) => n)).size > 1) {
      const what =
        this.chain.members.length > 1
          ? `the fused chain ${this.ctx.name} hands records on per partition`
          : `${this.ctx.name} keeps state per partition`;
      throw new TickflowError(
        'CONFIG',
        `${what}, but its topics have different partition counts: ${counts.map(([t, n]) => `${t} ${n}`).join(', ')}`,
        'give them equal partition counts in topics/catalog.ts and recreate the differing topics (raising partitions moves keys; see `tickflow topics apply --force-partitions`)',
      );
    }
  }

  private partitionsOf = (topic: string): number => {
    const count = this.partitionCounts.get(topic);
    if (count === undefined)
      throw new TickflowError('INVARIANT', `the partition count of ${topic} was not read at start`, 'report this');
    return count;
  };

  private taskOf(topic: string, partition: number): string {
    return this.partitioned ? `#${partition}` : partitionKey(topic, partition);
  }

  private transactionalId(topic: string, partition: number): string {
    return this.partitioned
      ? `tickflow.${this.head.name}.${this.ctx.prefix}partition-${partition}`
      : `tickflow.${this.head.name}.${topic}.${partition}`;
  }

  /** The ids a chain member uses when it runs alone (fenced when the chain takes the partition). */
  private soloIds(stage: Stage, partition: number): string[] {
    if ((stage.stores ?? []).length > 0) return [`tickflow.${stage.name}.${this.ctx.prefix}partition-${partition}`];
    return stage.inputs.map((t) => `tickflow.${stage.name}.${this.ctx.physical(t)}.${partition}`);
  }

  /** The input partitions (physical `topic:partition` keys) a task covers. */
  private partitionsOfTask(topic: string, partition: number): string[] {
    return this.partitioned
      ? this.head.inputs.map((t) => partitionKey(this.ctx.physical(t), partition))
      : [partitionKey(topic, partition)];
  }

  ready(assignment: ReadonlySet<string>): boolean {
    return !this.exactlyOnce || [...assignment].every((k) => this.readyTasks.has(k));
  }

  assigned(assignment: ReadonlySet<string>): void {
    const split = (k: string): [string, number] => [
      k.slice(0, k.lastIndexOf(':')),
      Number(k.slice(k.lastIndexOf(':') + 1)),
    ];
    const nextTasks = new Set([...assignment].map((k) => this.taskOf(...split(k))));
    for (const task of [...this.tasks.keys()]) if (!nextTasks.has(task)) void this.dropTask(task);
    const numbers = new Set([...assignment].map((k) => split(k)[1]));
    for (const p of this.states.partitions()) if (!numbers.has(p)) this.states.drop(p);
    if (this.exactlyOnce) for (const k of assignment) this.prepare(k, 1);
  }

  /**
   * Fences and restores an assigned partition ahead of its first batch; a failure is retried with
   * backoff until it works or the partition is gone, so an idle partition becomes ready too.
   */
  private prepare(k: string, attempt: number): void {
    const [topic, p] = [k.slice(0, k.lastIndexOf(':')), Number(k.slice(k.lastIndexOf(':') + 1))];
    this.ensureTask(topic, p).catch((error: Error) => {
      const delay = backoffMs(attempt, 500, 30_000);
      this.ctx.log.warn(
        `preparing ${k} failed (attempt ${attempt}; again in ${Math.round(delay)} ms, or at its next batch): ${error.message}`,
      );
      setTimeout(() => {
        if (!this.ctx.stopping() && this.ctx.assignment().has(k) && !this.readyTasks.has(k))
          this.prepare(k, attempt + 1);
      }, delay).unref();
    });
  }

  private adminClient(): Promise<Admin> {
    if (!this.admin) {
      this.admin = (async () => {
        const admin = this.ctx.kafka.admin();
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
   * or aborted, with its offsets applied), then reads the floors, restores the state and, for a
   * chain, drains what its later members have not read yet (see `drain`).
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
      const created = this.createTask(topic, partition);
      pending = created;
      created.catch(() => {
        if (this.tasks.get(task) === created) this.tasks.delete(task);
      });
      this.tasks.set(task, created);
    }
    return pending;
  }

  private async createTask(topic: string, partition: number): Promise<Producer> {
    const id = this.transactionalId(topic, partition);
    const covered = this.partitionsOfTask(topic, partition);
    let producer: Producer | undefined;
    try {
      producer = await this.producers.connect(id);
      for (const member of this.stages.slice(1))
        for (const solo of this.soloIds(member, partition)) await this.producers.fence(solo);
      reportOk('kafka');
      const committed = await bounded(
        this.committedOffsets(this.ctx.groupId, covered),
        `reading the committed offsets of ${covered.join(', ')}`,
      );
      for (const k of covered) this.floors.set(k, committed.get(k) ?? 0n);
      if (this.partitioned) await this.states.of(partition);
      if (this.chain.members.length > 1) await this.drain(producer, partition);
      this.ctx.log.debug(`task ${this.taskOf(topic, partition)} is ready (${id})`);
    } catch (error) {
      if (kafkaFailure(error)) reportFailure('kafka', error as Error);
      if (producer) this.producers.release(id, producer);
      this.states.drop(partition);
      throw error;
    }
    for (const k of covered) this.readyTasks.add(k);
    return producer;
  }

  /** A group's committed offsets of input partitions (`topic:partition` keys; absent: none). */
  private async committedOffsets(groupId: string, partitions: readonly string[]): Promise<Map<string, bigint>> {
    const topics = [...new Set(partitions.map((k) => k.slice(0, k.lastIndexOf(':'))))];
    const offsets = await (await this.adminClient()).fetchOffsets({ groupId, topics });
    const result = new Map<string, bigint>();
    for (const { topic, partitions: ps } of offsets) {
      for (const p of ps) {
        const offset = BigInt(p.offset);
        if (offset >= 0n) result.set(partitionKey(topic, p.partition), offset);
      }
    }
    return result;
  }

  private plainProducer(): Promise<Producer> {
    this.plain ??= (async () => {
      const producer = this.ctx.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
      });
      await producer.connect();
      return producer;
    })();
    return this.plain;
  }

  private async dropTask(task: string): Promise<void> {
    const pending = this.tasks.get(task);
    this.tasks.delete(task);
    const partition = Number(task.slice(task.lastIndexOf(task.startsWith('#') ? '#' : ':') + 1));
    const covered = task.startsWith('#')
      ? this.head.inputs.map((t) => partitionKey(this.ctx.physical(t), partition))
      : [task];
    for (const k of covered) {
      this.floors.delete(k);
      this.readyTasks.delete(k);
    }
    for (const k of [...this.nextOffset.keys()]) if (k.endsWith(`:${partition}`)) this.nextOffset.delete(k);
    const producer = await pending?.catch(() => undefined);
    if (producer) await bounded(producer.disconnect(), 'producer disconnect', 5000).catch(() => undefined);
  }

  /** The batch's records the floor has not covered yet (an earlier transaction committed the rest). */
  private aboveFloor(batch: DecodedBatch): { records: InputRecord[]; failed: DecodedBatch['failed'] } | undefined {
    const b = batch.payload.batch;
    const floor = this.floors.get(partitionKey(b.topic, b.partition)) ?? 0n;
    if (BigInt(b.firstOffset() ?? b.lastOffset()) >= floor) return { records: batch.decoded, failed: batch.failed };
    const records = batch.decoded.filter((r) => BigInt(r.offset) >= floor);
    const failed = batch.failed.filter((f) => BigInt(f.input.offset) >= floor);
    const skipped = batch.decoded.length + batch.failed.length - records.length - failed.length;
    this.ctx.log.info(
      `skipping ${skipped} records of ${b.topic}[${b.partition}] below offset ${floor}: an earlier transaction already committed them`,
    );
    this.ctx.metrics?.recordsSkipped.inc({ stage: this.ctx.name, topic: b.topic }, skipped);
    return BigInt(b.lastOffset()) < floor ? undefined : { records, failed };
  }

  async process(batch: DecodedBatch): Promise<void> {
    const b = batch.payload.batch;
    batch.at('fence');
    const producer = this.exactlyOnce
      ? await heartbeating(this.ensureTask(b.topic, b.partition), batch.payload)
      : undefined;
    const input = this.aboveFloor(batch);
    if (!input) return;
    // Co-partitioned inputs share the partition's state: their batches take turns with it, so one
    // batch's pending writes are never committed or dropped by another's transaction.
    batch.at('state lock');
    const release = this.partitioned ? await this.states.lock(b.partition) : () => undefined;
    try {
      batch.at('restore');
      await heartbeating(this.states.of(b.partition), batch.payload);
      batch.at('process');
      const start: CascadeStart = {
        from: 0,
        records: input.records,
        failed: input.failed,
        originals: new Map<string, KafkaMessage>(b.messages.map((m) => [m.offset, m])),
        source: { topic: b.topic, partition: b.partition },
      };
      const headOffsets: OffsetCommit = {
        groupId: this.ctx.groupId,
        topics: [{ topic: b.topic, partitions: [{ partition: b.partition, offset: offsetAfter(b) }] }],
      };
      const outcome = producer
        ? await this.transact(producer, b.partition, start, headOffsets, batch.at)
        : await this.sendAtLeastOnce(b.partition, start, headOffsets, batch.at);
      if (producer) {
        // Everything below the committed offset is ours now: a re-read of an older committed offset must not redo it.
        this.floors.set(partitionKey(b.topic, b.partition), BigInt(offsetAfter(b)));
        this.ctx.options.afterCommit?.(b.topic, b.partition);
      }
      this.committed(outcome, b.partition);
    } catch (error) {
      await this.failed(error, b.topic, b.partition, batch.at);
      this.ctx.log.warn(
        `batch at ${b.topic}[${b.partition}] from offset ${b.firstOffset()} failed; it will be retried: ${(error as Error).message}`,
      );
      throw error;
    } finally {
      release();
    }
  }

  /**
   * One transaction: the cascade (sending intermediate records as it goes), then the rest of the
   * outputs, dead letters and changelogs, the consumed offsets of every group, and the commit. On
   * any failure the transaction is aborted and the error thrown.
   */
  private async transact(
    producer: Producer,
    partition: number,
    start: CascadeStart,
    headOffsets: OffsetCommit | undefined,
    at: (phase: string) => void,
  ): Promise<CascadeOutcome> {
    at('begin transaction');
    const transaction = await beginTransaction(producer);
    const touched = new Set<string>();
    try {
      const outcome = await this.chain.cascade(partition, this.partitionsOf, start, (sends) =>
        this.sendPlaced(transaction, sends, at, touched),
      );
      at('transactional send');
      const changelog: Placement = new Map();
      if (outcome.changelog.bytes > COMPRESS_CHANGELOG_BYTES) {
        await sendInTransaction(transaction, outcome.sends.entries());
        await sendInTransaction(transaction, outcome.changelog.entries(), {
          compress: true,
          placement: changelog,
          what: 'transactional send (changelog)',
        });
      } else {
        // One produce request (and one AddPartitionsToTxn) for outputs and changelog: each round
        // trip is on every record's latency.
        await sendInTransaction(transaction, [...outcome.sends.entries(), ...outcome.changelog.entries()], {
          placement: changelog,
        });
      }
      const offsets = [...(headOffsets ? [headOffsets] : []), ...groupCommits(outcome)];
      const hook =
        this.ctx.options.beforeCommit && headOffsets
          ? () => this.ctx.options.beforeCommit?.(headOffsets.topics[0].topic, partition) ?? Promise.resolve()
          : undefined;
      await commitTransaction(transaction, offsets, at, hook);
      this.states.written(changelog);
      this.settleOffsets(touched, 'commit');
      return outcome;
    } catch (error) {
      this.settleOffsets(touched, 'abort');
      at('abort');
      await abortTransaction(transaction);
      throw error;
    }
  }

  private async sendPlaced(
    transaction: Transaction,
    sends: Send[],
    at: (phase: string) => void,
    touched: Set<string>,
  ): Promise<Placement> {
    at('transactional send');
    const placement: Placement = new Map();
    await sendInTransaction(transaction, sends, { placement, what: 'transactional send (fused chain)' });
    for (const [k, offsets] of placement) {
      const expected = this.nextOffset.get(k);
      if (expected !== undefined && offsets[0] > expected) this.foreign(k, offsets[0] - expected);
      this.nextOffset.set(k, offsets[offsets.length - 1] + 1n);
      touched.add(k);
    }
    at('process');
    return placement;
  }

  private foreign(k: string, count: bigint): void {
    const topic = k.slice(0, k.lastIndexOf(':'));
    const reader =
      this.chain.members.find((m) => m.stage.inputs.includes(this.ctx.logical(topic)))?.stage.name ?? 'a fused stage';
    this.ctx.metrics?.foreignRecords.inc({ stage: this.ctx.name, topic }, Number(count));
    this.ctx.log.warn(
      `${count} offsets of ${k} were written by something other than this chain; ${reader} reads ${topic} in memory and does not read them. Stop writing to it, or run ${reader} unfused (tickflow run --no-fuse)`,
    );
  }

  /** After the transaction: each touched partition got a commit (or abort) marker after our records. */
  private settleOffsets(touched: ReadonlySet<string>, outcome: 'commit' | 'abort'): void {
    for (const k of touched) {
      const next = this.nextOffset.get(k);
      if (outcome === 'commit' && next !== undefined) this.nextOffset.set(k, next + 1n);
      else this.nextOffset.delete(k);
    }
  }

  /** The benchmark's comparison: the same work, sent and committed without a transaction. */
  private async sendAtLeastOnce(
    partition: number,
    start: CascadeStart,
    headOffsets: OffsetCommit,
    at: (phase: string) => void,
  ): Promise<CascadeOutcome> {
    const plain = await this.plainProducer();
    const send = async (sends: Send[]): Promise<Placement> => {
      const placement: Placement = new Map();
      await sendInTransaction(plain as unknown as Transaction, sends, { placement, what: 'send' });
      return placement;
    };
    const outcome = await this.chain.cascade(partition, this.partitionsOf, start, send);
    at('send');
    await send([...outcome.sends.entries(), ...outcome.changelog.entries()]);
    const t = headOffsets.topics[0];
    await bounded(
      this.ctx.consumer().commitOffsets([
        {
          topic: t.topic,
          partition: t.partitions[0].partition,
          offset: t.partitions[0].offset,
          metadata: commitMetadata(),
        },
      ]),
      'offset commit',
    );
    return outcome;
  }

  /** After a commit: the state's pending writes become its base, and the counts move. */
  private committed(outcome: CascadeOutcome, partition: number): void {
    this.states.settle(outcome.state, 'commit', partition);
    this.ctx.metrics?.transactions.inc({ stage: this.ctx.name, result: 'commit' });
    for (const [stage, counts] of outcome.counts) {
      for (const [topic, n] of counts.outByTopic)
        this.ctx.metrics?.recordsOut.inc({ stage, topic: this.ctx.physical(topic) }, n);
      for (const [topic, observed] of counts.observed)
        this.ctx.metrics?.observe(stage, topic, observed, `${this.ctx.name}#${partition}`);
      if (stage !== this.head.name)
        this.ctx.metrics?.recordsIn.inc({ stage, topic: 'fused', partition: String(partition) }, counts.in);
    }
    this.ctx.stats.recordsOut += [...outcome.counts.values()].reduce((sum, c) => sum + c.out, 0);
    this.ctx.stats.deadLetters += [...outcome.counts.values()].reduce((sum, c) => sum + c.failed, 0);
  }

  /**
   * After a failed batch: the outcome may be unknown (e.g. a lost coordinator), so the producer is
   * rebuilt and, since memory may now disagree with what was committed, the partition's state is
   * restored from its changelogs.
   */
  private async failed(error: unknown, topic: string, partition: number, at: (phase: string) => void): Promise<void> {
    const state = await this.states.of(partition).catch(() => undefined);
    this.states.settle(state, 'abort', partition);
    this.ctx.metrics?.transactions.inc({ stage: this.ctx.name, result: 'abort' });
    if (kafkaFailure(error)) reportFailure('kafka', error as Error);
    at('drop producer');
    await this.dropTask(this.taskOf(topic, partition));
    this.states.drop(partition);
  }

  /**
   * A chain's later members read in memory what the earlier ones write, and the chain commits their
   * groups past it. What a member's group has not read yet (written while the stages ran unfused,
   * or by an older version) is read here, before the task's first batch, and run through the chain
   * from that member, in transactions that commit the member's group past it. The last member goes
   * first: draining an earlier one writes new input for the later ones, which must come after what
   * they had left unread.
   */
  private async drain(producer: Producer, partition: number): Promise<void> {
    for (let i = this.chain.members.length - 1; i >= 1; i--) {
      const { stage, groupId } = this.chain.members[i];
      for (const topic of stage.inputs) {
        const physical = this.ctx.physical(topic);
        const k = partitionKey(physical, partition);
        const committed = (await this.committedOffsets(groupId, [k])).get(k);
        if (committed === undefined && this.ctx.options.fromBeginning === false) continue;
        const high = BigInt(
          (
            await bounded((await this.adminClient()).fetchTopicOffsets(physical), `reading the offsets of ${physical}`)
          ).find((o) => o.partition === partition)?.high ?? '0',
        );
        // Only a commit marker (or nothing) after the group's offset: nothing to read.
        this.ctx.log.debug(`drain check of ${k} for ${stage.name}: group at ${committed ?? 'none'}, end ${high}`);
        if (high <= (committed ?? 0n) + 1n) continue;
        this.ctx.log.debug(`draining ${k} from ${committed ?? 0n} (end ${high}) for ${stage.name}`);
        await this.drainTopic(producer, partition, i, topic, committed ?? 0n);
      }
    }
  }

  private async drainTopic(
    producer: Producer,
    partition: number,
    member: number,
    topic: string,
    from: bigint,
  ): Promise<void> {
    const physical = this.ctx.physical(topic);
    const { groupId, stage } = this.chain.members[member];
    let chunk: { record: InputRecord; message: KafkaMessage }[] = [];
    let drained = 0;
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return;
      const records = chunk.map((c) => c.record);
      const originals = new Map(chunk.map((c) => [`${topic}@${c.record.offset}`, c.message]));
      const last = BigInt(records[records.length - 1].offset);
      const own: OffsetCommit = {
        groupId,
        topics: [{ topic: physical, partitions: [{ partition, offset: (last + 1n).toString() }] }],
      };
      this.committed(
        await this.transact(producer, partition, { from: member, records, originals }, own, () => undefined),
        partition,
      );
      drained += chunk.length;
      chunk = [];
    };
    await readToEnd(
      this.ctx.kafka,
      physical,
      async (_p, message) => {
        const value = await this.ctx.codec.decode(topic, message.value);
        chunk.push({
          record: { topic, partition, offset: message.offset, key: message.key?.toString() ?? null, value },
          message,
        });
        if (chunk.length >= DRAIN_CHUNK) await flush();
      },
      { partitions: [partition], from: new Map([[partition, from]]) },
    );
    await flush();
    if (drained > 0)
      this.ctx.log.info(
        `drained ${drained} records of ${physical}[${partition}] that ${stage.name} had not read yet (its group was at ${from})`,
      );
  }

  /**
   * Expires state keys not written for their stage's `stateTtlMs` (wall clock): per owned state
   * partition, under its lock, the stage's `expire` hook gives the outputs the expiry implies, and
   * one transaction (no consumed offsets) carries them, through the rest of the chain, with the
   * changelog tombstones. A failure drops the partition's producer and state (restored on the next
   * batch), as a failed batch does; the next sweep tries again.
   */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.ctx.stopping()) return;
    this.sweeping = true;
    try {
      for (const partition of this.states.partitions()) {
        for (let i = 0; i < this.chain.members.length; i++) {
          const ttl = this.chain.members[i].stage.stateTtlMs;
          if (ttl === undefined || this.ctx.stopping()) continue;
          await this.expireIfStale(i, partition, Date.now() - ttl);
        }
      }
    } finally {
      this.sweeping = false;
    }
  }

  private async expireIfStale(member: number, partition: number, cutoff: number): Promise<void> {
    const stage = this.chain.members[member].stage;
    const state = await this.states.of(partition).catch(() => undefined);
    const stores = state?.get(stage.name);
    if (!stores || ![...stores.values()].some((s) => s.stale(cutoff).length > 0)) return;
    const release = await this.states.lock(partition);
    try {
      await this.expirePartition(member, partition, cutoff);
    } catch (error) {
      this.ctx.log.warn(
        `expiring state of ${stage.name} partition ${partition} failed (retried at the next sweep): ${(error as Error).message}`,
      );
    } finally {
      release();
    }
  }

  private async expirePartition(member: number, partition: number, cutoff: number): Promise<void> {
    const first = this.ctx.physical(this.head.inputs[0]);
    if (!this.ctx.assignment().has(partitionKey(first, partition))) return;
    const stage = this.chain.members[member].stage;
    let expired = 0;
    const produce = (stores: Stores): OutputRecord[] => {
      const ctx = this.contextOver(stage, stores);
      const out: OutputRecord[] = [];
      for (const [name, store] of stores) {
        for (const k of store.stale(cutoff).slice(0, EXPIRE_PER_SWEEP)) {
          out.push(...(stage.expire?.(name, k, store.get(k), ctx) ?? []));
          store.delete(k);
          expired += 1;
          this.ctx.metrics?.stateExpired.inc({ stage: stage.name, store: name });
        }
      }
      return out;
    };
    await this.transactProduced(member, partition, produce);
    this.ctx.log.info(
      `expired ${expired} state keys of ${stage.name} partition ${partition} not written for ${((Date.now() - cutoff) / 1000).toFixed(0)} s`,
    );
  }

  async stop(): Promise<void> {
    clearInterval(this.expiryTimer);
    clearInterval(this.punctuationTimer);
    for (const task of [...this.tasks.keys()]) await this.dropTask(task);
    await this.producers.settled();
    await (await this.admin?.catch(() => undefined))?.disconnect().catch(() => undefined);
    await (await this.plain?.catch(() => undefined))?.disconnect().catch(() => undefined);
    await this.globals.close();
    for (const stage of this.stages) stage.close?.();
  }
}

/**
 * Waits for `work` while keeping the consumer's group membership alive: kafkajs heartbeats only
 * between batches, and a batch waiting for its task (fencing, a drain) or its state (a restore) could
 * otherwise outlast the session timeout and cost a rebalance. A failed heartbeat (the group is
 * rebalancing) is left to the consumer, which notices it at its next call.
 */
async function heartbeating<T>(work: Promise<T>, payload: DecodedBatch['payload']): Promise<T> {
  const timer = setInterval(() => void payload.heartbeat().catch(() => undefined), HEARTBEAT_WHILE_WAITING_MS);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/** The chain's downstream groups' offsets as transaction offset commits. */
function groupCommits(outcome: CascadeOutcome): OffsetCommit[] {
  return [...outcome.groupOffsets].map(([groupId, offsets]) => {
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const [k, offset] of offsets) {
      const topic = k.slice(0, k.lastIndexOf(':'));
      const list = byTopic.get(topic) ?? [];
      list.push({ partition: Number(k.slice(k.lastIndexOf(':') + 1)), offset });
      byTopic.set(topic, list);
    }
    return { groupId, topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) };
  });
}
