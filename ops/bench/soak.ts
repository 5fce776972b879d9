import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import type { MarketOptions } from '../../connectors/synthetic/market';
import { MARKET_DEFAULTS, marketInstrumentIds } from '../../connectors/synthetic/market';
import { publishMarket } from '../../connectors/synthetic/publish';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { readToEnd } from '../../pipelines/runtime/read-to-end';
import type { StateEntry } from '../../schemas/types.generated';
import { RAW_TOPICS } from '../../connectors/formats';
import { RUNNABLES } from '../../pipelines/registry';
import { Runner } from '../../pipelines/runtime/runner';
import { TOPICS, dlqTopicOf } from '../../topics/catalog';
import { clusterBrokers, createNamespace } from '../topics/apply';
import { stackStatus } from '../stack/stack';
import { CpuShares } from './proc';
import { REPO_ROOT, tickflowHome } from '../../pipelines/runtime/settings';
import { TickflowError } from '../../pipelines/runtime/errors';
import { logger, readableLog } from '../../pipelines/runtime/log';

const log = logger('bench');

/**
 * `tickflow bench soak`: the demo's synthetic market (faults included) in real time at `rate`
 * events/s over `instruments` instruments for `minutes`, through every stage and the sink running as
 * their own process (`tickflow run`, as in production), sampling every `sampleSeconds`: the
 * pipeline's RSS, its consumer lag, the changelog bytes it wrote per input record, and the time a
 * restore of every store would take now (reading each changelog to its end and decoding it, as a
 * new owner does). State must stay flat once every instrument has been seen: RSS, bytes per record
 * and restore time level off instead of growing with time.
 */
export interface SoakSample {
  minute: number;
  published: number;
  rssMb: number;
  lag: number;
  /** Changelog bytes written per input record (all stages) since the previous sample. */
  changelogBytesPerRecord: number;
  /** Seconds to read and decode every changelog (all stores, all partitions). */
  restoreSeconds: number | null;
  changelogRecords: number | null;
  /**
   * Share of one core (%) since the previous sample: the pipeline, each server of the stack, and the
   * load generator (this process).
   */
  cpuPercent: Record<string, number>;
}

export interface SoakOptions {
  rate: number;
  instruments: number;
  minutes: number;
  sampleSeconds: number;
  /** Restore timing every this many samples (it reads every changelog, so not every sample). */
  restoreEvery: number;
}

const CLI = path.join(REPO_ROOT, 'dist', 'ops', 'cli', 'main.js');

