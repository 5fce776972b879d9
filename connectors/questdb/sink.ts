import { Sender } from '@questdb/nodejs-client';
import { endpoints } from '../../pipelines/runtime/settings';
import { TickflowError } from '../../pipelines/runtime/errors';
import { httpSecurity, questdbSenderConfig, serviceFetch } from '../../pipelines/runtime/security';
import { logger } from '../../pipelines/runtime/log';
import type { SinkHooks, SinkWriter } from '../../pipelines/runtime/sink';
import { bounded } from '../../pipelines/runtime/bounded';
import { reportFailure, reportOk } from '../../pipelines/runtime/dependencies';
import type { FailedRecord, InputRecord } from '../../pipelines/runtime/stage';
import { sql } from './sql';
import type { TableSpec } from './tables';
import { TABLES, tableForTopic } from './tables';

const log = logger('sink-questdb');

/** Every topic that has a QuestDB table. */
export const SINK_TOPICS: readonly string[] = (TABLES as unknown as TableSpec<unknown>[]).map((t) => t.topic);

export async function ensureTables(
  tables: readonly TableSpec<unknown>[] = TABLES as unknown as TableSpec<unknown>[],
  suffix = '',
): Promise<void> {
  for (const table of tables) {
    await sql(table.ddl(`${table.name}${suffix}`));
    for (const statement of table.upgrade?.(`${table.name}${suffix}`) ?? []) await sql(statement);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The ILP lines a Sender holds (its buffer is emptied). @questdb/nodejs-client 4.2.0 has no public
 * accessor for them; its buffer's `toBufferNew()` is what its own flush() sends.
 */
function linesOf(sender: Sender): Buffer {
  const buffer = (sender as unknown as { buffer?: { toBufferNew?(): Buffer | null } }).buffer;
  if (typeof buffer?.toBufferNew !== 'function') {
    throw new TickflowError(
      'INVARIANT',
      'the installed @questdb/nodejs-client has no Sender buffer to read rows from',
      'install the version package.json pins (npm ci)',
    );
  }
  return buffer.toBufferNew() ?? Buffer.alloc(0);
}

/**
 * A permanent rejection in a QuestDB client error: HTTP 400 (a row QuestDB cannot take; its JSON
 * body names the first bad line), 413 (the request is too large), or a 500 that is one line's parse
 * or write error rather than the server failing (QuestDB 9.3 answers a DECIMAL column missing from
 * an existing table with 500 "internal error", "failed to parse line protocol ... errno: -1": no OS
 * error behind it, so retrying cannot help). Other statuses (5xx, 401/403, 408, 429) and network
 * errors are outages, retried.
 */
export function rejectionOf(error: Error): { line?: number; reason: string } | undefined {
  const status = /statusCode=(\d+)/.exec(error.message)?.[1];
  if (!status) return undefined;
  const body = error.message.slice(error.message.indexOf('error=') + 'error='.length);
  let parsed: { code?: string; message?: string; line?: number } = {};
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    /* not JSON: judged by the status alone */
  }
  const lineError =
    status === '500' &&
    /failed to parse line protocol/.test(parsed.message ?? '') &&
    /errno: -1\b/.test(parsed.message ?? '') &&
    Number.isInteger(parsed.line);
  if (status !== '400' && status !== '413' && !lineError) return undefined;
  return {
    line: status !== '413' && Number.isInteger(parsed.line) ? parsed.line : undefined,
    reason: (parsed.message ?? body).slice(0, 1000),
  };
}

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
    if (unknown.length > 0)
      throw new TickflowError(
        'CONFIG',
        `sink-questdb has no table for ${unknown.join(', ')}`,
        `sink-questdb.topics takes any of ${SINK_TOPICS.join(', ')}`,
      );
    this.inputs = topics;
  }

  async open(): Promise<void> {
    await ensureTables(
      this.inputs.map((t) => tableForTopic(t) as TableSpec<unknown>),
      this.tableSuffix,
    );
  }

  private readonly security = httpSecurity('questdb');

  private newSender(): Promise<Sender> {
    const url = new URL(this.baseUrl);
    // The Sender only encodes rows (protocol_version=3: DECIMAL columns, binary doubles); `post`
    // sends them, so the client's own transport (and its retries) is never used.
    return Sender.fromConfig(
      `${url.protocol === 'https:' ? 'https' : 'http'}::addr=${url.host};auto_flush=off;protocol_version=3${questdbSenderConfig(this.baseUrl)}`,
    );
  }

  async write(batch: readonly InputRecord[], hooks: SinkHooks): Promise<{ failed: FailedRecord[] }> {
    const slot = batch.length > 0 ? `${batch[0].topic}:${batch[0].partition}` : '';
    const failed: FailedRecord[] = [];
    // Rows QuestDB rejects for good leave the batch one by one (or by halves when it does not say
    // which); what is left is written again at once: a rejection is no outage.
    const parts: InputRecord[][] = [[...batch]];
    let attempt = 0;
    while (parts.length > 0) {
      const part = parts[0];
      const outcome = await this.writeOnce(slot, part);
      if (outcome.kind === 'invalid') {
        // A value the table cannot hold is a bad record, not an outage: dead-letter it.
        failed.push({
          input: outcome.record,
          code: 'INVALID_VALUE',
          message: `cannot write to ${this.tableOf(outcome.record)}: ${outcome.reason}`,
        });
        parts[0] = part.filter((r) => r !== outcome.record);
        if (parts[0].length === 0) parts.shift();
        continue;
      }
      if (outcome.kind === 'written') {
        parts.shift();
        if (attempt > 0) log.info(`QuestDB is back; wrote ${part.length} rows after ${attempt} retries`);
        attempt = 0;
        reportOk('questdb');
        continue;
      }
      if (outcome.kind === 'failed') {
        attempt += 1;
        reportFailure('questdb', outcome.error);
        await this.backoff(attempt, outcome.error, hooks);
        continue;
      }
      reportOk('questdb');
      const { rows, line, reason } = outcome;
      const named =
        line !== undefined && line >= 1 && line <= rows.length
          ? rows[line - 1]
          : rows.length === 1
            ? rows[0]
            : undefined;
      if (named) {
        failed.push({
          input: named,
          code: 'REJECTED_BY_STORE',
          message: `QuestDB rejected the row for ${this.tableOf(named)}: ${reason}`,
        });
        parts[0] = part.filter((r) => r !== named);
      } else {
        // No line named (or a request too large): halves, each its own request (DEDUP makes the
        // rows of a half already written harmless if the batch is redone).
        const rest = part.filter((r) => !rows.includes(r));
        parts.splice(
          0,
          1,
          rows.slice(0, rows.length >> 1),
          rows.slice(rows.length >> 1),
          ...(rest.length > 0 ? [rest] : []),
        );
      }
      while (parts.length > 0 && parts[0].length === 0) parts.shift();
    }
    return { failed };
  }

  private tableOf(record: InputRecord): string {
    return `${tableForTopic(record.topic)?.name ?? record.topic}${this.tableSuffix}`;
  }

  /**
   * One ILP/HTTP request with the rows of `records` (one table, one QuestDB transaction). Outcomes:
   * invalid (a value the table cannot hold, found before sending); written; rejected
   * for good (HTTP 400: QuestDB names the first bad line, 1-based over `rows`; 413: too large); or
   * failed (QuestDB down or slow, 5xx, auth): retried with backoff by the caller.
   */
  private async writeOnce(
    slot: string,
    records: readonly InputRecord[],
  ): Promise<
    | { kind: 'written' }
    | { kind: 'invalid'; record: InputRecord; reason: string }
    | { kind: 'rejected'; rows: InputRecord[]; line?: number; reason: string }
    | { kind: 'failed'; error: Error }
  > {
    let sender: Sender;
    try {
      sender = this.senders.get(slot) ?? (await this.newSender());
      this.senders.set(slot, sender);
    } catch (error) {
      return { kind: 'failed', error: error as Error };
    }
    sender.reset();
    const rows: InputRecord[] = [];
    for (const record of records) {
      const table = tableForTopic(record.topic);
      if (!table)
        throw new TickflowError(
          'INVARIANT',
          `no QuestDB table for topic ${record.topic}`,
          'sink-questdb.topics must name topics with a table',
        );
      try {
        const ts = table.ts(record.value);
        if (!Number.isSafeInteger(ts) || ts < 0)
          throw new TickflowError('INVALID_VALUE', `its timestamp ${ts} is not a time from 1970 on in microseconds`);
        sender.table(`${table.name}${this.tableSuffix}`);
        table.row(sender, record.value);
        await sender.at(BigInt(ts), 'us');
        rows.push(record);
      } catch (error) {
        sender.reset();
        return { kind: 'invalid', record, reason: (error as Error).message };
      }
    }
    if (rows.length === 0) return { kind: 'written' };
    try {
      await this.post(linesOf(sender));
      return { kind: 'written' };
    } catch (error) {
      const rejection = rejectionOf(error as Error);
      if (rejection) return { kind: 'rejected', rows, ...rejection };
      return { kind: 'failed', error: error as Error };
    }
  }

  /**
   * One ILP/HTTP request (QuestDB commits it as one transaction), bounded; throws with the status
   * and QuestDB's answer. Sent here rather than by the client's flush(), which retries some answers
   * itself and loses their body (see `rejectionOf`).
   */
  private async post(lines: Buffer): Promise<void> {
    const controller = new AbortController();
    const response = await bounded(
      serviceFetch(this.security, `${this.baseUrl}/write?precision=n`, {
        method: 'POST',
        body: lines,
        signal: controller.signal,
      }),
      'QuestDB write',
      FLUSH_TIMEOUT_MS,
    ).catch((error: Error) => {
      controller.abort();
      throw error;
    });
    if (response.status === 204 || response.status === 200) return;
    throw new TickflowError(
      'BAD_RESPONSE',
      `HTTP request failed, statusCode=${response.status}, error=${(await response.text()).slice(0, 4000)}`,
    );
  }

  /** Capped, jittered exponential backoff, waited in short steps (heartbeats; a stop is noticed). */
  private async backoff(attempt: number, error: Error, hooks: SinkHooks): Promise<void> {
    hooks.stalled(true);
    const delay = Math.min(10_000, 250 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2);
    log.warn(
      `QuestDB write failed (attempt ${attempt}); partition paused, retrying in ${Math.round(delay)} ms: ${error.message}`,
    );
    const until = Date.now() + delay;
    while (Date.now() < until) {
      if (hooks.stopping()) throw new TickflowError('STOPPING', 'stopping');
      await hooks.heartbeat();
      await sleep(Math.min(1000, until - Date.now()));
    }
  }

  async close(): Promise<void> {
    const senders = [...this.senders.values()];
    this.senders.clear();
    await Promise.all(senders.map((sender) => sender.close().catch(() => undefined)));
  }
}
