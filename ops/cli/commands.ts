import path from 'node:path';
import { BINANCE_DEFAULTS, BinanceFeed } from '../../connectors/binance/feed';
import { MAX_BOOK_FRAME_LEVELS } from '../../connectors/binance/messages';
import { refreshedOf, throttledBody } from '../../connectors/rest-poller/alphavantage';
import { RestPoller } from '../../connectors/rest-poller/poller';
import { parseSpeed, rawPublisher, replayFile } from '../../connectors/file-replay/replay';
import { formatNames } from '../../connectors/formats';
import type { MarketOptions } from '../../connectors/synthetic/market';
import { MARKET_DEFAULTS } from '../../connectors/synthetic/market';
import { publishMarket, writeMarket } from '../../connectors/synthetic/publish';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { TOPICS, valueSubject } from '../../topics/catalog';
import { demo, prepare } from '../demo/demo';
import { benchRuntime, formatFigures, writeFigures } from '../bench/runtime';
import { benchIdle } from '../bench/idle';
import { benchRestore, benchSoak, formatSoak, writeSoak } from '../bench/soak';
import { loadSettings } from '../../pipelines/runtime/settings';
import { TickflowError } from '../../pipelines/runtime/errors';
import { createKafka, ensureKafkaReachable } from '../../pipelines/runtime/kafka';
import { exitAfterLogs, logger } from '../../pipelines/runtime/log';
import { Pipeline, parseStageList } from '../run/pipeline';
import { parseSetFlags } from '../../pipelines/runtime/config';
import { runnableNames } from '../../pipelines/registry';
import { generateTypes, generatedPath, writeTypes } from '../schemas/codegen';
import { RegistryAdmin, checkCatalog, registerCatalog } from '../schemas/registry';
import { tap } from './tap';
import { applyTopics, clusterBrokers, describeChange, plan, readTopics } from '../topics/apply';
import type { CommandSpec, Parsed } from './args';
import { positiveInt } from './args';
import fs from 'node:fs';

const log = logger('cli');

export interface CommandDef {
  spec: CommandSpec;
  run(parsed: Parsed): Promise<number>;
}

