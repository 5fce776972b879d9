import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { REPO_ROOT } from '../../pipelines/runtime/settings';
import { TickflowError } from '../../pipelines/runtime/errors';
import { logger } from '../../pipelines/runtime/log';
import { findJava, javaInstalls } from '../stack/java';

const log = logger('bench');

/**
 * The Kafka Streams peer of the benchmark (ops/bench/peer/, a Java 17 app; see its README): tickflow's
 * normalize (Tardis trades) and 1-minute final bars, done by Kafka Streams on the same messages.
 * `buildPeer` builds its jar with Maven (skipped when the jar is newer than every source);
 * `startPeer` runs it and reads its JSON lines. Nothing here creates topics: the caller does, as
 * for tickflow's own phases.
 */
export const PEER_DIR = path.join(REPO_ROOT, 'ops', 'bench', 'peer');
export const PEER_JAR = path.join(PEER_DIR, 'target', 'tickflow-peer.jar');
/** The schemas the jar copies in at build time (pom.xml). */
const PEER_SCHEMAS = ['raw-record.avsc', 'trade.avsc', 'bar.avsc'].map((f) => path.join(REPO_ROOT, 'schemas', f));

function newestMtimeMs(entry: string): number {
  const stat = fs.statSync(entry, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const child of fs.readdirSync(entry)) newest = Math.max(newest, newestMtimeMs(path.join(entry, child)));
  return newest;
}

/** Whether the jar exists and is newer than pom.xml, src/ and the schemas it embeds. */
export function peerJarIsFresh(): boolean {
  const jar = fs.statSync(PEER_JAR, { throwIfNoEntry: false });
  if (!jar) return false;
  const sources = Math.max(
    newestMtimeMs(path.join(PEER_DIR, 'pom.xml')),
    newestMtimeMs(path.join(PEER_DIR, 'src')),
    ...PEER_SCHEMAS.map(newestMtimeMs),
  );
  return jar.mtimeMs >= sources;
}

/** Java 17 (the version the peer is built for and tested on) when there is one, else the first Java 17+. */
function peerJava(): { bin: string; home?: string } {
  const java =
    javaInstalls().find((j) => j.major === 17) ??
    findJava(17, 'the Kafka Streams peer', 'skip the peer phase of the benchmark');
  // A JDK's java is <home>/bin/java; a bare `java` from PATH has no home to give Maven.
  const home = path.isAbsolute(java.bin) ? path.dirname(path.dirname(java.bin)) : undefined;
  return { bin: java.bin, home };
}

/**
 * Builds ops/bench/peer/target/tickflow-peer.jar with `mvn -B -C package` (strict checksums, as the
 * stack's installs), logging downloads and a heartbeat; unit tests are skipped unless `runTests`.
 * Returns the jar's path. Skipped when the jar is newer than its sources, unless `force`.
 */
