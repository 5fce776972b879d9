/**
 * A pipeline process for fault tests: runs the named stages in an isolated topic namespace, as
 * `tickflow run` would, with fault hooks the runtime offers for tests (RunnerOptions). Started by
 * tests (from dist/) as its own OS process, so it can be frozen (SIGSTOP) and killed.
 *
 *   node dist/tests/support/fault-run.js <stage,stage> <namespace>
 *
 * Environment:
 * - TICKFLOW_SESSION_TIMEOUT_MS: the consumer session timeout.
 * - TICKFLOW_TEST_FREEZE_BEFORE_COMMIT=<topic>:<n>: right before committing its n-th transaction on
 *   a batch of <topic> (logical name), the process logs `fault: frozen before committing ...` and
 *   stops itself (SIGSTOP) with the transaction open; SIGCONT resumes it into the commit.
 * - TICKFLOW_TEST_STATE_TTL_MS / TICKFLOW_TEST_EXPIRY_SWEEP_MS: state expiry settings.
 * - TICKFLOW_TEST_NO_FUSE=1: every stage runs on its own (by default stages fuse as `tickflow run` fuses them).
 * - TICKFLOW_TEST_SETTINGS: JSON of settings per stage, e.g. {"validate":{"clock":"event"}}.
 * A fatal error (fencing) is logged and exits 1; SIGTERM stops cleanly and exits 0.
 */
import { createKafka } from '../../pipelines/runtime/kafka';
import { logger } from '../../pipelines/runtime/log';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { RuntimeMetrics } from '../../pipelines/runtime/metrics';
import type { RunnerOptions } from '../../pipelines/runtime/runner';
import { Runner } from '../../pipelines/runtime/runner';
import { RUNNABLES } from '../../pipelines/registry';
import { planTopology } from '../../pipelines/runtime/topology';

const log = logger('fault-run');

function freezeHook(): RunnerOptions['beforeCommit'] {
  const spec = process.env.TICKFLOW_TEST_FREEZE_BEFORE_COMMIT;
  if (!spec) return undefined;
  const [topic, nth] = [spec.slice(0, spec.lastIndexOf(':')), Number(spec.slice(spec.lastIndexOf(':') + 1))];
  let seen = 0;
  let frozen = false;
  return async (physical, partition) => {
    if (frozen || !physical.endsWith(topic)) return;
    seen += 1;
    if (seen < nth) return;
    frozen = true;
    log.warn(`fault: frozen before committing ${physical}[${partition}] (transaction open)`);
    process.kill(process.pid, 'SIGSTOP');
    // Resumed (SIGCONT): the commit goes ahead; a newer owner has fenced us by now.
    log.warn(`fault: resumed; committing ${physical}[${partition}]`);
  };
}

async function main(): Promise<void> {
  const [stages, namespace] = process.argv.slice(2);
  const kafka = createKafka(`tickflow-fault-run-${process.pid}`);
  const codec = new AvroCodec();
  const metrics = new RuntimeMetrics();
  const ttl = process.env.TICKFLOW_TEST_STATE_TTL_MS;
  const options: RunnerOptions = {
    topicPrefix: namespace,
    metrics,
    sessionTimeoutMs: Number(process.env.TICKFLOW_SESSION_TIMEOUT_MS ?? 30_000),
    beforeCommit: freezeHook(),
    expirySweepMs: process.env.TICKFLOW_TEST_EXPIRY_SWEEP_MS
      ? Number(process.env.TICKFLOW_TEST_EXPIRY_SWEEP_MS)
      : undefined,
    onFatal: (error) => {
      log.error(`fatal: ${error.message}`);
      process.exit(1);
    },
  };
  const runners: Runner[] = [];
  const given = JSON.parse(process.env.TICKFLOW_TEST_SETTINGS ?? '{}') as Record<string, Record<string, string>>;
  const created = stages.split(',').map((name) => {
    const runnable = RUNNABLES[name];
    const settings: Record<string, string> = {
      ...(ttl && runnable.kind === 'stage' && 'stateTtlMs' in runnable.config ? { stateTtlMs: ttl } : {}),
      ...given[name],
    };
    return runnable.kind === 'stage'
      ? { kind: 'stage' as const, stage: runnable.create(settings) }
      : { kind: 'sink' as const, sink: runnable.create(settings) };
  });
  const stageList = created.flatMap((c) => (c.kind === 'stage' ? [c.stage] : []));
  const plan = planTopology(stageList, [], process.env.TICKFLOW_TEST_NO_FUSE !== '1');
  for (const chain of plan.chains) {
    if (chain.stages.length > 1) log.info(`fused ${chain.stages.map((s) => s.name).join(' -> ')}`);
    const runner = Runner.forChain(kafka, codec, chain.stages, options);
    await runner.start();
    runners.push(runner);
  }
  for (const c of created) {
    if (c.kind !== 'sink') continue;
    const runner = Runner.forSink(kafka, codec, c.sink, options);
    await runner.start();
    runners.push(runner);
  }
  log.info(`running ${stages} in namespace ${namespace}`);
  process.once('SIGTERM', () => {
    void (async () => {
      for (const runner of runners.reverse()) await runner.stop();
      process.exit(0);
    })();
  });
}

main().catch((error: Error) => {
  log.error(`fault-run failed: ${error.stack ?? error.message}`);
  process.exit(2);
});
