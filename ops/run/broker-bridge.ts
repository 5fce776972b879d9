import type { Consumer, KafkaMessage, Kafka, Message, Producer } from 'kafkajs';
import type { BrokerAdapter, BrokerEvent } from '../../connectors/brokers/adapter';
import { TERMINAL } from '../../connectors/brokers/order-tracker';
import {
  EXECUTION_REPORTS_TOPIC,
  FILLS_TOPIC,
  ORDER_EVENTS_TOPIC,
  brokerRecords,
} from '../../connectors/brokers/adapter';
import type { AvroCodec } from '../../pipelines/runtime/codec';
import { deadLetterOf } from '../../pipelines/runtime/dead-letters';
import type { RecordErrorCode } from '../../pipelines/runtime/errors';
import { TickflowError, describeError, isRecordError, isTickflowError } from '../../pipelines/runtime/errors';
import { backoffMs, bounded, sleep } from '../../pipelines/runtime/bounded';
import { logger } from '../../pipelines/runtime/log';
import { readToEnd } from '../../pipelines/runtime/read-to-end';
import { Decimal, quotientHalfEven } from '../../schemas/decimal';
import type { OrderEvent, OrderEventKind, OrderRequest, OrderStatus } from '../../schemas/types.generated';
import { dlqTopicOf } from '../../topics/catalog';

const log = logger('broker-bridge');

export const ORDER_REQUESTS_TOPIC = 'orders.requests.v1';
const REQUESTS_DLQ = dlqTopicOf(ORDER_REQUESTS_TOPIC);
const OUTPUT_TOPICS = [ORDER_EVENTS_TOPIC, EXECUTION_REPORTS_TOPIC, FILLS_TOPIC];

const ZERO = new Decimal('0');
const TERMINAL_KINDS: ReadonlySet<OrderEventKind> = new Set<OrderEventKind>(['CANCELED', 'EXPIRED', 'REJECTED']);

/** What has been published on orders.events.v1 for one order. */
interface PublishedOrder {
  seq: number;
  status: OrderStatus;
  filled: Decimal;
  /** Sum of lastQuantity × lastPrice over its published fills. */
  notional: Decimal;
  /** Every requestId its published events carry (the NEW's, then each CANCEL's or REPLACE's). */
  readonly requestIds: Set<string>;
}

/**
 * The bridge's memory of what it (or an earlier instance) already published, read back from
 * orders.events.v1 at start. A broker adapter keeps its order state in memory only: a restarted
 * adapter that is handed a redelivered NEW adopts the broker's order and reports it afresh from
 * seq 1 (ACCEPTED, then one catch-up fill for everything filled so far). The ledger makes that
 * harmless downstream:
 *
 * - `answered`: a request whose effect is already published is not submitted again (a NEW of an
 *   order that reached a terminal status; a CANCEL or REPLACE whose requestId is on an event).
 * - `admit`: an update is published only if it is news: a fill only beyond the filled quantity
 *   already published (and then for exactly the missing quantity, at the price that makes the
 *   published totals agree with the broker's), ACCEPTED only for an order not yet seen, a terminal
 *   event only for an order not yet terminal. Every published event is renumbered to continue the
 *   order's published `seq` (eventId `<orderId>:<seq>`), so seq stays gapless and unique.
 */
export class PublishedLedger {
  private readonly orders = new Map<string, PublishedOrder>();
  private readonly fillIds = new Set<string>();

  get size(): number {
    return this.orders.size;
  }

  /** An event found on orders.events.v1 (or just admitted). */
  record(event: OrderEvent): void {
    let order = this.orders.get(event.orderId);
    if (!order) {
      order = { seq: 0, status: event.status, filled: ZERO, notional: ZERO, requestIds: new Set() };
      this.orders.set(event.orderId, order);
    }
    order.seq = Math.max(order.seq, event.seq);
    order.status = event.status;
    if (event.requestId) order.requestIds.add(event.requestId);
    if (event.fillId && !this.fillIds.has(event.fillId)) {
      this.fillIds.add(event.fillId);
      if (event.lastQuantity && event.lastPrice)
        order.notional = order.notional.plus(event.lastQuantity.times(event.lastPrice));
    }
    if (event.filledQuantity.gt(order.filled)) order.filled = event.filledQuantity;
  }