export async function buildPeer(options: { force?: boolean; runTests?: boolean } = {}): Promise<string> {
  if (!options.force && peerJarIsFresh()) return PEER_JAR;
  const probe = spawnSync('mvn', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new TickflowError(
      'MAVEN_MISSING',
      'Maven (mvn) is not on PATH; the Kafka Streams peer is built with it',
      'install Maven (Debian: apt-get install maven), or skip the peer phase of the benchmark',
    );
  }
  const java = peerJava();
  const args = [
    '-B',
    '-C',
    '-f',
    path.join(PEER_DIR, 'pom.xml'),
    ...(options.runTests ? [] : ['-DskipTests']),
    'package',
  ];
  log.info(`Kafka Streams peer: building ${path.relative(REPO_ROOT, PEER_JAR)} (mvn ${args.join(' ')})`);
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const env = java.home ? { ...process.env, JAVA_HOME: java.home } : process.env;
    const child = spawn('mvn', args, { cwd: PEER_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    let downloaded = 0;
    const heartbeat = setInterval(() => {
      log.info(
        `Kafka Streams peer: still building (${Math.round((Date.now() - started) / 1000)} s, ${downloaded} files downloaded)`,
      );
    }, 10_000);
    const onLine = (line: string): void => {
      if (!line.trim()) return;
      tail.push(line);
      if (tail.length > 200) tail.shift();
      const done = /Downloaded from \S+: (\S+) \(([\d.]+) (kB|MB|B)/.exec(line);
      if (done) {
        downloaded += 1;
        if (done[3] === 'MB') log.info(`Kafka Streams peer: downloaded ${path.basename(done[1])} (${done[2]} MB)`);
      } else if (/Tests run: \d+, Failures/.test(line) && !line.includes(' -- in ')) {
        log.info(`Kafka Streams peer: ${line.replace(/^\[\w+\]\s*/, '')}`);
      }
    };
    readline.createInterface({ input: child.stdout }).on('line', onLine);
    readline.createInterface({ input: child.stderr }).on('line', onLine);
    child.on('error', (error) => {
      clearInterval(heartbeat);
      reject(error);
    });
    child.on('exit', (code) => {
      clearInterval(heartbeat);
      if (code === 0) {
        resolve();
        return;
      }
      const errors =
        tail
          .filter((l) => l.includes('ERROR'))
          .slice(0, 10)
          .join('\n') || tail.slice(-20).join('\n');
      reject(
        new TickflowError(
          'SETUP',
          `Kafka Streams peer: mvn package failed (exit ${code}):\n${errors}`,
          `run \`mvn -B -f ${path.relative(process.cwd(), path.join(PEER_DIR, 'pom.xml'))} package\` to see the whole output`,
        ),
      );
    });
  });
  log.info(
    `Kafka Streams peer: built in ${Math.round((Date.now() - started) / 1000)} s (${(fs.statSync(PEER_JAR).size / 1e6).toFixed(1)} MB)`,
  );
  return PEER_JAR;
}

/** What the peer is told; names follow its command-line options (ops/bench/peer/README.md). */
export interface PeerOptions {
  /** Raw records (RawRecord, Confluent wire format) holding Tardis trades lines. */
  input: string;
  tradesTopic: string;
  barsTopic: string;
  /** Default `<input>.dlq`. */
  dlqTopic?: string;
  bootstrapServers: string;
  /**
   * Kafka Streams application.id: use a fresh one per run (it names the group, transactional ids and internal topics).
   */
  applicationId: string;
  /** Confluent-API base URL of the registry; the ids of md.trades.v1-value and md.bars.v1-value are looked up once. */
  registryUrl?: string;
  tradesSubject?: string;
  barsSubject?: string;
  /** Known schema ids: with both, the peer makes no registry call. */
  tradesSchemaId?: number;
  barsSchemaId?: number;
  /** commit.interval.ms (peer default 100). */
  commitIntervalMs?: number;
  /** num.stream.threads (peer default 1). */
  threads?: number;
  processingGuarantee?: 'exactly_once_v2' | 'at_least_once';
  /** Window store of the bars: 'rocksdb' (peer default, Kafka Streams' own) or 'memory'. */
  store?: 'rocksdb' | 'memory';
  graceMs?: number;
  /** Stop once this many trades were written and read back by the bar stage. */
  stopAfterTrades?: number;
  /** Stop once nothing was processed for this long, counted from the first record. */
  idleStopSeconds?: number;
  progressMs?: number;
  /** Any other Kafka Streams, consumer or producer property. */
  config?: Record<string, string | number>;
  /** JVM heap (-Xmx), default 512 MiB. */
  heapMb?: number;
  /** More JVM flags (before -jar); none by default, so the JVM picks its defaults as a Kafka user's would. */
  jvmArgs?: string[];
  /** Default PEER_JAR (build it first with buildPeer). */
  jar?: string;
  /** Every JSON line the peer prints (started, progress, stopped, error, failed). */
  onEvent?: (event: PeerEvent) => void;
}

export interface PeerEvent {
  event: 'started' | 'progress' | 'stopped' | 'error' | 'failed';
  /** Wall-clock time of the line, ms since the epoch. */
  timeMs: number;
  [field: string]: unknown;
}

export interface PeerProcess {
  child: ChildProcess;
  /** The `started` line: Kafka Streams is RUNNING (assigned and restored). Rejects if the peer exits first. */
  started: Promise<PeerEvent>;
  /** The exit, with the `stopped` line when there was one. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stopped?: PeerEvent }>;
  /** SIGTERM (the peer closes Kafka Streams, committing, and exits 0); SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stopped?: PeerEvent }>;
}

/** The peer's command-line arguments for `options` (after `-jar JAR`). */
export function peerArgs(options: PeerOptions): string[] {
  const args = ['--input', options.input, '--trades-topic', options.tradesTopic, '--bars-topic', options.barsTopic];
  const add = (name: string, value: string | number | undefined): void => {
    if (value !== undefined) args.push(`--${name}`, String(value));
  };
  add('dlq-topic', options.dlqTopic);
  add('bootstrap-servers', options.bootstrapServers);
  add('application-id', options.applicationId);
  add('registry-url', options.registryUrl);
  add('trades-subject', options.tradesSubject);
  add('bars-subject', options.barsSubject);
  add('trades-schema-id', options.tradesSchemaId);
  add('bars-schema-id', options.barsSchemaId);
  add('commit-interval-ms', options.commitIntervalMs);
  add('threads', options.threads);
  add('processing-guarantee', options.processingGuarantee);
  add('store', options.store);
  add('grace-ms', options.graceMs);
  add('stop-after-trades', options.stopAfterTrades);
  add('idle-stop-s', options.idleStopSeconds);
  add('progress-ms', options.progressMs);
  for (const [key, value] of Object.entries(options.config ?? {})) args.push('--config', `${key}=${value}`);
  return args;
}

/**
 * Starts the peer: `java -Xmx512m -jar tickflow-peer.jar ...` with Java 17. Its stdout is JSON lines
 * (handed to `onEvent`), its stderr Kafka's warnings (logged at debug, the last lines kept for errors).
 */
export function startPeer(options: PeerOptions): PeerProcess {
  const jar = options.jar ?? PEER_JAR;
  if (!fs.existsSync(jar))
    throw new TickflowError(
      'SETUP',
      `the Kafka Streams peer's jar ${jar} does not exist`,
      'build it first (buildPeer in ops/bench/peer.ts)',
    );
  const java = peerJava();
  const argv = [`-Xmx${options.heapMb ?? 512}m`, ...(options.jvmArgs ?? []), '-jar', jar, ...peerArgs(options)];
  log.info(
    `Kafka Streams peer: starting (${options.applicationId}: ${options.input} -> ${options.tradesTopic}, ${options.barsTopic})`,
  );
  const child = spawn(java.bin, argv, { cwd: PEER_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderrTail: string[] = [];
  let stopped: PeerEvent | undefined;
  let onStarted: (event: PeerEvent) => void = () => undefined;
  let onNotStarted: (error: Error) => void = () => undefined;
  const started = new Promise<PeerEvent>((resolve, reject) => {
    onStarted = resolve;
    onNotStarted = reject;
  });
  // A caller that only awaits `exited` must not see an unhandled rejection.
  started.catch(() => undefined);
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    let event: PeerEvent;
    try {
      event = JSON.parse(line) as PeerEvent;
    } catch {
      log.debug(`peer stdout: ${line}`);
      return;
    }
    if (event.event === 'started') onStarted(event);
    if (event.event === 'stopped') stopped = event;
    if (event.event === 'error' || event.event === 'failed')
      log.warn(`Kafka Streams peer: ${event.event}: ${String(event.error)}`);
    options.onEvent?.(event);
  });
  readline.createInterface({ input: child.stderr }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 50) stderrTail.shift();
    log.debug(`peer: ${line}`);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stopped?: PeerEvent }>((resolve) => {
    child.on('error', (error) => {
      onNotStarted(error);
      resolve({ code: null, signal: null });
    });
    child.on('exit', (code, signal) => {
      onNotStarted(
        new TickflowError(
          'START_FAILED',
          `the Kafka Streams peer exited (code ${code}, signal ${signal}) before it started:\n${stderrTail.slice(-15).join('\n')}`,
          'see the peer lines above; check the topics exist and the registry has the schemas',
        ),
      );
      resolve({ code, signal, stopped });
    });
  });
  const stop = async (
    timeoutMs = 90_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; stopped?: PeerEvent }> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    }
    return exited;
  };
  return { child, started, exited, stop };
}