function metricSum(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

/** Reads every changelog (catalog names, in `namespace`) to its end and decodes each value, as a restore does. */
export async function timeRestore(
  kafka: Kafka,
  codec: AvroCodec,
  topics: readonly string[],
  namespace = '',
): Promise<{ seconds: number; records: number }> {
  const started = Date.now();
  let records = 0;
  for (const topic of topics) {
    await readToEnd(kafka, `${namespace}${topic}`, async (_p, m) => {
      records += 1;
      if (m.value) JSON.parse((await codec.decode<StateEntry>(topic, m.value)).json);
    });
  }
  return { seconds: (Date.now() - started) / 1000, records };
}

/**
 * The soak runs in a topic namespace of its own (every catalog topic, prefixed; `tickflow run
 * --namespace`), so it starts from empty topics and state whatever the stack holds, and is deleted
 * afterwards. Rows go to the real QuestDB tables, on instruments of this run.
 */
export async function benchSoak(kafka: Kafka, admin: Admin, options: SoakOptions): Promise<SoakSample[]> {
  if (!fs.existsSync(CLI))
    throw new TickflowError('SETUP', `${CLI} is missing`, 'run `npm run build` first (npm start and npm test do it)');
  const codec = new AvroCodec();
  const changelogs = TOPICS.filter((t) => t.cleanup === 'compact').map((t) => t.name);
  const namespace = `bench.soak.${Date.now().toString(36)}.`;
  await createNamespace(
    admin,
    namespace,
    TOPICS.map((t) => t.name),
    await clusterBrokers(admin),
  );
  const nowMicros = Date.now() * 1000;
  const market: MarketOptions = {
    ...MARKET_DEFAULTS,
    seed: 2026,
    instruments: options.instruments,
    prefix: `K${Math.floor(nowMicros / 60e6).toString(36)}-`,
    eventsPerSecond: options.rate,
    startMicros: nowMicros,
    faults: {
      badPrint: 0.001,
      nonPositive: 0.001,
      crossed: 0.001,
      locked: 0.001,
      duplicate: 0.001,
      outOfOrder: 0.001,
      gap: 0.001,
    },
  };
  const ids = marketInstrumentIds(market);
  const logFile = path.join(tickflowHome(), 'bench', `soak-pipeline-${Date.now()}.log`);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    [
      CLI,
      'run',
      '--metrics-port',
      '0',
      '--namespace',
      namespace,
      '--set',
      'validate.clock=event',
      '--set',
      `correlate.pairs=${ids[0]}~${ids[1]}`,
    ],
    { stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const samples: SoakSample[] = [];
  const live = new AbortController();
  let published = 0;
  try {
    let port: number | undefined;
    for (let i = 0; i < 600 && !port; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      port =
        Number(
          /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(readableLog(fs.readFileSync(logFile, 'utf8')))?.[1],
        ) || undefined;
    }
    if (!port)
      throw new TickflowError(
        'START_FAILED',
        `the pipeline did not start; see ${logFile}`,
        'check `tickflow stack status`',
      );
    const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    log.info(
      `soak: ${options.rate} events/s on ${options.instruments} instruments for ${options.minutes} min; pipeline pid ${child.pid}, log ${logFile}`,
    );
    const streaming = publishMarket(
      kafka,
      codec,
      market,
      Math.round(options.rate * options.minutes * 60),
      { kind: 'factor', factor: 1 },
      live.signal,
      namespace,
    ).then((r) => (published = r.published));
    const servers = (await stackStatus()).filter((c) => c.state === 'running' && c.pid !== undefined);
    const cpu = new CpuShares(
      new Map([
        ['pipeline', child.pid as number],
        ...servers.map((c) => [c.component, c.pid as number] as [string, number]),
        ['load generator', process.pid],
      ]),
    );
    const started = Date.now();
    let before = {
      bytes: metricSum(await metrics(), 'tickflow_changelog_bytes_total'),
      records: metricSum(await metrics(), 'tickflow_records_in_total'),
    };
    for (let n = 1; Date.now() - started < options.minutes * 60_000; n++) {
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, started + n * options.sampleSeconds * 1000 - Date.now())),
      );
      const text = await metrics();
      const now = {
        bytes: metricSum(text, 'tickflow_changelog_bytes_total'),
        records: metricSum(text, 'tickflow_records_in_total'),
      };
      const restore =
        n % options.restoreEvery === 0 ? await timeRestore(kafka, codec, changelogs, namespace) : undefined;
      const sample: SoakSample = {
        minute: Number(((Date.now() - started) / 60_000).toFixed(2)),
        published: metricSum(text, 'tickflow_records_in_total{stage="normalize"'),
        rssMb: Math.round(rssMb(child.pid as number)),
        lag: metricSum(text, 'tickflow_consumer_lag'),
        changelogBytesPerRecord: Number(
          ((now.bytes - before.bytes) / Math.max(1, now.records - before.records)).toFixed(1),
        ),
        restoreSeconds: restore ? Number(restore.seconds.toFixed(2)) : null,
        changelogRecords: restore?.records ?? null,
        cpuPercent: cpu.sample(),
      };
      before = now;
      samples.push(sample);
      log.info(
        `soak ${sample.minute} min: RSS ${sample.rssMb} MB, lag ${sample.lag}, ${sample.changelogBytesPerRecord} changelog bytes per record${restore ? `, restore ${sample.restoreSeconds} s (${sample.changelogRecords} changelog records)` : ''}; CPU % of a core: ${cpuText(sample.cpuPercent)}`,
      );
    }
    live.abort();
    await streaming.catch(() => undefined);
    log.info(`soak: ${published} events published`);
  } finally {
    live.abort();
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    child.kill('SIGKILL');
    await admin
      .deleteTopics({ topics: (await admin.listTopics()).filter((t) => t.startsWith(namespace)) })
      .catch(() => undefined);
  }
  return samples;
}

function cpuText(shares: Record<string, number>): string {
  return Object.entries(shares)
    .map(([name, share]) => `${name} ${share}`)
    .join(', ');
}

export function formatSoak(samples: readonly SoakSample[], options: SoakOptions): string {
  const lines = [
    `tickflow bench soak: ${options.rate} events/s on ${options.instruments} instruments for ${options.minutes} min (every stage and the sink in one process)`,
  ];
  lines.push('minute  RSS MB  lag      changelog B/record  restore s  changelog records');
  for (const s of samples) {
    lines.push(
      `${s.minute.toFixed(1).padStart(6)}  ${String(s.rssMb).padStart(6)}  ${String(s.lag).padStart(7)}  ${s.changelogBytesPerRecord.toFixed(1).padStart(18)}  ${s.restoreSeconds === null ? '' : s.restoreSeconds.toFixed(2).padStart(9)}  ${String(s.changelogRecords ?? '').padStart(17)}  CPU %: ${cpuText(s.cpuPercent)}`,
    );
  }
  // After warm-up (the first third), what grew: last against first of the later samples.
  const later = samples.slice(Math.floor(samples.length / 3));
  if (later.length >= 2) {
    const first = later[0];
    const last = later[later.length - 1];
    const restores = later.filter((s) => s.restoreSeconds !== null);
    const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(2) : 'n/a');
    lines.push(
      `after warm-up (minute ${first.minute} to ${last.minute}): RSS x${ratio(last.rssMb, first.rssMb)}, changelog bytes per record x${ratio(last.changelogBytesPerRecord, first.changelogBytesPerRecord)}` +
        (restores.length >= 2
          ? `, restore time x${ratio(restores[restores.length - 1].restoreSeconds as number, restores[0].restoreSeconds as number)}`
          : ''),
    );
  }
  return lines.join('\n');
}