  /** True when the request's effect is already published, so submitting it again would only repeat it. */
  answered(request: OrderRequest): boolean {
    const order = this.orders.get(request.orderId);
    if (!order) return false;
    if (request.action === 'NEW') return TERMINAL.has(order.status);
    return order.requestIds.has(request.requestId);
  }

  /** The update as it is to be published (renumbered, a fill rebased), or null when it is not news. */
  admit(update: BrokerEvent): BrokerEvent | null {
    const { event } = update;
    let { fill } = update;
    let out: OrderEvent = event;
    const known = this.orders.get(event.orderId);
    if (known) {
      if (event.fillId !== null || fill) {
        if ((fill && this.fillIds.has(fill.fillId)) || !event.filledQuantity.gt(known.filled)) return null;
        const quantity = event.filledQuantity.minus(known.filled);
        if (event.lastQuantity === null || !quantity.eq(event.lastQuantity)) {
          // The adapter reports from its own (fresh) totals: report only what was not published.
          const average = event.avgFillPrice ?? event.lastPrice ?? ZERO;
          const price = quotientHalfEven(average.times(event.filledQuantity).minus(known.notional), quantity, 12);
          out = { ...out, lastQuantity: quantity, lastPrice: price };
          if (fill) fill = { ...fill, quantity, price };
        }
      } else if (event.kind === 'ACCEPTED') {
        return null;
      } else if (TERMINAL_KINDS.has(event.kind) && TERMINAL.has(known.status)) {
        return null;
      }
    }
    const seq = (known?.seq ?? 0) + 1;
    out = { ...out, seq, eventId: `${event.orderId}:${seq}` };
    this.record(out);
    return fill ? { event: out, fill } : { event: out };
  }
}

interface Pending {
  readonly topic: string;
  readonly message: Message;
}

/**
 * Records waiting for Kafka, sent in order by one idempotent producer (acks from all in-sync
 * replicas, one request in flight); a failed send is retried with backoff until it succeeds or the
 * outbox is abandoned at shutdown. Nothing is dropped while the process lives.
 */
class Outbox {
  private readonly queue: Pending[] = [];
  private enqueued = 0;
  private sent = 0;
  private readonly waiters: { upTo: number; resolve: () => void }[] = [];
  private pumping?: Promise<void>;
  private abandoned = false;
  failures = 0;

  constructor(
    private readonly producer: Producer,
    private readonly retryMinMs: number,
    private readonly retryMaxMs: number,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  get published(): number {
    return this.sent;
  }

  get isAbandoned(): boolean {
    return this.abandoned;
  }

  push(records: readonly Pending[]): void {
    this.queue.push(...records);
    this.enqueued += records.length;
    this.ensurePump();
  }

  private ensurePump(): void {
    if (this.pumping || this.abandoned || this.queue.length === 0) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      this.ensurePump();
    });
  }

  /** Resolves once everything pushed so far is acknowledged by Kafka (or the outbox is abandoned). */
  flushed(): Promise<void> {
    if (this.sent >= this.enqueued || this.abandoned) return Promise.resolve();
    const upTo = this.enqueued;
    return new Promise((resolve) => this.waiters.push({ upTo, resolve }));
  }

  /** Stops retrying (shutdown past its bound); what is still queued is lost and returned as a count. */
  abandon(): number {
    this.abandoned = true;
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
    return this.queue.length;
  }

  private async pump(): Promise<void> {
    let attempt = 0;
    while (this.queue.length > 0 && !this.abandoned) {
      const batch = this.queue.slice(0, 500);
      const byTopic = new Map<string, Message[]>();
      for (const { topic, message } of batch) {
        const list = byTopic.get(topic) ?? [];
        list.push(message);
        byTopic.set(topic, list);
      }
      try {
        await this.producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
      } catch (error) {
        attempt += 1;
        this.failures += 1;
        const waitMs = backoffMs(attempt, this.retryMinMs, this.retryMaxMs);
        log.warn('publishing broker events failed; retrying', {
          err: describeError(error),
          pending: this.queue.length,
          waitMs: Math.round(waitMs),
        });
        await sleep(waitMs);
        continue;
      }
      attempt = 0;
      this.queue.splice(0, batch.length);
      this.sent += batch.length;
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        if (this.waiters[i].upTo <= this.sent) this.waiters.splice(i, 1)[0].resolve();
      }
    }
  }
}

