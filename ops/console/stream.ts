import type { Row, Sql } from './queries';
import {
  AUDIT_COLUMNS,
  BAR_COLUMNS,
  DECISION_COLUMNS,
  FILL_COLUMNS,
  ORDER_COLUMNS,
  PNL_COLUMNS,
  POSITION_COLUMNS,
  QUALITY_COLUMNS,
  SIGNAL_COLUMNS,
  decisionRow,
  literal,
  rowsOf,
} from './queries';
import { ACCOUNT, INSTRUMENT, INTERVAL, UPPER_WORD } from './validation';

/**
 * What /api/stream pushes, and how it finds new rows. Event time (`ts`) cannot say what is new (a replay writes the
 * past), and QuestDB keeps no insertion order, so new rows are found by counting: per table, the rows of each group
 * (an account and instrument, an instrument and rule, ...) are counted whenever the table's WAL writer transaction
 * moved; a group whose count grew by k gets its k newest rows (by event time) pushed. Within one group event time moves
 * forward (one feed, one account's decisions), so those are the new rows. A replaced row (DEDUP upsert) does not change
 * the count and is not pushed as new. When a group grew by more than MAX_PER_GROUP, or its key cannot be queried
 * safely, an `overflow` event tells the page to reload that panel from the API instead.
 *
 * Bars are pushed only for the instrument and interval a client's chart shows (`?instrument=&interval=`): its newest
 * bars are re-read whenever the bars table moved, and each bar whose content changed (a new revision) is pushed.
 */
export interface StreamSpec {
  /** The SSE event name. */
  event: string;
  table: string;
  columns: string;
  /** Grouping columns and the pattern each value must match to be put back into SQL. */
  group: readonly (readonly [column: string, pattern: RegExp])[];
  /** Sort of the newest rows within a group. */
  order: string;
  map?: (row: Row) => Row;
}

export const STREAMS: readonly StreamSpec[] = [
  {
    event: 'signal',
    table: 'signals',
    columns: SIGNAL_COLUMNS,
    group: [['instrument_id', INSTRUMENT]],
    order: 'ts DESC',
  },
  {
    event: 'decision',
    table: 'risk_decisions',
    columns: DECISION_COLUMNS,
    group: [
      ['account', ACCOUNT],
      ['instrument_id', INSTRUMENT],
    ],
    order: 'ts DESC',
    map: decisionRow,
  },
  {
    event: 'order',
    table: 'orders',
    columns: ORDER_COLUMNS,
    group: [
      ['account', ACCOUNT],
      ['instrument_id', INSTRUMENT],
    ],
    order: 'ts DESC, seq DESC',
  },
  {
    event: 'fill',
    table: 'fills',
    columns: FILL_COLUMNS,
    group: [
      ['account', ACCOUNT],
      ['instrument_id', INSTRUMENT],
    ],
    order: 'ts DESC',
  },
  {
    event: 'position',
    table: 'positions',
    columns: POSITION_COLUMNS,
    group: [
      ['account', ACCOUNT],
      ['instrument_id', INSTRUMENT],
    ],
    order: 'ts DESC',
  },
  { event: 'pnl', table: 'pnl', columns: PNL_COLUMNS, group: [['account', ACCOUNT]], order: 'ts DESC' },
  {
    event: 'audit',
    table: 'audit',
    columns: AUDIT_COLUMNS,
    group: [
      ['account', ACCOUNT],
      ['kind', UPPER_WORD],
    ],
    order: 'ts DESC',
  },
  {
    event: 'quality',
    table: 'quality_events',
    columns: QUALITY_COLUMNS,
    group: [
      ['instrument_id', INSTRUMENT],
      ['rule', UPPER_WORD],
    ],
    order: 'ts DESC',
  },
];

export const MAX_PER_GROUP = 100;

export type Emit = (event: string, data: unknown) => void;

export interface BarSubscription {
  instrument: string;
  interval: string;
}

interface Client {
  emit: Emit;
  bars?: BarSubscription;
}

/** Group key: the values joined by a separator none of the patterns admit. */
function keyOf(row: Row, spec: StreamSpec): string {
  return spec.group.map(([column]) => String(row[camel(column)] ?? '')).join('\u0001');
}

function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Polls QuestDB on behalf of every connected client; runs only while one is connected. */
export class StreamHub {
  private readonly clients = new Set<Client>();
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private txns = new Map<string, number>();
  private counts = new Map<string, Map<string, number>>();
  private barState = new Map<string, Map<string, string>>();
  private closed = false;

