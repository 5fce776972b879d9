import type { Server } from 'node:http';
import type { Admin, Kafka } from 'kafkajs';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { parseConfig } from '../../pipelines/runtime/config';
import { serveHttp } from '../../pipelines/runtime/http';
import { RuntimeMetrics } from '../../pipelines/runtime/metrics';
import { dependenciesDown, dependencyStates } from '../../pipelines/runtime/dependencies';
import type { RunnerOptions } from '../../pipelines/runtime/runner-context';
import { Runner } from '../../pipelines/runtime/runner';
import { GlobalTables } from '../../pipelines/runtime/global-table';
import type { Overrides } from './config';
import { CONFIG_TOPIC, effectiveValues, overridesOf, validateValues } from './config';
import { RUNNABLES, runnableNames } from '../../pipelines/registry';
import type { SinkWriter } from '../../pipelines/runtime/sink';
import type { Stage } from '../../pipelines/runtime/stage';
import type { Plan } from '../../pipelines/runtime/topology';
import { planTopology } from '../../pipelines/runtime/topology';
import { TickflowError } from '../../pipelines/runtime/errors';
import { logger } from '../../pipelines/runtime/log';

const log = logger('pipeline');

export function parseStageList(text: string | undefined): string[] {
  if (!text) return runnableNames();
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !runnableNames().includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new TickflowError(
      'USAGE',
      `unknown stage(s): ${unknown.join(', ') || '(none given)'}`,
      `use --stages with any of: ${runnableNames().join(', ')}`,
    );
  }
  return names;
}

export interface PipelineOptions {
  /** Settings per stage or sink name (from `--set`). */
  settings?: Map<string, Record<string, string>>;
  sessionTimeoutMs?: number;
  onFatal?: (error: Error) => void;
  /**
   * Prefix of every topic and group (an isolated namespace for experiments and tests; the prefixed topics must exist).
   */
  topicPrefix?: string;
  /** Fuse stages into chains where the plan allows (pipelines/runtime/topology.ts); default true. */
  fuse?: boolean;
}

/** A process's set of runners, sharing one Avro codec and one metrics registry. */
export class Pipeline {
  readonly runners: Runner[] = [];
  readonly metrics = new RuntimeMetrics();
  private server?: Server;
  /** The stages (or the sink) each runner runs, by the runner's index: what a settings change restarts. */
  private units: { names: string[]; kind: 'chain' | 'sink' }[] = [];
  private config?: GlobalTables;
  private overrides: Overrides = new Map();
  private reconfiguring: Promise<void> = Promise.resolve();
  private stopped = false;
  private starting = false;
  /** A settings change is waiting to be applied. */
  private configDirty = false;
  private configTimer?: NodeJS.Timeout;

  constructor(
    private readonly kafka: Kafka,
    private readonly codec = new AvroCodec(),
    private readonly options: PipelineOptions = {},
  ) {}

  /** The plan for `names` (stages and sinks) with their settings: which stages fuse, which hops remain. */
  plan(names: string[]): { plan: Plan; sinks: Map<string, SinkWriter> } {
    for (const [owner] of this.options.settings ?? []) {
      if (!names.includes(owner))
        throw new TickflowError(
          'USAGE',
          `--set names '${owner}', which is not among the stages being run (${names.join(', ')})`,
          'check the spelling, or add it to --stages',
        );
    }
    const stages: Stage[] = [];
    const sinks = new Map<string, SinkWriter>();
    for (const name of names) {
      const runnable = RUNNABLES[name];
      const values = effectiveValues(name, this.options.settings, this.overrides);
      parseConfig(name, runnable.config, values);
      if (runnable.kind === 'stage') stages.push(runnable.create(values));
      else sinks.set(name, runnable.create(values));
    }
    const sinkList = [...sinks].map(([name, sink]) => ({ name, inputs: sink.inputs }));
    return { plan: planTopology(stages, sinkList, this.options.fuse ?? true), sinks };
  }

  private get runnerOptions(): RunnerOptions {
    return {
      metrics: this.metrics,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      onFatal: this.options.onFatal,
      topicPrefix: this.options.topicPrefix,
    };
  }