export interface BrokerBridgeOptions {
  /** Prefix of every topic and of the consumer group (`--namespace`, e.g. `exp1.`); default none. */
  prefix?: string;
  /**
   * Where a consumer group without committed offsets starts: false (default) at the end, so a new
   * bridge never sends a broker the requests of the past; true at the beginning (tests).
   */
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  /** Longest wait of one fetch; default 500 ms. */
  maxWaitMs?: number;
  /** Backoff of retried submits and sends: from this, doubling, jittered, at most the max. Defaults 200 ms and 10 s. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** `stop` gives up flushing after this; default 10 s. */
  stopTimeoutMs?: number;
  /** Wall clock in microseconds (dead letters' tsFailed). */
  now?: () => number;
  /**
   * The bridge cannot go on (the broker refused the credentials, the adapter closed itself, an
   * event cannot be encoded): it stopped consuming; the owner should `stop()` and exit non-zero.
   */
  onFatal?: (error: Error) => void;
}

export interface BrokerBridgeHealth {
  adapter: string;
  groupId: string;
  /** Requests submitted and committed. */
  submitted: number;
  /** Requests skipped as already answered (found in orders.events.v1). */
  skipped: number;
  deadLetters: number;
  /** Adapter updates published / dropped as already published. */
  eventsPublished: number;
  eventsSuppressed: number;
  /** Records waiting for Kafka. */
  outboxPending: number;
  /** Orders known from orders.events.v1 (read at start, then kept up to date). */
  ordersKnown: number;
  fatal: string | null;
}

/**
 * A BrokerAdapter in place of the paper execution stage: consumes `<prefix>orders.requests.v1`
 * (read_committed, group `tickflow.<prefix>broker-<adapter>`), submits each request in partition
 * order and commits its offset only once `submit` resolved and the events it produced so far are
 * acknowledged by Kafka (at least once: the adapter dedupes by orderId and requestId, and the
 * ledger above by what is already on orders.events.v1). Every adapter update goes out through
 * `brokerRecords` to the prefixed orders.events.v1, execution.reports.v1 and fills.v1.
 *
 * Failures, as in the runtime: a transient fault (Kafka, the registry, the broker's retries spent)
 * is retried with backoff and the partition waits; an undecodable request, or one whose submit
 * throws a non-retriable error other than CONFIG, goes to `<prefix>orders.requests.v1.dlq` and the
 * partition goes on (orders the broker refuses are REJECTED events, never exceptions); CONFIG
 * (credentials refused) stops the bridge through `onFatal`.
 *
 * Run one instance per broker account: the adapter's order state is in memory and every instance
 * would see every update of the account on its stream.
 */
export class BrokerBridge {
  readonly groupId: string;
  private readonly prefix: string;
  private readonly ledger = new PublishedLedger();
  private readonly producer: Producer;
  private readonly outbox: Outbox;
  private consumer?: Consumer;
  private unsubscribe?: () => void;
  private stopping = false;
  private stopped?: Promise<void>;
  private fatalError?: Error;
  private readonly stats = { submitted: 0, skipped: 0, deadLetters: 0, eventsPublished: 0, eventsSuppressed: 0 };
  private readonly settings: Required<Omit<BrokerBridgeOptions, 'onFatal' | 'sessionTimeoutMs' | 'prefix'>>;

  constructor(
    private readonly kafka: Kafka,
    private readonly codec: AvroCodec,
    private readonly adapter: BrokerAdapter,
    private readonly options: BrokerBridgeOptions = {},
  ) {
    this.prefix = options.prefix ?? '';
    this.groupId = `tickflow.${this.prefix}broker-${adapter.name}`;
    this.settings = {
      fromBeginning: options.fromBeginning ?? false,
      maxWaitMs: options.maxWaitMs ?? 500,
      retryMinMs: options.retryMinMs ?? 200,
      retryMaxMs: options.retryMaxMs ?? 10_000,
      stopTimeoutMs: options.stopTimeoutMs ?? 10_000,
      now: options.now ?? (() => Date.now() * 1000),
    };
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    this.outbox = new Outbox(this.producer, this.settings.retryMinMs, this.settings.retryMaxMs);
  }

