import type { Kafka, Producer } from 'kafkajs';
import { bounded } from './bounded';
import type { Logger } from './log';
import { TRANSACTIONAL_RETRY } from './transactions';

/**
 * Transactional producers by id. Connecting one initialises its id, which fences every older
 * producer of the id (and aborts its open transaction). A producer whose connect failed or timed out
 * is retired: disconnected once its connect settled; the next producer of the same id waits for
 * that, since a late connect would otherwise reach the broker and fence the new producer.
 */
export class TransactionalProducers {
  private readonly retiring = new Map<string, Promise<void>>();

  constructor(
    private readonly kafka: Kafka,
    private readonly log: Logger,
    private readonly connectHook?: (connect: () => Promise<void>, transactionalId: string) => Promise<void>,
    private readonly connectTimeoutMs = 60_000,
  ) {}

  /** A connected transactional producer of `id`; throws (after retiring it) if it cannot connect. */
  async connect(id: string): Promise<Producer> {
    await this.retiring.get(id);
    const producer = this.kafka.producer({
      transactionalId: id,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      transactionTimeout: 60_000,
      retry: TRANSACTIONAL_RETRY,
    });
    if (process.env.TICKFLOW_DEBUG_REQUESTS) traceRequests(producer, id);
    const connect = this.connectHook ? this.connectHook(() => producer.connect(), id) : producer.connect();
    try {
      await bounded(connect, `initialising transactional producer ${id}`, this.connectTimeoutMs);
    } catch (error) {
      this.retire(id, producer, connect);
      throw error;
    }
    return producer;
  }

  /** Initialises `id` once (fencing its older producers) and lets it go. */
  async fence(id: string): Promise<void> {
    const producer = await this.connect(id);
    await bounded(producer.disconnect(), `releasing ${id}`, 10_000).catch(() => undefined);
  }

  /** Retires a producer that is done with (after a failure): its id is free again once this settles. */
  release(id: string, producer: Producer): void {
    this.retire(id, producer, Promise.resolve());
  }

  /** Settles every retirement in progress (at stop). */
  async settled(): Promise<void> {
    await Promise.all([...this.retiring.values()]);
  }

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
}

/**
 * TICKFLOW_DEBUG_REQUESTS=1: every 10 s, stderr gets each transactional producer's Kafka requests by
 * kind (count, mean duration, mean time queued), the stage's partitions folded together; then the
 * counts restart. Where a transaction's time goes, request by request.
 */
const REQUESTS = new Map<string, { n: number; ms: number; pending: number }>();
let reporter: NodeJS.Timeout | undefined;
function traceRequests(producer: Producer, id: string): void {
  producer.on(producer.events.REQUEST, (e) => {
    const k = `${id.replace(/partition-\d+|\.\d+$/, '*')} ${e.payload.apiName}`;
    const r = REQUESTS.get(k) ?? { n: 0, ms: 0, pending: 0 };
    r.n += 1;
    r.ms += e.payload.duration;
    r.pending += e.payload.pendingDuration;
    REQUESTS.set(k, r);
  });
  reporter ??= setInterval(() => {
    const lines = [...REQUESTS].map(
      ([k, r]) => `${k}: ${r.n} x ${(r.ms / r.n).toFixed(1)} ms (queued ${(r.pending / r.n).toFixed(1)})`,
    );
    process.stderr.write(`requests:\n  ${lines.join('\n  ')}\n`);
    REQUESTS.clear();
  }, 10_000).unref();
}
