import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka, Message, Producer } from 'kafkajs';
import { scalar, waitForWalApplied } from '../../connectors/questdb/sql';
import { REPO_ROOT } from '../../pipelines/runtime/settings';
import { readableLog } from '../../pipelines/runtime/log';
import { collectTopic } from '../../ops/cli/tap';
import { clusterBrokers, createNamespace } from '../../ops/topics/apply';
import { unique } from './helpers';
import type { AvroCodec } from '../../pipelines/runtime/codec';
import { readToEnd } from '../../pipelines/runtime/read-to-end';
import { bounded } from '../../pipelines/runtime/bounded';
import type { RunningVolume, StateEntry, Trade } from '../../schemas/types.generated';
import type { Decimal } from '../../schemas/decimal';
import { changelogTopic } from '../../topics/catalog';

/**
 * Publishes trades to md.trades.v1 keyed by instrument, exactly once even across broker failures:
 * each chunk is one transaction; a chunk that fails or hangs is aborted (a new producer with the same
 * transactional id fences the old one) and sent again, so read_committed consumers see every record
 * once and in order per key.
 */
export async function publishTrades(
  kafka: Kafka,
  codec: AvroCodec,
  trades: readonly (Trade | { raw: Buffer; key: string })[],
  ratePerSecond?: number,
  namespace = '',
): Promise<void> {
  const transactionalId = `tickflow.test.publisher.${process.pid}.${Date.now()}`;
  const connect = async (): Promise<Producer> => {
    const p = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await p.connect();
    return p;
  };
  let producer = await connect();
  const started = Date.now();
  try {
    for (let i = 0; i < trades.length; i += 2000) {
      if (ratePerSecond) {
        const due = started + (i / ratePerSecond) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      const messages: Message[] = await Promise.all(
        trades
          .slice(i, i + 2000)
          .map(async (t) =>
            'raw' in t
              ? { key: t.key, value: t.raw }
              : { key: t.instrumentId, value: await codec.encode('md.trades.v1', t) },
          ),
      );
      for (let attempt = 1; ; attempt++) {
        try {
          await bounded(
            (async () => {
              const transaction = await producer.transaction();
              try {
                await transaction.send({ topic: `${namespace}md.trades.v1`, messages, acks: -1 });
                await transaction.commit();
              } catch (error) {
                await transaction.abort().catch(() => undefined);
                throw error;
              }
            })(),
            'publishing a chunk',
            30_000,
          );
          break;
        } catch (error) {
          if (attempt >= 10) throw error;
          void producer.disconnect().catch(() => undefined);
          await sleep(1000);
          // A reconnect can fail too while a broker (the transaction coordinator) is down: keep trying.
          for (let reconnect = 1; ; reconnect++) {
            try {
              producer = await bounded(connect(), 'reconnecting the publisher', 10_000);
              break;
            } catch (reconnectError) {
              if (reconnect >= 30) throw reconnectError;
              await sleep(1000);
            }
          }
        }
      }
    }
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

/**
 * `tickflow run` arguments of the runtime tests: the reference stateful stage and its table, in `namespace` if given.
 */
export const RUNNING_VOLUME_ARGS = [
  '--stages',
  'running-volume,sink-questdb',
  '--set',
  'sink-questdb.topics=md.volume.v1',
];

/**
 * In a namespace the sink would write `running_volume_<namespace>`; these tests read the shared
 * table by instrument prefix instead (every run's instruments are its own), so the suffix is off.
 */
export function runningVolumeArgs(namespace: string): string[] {
  return [...RUNNING_VOLUME_ARGS, '--set', 'sink-questdb.tableSuffix=', '--namespace', namespace];
}

/**
 * An isolated topic namespace for the running-volume tests (its own trades, outputs, dead letters
 * and changelog, deleted by `dropNamespace`): a test neither reads earlier runs' backlog nor leaves
 * one for the next test.
 */
export async function volumeNamespace(kafka: Kafka, label: string): Promise<string> {
  const namespace = `${unique(`test.${label}.`)}.`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await createNamespace(
      admin,
      namespace,
      ['md.trades.v1', 'md.trades.v1.dlq', 'md.volume.v1', 'md.volume.v1.dlq', 'running-volume.totals.changelog'],
      await clusterBrokers(admin),
    );
  } finally {
    await admin.disconnect();
  }
  return namespace;
}

export async function dropNamespace(kafka: Kafka, namespace: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin
      .deleteTopics({ topics: (await admin.listTopics()).filter((t) => t.startsWith(namespace)) })
      .catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}
/** A killed or frozen member holds its partitions until its session times out; keep that short in tests. */
export const SHORT_SESSION_ENV = { TICKFLOW_SESSION_TIMEOUT_MS: '6000' };

export interface RunProcess {
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
}

const CLI = path.join(REPO_ROOT, 'dist', 'ops', 'cli', 'main.js');

/** Starts `tickflow run` as its own OS process (so it can be SIGKILLed), logging to a file. */
export function startRun(args: string[], env: NodeJS.ProcessEnv = {}, label = 'run'): RunProcess {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it)`);
  const logFile = path.join(os.tmpdir(), `tickflow-${label}-${process.pid}-${Date.now()}.log`);
  const out = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [CLI, 'run', '--metrics-port', '0', ...args], {
    stdio: ['ignore', out, out],
    env: { ...process.env, ...env },
  });
  fs.closeSync(out);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, logFile, exited };
}

export async function killRun(run: RunProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
  run.child.kill(signal);
  return run.exited;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor(
  what: string,
  condition: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 500,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

/** running_volume rows of the prefix; 0 while the table does not exist yet (the sink creates it when it starts). */
export async function volumeRows(prefix: string): Promise<number> {
  try {
    return Number(await scalar(`SELECT count() FROM running_volume WHERE instrument_id LIKE 'SYN:${prefix}%'`));
  } catch (error) {
    if (/table does not exist/.test((error as Error).message)) return 0;
    throw error;
  }
}

/** Waits until QuestDB holds `count` running_volume rows of the prefix, with the WAL applied. */
export async function waitForVolumeRows(prefix: string, count: number, timeoutMs: number): Promise<void> {
  await waitFor(
    `${count} running_volume rows for ${prefix}`,
    async () => {
      await waitForWalApplied(['running_volume']).catch(() => undefined);
      return (await volumeRows(prefix)) >= count;
    },
    timeoutMs,
    1000,
  );
}

/**
 * The trades of a prefix as they are on md.trades.v1 (read_committed), in order per instrument.
 * `namespace`: the topic prefix of an isolated run (RunnerOptions.topicPrefix).
 */
export async function inputTrades(kafka: Kafka, prefix: string, namespace = ''): Promise<Trade[]> {
  return (await collectTopic<Trade>(kafka, `${namespace}md.trades.v1`, 180_000, 'md.trades.v1'))
    .map((r) => r.value)
    .filter((t) => t && t.instrumentId?.startsWith(`SYN:${prefix}`));
}

/**
 * Exactly-once check of md.volume.v1 against the input as it is on md.trades.v1: for every
 * instrument, exactly one output for its 1st, 2nd, ... nth input trade (keyed by the running count),
 * each naming that trade and carrying the exact cumulative volume. The input is read back rather
 * than taken from the generator, because a producer retry across a broker failure may legitimately
 * publish a record twice; the stage must then count it twice, exactly once each.
 * `generated` (optional) must equal the input when no broker failed. Returns problems (empty when all is well).
 */
export async function checkVolumeOutputs(
  kafka: Kafka,
  prefix: string,
  generated?: readonly Trade[],
  accept: (t: Trade) => boolean = () => true,
  namespace = '',
): Promise<string[]> {
  const inputs = (await inputTrades(kafka, prefix, namespace)).filter(accept);
  const outputs = (await collectTopic<RunningVolume>(kafka, `${namespace}md.volume.v1`, 180_000, 'md.volume.v1'))
    .map((r) => r.value)
    .filter((v) => v.instrumentId.startsWith(`SYN:${prefix}`));
  const problems: string[] = [];
  if (generated && generated.length !== inputs.length)
    problems.push(`md.trades.v1 holds ${inputs.length} trades of ${prefix}, ${generated.length} were published`);
  if (outputs.length !== inputs.length)
    problems.push(`md.volume.v1 has ${outputs.length} outputs for ${inputs.length} inputs`);
  const expected = new Map<string, { tradeId: string; volume: string }>();
  const running = new Map<string, { count: number; volume: Decimal }>();
  for (const t of inputs) {
    const before = running.get(t.instrumentId);
    const after = { count: (before?.count ?? 0) + 1, volume: before ? before.volume.plus(t.size) : t.size };
    running.set(t.instrumentId, after);
    expected.set(`${t.instrumentId}#${after.count}`, { tradeId: t.tradeId, volume: after.volume.toFixed() });
  }
  const seen = new Set<string>();
  for (const o of outputs) {
    const id = `${o.instrumentId}#${o.tradeCount}`;
    if (seen.has(id)) problems.push(`duplicate output ${id} (trade ${o.tradeId})`);
    seen.add(id);
    const want = expected.get(id);
    if (!want) problems.push(`output ${id} (trade ${o.tradeId}) has no matching input`);
    else if (want.tradeId !== o.tradeId || want.volume !== o.volume.toFixed())
      problems.push(
        `${id}: got trade ${o.tradeId} volume ${o.volume.toFixed()}, want trade ${want.tradeId} volume ${want.volume}`,
      );
    if (problems.length > 20) break;
  }
  for (const id of expected.keys()) if (!seen.has(id) && problems.length <= 20) problems.push(`no output for ${id}`);
  return problems;
}