async function withAdmin<T>(fn: (admin: ReturnType<ReturnType<typeof createKafka>['admin']>) => Promise<T>): Promise<T> {
  await ensureKafkaReachable();
  const admin = createKafka('tickflow-admin').admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

export const TOPIC_COMMANDS: Record<string, CommandDef> = {
  apply: {
    spec: {
      usage: 'topics apply [--dry-run] [--force-partitions]',
      positionals: [0, 0],
      flags: {
        'dry-run': { type: 'boolean', description: 'only print what would change' },
        'force-partitions': { type: 'boolean', description: 'also raise partition counts of keyed topics (moves keys; see the message without it)' },
      },
    },
    run: async (p) =>
      withAdmin(async (admin) => {
        const changes = await applyTopics(admin, TOPICS, { dryRun: Boolean(p.flags['dry-run']), forcePartitions: Boolean(p.flags['force-partitions']) });
        if (changes.length === 0) process.stdout.write(`topics: the cluster matches the catalog (${TOPICS.length} topics); nothing to do\n`);
        for (const change of changes) process.stdout.write(`${p.flags['dry-run'] ? 'would ' : ''}${describeChange(change)}\n`);
        return 0;
      }),
  },
  list: {
    spec: { usage: 'topics list', positionals: [0, 0], flags: {} },
    run: async () =>
      withAdmin(async (admin) => {
        const brokers = await clusterBrokers(admin);
        const state = await readTopics(admin, TOPICS.map((t) => t.name));
        const { changes } = plan(TOPICS, state, brokers);
        for (const spec of TOPICS) {
          const current = state.get(spec.name);
          const pending = changes.filter((c) => c.topic === spec.name);
          const status = !current ? 'MISSING' : pending.length > 0 ? 'DIFFERS' : 'ok';
          process.stdout.write(`${spec.name.padEnd(28)} ${status.padEnd(8)} partitions ${String(current?.partitions ?? '-').padEnd(3)} ${spec.cleanup.padEnd(7)} ${spec.valueSchema.padEnd(14)} ${spec.producer}\n`);
        }
        const extra = (await admin.listTopics()).filter((t) => !t.startsWith('__') && !TOPICS.some((s) => s.name === t)).sort();
        if (extra.length > 0) process.stdout.write(`not in the catalog: ${extra.join(', ')}\n`);
        return 0;
      }),
  },
  describe: {
    spec: { usage: 'topics describe TOPIC', positionals: [1, 1], flags: {} },
    run: async (p) =>
      withAdmin(async (admin) => {
        const name = p.positionals[0];
        const spec = TOPICS.find((t) => t.name === name);
        if (!spec) throw new TickflowError('USAGE', `topic ${name} is not in the catalog`, 'see `tickflow topics list`');
        process.stdout.write(`${spec.name}: ${spec.description}\n  key: ${spec.key}\n  value: ${spec.valueSchema} (subject ${valueSubject(spec.name)})\n  producer: ${spec.producer}\n  catalog: ${spec.partitions} partitions, ${spec.cleanup}, retention.ms=${spec.retentionMs}${spec.dlq ? `, dead letters in ${spec.name}.dlq` : ''}\n`);
        const state = (await readTopics(admin, [name])).get(name);
        if (!state) {
          process.stdout.write('  cluster: MISSING (run `tickflow topics apply`)\n');
          return 0;
        }
        const metadata = await admin.fetchTopicMetadata({ topics: [name] });
        const offsets = await admin.fetchTopicOffsets(name);
        process.stdout.write(`  cluster: ${state.partitions} partitions; cleanup.policy=${state.configs['cleanup.policy']} retention.ms=${state.configs['retention.ms']} min.insync.replicas=${state.configs['min.insync.replicas']}\n`);
        for (const partition of metadata.topics[0].partitions.sort((a, b) => a.partitionId - b.partitionId)) {
          const o = offsets.find((x) => x.partition === partition.partitionId);
          process.stdout.write(`    partition ${partition.partitionId}: leader ${partition.leader}, replicas [${partition.replicas.join(',')}], isr [${partition.isr.join(',')}], offsets ${o?.low}..${o?.high}\n`);
        }
        const latest = await new RegistryAdmin().latest(valueSubject(name)).catch(() => undefined);
        process.stdout.write(`  schema: ${latest ? `version ${latest.version}, id ${latest.id}` : 'not registered (run `tickflow schemas register`)'}\n`);
        return 0;
      }),
  },
};

export const SCHEMA_COMMANDS: Record<string, CommandDef> = {
  register: {
    spec: { usage: 'schemas register', positionals: [0, 0], flags: {} },
    run: async () => {
      for (const r of await registerCatalog()) process.stdout.write(`${r.subject.padEnd(32)} id ${r.id} version ${r.version ?? '?'}\n`);
      return 0;
    },
  },
  check: {
    spec: { usage: 'schemas check', positionals: [0, 0], flags: {} },
    run: async () => {
      let bad = 0;
      for (const r of await checkCatalog()) {
        if (r.problems.length > 0) {
          bad += 1;
          process.stdout.write(`${r.subject}: INCOMPATIBLE with the registered version\n  ${r.problems.join('\n  ')}\n`);
        } else process.stdout.write(`${r.subject}: ${r.registered ? 'compatible' : 'new (not registered yet)'}\n`);
      }
      if (bad > 0) {
        throw new TickflowError('SCHEMA_INCOMPATIBLE', `${bad} schema(s) would break BACKWARD compatibility`, 'give new fields a default, keep field types readable, or publish a new topic version (<name>.v<N+1>)');
      }
      return 0;
    },
  },
  codegen: {
    spec: { usage: 'schemas codegen [--check]', positionals: [0, 0], flags: { check: { type: 'boolean', description: 'fail if schemas/types.generated.ts is out of date instead of writing it' } } },
    run: async (p) => {
      if (p.flags.check) {
        const current = fs.existsSync(generatedPath()) ? fs.readFileSync(generatedPath(), 'utf8') : '';
        if (current !== generateTypes()) throw new TickflowError('SCHEMA_INVALID', `${generatedPath()} is out of date with schemas/*.avsc`, 'run `tickflow schemas codegen` and commit the result');
        process.stdout.write('schemas/types.generated.ts is up to date\n');
        return 0;
      }
      process.stdout.write(`wrote ${writeTypes()}\n`);
      return 0;
    },
  },
};

/**
 * `tickflow feed alphavantage`: polls FX rates into md.raw.rest.v1 until Ctrl-C. The API key comes
 * from ALPHAVANTAGE_API_KEY, ALPHAVANTAGE_API_KEY_FILE or the config file, never from a flag: every
 * user on the machine can read a command line (`ps`).
 */
async function pollAlphaVantage(p: Parsed): Promise<number> {
  const apikey = loadSettings().get('ALPHAVANTAGE_API_KEY')?.value;
  if (!apikey) {
    throw new TickflowError(
      'CONFIG',
      'tickflow feed alphavantage needs an API key; it reads it only from the environment or the config file ' +
        '(a command-line flag would show it to every user in `ps`)',
      'set ALPHAVANTAGE_API_KEY, or ALPHAVANTAGE_API_KEY_FILE to a file holding the key, or put ' +
        'ALPHAVANTAGE_API_KEY=... into the file named by TICKFLOW_CONFIG_FILE ' +
        '(free keys: https://www.alphavantage.co/support/#api-key)',
    );
  }
  const pairs = String(p.flags.pairs ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const bad = pairs.filter((pair) => !/^[A-Z]{3}\/[A-Z]{3}$/.test(pair));
  if (pairs.length === 0 || bad.length > 0) throw new TickflowError('USAGE', `--pairs: ${bad.join(', ') || 'none given'}`, 'for example --pairs USD/JPY,EUR/USD');
  const base = String(p.flags.url ?? 'https://www.alphavantage.co');
  await ensureKafkaReachable();
  const publisher = await rawPublisher(createKafka('tickflow-feed-alphavantage'), new AvroCodec(), 'md.raw.rest.v1');
  const poller = new RestPoller({
    targets: pairs.map((pair) => {
      const [from, to] = pair.split('/');
      return { key: `ALPHAVANTAGE:${pair}`, url: `${base}/query?function=CURRENCY_EXCHANGE_RATE&from_currency=${from}&to_currency=${to}&apikey=${encodeURIComponent(apikey)}` };
    }),
    format: 'alphavantage-fx',
    source: 'alphavantage',
    intervalMs: positiveInt('interval-ms', p.flags['interval-ms'], 60_000) as number,
    maxRequests: positiveInt('max-requests', p.flags['max-requests'], 5) as number,
    windowMs: positiveInt('window-ms', p.flags['window-ms'], 60_000) as number,
    backoffBaseMs: 1000,
    backoffMaxMs: 60_000,
    maxAttempts: 6,
    versionOf: refreshedOf,
    throttled: throttledBody,
    publish: (records) => publisher.publish(records),
  });
  return runFeed('alphavantage poller', poller, publisher, 30_000, 'md.raw.rest.v1');
}

/** `--depth`: book levels a side the Binance feed publishes, at most what a book frame may hold. */
function depthLevels(flag: Parsed['flags'][string]): number {
  const depth = positiveInt('depth', flag, BINANCE_DEFAULTS.depthLevels) as number;
  if (depth > MAX_BOOK_FRAME_LEVELS) throw new TickflowError('USAGE', `--depth ${depth} is more levels than a published book may hold (${MAX_BOOK_FRAME_LEVELS})`, `use --depth ${MAX_BOOK_FRAME_LEVELS} or less`);
  return depth;
}

/** Runs a live feed until SIGINT/SIGTERM, logging its health every `reportMs`; then stops it and flushes its publisher. */
async function runFeed(name: string, feed: { start(): void; stop(): Promise<void>; health(): { published: number } }, publisher: { close(): Promise<void> }, reportMs: number, topic: string): Promise<number> {
  feed.start();
  const report = setInterval(() => log.info(`${name} health: ${JSON.stringify(feed.health())}`), reportMs);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  clearInterval(report);
  await feed.stop();
  await publisher.close();
  process.stdout.write(`stopped; ${feed.health().published} records published to ${topic}\n`);
  return 0;
}

export const COMMAND_DEFS: Record<string, CommandDef> = {
  replay: {
    spec: {
      usage: `replay FILE --format ${formatNames().join('|')} [--speed max|1x|Nx] [--restart] [--max-line-bytes N]`,
      positionals: [1, 1],
      flags: {
        format: { type: 'string', choices: formatNames(), description: 'the file format' },
        speed: { type: 'string', description: 'max (default), or pace by exchange time: 1x, 10x, ...' },
        restart: { type: 'boolean', description: 'publish from the first line, ignoring the checkpoint of an interrupted replay of the file' },
        'max-line-bytes': { type: 'string', description: 'longest line published (default 900000); longer lines go to the raw topic\'s .dlq' },
      },
    },
    run: async (p) => {
      if (!p.flags.format) throw new TickflowError('USAGE', 'tickflow replay needs --format', `use --format ${formatNames().join('|')}`);
      const speed = parseSpeed(String(p.flags.speed ?? 'max'));
      await ensureKafkaReachable();
      const kafka = createKafka('tickflow-replay');
      // Ctrl-C stops after what was read so far is acknowledged; the checkpoint lets a rerun continue.
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      process.once('SIGTERM', () => controller.abort());
      const result = await replayFile(kafka, new AvroCodec(), {
        file: path.resolve(p.positionals[0]),
        format: String(p.flags.format),
        speed,
        restart: Boolean(p.flags.restart),
        maxLineBytes: positiveInt('max-line-bytes', p.flags['max-line-bytes']),
        signal: controller.signal,
      });
      const letters = result.deadLetters > 0 ? `; ${result.deadLetters} over-long lines to ${result.topic}.dlq` : '';
      const resumed = result.resumedAfterLine !== null ? ` (resumed after line ${result.resumedAfterLine})` : '';
      process.stdout.write(`replayed ${result.published} records from ${p.positionals[0]} to ${result.topic} in ${result.seconds.toFixed(1)} s${resumed}${letters}\n`);
      if (!result.completed) {
        process.stdout.write('stopped before the end of the file; run the same command to continue where it stopped\n');
        return 1;
      }
      return 0;
    },
  },
  synth: {
    spec: {
      usage: 'synth [--count N] [--rate N] [--instruments N] [--seed N] [--faults P] [--speed 1x|Nx|max] [--start ISO] [--venue SYN|SYN-EQ] [--prefix P] [--out FILE]',
      positionals: [0, 0],
      flags: {
        count: { type: 'string', description: 'trades and quotes to generate (default 10000; heartbeats come on top)' },
        rate: { type: 'string', description: 'events per second of exchange time over all instruments (default 200)' },
        instruments: { type: 'string', description: 'instruments (default 3)' },
        seed: { type: 'string', description: 'the same seed gives the same stream (default 1)' },
        faults: { type: 'string', description: 'probability per event of each injected fault kind, 0 to 0.1 (default 0)' },
        speed: { type: 'string', description: 'publish pace: 1x (default: real time at --rate), Nx, or max' },
        start: { type: 'string', description: 'exchange time of the first event, ISO 8601 (default now)' },
        venue: { type: 'string', choices: ['SYN', 'SYN-EQ'], description: 'SYN is always open; SYN-EQ trades US equity hours (default SYN)' },
        prefix: { type: 'string', description: 'symbol prefix: symbols are <prefix>0, <prefix>1, ... (default S)' },
        out: { type: 'string', description: 'write NDJSON to this file instead of publishing' },
      },
    },
    run: async (p) => {
      const faults = p.flags.faults === undefined ? 0 : Number(p.flags.faults);
      if (!Number.isFinite(faults) || faults < 0 || faults > 0.1) throw new TickflowError('USAGE', `--faults must be a probability from 0 to 0.1, not '${String(p.flags.faults)}'`, 'for example --faults 0.01 (1% of events get each fault kind)');
      const start = p.flags.start === undefined ? Math.floor(Date.now() / 1000) * 1000 : Date.parse(String(p.flags.start));
      if (!Number.isFinite(start)) throw new TickflowError('USAGE', `--start '${String(p.flags.start)}' is not an ISO 8601 time`, 'for example --start 2024-01-02T14:30:00Z');
      const market: MarketOptions = {
        ...MARKET_DEFAULTS,
        seed: positiveInt('seed', p.flags.seed, 1) as number,
        instruments: positiveInt('instruments', p.flags.instruments, MARKET_DEFAULTS.instruments) as number,
        eventsPerSecond: positiveInt('rate', p.flags.rate, MARKET_DEFAULTS.eventsPerSecond) as number,
        venue: String(p.flags.venue ?? MARKET_DEFAULTS.venue),
        prefix: String(p.flags.prefix ?? MARKET_DEFAULTS.prefix),
        startMicros: start * 1000,
        faults: { badPrint: faults, nonPositive: faults, crossed: faults, locked: faults, duplicate: faults, outOfOrder: faults, gap: faults },
      };
      const count = positiveInt('count', p.flags.count, 10_000) as number;
      const summary = (expected: Map<string, number>): string => [...expected].sort().map(([rule, n]) => `${rule} ${n}`).join(', ') || 'none';
      if (p.flags.out) {
        const { lines, expected } = writeMarket(path.resolve(String(p.flags.out)), market, count);
        process.stdout.write(`wrote ${lines} lines to ${String(p.flags.out)}; findings they must cause: ${summary(expected)}\n`);
        return 0;
      }
      await ensureKafkaReachable();
      const result = await publishMarket(createKafka('tickflow-synth'), new AvroCodec(), market, count, parseSpeed(String(p.flags.speed ?? '1x')));
      process.stdout.write(`published ${result.published} records to ${result.topic} in ${result.seconds.toFixed(1)} s; findings they must cause: ${summary(result.expected)}\n`);
      return 0;
    },
  },
  feed: {
    spec: {
      usage:
        'feed binance [--symbols btcusdt,ethusdt] [--ws URL] [--rest URL] [--depth N] | ' +
        'feed alphavantage --pairs USD/JPY,EUR/USD [--url URL] [--interval-ms N] [--max-requests N] [--window-ms N] ' +
        '(API key: ALPHAVANTAGE_API_KEY or ALPHAVANTAGE_API_KEY_FILE)',
      positionals: [1, 1],
      flags: {
        pairs: { type: 'string', description: 'alphavantage: FX pairs to poll, e.g. USD/JPY,EUR/USD' },
        url: { type: 'string', description: 'alphavantage: API base (default https://www.alphavantage.co)' },
        'interval-ms': { type: 'string', description: 'alphavantage: poll each pair this often (default 60000)' },
        'max-requests': { type: 'string', description: 'alphavantage: at most this many requests per window (default 5)' },
        'window-ms': { type: 'string', description: 'alphavantage: the rate-limit window (default 60000)' },
        symbols: { type: 'string', description: 'lower-case Binance spot symbols (default btcusdt)' },
        ws: { type: 'string', description: `websocket base (default ${BINANCE_DEFAULTS.wsUrl})` },
        rest: { type: 'string', description: `REST base for depth snapshots (default ${BINANCE_DEFAULTS.restUrl})` },
        depth: { type: 'string', description: `book levels published per side (default ${BINANCE_DEFAULTS.depthLevels})` },
      },
    },
    run: async (p) => {
      if (p.positionals[0] === 'alphavantage') return pollAlphaVantage(p);
      if (p.positionals[0] !== 'binance') throw new TickflowError('USAGE', `unknown feed '${p.positionals[0]}'`, 'use tickflow feed binance or tickflow feed alphavantage (file feeds: tickflow replay; synthetic: tickflow synth)');
      const symbols = String(p.flags.symbols ?? 'btcusdt').split(',').map((s) => s.trim()).filter(Boolean);
      const bad = symbols.filter((s) => !/^[a-z0-9]+$/.test(s));
      if (bad.length > 0) throw new TickflowError('USAGE', `--symbols: ${bad.join(', ')} not lower-case Binance symbols`, 'for example --symbols btcusdt,ethusdt');
      await ensureKafkaReachable();
      const kafka = createKafka('tickflow-feed-binance');
      const publisher = await rawPublisher(kafka, new AvroCodec(), 'md.raw.binance.v1');
      const feed = new BinanceFeed({
        ...BINANCE_DEFAULTS,
        symbols,
        wsUrl: String(p.flags.ws ?? BINANCE_DEFAULTS.wsUrl),
        restUrl: String(p.flags.rest ?? BINANCE_DEFAULTS.restUrl),
        depthLevels: depthLevels(p.flags.depth),
        publish: (records) => publisher.publish(records),
      });
      return runFeed('binance feed', feed, publisher, 10_000, 'md.raw.binance.v1');
    },
  },
  tap: {
    spec: {
      usage: 'tap TOPIC [--from-beginning] [--max N] [--json]',
      positionals: [1, 1],
      flags: { 'from-beginning': { type: 'boolean', description: 'start at the oldest record (default: only new ones)' }, max: { type: 'string', description: 'stop after N records' }, json: { type: 'boolean', description: 'one JSON object per line with topic, partition, offset, key, value' } },
    },
    run: async (p) => {
      await ensureKafkaReachable();
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      process.once('SIGTERM', () => controller.abort());
      await tap(createKafka('tickflow-tap'), { topic: p.positionals[0], fromBeginning: Boolean(p.flags['from-beginning']), max: positiveInt('max', p.flags.max), json: Boolean(p.flags.json), signal: controller.signal });
      return 0;
    },
  },
  run: {
    spec: {
      usage: 'run [--stages a,b] [--set stage.setting=value ...] [--until-idle] [--metrics-port N] [--namespace P.]',
      positionals: [0, 0],
      flags: {
        stages: { type: 'string', description: `comma-separated stages and sinks (default: all of ${runnableNames().join(', ')})` },
        set: { type: 'string', multiple: true, description: 'a stage or sink setting, e.g. sink-questdb.topics=md.trades.v1 (repeatable)' },
        'until-idle': { type: 'boolean', description: 'exit 0 once every input is drained' },
        'metrics-port': { type: 'string', description: 'port for /metrics, /healthz, /readyz (default 9464 or TICKFLOW_METRICS_PORT; 0 = any free port)' },
        namespace: { type: 'string', description: 'prefix every topic and consumer group with this (e.g. exp1.): an isolated copy for experiments and tests; the prefixed topics must exist' },
      },
    },
    run: async (p) => {
      const names = parseStageList(p.flags.stages as string | undefined);
      const namespace = p.flags.namespace === undefined ? undefined : String(p.flags.namespace);
      if (namespace !== undefined && !/^[a-z0-9][a-z0-9._-]*\.$/.test(namespace)) {
        throw new TickflowError('USAGE', `--namespace '${namespace}' is not a topic prefix`, 'use lower-case letters, digits, dots, dashes and underscores, ending with a dot, e.g. --namespace exp1.');
      }
      const settings = parseSetFlags((p.flags.set as string[] | undefined) ?? []);
      const port = p.flags['metrics-port'] === '0' ? 0 : positiveInt('metrics-port', p.flags['metrics-port'], Number(process.env.TICKFLOW_METRICS_PORT ?? 9464)) ?? 9464;
      const sessionTimeoutMs = process.env.TICKFLOW_SESSION_TIMEOUT_MS ? Number(process.env.TICKFLOW_SESSION_TIMEOUT_MS) : undefined;
      await ensureKafkaReachable();
      const kafka = createKafka(`tickflow-run-${names.join('-')}`);
      const pipeline = new Pipeline(kafka, new AvroCodec(), {
        settings,
        sessionTimeoutMs,
        topicPrefix: namespace,
        onFatal: (error) => {
          log.error(`stopping: a consumer failed for good (${error.message}); restart the process once the cause is fixed`);
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
      await pipeline.stop();
      log.info('stopped');
      return 0;
    },
  },
  bench: {
    spec: {
      usage: 'bench runtime|idle|soak|restore [--records N] [--instruments N] [--rate N] [--runs N] [--seconds N] [--minutes N]',
      positionals: [1, 1],
      flags: {
        records: { type: 'string', description: 'records per throughput phase (default 100000)' },
        instruments: { type: 'string', description: 'synthetic instruments (default 50; soak 500; restore 30000, about 10000 per partition)' },
        rate: { type: 'string', description: 'records/s in the latency phase (default 5000); soak: events/s (default 2000)' },
        runs: { type: 'string', description: 'repeat the whole benchmark N times and print medians (default 3)' },
        seconds: { type: 'string', description: 'idle: seconds per measurement (default 30); soak: seconds between samples (default 30)' },
        minutes: { type: 'string', description: 'soak: how long (default 10)' },
      },
    },
    run: async (p) => {
      // Same preparation as the demo (stack, topics, schemas; idempotent), so a benchmark works on a fresh stack.
      await prepare();
      if (p.positionals[0] === 'soak') {
        const options = {
          rate: positiveInt('rate', p.flags.rate, 2000) as number,
          instruments: positiveInt('instruments', p.flags.instruments, 500) as number,
          minutes: positiveInt('minutes', p.flags.minutes, 10) as number,
          sampleSeconds: positiveInt('seconds', p.flags.seconds, 30) as number,
          restoreEvery: 4,
        };
        const kafka = createKafka('tickflow-bench-soak');
        const admin = kafka.admin();
        await admin.connect();
        try {
          const samples = await benchSoak(kafka, admin, options);
          process.stdout.write(`${formatSoak(samples, options)}\nfigures: ${writeSoak(samples, options)}\n`);
        } finally {
          await admin.disconnect();
        }
        return 0;
      }
      if (p.positionals[0] === 'restore') {
        const kafka = createKafka('tickflow-bench-restore');
        const admin = kafka.admin();
        await admin.connect();
        try {
          const instruments = positiveInt('instruments', p.flags.instruments, 30_000) as number;
          const figures = await benchRestore(kafka, admin, { instruments, eventsPerInstrument: 6, runs: positiveInt('runs', p.flags.runs, 3) as number });
          for (const f of figures) {
            const sorted = [...f.seconds].sort((a, b) => a - b);
            process.stdout.write(`restore of ${f.store} partition 0 (${f.instruments} of the ${instruments} instruments): ${f.keys} keys from ${f.records} changelog records, ${f.seconds.map((s) => s.toFixed(2)).join(' / ')} s, median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} s\n`);
          }
        } finally {
          await admin.disconnect();
        }
        return 0;
      }
      if (p.positionals[0] === 'idle') {
        const shares = await benchIdle(createKafka('tickflow-bench-idle'), { seconds: positiveInt('seconds', p.flags.seconds, 30) as number, runs: positiveInt('runs', p.flags.runs, 3) as number });
        const sorted = [...shares].sort((a, b) => a - b);
        process.stdout.write(`tickflow bench idle: CPU of a running pipeline (${runnableNames().join(', ')}) with no traffic, % of one core: ${shares.map((s) => s.toFixed(2)).join(', ')}; median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)}% (target < 2%)\n`);
        return 0;
      }
      if (p.positionals[0] !== 'runtime') throw new TickflowError('USAGE', `unknown benchmark '${p.positionals[0]}'`, 'use tickflow bench runtime, idle, soak or restore');
      const options = {
        records: positiveInt('records', p.flags.records, 100_000) as number,
        instruments: positiveInt('instruments', p.flags.instruments, 50) as number,
        latencyRate: positiveInt('rate', p.flags.rate, 5000) as number,
        latencySeconds: 10,
      };
      const runs = [];
      const kafka = createKafka('tickflow-bench');
      for (let i = 0; i < (positiveInt('runs', p.flags.runs, 3) as number); i++) {
        log.info(`bench run ${i + 1}`);
        runs.push(await benchRuntime(kafka, options));
        process.stdout.write(`${formatFigures(runs.slice(-1))}\n`);
      }
      process.stdout.write(`\n${formatFigures(runs)}\nfigures: ${writeFigures(runs)}\n`);
      return 0;
    },
  },
  demo: {
    spec: {
      usage: 'demo [--until-idle] [--synthetic-rate N]',
      positionals: [0, 0],
      flags: {
        'until-idle': { type: 'boolean', description: 'exit 0 once the sample data is drained' },
        'synthetic-rate': { type: 'string', description: 'after the summary, stream a live synthetic market at N events/s until Ctrl-C' },
      },
    },
    run: async (p) => {
      const syntheticRate = positiveInt('synthetic-rate', p.flags['synthetic-rate']);
      if (syntheticRate !== undefined && p.flags['until-idle']) throw new TickflowError('USAGE', '--synthetic-rate streams until Ctrl-C, so it cannot be used with --until-idle', 'drop one of them');
      await demo({ untilIdle: Boolean(p.flags['until-idle']), syntheticRate });
      return 0;
    },
  },
};
