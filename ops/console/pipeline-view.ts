import type { DependencyState } from '../../pipelines/runtime/dependencies';
import { dependenciesDown, dependencyStates } from '../../pipelines/runtime/dependencies';
import type { RuntimeMetrics } from '../../pipelines/runtime/metrics';
import type { Runner } from '../../pipelines/runtime/runner';
import { RUNNABLES, STAGES, pipelineNames } from '../../pipelines/registry';
import type { Row, Sql } from './queries';
import { rowsOf } from './queries';

/**
 * What the console shows of the pipeline. With the running pipeline in the same process (`tickflow demo`, `tickflow
 * run`) the runners come from it (`PipelineSource`); standalone (`tickflow console`) the console knows only what
 * QuestDB shows (tables written, their newest rows, feed heartbeats) and the stages' static shape, and says so in
 * `note`. Rates are the console's: differences of successive samples.
 */

/** One consumer group: a stage, a fused chain of stages, or a sink. */
export interface RunnerSnapshot {
  /** The runner's name: the stage's, `a+b+c` for a fused chain, or the sink's. */
  name: string;
  kind: 'stage' | 'chain' | 'sink';
  /** The stages it runs, the chain's head first (a sink: its own name). */
  stages: string[];
  /** Topics consumed (a chain: its head's; the rest pass in memory). */
  inputs: string[];
  /** Topics produced (a sink: none; it writes QuestDB). */
  outputs: string[];
  group: string;
  ready: boolean;
  joined: boolean;
  assignedPartitions: number;
  /** Partitions paused by backpressure. */
  pausedPartitions: number;
  batches: number;
  recordsIn: number;
  recordsOut: number;
  deadLetters: number;
  /** Wall-clock time of the last batch (ISO), null before the first. */
  lastBatchAt: string | null;
  /** Records behind the high watermarks of its assigned partitions (transaction markers count), null if unknown. */
  lag: number | null;
}

/** What an in-process pipeline hands the console (see pipelineSource below). */
export interface PipelineSnapshot {
  /** Topic prefix of the namespace the pipeline runs in ('' for the default). */
  namespace: string;
  ready: boolean;
  runners: RunnerSnapshot[];
  dependencies: Record<string, DependencyState>;
}

export interface PipelineSource {
  describe(): PipelineSnapshot | Promise<PipelineSnapshot>;
}

export type RunnerHealth = 'ok' | 'idle' | 'starting' | 'down' | 'paused' | 'lagging' | 'unknown';

export interface RunnerView extends Omit<RunnerSnapshot, 'ready' | 'joined' | 'group'> {
  group: string | null;
  ready: boolean | null;
  joined: boolean | null;
  /** Records per second in and out over the last sampling interval; null on the first sample or without a pipeline. */
  rateIn: number | null;
  rateOut: number | null;
  health: RunnerHealth;
}

export interface TableView {
  name: string;
  rows: number;
  /** The newest designated timestamp (event time) in the table. */
  lastTs: string | null;
  /** WAL transactions committed but not yet applied (visible to queries once applied). */
  walBacklog: number | null;
  suspended: boolean | null;
}

export interface FeedView {
  source: string;
  instruments: number;
  lastTs: string | null;
  lastRecv: string | null;
}

export interface PipelineView {
  source: 'pipeline' | 'questdb';
  note: string | null;
  at: string;
  namespace: string;
  /** Every runner ready and every dependency up; null without an in-process pipeline. */
  ready: boolean | null;
  runners: RunnerView[];
  dependencies: Record<string, DependencyState>;
  tables: TableView[];
  feeds: FeedView[];
}

/** The QuestDB tables the console reads, in pipeline order. */
export const CONSOLE_TABLES = [
  'trades',
  'quotes',
  'bars',
  'features',
  'quality_events',
  'heartbeats',
  'signals',
  'risk_decisions',
  'orders',
  'fills',
  'positions',
  'pnl',
  'audit',
] as const;

const IDLE_MS = 60_000;
const LAGGING = 10_000;

export function healthOf(r: RunnerSnapshot, now: number): RunnerHealth {
  if (!r.joined) return 'starting';
  if (!r.ready) return 'down';
  if (r.pausedPartitions > 0) return 'paused';
  if (r.lag !== null && r.lag > LAGGING) return 'lagging';
  if (r.lastBatchAt === null || now - Date.parse(r.lastBatchAt) > IDLE_MS) return 'idle';
  return 'ok';
}

/** Turns successive snapshots into views with rates (records per second between samples at least 0.5 s apart). */
export class RateTracker {
  private readonly previous = new Map<
    string,
    { at: number; recordsIn: number; recordsOut: number; rateIn: number | null; rateOut: number | null }
  >();

  views(runners: readonly RunnerSnapshot[], now: number): RunnerView[] {
    return runners.map((r) => {
      const before = this.previous.get(r.name);
      let rateIn = before?.rateIn ?? null;
      let rateOut = before?.rateOut ?? null;
      const seconds = before ? (now - before.at) / 1000 : 0;
      if (!before || seconds >= 0.5) {
        if (before) {
          rateIn = Math.max(0, Math.round(((r.recordsIn - before.recordsIn) / seconds) * 10) / 10);
          rateOut = Math.max(0, Math.round(((r.recordsOut - before.recordsOut) / seconds) * 10) / 10);
        }
        this.previous.set(r.name, { at: now, recordsIn: r.recordsIn, recordsOut: r.recordsOut, rateIn, rateOut });
      }
      return { ...r, rateIn, rateOut, health: healthOf(r, now) };
    });
  }
}

