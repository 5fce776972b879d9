import { Sender } from '@questdb/nodejs-client';
import { endpoints } from '../../ops/config';
import { TickflowError } from '../../ops/errors';
import { logger } from '../../ops/log';
import type { SinkHooks, SinkWriter } from '../../pipelines/runtime/runner';
import { StoppingError, bounded } from '../../pipelines/runtime/runner';
import type { FailedRecord, InputRecord } from '../../pipelines/runtime/stage';
import { sql } from './sql';
import type { TableSpec } from './tables';
import { TABLES, tableForTopic } from './tables';

const log = logger('sink-questdb');

/** Every topic that has a QuestDB table. */
export const SINK_TOPICS: readonly string[] = (TABLES as unknown as TableSpec<unknown>[]).map((t) => t.topic);

export async function ensureTables(tables: readonly TableSpec<unknown>[] = TABLES as unknown as TableSpec<unknown>[], suffix = ''): Promise<void> {
  for (const table of tables) {
    await sql(table.ddl(`${table.name}${suffix}`));
    for (const statement of table.upgrade?.(`${table.name}${suffix}`) ?? []) await sql(statement);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The QuestDB client can hang in flush() on a dead server; a bounded flush is an ordinary failure. */
const FLUSH_TIMEOUT_MS = 15_000;

/**
 * The QuestDB sink: one ILP-over-HTTP request per batch, and a batch holds one partition of one
 * topic, so each request touches one table and is one QuestDB transaction. Each input partition has
 * its own sender, so batches of different partitions are written concurrently. `write` resolves only
 * after QuestDB acknowledged it; the runtime commits offsets after that. A QuestDB outage is
 * waited out with capped exponential backoff (slow is not failed); DEDUP keys make retries and
 * replays harmless.
 */
export class QuestDbSink implements SinkWriter {
  readonly name = 'sink-questdb';
  readonly inputs: readonly string[];
  /** One sender per input partition (`topic:partition`): a Sender holds one request's rows. */
  private readonly senders = new Map<string, Sender>();

  /** `tableSuffix` writes `<table><suffix>` instead (benchmarks keep their rows out of the real tables). */
  constructor(
    topics: readonly string[] = SINK_TOPICS,
    private readonly baseUrl = endpoints().questdbUrl,
    private readonly tableSuffix = '',
  ) {
    const unknown = topics.filter((t) => !tableForTopic(t));
    if (unknown.length > 0) throw new TickflowError('CONFIG', `sink-questdb has no table for ${unknown.join(', ')}`, `sink-questdb.topics takes any of ${SINK_TOPICS.join(', ')}`);
    this.inputs = topics;
  }

  async open(): Promise<void> {
    await ensureTables(this.inputs.map((t) => tableForTopic(t) as TableSpec<unknown>), this.tableSuffix);
  }

  private newSender(): Promise<Sender> {
    const url = new URL(this.baseUrl);
    // protocol_version=3 is needed for DECIMAL columns; the client's own retries are short because
    // this sink retries (with heartbeats and pause) around it.
    return Sender.fromConfig(`${url.protocol === 'https:' ? 'https' : 'http'}::addr=${url.host};auto_flush=off;protocol_version=3;retry_timeout=2000;request_timeout=10000`);
  }

  async write(batch: readonly InputRecord[], hooks: SinkHooks): Promise<{ failed: FailedRecord[] }> {
    const failed: FailedRecord[] = [];
    const slot = batch.length > 0 ? `${batch[0].topic}:${batch[0].partition}` : '';
    let attempt = 0;
    for (;;) {
      failed.length = 0;
      let sender: Sender;
      try {
        sender = this.senders.get(slot) ?? (await this.newSender());
        this.senders.set(slot, sender);
      } catch (error) {
        attempt += 1;
        await this.backoff(attempt, error as Error, hooks);
        continue;
      }
      sender.reset();
      for (const record of batch) {
        const table = tableForTopic(record.topic);
        if (!table) throw new Error(`no QuestDB table for topic ${record.topic}`);
        try {
          sender.table(`${table.name}${this.tableSuffix}`);
          table.row(sender, record.value);
          await sender.at(BigInt(table.ts(record.value)), 'us');
        } catch (error) {
          // A value the table cannot hold is a bad record, not an outage: dead-letter it.
          sender.reset();
          failed.push({ input: record, code: 'INVALID_VALUE', message: `cannot write to ${table.name}: ${(error as Error).message}` });
          return this.writeWithout(batch, failed, hooks);
        }
      }
      try {
        await bounded(sender.flush(), 'QuestDB flush', FLUSH_TIMEOUT_MS);
        if (attempt > 0) log.info(`QuestDB is back; wrote ${batch.length} rows after ${attempt} retries`);
        return { failed };
      } catch (error) {
        attempt += 1;
        // A failed or timed-out sender may hold a broken connection: start a new one.
        this.senders.delete(slot);
        void sender.close().catch(() => undefined);
        await this.backoff(attempt, error as Error, hooks);
      }
    }
  }

  /** Capped, jittered exponential backoff, waited in short steps (heartbeats; a stop is noticed). */
  private async backoff(attempt: number, error: Error, hooks: SinkHooks): Promise<void> {
    hooks.stalled(true);
    const delay = Math.min(10_000, 250 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2);
    log.warn(`QuestDB write failed (attempt ${attempt}); partition paused, retrying in ${Math.round(delay)} ms: ${error.message}`);
    const until = Date.now() + delay;
    while (Date.now() < until) {
      if (hooks.stopping()) throw new StoppingError();
      await hooks.heartbeat();
      await sleep(Math.min(1000, until - Date.now()));
    }
  }

  /** Retries the batch without the records already known to be bad. */
  private async writeWithout(batch: readonly InputRecord[], bad: FailedRecord[], hooks: SinkHooks): Promise<{ failed: FailedRecord[] }> {
    const skip = new Set(bad.map((f) => f.input.offset));
    const rest = batch.filter((r) => !skip.has(r.offset));
    const result = rest.length > 0 ? await this.write(rest, hooks) : { failed: [] };
    return { failed: [...bad, ...result.failed] };
  }

  async close(): Promise<void> {
    const senders = [...this.senders.values()];
    this.senders.clear();
    await Promise.all(senders.map((sender) => sender.close().catch(() => undefined)));
  }
}
