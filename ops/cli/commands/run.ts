import type { CommandDef } from '../args';
import { namespaceFlag, namespaceTableSuffix, positiveInt } from '../args';
import { runnableNames } from '../../../pipelines/registry';
import { AvroCodec } from '../../../pipelines/runtime/codec';
import { parseSetFlags } from '../../../pipelines/runtime/config';
import { createKafka, ensureKafkaReachable } from '../../../pipelines/runtime/kafka';
import { exitAfterLogs, logger } from '../../../pipelines/runtime/log';
import { Pipeline, parseStageList } from '../../run/pipeline';
import { consoleBeside } from '../../console/launch';
import { explainPlan } from '../../../pipelines/runtime/topology';

const log = logger('cli');

/** A namespace's sink writes its own tables (`exp1.` -> `trades_exp1`), unless told otherwise. */
export function namespaceTables(
  settings: Map<string, Record<string, string>>,
  namespace: string,
  names: readonly string[],
): void {
  if (!names.includes('sink-questdb')) return;
  const sink = settings.get('sink-questdb') ?? {};
  if (sink.tableSuffix === undefined)
    settings.set('sink-questdb', { ...sink, tableSuffix: namespaceTableSuffix(namespace) });
}

/** `tickflow run`: stages and sinks in this process until a signal, or until idle. */
export const RUN_COMMAND: CommandDef = {
  spec: {
    usage:
      'run [--stages a,b] [--set stage.setting=value ...] [--until-idle] [--metrics-port N] [--console] [--namespace P.] [--no-fuse] [--explain]',
    positionals: [0, 0],
    flags: {
      stages: {
        type: 'string',
        description: `comma-separated stages and sinks (default: all of ${runnableNames().join(', ')})`,
      },
      set: {
        type: 'string',
        multiple: true,
        description: 'a stage or sink setting, e.g. sink-questdb.topics=md.trades.v1 (repeatable)',
      },
      'until-idle': { type: 'boolean', description: 'exit 0 once every input is drained' },
      'metrics-port': {
        type: 'string',
        description: 'port for /metrics, /healthz, /readyz (default 9464 or TICKFLOW_METRICS_PORT; 0 = any free port)',
      },
      'no-fuse': {
        type: 'boolean',
        description:
          'run every stage in its own consumer group, none fused into a chain (switching needs every instance stopped first)',
      },
      explain: {
        type: 'boolean',
        description: 'print the plan (fused chains, the hops between them and why) and exit without starting',
      },
      console: {
        type: 'boolean',
        description:
          'serve the web console beside the pipeline (127.0.0.1, port TICKFLOW_CONSOLE_PORT or 8088; token TICKFLOW_CONSOLE_TOKEN)',
      },
      namespace: {
        type: 'string',
        description:
          'prefix every topic and consumer group with this (e.g. exp1.): an isolated copy for experiments, replays and tests; the prefixed topics must exist (tickflow replay --topic creates them); the sink writes tables with the suffix _exp1',
      },
    },
  },
  run: async (p) => {
    const names = parseStageList(p.flags.stages as string | undefined);
    const namespace = namespaceFlag(p.flags.namespace);
    const settings = parseSetFlags((p.flags.set as string[] | undefined) ?? []);
    if (namespace !== undefined) namespaceTables(settings, namespace, names);
    const port =
      p.flags['metrics-port'] === '0'
        ? 0
        : (positiveInt('metrics-port', p.flags['metrics-port'], Number(process.env.TICKFLOW_METRICS_PORT ?? 9464)) ??
          9464);
    const sessionTimeoutMs = process.env.TICKFLOW_SESSION_TIMEOUT_MS
      ? Number(process.env.TICKFLOW_SESSION_TIMEOUT_MS)
      : undefined;
    const fuse = !p.flags['no-fuse'];
    if (p.flags.explain) {
      // Planning reads only the stages' declarations and the catalog: no cluster needed.
      const { plan } = new Pipeline(createKafka('tickflow-explain'), new AvroCodec(), { settings, fuse }).plan(names);
      process.stdout.write(`${explainPlan(plan)}\n`);
      return 0;
    }
    await ensureKafkaReachable();
    const kafka = createKafka(`tickflow-run-${names.join('-')}`);
    const codec = new AvroCodec();
    const pipeline = new Pipeline(kafka, codec, {
      settings,
      fuse,
      sessionTimeoutMs,
      topicPrefix: namespace,
      onFatal: (error) => {
        log.error(
          `stopping: a consumer failed for good (${error.message}); restart the process once the cause is fixed`,
        );
        void pipeline.stop().finally(() => exitAfterLogs(1));
      },
    });
    // A stop request during start-up still stops cleanly.
    let stopRequested: (() => void) | undefined;
    const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
    const onSignal = (signal: string): void => {
      log.info(`${signal}: draining the batch in flight, committing, leaving the group`);
      // The batch in flight finishes and commits; past 9 s, exit anyway (nothing uncommitted is lost).
      setTimeout(() => {
        log.error('shutdown took over 9 s; exiting without waiting further');
        exitAfterLogs(1);
      }, 9000).unref();
      stopRequested?.();
    };
    process.once('SIGINT', () => onSignal('SIGINT'));
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    await pipeline.serve(port);
    await pipeline.start(names);
    log.info(`running ${names.join(', ')}`);
    const web = p.flags.console ? await consoleBeside(pipeline, kafka, codec, { prefix: namespace }) : undefined;
    if (web?.tokenGenerated) log.info(`console token for halt and resume (made for this run): ${web.token}`);
    if (p.flags['until-idle']) {
      const admin = kafka.admin();
      await admin.connect();
      await Promise.race([pipeline.waitUntilIdle(admin), stopped]);
      await admin.disconnect();
      await pipeline.stop();
      process.stdout.write('idle: every input is drained; stopped\n');
      return 0;
    }
    await stopped;
    await web?.close();
    await pipeline.stop();
    log.info('stopped');
    return 0;
  },
};