export function writeSoak(samples: readonly SoakSample[], options: SoakOptions): string {
  const dir = path.join(tickflowHome(), 'bench');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify({ options, samples, when: new Date().toISOString() }, null, 2)}\n`);
  return file;
}

/**
 * `tickflow bench restore`: what a new owner of a partition waits for. normalize and aggregate run
 * over the synthetic market with `instruments` instruments (`eventsPerInstrument` events each) in an
 * isolated namespace; then each store's changelog partition 0 (a third of the instruments: the
 * topics have 3 partitions, so 30,000 instruments put about 10,000 in it) is restored as the
 * runtime does (read to its end, decode, parse, load), `runs` times. Prints keys, changelog records
 * and seconds.
 */
export interface RestoreFigures {
  store: string;
  /** Instruments whose state is in the partition (keys without a chunk suffix). */
  instruments: number;
  keys: number;
  records: number;
  seconds: number[];
}

export async function benchRestore(
  kafka: Kafka,
  admin: Admin,
  options: { instruments: number; eventsPerInstrument: number; runs: number },
): Promise<RestoreFigures[]> {
  const codec = new AvroCodec();
  const namespace = `bench.restore.${Date.now().toString(36)}.`;
  const stores = ['normalize.quality.changelog', 'aggregate.bars.changelog'];
  const topics = [
    ...RAW_TOPICS,
    ...RAW_TOPICS.map(dlqTopicOf),
    'md.trades.v1',
    'md.trades.v1.dlq',
    'md.quotes.v1',
    'md.book.v1',
    'md.heartbeats.v1',
    'md.heartbeats.v1.dlq',
    'md.quality.v1',
    'md.bars.v1',
    ...stores,
  ];
  await createNamespace(admin, namespace, topics, await clusterBrokers(admin));
  const runners = ['normalize', 'aggregate'].map((name) => {
    const runnable = RUNNABLES[name];
    if (runnable.kind !== 'stage')
      throw new TickflowError('INVARIANT', `${name} is not a stage`, 'check pipelines/registry.ts');
    return Runner.forStage(kafka, codec, runnable.create({}), { topicPrefix: namespace });
  });
  const count = options.instruments * options.eventsPerInstrument;
  // A heartbeat per instrument a minute (the default, one a second, would be most of the load).
  const market: MarketOptions = {
    ...MARKET_DEFAULTS,
    seed: 7,
    instruments: options.instruments,
    prefix: 'R',
    eventsPerSecond: 5000,
    heartbeatMs: 60_000,
    startMicros: (Date.now() - (count / 5000) * 1e3 - 120_000) * 1000,
  };
  try {
    for (const runner of runners) await runner.start();
    log.info(
      `restore bench: publishing ${count} events over ${options.instruments} instruments into namespace ${namespace}`,
    );
    await publishMarket(kafka, codec, market, count, { kind: 'max' }, undefined, namespace);
    const deadline = Date.now() + 30 * 60_000;
    while (!(await Promise.all(runners.map((r) => r.caughtUp(admin)))).every(Boolean)) {
      if (Date.now() > deadline)
        throw new TickflowError('INVARIANT', 'the restore bench pipeline did not catch up in 30 min', 'see the log');
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  } finally {
    for (const runner of runners) await runner.stop();
  }
  const figures: RestoreFigures[] = [];
  for (const store of stores) {
    const topic = `${namespace}${store}`;
    const seconds: number[] = [];
    let keys = 0;
    let instruments = 0;
    let records = 0;
    for (let run = 0; run < options.runs; run++) {
      const live = new Map<string, unknown>();
      records = 0;
      const started = Date.now();
      await readToEnd(
        kafka,
        topic,
        async (_p, m) => {
          records += 1;
          const key = m.key?.toString('utf8') ?? '';
          if (m.value) live.set(key, JSON.parse((await codec.decode<StateEntry>(store, m.value)).json));
          else live.delete(key);
        },
        { partitions: [0] },
      );
      seconds.push((Date.now() - started) / 1000);
      keys = live.size;
      instruments = [...live.keys()].filter((k) => !k.includes('#')).length;
    }
    figures.push({ store, instruments, keys, records, seconds });
    log.info(
      `restore of ${store} partition 0: ${keys} keys from ${records} records in ${seconds.map((s) => s.toFixed(2)).join(', ')} s`,
    );
  }
  await admin
    .deleteTopics({ topics: (await admin.listTopics()).filter((t) => t.startsWith(namespace)) })
    .catch(() => undefined);
  return figures;
}