  async start(names: string[]): Promise<void> {
    // A settings change arriving while runners start waits for the last one: the plan was made
    // with the settings before it, and a restart of a runner not yet started would miss it.
    this.starting = true;
    try {
      await this.followConfig();
      const { plan, sinks } = this.plan(names);
      const runnerOptions = this.runnerOptions;
      for (const chain of plan.chains) {
        if (chain.stages.length > 1)
          log.info(
            `fused ${chain.stages.map((s) => s.name).join(' -> ')} (tickflow run --explain shows why; --no-fuse runs them apart)`,
          );
        const runner = Runner.forChain(this.kafka, this.codec, chain.stages, runnerOptions);
        await runner.start();
        this.runners.push(runner);
        this.units.push({ names: chain.stages.map((s) => s.name), kind: 'chain' });
      }
      for (const [name, sink] of sinks) {
        const runner = Runner.forSink(this.kafka, this.codec, sink, runnerOptions);
        await runner.start();
        this.runners.push(runner);
        this.units.push({ names: [name], kind: 'sink' });
      }
    } finally {
      this.starting = false;
      if (this.configDirty) this.scheduleReconfigure();
    }
  }

  /**
   * Reads ops.config.v1 (settings changed on the running pipeline) whole before the plan, and
   * follows it: a change to a stage this process runs restarts that stage's runner in place.
   */
  private async followConfig(): Promise<void> {
    if (this.config) return;
    const prefix = this.options.topicPrefix ?? '';
    const admin = this.kafka.admin();
    await admin.connect();
    const exists = await admin
      .listTopics()
      .then((topics) => topics.includes(`${prefix}${CONFIG_TOPIC}`))
      .finally(() => admin.disconnect());
    if (!exists) {
      // A namespace made of a few topics (tests, benchmarks) has no config topic: nothing to follow.
      log.info(`no ${prefix}${CONFIG_TOPIC}: settings changes (tickflow config set) are not followed`);
      return;
    }
    const tables = new GlobalTables(
      this.kafka,
      this.codec,
      [CONFIG_TOPIC],
      (t) => `${prefix}${t}`,
      log,
      `tickflow.${prefix}config`,
    );
    // Set before opening, so a stop() during the read closes it.
    this.config = tables;
    try {
      await tables.open();
    } catch (error) {
      this.config = undefined;
      await tables.close().catch(() => undefined);
      throw error;
    }
    this.overrides = this.applicableOverrides();
    for (const [stage, values] of this.overrides)
      log.info(
        `settings from ${CONFIG_TOPIC} for ${stage}: ${Object.entries(values)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}`,
      );
    tables.onChange = () => this.scheduleReconfigure();
  }

  /** Changes arriving together (one `config set` after another) restart a runner once. */
  private scheduleReconfigure(): void {
    this.configDirty = true;
    if (this.starting || this.stopped) return;
    clearTimeout(this.configTimer);
    this.configTimer = setTimeout(() => {
      this.configDirty = false;
      this.reconfiguring = this.reconfiguring
        .then(() => this.reconfigure())
        .catch((error: Error) => log.error(`applying a settings change failed: ${error.message}`));
    }, 200);
    this.configTimer.unref();
  }

  /**
   * The config topic's settings this process can apply, each checked together with the ones
   * before it: a setting that does not validate here (renamed by a later release, out of range, a
   * file this host lacks) is logged and left out, never a reason for a stage not to start.
   */
  private applicableOverrides(): Overrides {
    const raw = overridesOf(this.config?.tables.get(CONFIG_TOPIC) ?? new Map());
    const accepted: Overrides = new Map();
    for (const [stage, values] of raw) {
      const kept: Record<string, string> = {};
      for (const [setting, value] of Object.entries(values)) {
        try {
          validateValues(stage, { ...(this.options.settings?.get(stage) ?? {}), ...kept, [setting]: value });
          kept[setting] = value;
        } catch (error) {
          log.error(
            `${CONFIG_TOPIC}: ${stage}.${setting}=${value} is not applied (${(error as Error).message}); set a valid value or \`tickflow config unset ${stage}.${setting}\``,
          );
        }
      }
      if (Object.keys(kept).length > 0) accepted.set(stage, kept);
    }
    return accepted;
  }

