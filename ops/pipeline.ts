import type { Admin, Kafka } from 'kafkajs';
import { AvroCodec } from '../pipelines/runtime/codec';
import { Runner } from '../pipelines/runtime/runner';
import { SINKS, STAGES, runnableNames } from '../pipelines/registry';
import { TickflowError } from './errors';
import { logger } from './log';

const log = logger('pipeline');

export function parseStageList(text: string | undefined): string[] {
  if (!text) return runnableNames();
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !runnableNames().includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new TickflowError('USAGE', `unknown stage(s): ${unknown.join(', ') || '(none given)'}`, `use --stages with any of: ${runnableNames().join(', ')}`);
  }
  return names;
}

export class Pipeline {
  readonly runners: Runner[] = [];

  constructor(
    private readonly kafka: Kafka,
    private readonly codec = new AvroCodec(),
  ) {}

  async start(names: string[]): Promise<void> {
    for (const name of names) {
      const stage = STAGES[name];
      const runner = stage ? Runner.forStage(this.kafka, this.codec, stage) : Runner.forSink(this.kafka, this.codec, SINKS[name]());
      await runner.start();
      this.runners.push(runner);
    }
  }

  /**
   * Resolves once every runner has read all its inputs and nothing moved for `quietMs`, judged
   * twice in a row; used by `--until-idle`.
   */
  async waitUntilIdle(admin: Admin, options: { quietMs?: number; timeoutMs?: number; minBatches?: number } = {}): Promise<void> {
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
        log.info(`working: ${this.runners.map((r) => `${r.name} in=${r.stats.recordsIn} out=${r.stats.recordsOut} dlq=${r.stats.deadLetters}`).join('; ')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new TickflowError('INVARIANT', 'the pipeline did not become idle in time', 'check `tickflow stack status` and the logs');
  }

  async stop(): Promise<void> {
    for (const runner of [...this.runners].reverse()) await runner.stop();
    this.runners.length = 0;
  }
}