/** The running-volume state as a restarted instance restores it: the changelog, read_committed. */
export async function restoredTotals(
  kafka: Kafka,
  codec: AvroCodec,
  prefix: string,
  namespace = '',
): Promise<Record<string, unknown>> {
  const topic = changelogTopic('running-volume', 'totals');
  const state: Record<string, unknown> = {};
  // Keys live in one partition each, so reading all partitions in any interleaving gives each key's last value.
  await readToEnd(kafka, `${namespace}${topic}`, async (_partition, m) => {
    const k = m.key?.toString('utf8') ?? '';
    if (!k.startsWith(`SYN:${prefix}`)) return;
    if (m.value) state[k] = JSON.parse((await codec.decode<StateEntry>(topic, m.value)).json);
    else delete state[k];
  });
  return state;
}

export function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : 0;
}

/** The run's log so far, as a person reads it (the process logs JSON lines to its file). */
export function runLog(run: RunProcess): string {
  return readableLog(fs.readFileSync(run.logFile, 'utf8'));
}

/** The run's metrics port (it binds port 0 and logs the port); undefined until it has. */
export function metricsPort(run: RunProcess): number | undefined {
  const port = /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(runLog(run))?.[1];
  return port ? Number(port) : undefined;
}

/** The run's /metrics text. */
export async function runMetrics(run: RunProcess): Promise<string> {
  const port = metricsPort(run);
  if (!port) return '(the run logged no metrics port)';
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  return response.text();
}

