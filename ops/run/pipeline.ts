import type { Server } from 'node:http';
import type { Admin, Kafka } from 'kafkajs';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { parseConfig } from '../../pipelines/runtime/config';
import { serveHttp } from '../../pipelines/runtime/http';
import { RuntimeMetrics } from '../../pipelines/runtime/metrics';
import { dependenciesDown, dependencyStates } from '../../pipelines/runtime/dependencies';
import { Runner } from '../../pipelines/runtime/runner';
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
      const values = this.options.settings?.get(name) ?? {};
      parseConfig(name, runnable.config, values);
      if (runnable.kind === 'stage') stages.push(runnable.create(values));
      else sinks.set(name, runnable.create(values));
    }
    const sinkList = [...sinks].map(([name, sink]) => ({ name, inputs: sink.inputs }));
    return { plan: planTopology(stages, sinkList, this.options.fuse ?? true), sinks };
  }

  async start(names: string[]): Promise<void> {
    const { plan, sinks } = this.plan(names);
    const runnerOptions = {
      metrics: this.metrics,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      onFatal: this.options.onFatal,
      topicPrefix: this.options.topicPrefix,
    };
    for (const chain of plan.chains) {
      if (chain.stages.length > 1)
        log.info(
          `fused ${chain.stages.map((s) => s.name).join(' -> ')} (tickflow run --explain shows why; --no-fuse runs them apart)`,
        );
      const runner = Runner.forChain(this.kafka, this.codec, chain.stages, runnerOptions);
      await runner.start();
      this.runners.push(runner);
    }
    for (const sink of sinks.values()) {
      const runner = Runner.forSink(this.kafka, this.codec, sink, runnerOptions);
      await runner.start();
      this.runners.push(runner);
    }
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
    for (const runner of [...this.runners].reverse()) await runner.stop();
    this.runners.length = 0;
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