/** The stages' static shape (inputs and outputs from the registry), for a console without a pipeline. */
export function staticRunners(): RunnerView[] {
  return pipelineNames().map((name) => {
    const stage = STAGES[name];
    const kind = RUNNABLES[name].kind === 'stage' ? 'stage' : 'sink';
    return {
      name,
      kind,
      stages: [name],
      inputs: stage ? [...stage.inputs] : [],
      outputs: stage ? [...stage.outputs] : [],
      group: null,
      ready: null,
      joined: null,
      assignedPartitions: 0,
      pausedPartitions: 0,
      batches: 0,
      recordsIn: 0,
      recordsOut: 0,
      deadLetters: 0,
      lastBatchAt: null,
      lag: null,
      rateIn: null,
      rateOut: null,
      health: 'unknown' as const,
    };
  });
}

export const TABLES_SQL = CONSOLE_TABLES.map((t) => `SELECT '${t}' name, count() rows, max(ts) last_ts FROM ${t}`).join(
  ' UNION ALL ',
);
export const WAL_SQL = 'SELECT name, suspended, writerTxn, sequencerTxn FROM wal_tables()';
export const FEEDS_SQL =
  'SELECT source, count_distinct(instrument_id) instruments, max(ts) last_ts, max(ts_recv) last_recv FROM heartbeats GROUP BY source ORDER BY source';

/** Tables and feeds as QuestDB shows them; a table that does not exist yet is left out. */
export async function storeView(sql: Sql): Promise<{ tables: TableView[]; feeds: FeedView[] }> {
  const [tables, wal, feeds] = await Promise.all([
    sql(TABLES_SQL).then(rowsOf, () => [] as Row[]),
    sql(WAL_SQL).then(rowsOf, () => [] as Row[]),
    sql(FEEDS_SQL).then(rowsOf, () => [] as Row[]),
  ]);
  const walOf = new Map(wal.map((w) => [String(w.name), w]));
  return {
    tables: tables.map((t) => {
      const w = walOf.get(String(t.name));
      return {
        name: String(t.name),
        rows: Number(t.rows),
        lastTs: (t.lastTs as string | null) ?? null,
        walBacklog: w ? Number(w.sequencerTxn) - Number(w.writerTxn) : null,
        suspended: w ? Boolean(w.suspended) : null,
      };
    }),
    feeds: feeds.map((f) => ({
      source: String(f.source),
      instruments: Number(f.instruments),
      lastTs: (f.lastTs as string | null) ?? null,
      lastRecv: (f.lastRecv as string | null) ?? null,
    })),
  };
}

/**
 * The view of a running `Pipeline` (ops/run/pipeline.ts) from its public members: its runners and its metrics
 * registry (lag per runner: the sum of `tickflow_consumer_lag` over its partitions). Outputs come from the stage
 * registry (a stage's outputs do not depend on its settings).
 */
export function pipelineSource(
  pipeline: { readonly runners: readonly Runner[]; readonly metrics: RuntimeMetrics },
  namespace = '',
): PipelineSource {
  return {
    async describe(): Promise<PipelineSnapshot> {
      const lags = new Map<string, number>();
      for (const v of (await pipeline.metrics.consumerLag.get()).values) {
        const name = String(v.labels.stage);
        lags.set(name, (lags.get(name) ?? 0) + v.value);
      }
      const runners = pipeline.runners.map((r): RunnerSnapshot => {
        const d = r.describe() as { joined?: boolean; assigned?: string[]; paused?: number };
        const staged = r.members.every((m) => STAGES[m] !== undefined) && RUNNABLES[r.members[0]]?.kind === 'stage';
        return {
          name: r.name,
          kind: !staged ? 'sink' : r.members.length > 1 ? 'chain' : 'stage',
          stages: [...r.members],
          inputs: [...r.inputs],
          outputs: staged ? [...new Set(r.members.flatMap((m) => STAGES[m].outputs))] : [],
          group: r.groupId,
          ready: r.isReady(),
          joined: Boolean(d.joined),
          assignedPartitions: d.assigned?.length ?? 0,
          pausedPartitions: d.paused ?? 0,
          batches: r.stats.batches,
          recordsIn: r.stats.recordsIn,
          recordsOut: r.stats.recordsOut,
          deadLetters: r.stats.deadLetters,
          lastBatchAt: r.stats.lastBatchAt > 0 ? new Date(r.stats.lastBatchAt).toISOString() : null,
          lag: lags.has(r.name) ? (lags.get(r.name) as number) : null,
        };
      });
      return {
        namespace,
        ready: runners.length > 0 && runners.every((r) => r.ready) && dependenciesDown().length === 0,
        runners,
        dependencies: dependencyStates(),
      };
    },
  };
}