/** Sum of a metric's series in Prometheus text, over the lines whose labels contain `labels`. */
export function metricSum(text: string, name: string, labels = ''): number {
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(labels))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

/**
 * What a stuck pipeline looks like, for a failed test's output: per partition of each topic the high
 * watermark, how far a read_committed reader gets in 10 s (short of the high watermark by more than
 * a commit marker: an open transaction holds the last stable offset), each group's committed offset,
 * and the run's lag and progress metrics.
 */
export async function diagnose(kafka: Kafka, run: RunProcess, topics: Record<string, string>): Promise<string> {
  const lines: string[] = [];
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const [topic, group] of Object.entries(topics)) {
      const highs = await admin.fetchTopicOffsets(topic);
      const committed = (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]?.partitions ?? [];
      const reach = new Map<number, string>();
      const consumer = kafka.consumer({
        groupId: `tickflow.diagnose.${Date.now()}`,
        readUncommitted: false,
        maxWaitTimeInMs: 200,
      });
      consumer.on(consumer.events.END_BATCH_PROCESS, (e) =>
        reach.set(e.payload.partition, String(BigInt(e.payload.lastOffset) + 1n)),
      );
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachBatch: async () => undefined });
      await sleep(10_000);
      await consumer.disconnect();
      for (const h of highs) {
        lines.push(
          `${topic}[${h.partition}] high ${h.high}, read_committed reaches ${reach.get(h.partition) ?? 'nothing'}, ${group} committed ${committed.find((c) => c.partition === h.partition)?.offset ?? '?'}`,
        );
      }
    }
  } finally {
    await admin.disconnect();
  }
  const metrics = await runMetrics(run).catch((error: Error) => `metrics: ${error.message}`);
  lines.push(
    ...metrics
      .split('\n')
      .filter((l) =>
        /^tickflow_(consumer_lag|seconds_since_progress|paused_partitions|records_in_total|assigned_partitions)/.test(
          l,
        ),
      ),
  );
  return lines.join('\n');
}