  constructor(
    private readonly sql: Sql,
    private readonly intervalMs = 500,
    private readonly onError: (error: Error) => void = () => undefined,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  /**
   * Adds a client; resolves once the baseline of what exists is taken (so the client's reads after this see everything
   * that will not be pushed). Returns the function that removes it.
   */
  async add(emit: Emit, bars?: BarSubscription): Promise<() => void> {
    const client: Client = { emit, bars };
    if (this.closed) return () => undefined;
    await this.polling;
    if (this.clients.size === 0) {
      this.txns.clear();
      this.counts.clear();
      this.barState.clear();
      await this.baseline();
    }
    this.clients.add(client);
    if (!this.timer) this.schedule();
    return () => {
      this.clients.delete(client);
      if (this.clients.size === 0) this.stop();
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clients.clear();
    this.stop();
    await this.polling;
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.polling = this.poll()
        .catch((error: Error) => this.onError(error))
        .finally(() => {
          this.polling = undefined;
          if (this.clients.size > 0 && !this.closed) this.schedule();
          else this.timer = undefined;
        });
    }, this.intervalMs);
    this.timer.unref?.();
  }

  private async walTxns(): Promise<Map<string, number>> {
    const rows = rowsOf(await this.sql('SELECT name, writerTxn FROM wal_tables()'));
    return new Map(rows.map((r) => [String(r.name), Number(r.writerTxn)]));
  }

  private async groupCounts(spec: StreamSpec): Promise<Map<string, number>> {
    const columns = spec.group.map(([c]) => c).join(', ');
    const rows = rowsOf(await this.sql(`SELECT ${columns}, count() n FROM ${spec.table} GROUP BY ${columns}`));
    return new Map(rows.map((r) => [keyOf(r, spec), Number(r.n)]));
  }

  private async baseline(): Promise<void> {
    this.txns = await this.walTxns();
    await Promise.all(
      STREAMS.map(async (spec) => {
        this.counts.set(spec.event, await this.groupCounts(spec).catch(() => new Map<string, number>()));
      }),
    );
  }

  /** One round: the tables whose writer moved, their grown groups' newest rows, the subscribed bars. */
  async poll(): Promise<void> {
    const txns = await this.walTxns();
    const moved = (table: string): boolean => txns.get(table) !== this.txns.get(table);
    for (const spec of STREAMS) {
      if (!moved(spec.table)) continue;
      await this.pollTable(spec);
    }
    await this.pollBars(moved('bars'));
    this.txns = txns;
  }

  private broadcast(event: string, data: unknown): void {
    for (const client of this.clients) client.emit(event, data);
  }

  private async pollTable(spec: StreamSpec): Promise<void> {
    const before = this.counts.get(spec.event) ?? new Map<string, number>();
    const now = await this.groupCounts(spec);
    this.counts.set(spec.event, now);
    let overflow = false;
    for (const [key, count] of now) {
      const grown = count - (before.get(key) ?? 0);
      if (grown <= 0) continue;
      const values = key.split('\u0001');
      const safe = spec.group.every(([, pattern], i) => pattern.test(values[i]));
      if (grown > MAX_PER_GROUP || !safe) {
        overflow = true;
        continue;
      }
      const filter = spec.group
        .map(([column, pattern], i) => `${column} = ${literal(values[i], pattern)}`)
        .join(' AND ');
      const rows = rowsOf(
        await this.sql(
          `SELECT ${spec.columns} FROM ${spec.table} WHERE ${filter} ORDER BY ${spec.order} LIMIT ${grown}`,
        ),
      );
      for (const row of rows.reverse()) this.broadcast(spec.event, spec.map ? spec.map(row) : row);
    }
    if (overflow) this.broadcast('overflow', { event: spec.event, table: spec.table });
  }

  /** The subscribed bars: all of them when the table moved, else only subscriptions not read yet. */
  private async pollBars(moved: boolean): Promise<void> {
    const subscriptions = new Map<string, BarSubscription>();
    for (const client of this.clients)
      if (client.bars) subscriptions.set(`${client.bars.instrument}|${client.bars.interval}`, client.bars);
    for (const key of [...this.barState.keys()]) if (!subscriptions.has(key)) this.barState.delete(key);
    for (const [key, sub] of subscriptions) {
      if (!moved && this.barState.has(key)) continue;
      const rows = rowsOf(
        await this.sql(
          `SELECT ${BAR_COLUMNS} FROM bars WHERE instrument_id = ${literal(sub.instrument, INSTRUMENT)} AND interval = ${literal(sub.interval, INTERVAL)} ORDER BY ts DESC LIMIT 3`,
        ),
      );
      const seen = this.barState.get(key) ?? new Map<string, string>();
      const first = !this.barState.has(key);
      const next = new Map<string, string>();
      for (const row of rows.reverse()) {
        const signature = JSON.stringify(row);
        next.set(String(row.ts), signature);
        if (!first && seen.get(String(row.ts)) === signature) continue;
        const bar = { instrumentId: sub.instrument, interval: sub.interval, ...row };
        for (const client of this.clients)
          if (client.bars && `${client.bars.instrument}|${client.bars.interval}` === key) client.emit('bar', bar);
      }
      this.barState.set(key, next);
    }
  }
}