  /**
   * Applies the config topic's current settings: every runner whose stages' settings changed is
   * stopped (its batch in flight commits, it leaves its group) and started again with them; its
   * state comes back from its changelogs. A runner that fails to start again is fatal for the
   * process (`onFatal`: `tickflow run` exits 1 for its supervisor to restart it with the settings).
   */
  private async reconfigure(): Promise<void> {
    if (this.stopped || !this.config) return;
    const next = this.applicableOverrides();
    const before = this.overrides;
    for (let i = 0; i < this.units.length; i++) {
      const unit = this.units[i];
      const changed = unit.names.filter(
        (name) => JSON.stringify(before.get(name) ?? {}) !== JSON.stringify(next.get(name) ?? {}),
      );
      if (changed.length === 0) continue;
      const made = unit.names.map((name) => RUNNABLES[name].create(effectiveValues(name, this.options.settings, next)));
      const runner =
        unit.kind === 'sink'
          ? Runner.forSink(this.kafka, this.codec, made[0] as SinkWriter, this.runnerOptions)
          : Runner.forChain(this.kafka, this.codec, made as Stage[], this.runnerOptions);
      log.info(
        `settings changed for ${changed.join(', ')} (${changed
          .map(
            (n) =>
              Object.entries(next.get(n) ?? {})
                .map(([k, v]) => `${n}.${k}=${v}`)
                .join(', ') || `${n}: defaults`,
          )
          .join('; ')}): restarting ${this.runners[i].name} in place`,
      );
      await this.runners[i].stop();
      if (this.stopped) return;
      try {
        await runner.start();
      } catch (error) {
        await runner.stop().catch(() => undefined);
        log.error(`${this.runners[i].name} did not start again with its new settings: ${(error as Error).message}`);
        if (this.options.onFatal) this.options.onFatal(error as Error);
        throw error;
      }
      this.runners[i] = runner;
      // Settled per unit: a failure further on leaves these counted as applied.
      for (const name of unit.names) {
        const values = next.get(name);
        if (values) before.set(name, values);
        else before.delete(name);
      }
    }
    this.overrides = next;
  }

  /** Serves /metrics, /healthz and /readyz for this process; returns the bound port. */
  async serve(port: number): Promise<number> {
    const served = await serveHttp(
      this.metrics,
      {
        // A server that stopped answering makes the process not ready: its batches cannot complete.
        ready: () =>
          this.runners.length > 0 && this.runners.every((r) => r.isReady()) && dependenciesDown().length === 0,
        details: () => ({
          runners: Object.fromEntries(this.runners.map((r) => [r.name, r.describe()])),
          dependencies: dependencyStates(),
        }),
      },
      port,
    );
    this.server = served.server;
    return served.port;
  }

  /**
   * Resolves once every runner has read all its inputs and nothing moved for `quietMs`, judged
   * twice in a row; used by `--until-idle`.
   */
  async waitUntilIdle(admin: Admin, options: { quietMs?: number; timeoutMs?: number } = {}): Promise<void> {
    const quietMs = options.quietMs ?? 1500;
    const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
    let confirmations = 0;
    let lastReport = Date.now();
    while (Date.now() < deadline) {
      const quiet = this.runners.every((r) => Date.now() - r.stats.lastBatchAt >= quietMs);
      const caughtUp = quiet && (await Promise.all(this.runners.map((r) => r.caughtUp(admin)))).every(Boolean);
      confirmations = caughtUp ? confirmations + 1 : 0;
      if (confirmations >= 2) return;
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        log.info(
          `working: ${this.runners.map((r) => `${r.name} in=${r.stats.recordsIn} out=${r.stats.recordsOut} dlq=${r.stats.deadLetters}`).join('; ')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new TickflowError(
      'INVARIANT',
      'the pipeline did not become idle in time',
      'check `tickflow stack status` and the logs',
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.configTimer);
    await this.reconfiguring;
    for (const runner of [...this.runners].reverse()) await runner.stop();
    this.runners.length = 0;
    this.units = [];
    await this.config?.close();
    this.config = undefined;
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