  health(): BrokerBridgeHealth {
    return {
      adapter: this.adapter.name,
      groupId: this.groupId,
      ...this.stats,
      outboxPending: this.outbox.pending,
      ordersKnown: this.ledger.size,
      fatal: this.fatalError?.message ?? null,
    };
  }

  /**
   * Reads what is already published, connects the producer and the adapter's stream, then joins
   * the consumer group; resolves once the group is joined (the bridge is consuming).
   */
  async start(): Promise<void> {
    await this.codec.prepare([...OUTPUT_TOPICS, REQUESTS_DLQ]);
    await this.loadLedger();
    await this.producer.connect();
    this.unsubscribe = this.adapter.onEvent((update) => this.onUpdate(update));
    await this.adapter.start();
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: this.settings.maxWaitMs,
      ...(this.options.sessionTimeoutMs ? { sessionTimeout: this.options.sessionTimeoutMs } : {}),
    });
    this.consumer = consumer;
    const joined = new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      // kafkajs restarts the consumer after a retriable error; otherwise consuming has ended.
      if (!payload.restart && !this.stopping)
        this.fail(new TickflowError('NOT_REACHABLE', `consuming order requests stopped: ${payload.error.message}`));
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic(ORDER_REQUESTS_TOPIC), fromBeginning: this.settings.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 8,
      eachBatch: async ({
        batch,
        resolveOffset,
        heartbeat,
        commitOffsetsIfNecessary,
        uncommittedOffsets,
        isRunning,
        isStale,
      }) => {
        for (const message of batch.messages) {
          if (!isRunning() || isStale() || this.stopping) return;
          const owned = (): boolean => isRunning() && !isStale();
          const done = await this.withHeartbeats(heartbeat, () =>
            this.handle(batch.topic, batch.partition, message, owned),
          );
          if (!done) return;
          resolveOffset(message.offset);
          await commitOffsetsIfNecessary(uncommittedOffsets());
        }
      },
    });
    await bounded(joined, `joining consumer group ${this.groupId}`, 60_000);
    log.info('consuming order requests', {
      topic: this.topic(ORDER_REQUESTS_TOPIC),
      groupId: this.groupId,
      adapter: this.adapter.name,
      ordersKnown: this.ledger.size,
    });
  }

  /**
   * Stops consuming (the request in flight finishes, or stays uncommitted), closes the adapter, then
   * publishes what is left; idempotent.
   */
  stop(): Promise<void> {
    this.stopped ??= this.stopOnce();
    return this.stopped;
  }

  private async stopOnce(): Promise<void> {
    this.stopping = true;
    // Waits for the request in flight; its offset is committed only if its events were published.
    const left = this.consumer?.disconnect();
    await bounded(left ?? Promise.resolve(), 'leaving the consumer group', this.settings.stopTimeoutMs).catch(
      (error: unknown) => {
        this.outbox.abandon();
        log.warn('leaving the consumer group failed', { err: describeError(error) });
      },
    );
    // The adapter is closed before the last flush, so no update it reports is left behind.
    await this.adapter
      .close()
      .catch((error: unknown) => log.warn('closing the adapter failed', { err: describeError(error) }));
    this.unsubscribe?.();
    try {
      await bounded(this.outbox.flushed(), 'publishing the last broker events', this.settings.stopTimeoutMs);
    } catch {
      const lost = this.outbox.abandon();
      log.error(`stopping with ${lost} broker event records unpublished (Kafka did not take them in time)`, {
        fix: 'they are reported again only if their orders are resubmitted; check orders.events.v1 against the broker',
      });
    }
    await this.producer.disconnect().catch(() => undefined);
    log.info('stopped', this.health() as unknown as Record<string, unknown>);
  }

  private topic(name: string): string {
    return `${this.prefix}${name}`;
  }

  private async loadLedger(): Promise<void> {
    await readToEnd(this.kafka, this.topic(ORDER_EVENTS_TOPIC), async (_partition, message) => {
      try {
        this.ledger.record(await this.codec.decode<OrderEvent>(ORDER_EVENTS_TOPIC, message.value));
      } catch (error) {
        if (!isRecordError(error)) throw error;
      }
    });
  }

  /** Keeps the consumer's session alive while one request takes long (the broker's retries, Kafka down). */
  private async withHeartbeats<T>(heartbeat: () => Promise<void>, work: () => Promise<T>): Promise<T> {
    const timer = setInterval(() => void heartbeat().catch(() => undefined), 3000);
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  /** One request: true when done (its offset may be committed), false when the bridge stops first. */
  private async handle(
    topic: string,
    partition: number,
    message: KafkaMessage,
    owned: () => boolean,
  ): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      // Not ours any more (a rebalance) or stopping: the next owner gets it from the last commit.
      if (this.stopping || this.fatalError || !owned()) return false;
      try {
        const request = await this.codec.decode<OrderRequest>(ORDER_REQUESTS_TOPIC, message.value);
        if (this.ledger.answered(request)) {
          this.stats.skipped += 1;
          log.info('request already answered on orders.events.v1; not submitted again', {
            requestId: request.requestId,
            orderId: request.orderId,
            action: request.action,
          });
        } else {
          await this.adapter.submit(request);
          this.stats.submitted += 1;
        }
        await this.outbox.flushed();
        return !this.outbox.isAbandoned;
      } catch (error) {
        if (isTickflowError(error) && error.retriable) {
          const waitMs = backoffMs(attempt, this.settings.retryMinMs, this.settings.retryMaxMs);
          log.warn(`request at ${topic}[${partition}]@${message.offset} failed for now; retrying`, {
            err: describeError(error),
            attempt,
            waitMs: Math.round(waitMs),
          });
          await sleep(waitMs);
          continue;
        }
        if (isTickflowError(error, 'STOPPING')) {
          if (!this.stopping)
            this.fail(new TickflowError('INVARIANT', `the ${this.adapter.name} adapter closed itself`));
          return false;
        }
        if (isTickflowError(error) && error.kind === 'user') {
          this.fail(error);
          return false;
        }
        this.deadLetter(topic, partition, message, error);
        await this.outbox.flushed();
        return !this.outbox.isAbandoned;
      }
    }
  }

  private deadLetter(topic: string, partition: number, message: KafkaMessage, error: unknown): void {
    const code: RecordErrorCode = isRecordError(error) ? error.code : 'INVALID_VALUE';
    const text = isRecordError(error)
      ? error.message
      : `the ${this.adapter.name} adapter failed on it: ${describeError(error)}`;
    const letter = deadLetterOf(
      `broker-${this.adapter.name}`,
      topic,
      partition,
      message,
      code,
      text,
      this.settings.now(),
    );
    this.stats.deadLetters += 1;
    log.warn(`dead letter: ${code} at ${topic}[${partition}]@${message.offset}: ${text.slice(0, 1000)}`);
    this.outbox.push([
      { topic: letter.topic, message: { key: letter.key, value: this.codec.encodeSync(REQUESTS_DLQ, letter.value) } },
    ]);
  }

  /** An adapter update (synchronous, in order): news is encoded and queued for Kafka at once. */
  private onUpdate(update: BrokerEvent): void {
    if (this.fatalError) return;
    try {
      const admitted = this.ledger.admit(update);
      if (!admitted) {
        this.stats.eventsSuppressed += 1;
        log.debug('an update already published; not repeated', {
          orderId: update.event.orderId,
          kind: update.event.kind,
        });
        return;
      }
      this.outbox.push(
        brokerRecords(admitted).map((r) => ({
          topic: this.topic(r.topic),
          message: { key: r.key, value: this.codec.encodeSync(r.topic, r.value) },
        })),
      );
      this.stats.eventsPublished += 1;
    } catch (error) {
      // A listener's exception would only be logged by the adapter and the event lost: stop instead.
      this.fail(
        new TickflowError(
          'INVARIANT',
          `a broker event cannot be published (${update.event.eventId}): ${describeError(error)}`,
          undefined,
          {
            cause: error,
          },
        ),
      );
    }
  }

  private fail(error: Error): void {
    if (this.fatalError) return;
    this.fatalError = error;
    log.error('the broker bridge cannot go on', { err: describeError(error) });
    this.options.onFatal?.(error);
  }
}
