import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LOCAL_PORTS, endpoints, tickflowHome } from '../../pipelines/runtime/settings';
import { TickflowError } from '../../pipelines/runtime/errors';
import { logger } from '../../pipelines/runtime/log';
import type * as KafkaModule from '../../pipelines/runtime/kafka';
import type { HttpSecurity } from '../../pipelines/runtime/security';
import { httpSecurity, kafkaSecurity, serviceFetch } from '../../pipelines/runtime/security';
import { installArtifacts } from './artifacts';
import { findJava } from './java';
import type { ManagedProcess } from './processes';
import { isAlive, runningPid, sleep, startDetached, stopProcess, tail } from './processes';
import type { ServerSpec } from './servers';
import { kafkaFormatArgs, kafkaNodePorts, kafkaSpec, questdbSpec, registrySpec } from './servers';
import { MIN_JAVA, VERSIONS } from './versions';
import { portInUse } from '../../pipelines/runtime/net';

const log = logger('stack');

export type BrokerCount = 1 | 3;

interface StackState {
  brokers: BrokerCount;
  clusterId: string;
  versions: typeof VERSIONS;
}

export interface StackPaths {
  home: string;
  state: string;
  run: string;
  logs: string;
  data: string;
}

export function stackPaths(home = tickflowHome()): StackPaths {
  return {
    home,
    state: path.join(home, 'stack.json'),
    run: path.join(home, 'run'),
    logs: path.join(home, 'logs'),
    data: path.join(home, 'data'),
  };
}

function managed(paths: StackPaths, name: string): ManagedProcess {
  return { name, pidFile: path.join(paths.run, `${name}.pid`), logFile: path.join(paths.logs, `${name}.log`) };
}

function readState(paths: StackPaths): StackState | undefined {
  try {
    return JSON.parse(fs.readFileSync(paths.state, 'utf8')) as StackState;
  } catch {
    return undefined;
  }
}

/** Kafka cluster ids are 16 random bytes in URL-safe base64; Kafka never issues one starting with '-'. */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

const ALL_NODES = [1, 2, 3];

/** Status of GET `url` (with the credentials and CA of `security`, for an external server); undefined: no answer. */
async function httpStatus(url: string, security?: HttpSecurity, timeoutMs = 2000): Promise<number | undefined> {
  try {
    const request = { signal: AbortSignal.timeout(timeoutMs) };
    const response = security ? await serviceFetch(security, url, request) : await fetch(url, request);
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}

async function ready(spec: ServerSpec, since: number): Promise<boolean> {
  if (spec.name.startsWith('kafka-')) {
    const node = Number(spec.name.slice('kafka-'.length));
    if (!(await portInUse(kafkaNodePorts(node).broker))) return false;
    if (since < 0) return true;
    const text = fs.readFileSync(path.join(stackPaths().logs, `${spec.name}.log`), 'utf8').slice(since);
    return text.includes('Kafka Server started');
  }
  if (spec.name === 'questdb') return (await httpStatus(`http://127.0.0.1:${LOCAL_PORTS.questdbHttp}/ping`)) === 204;
  return (
    (await httpStatus(`http://127.0.0.1:${LOCAL_PORTS.registryHttp}/apis/ccompat/v7/subjects`)) === 200 &&
    (await httpStatus(`http://127.0.0.1:${LOCAL_PORTS.registryManagement}/health/ready`)) === 200
  );
}

async function waitReady(
  spec: ServerSpec,
  proc: ManagedProcess,
  pid: number,
  since: number,
  timeoutMs: number,
): Promise<void> {
  const started = Date.now();
  let lastNotice = started;
  while (Date.now() - started < timeoutMs) {
    if (await ready(spec, since)) {
      log.info(`${spec.label} ready at ${spec.address} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      return;
    }
    if (!isAlive(pid)) {
      fs.rmSync(proc.pidFile, { force: true });
      throw new TickflowError(
        'START_FAILED',
        `${spec.label} exited during start-up. Last lines of ${proc.logFile}:\n${tail(proc.logFile, 25)}`,
        `read ${proc.logFile}; if the data is damaged, \`tickflow stack down --purge\` starts afresh`,
      );
    }
    if (Date.now() - lastNotice > 10_000) {
      lastNotice = Date.now();
      log.info(`waiting for ${spec.label} (${Math.round((Date.now() - started) / 1000)} s)`);
    }
    await sleep(250);
  }
  throw new TickflowError(
    'START_FAILED',
    `${spec.label} did not become ready within ${timeoutMs / 1000} s. Last lines of ${proc.logFile}:\n${tail(proc.logFile, 25)}`,
    `read ${proc.logFile}; the machine may be overloaded, try \`tickflow stack up\` again`,
  );
}

export interface UpOptions {
  /** Kafka nodes; default: as the existing local cluster was created, else 1. */
  brokers?: BrokerCount;
  timeoutMs?: number;
}

export interface UpResult {
  started: string[];
  alreadyRunning: string[];
  external: string[];
}

/**
 * Starts every local server that is not running and not pointed elsewhere by an environment
 * variable, then waits until each one answers. Idempotent: running servers are left as they are.
 */
export async function stackUp(options: UpOptions): Promise<UpResult> {
  const paths = stackPaths();
  const env = endpoints();
  const result: UpResult = { started: [], alreadyRunning: [], external: [] };
  const want = { kafka: !env.external.kafka, questdb: !env.external.questdb, registry: !env.external.schemaRegistry };
  if (env.external.kafka) result.external.push(`Kafka (TICKFLOW_KAFKA_BROKERS=${env.kafkaBrokers.join(',')})`);
  if (env.external.questdb) result.external.push(`QuestDB (TICKFLOW_QUESTDB_URL=${env.questdbUrl})`);
  if (env.external.schemaRegistry)
    result.external.push(`schema registry (TICKFLOW_SCHEMA_REGISTRY_URL=${env.schemaRegistryUrl})`);

  const previous = readState(paths);
  const brokers: BrokerCount = options.brokers ?? previous?.brokers ?? 1;
  if (want.kafka && previous && previous.brokers !== brokers) {
    const running = ALL_NODES.filter((n) => runningPid(managed(paths, `kafka-${n}`)) !== undefined);
    throw new TickflowError(
      'STACK_MISMATCH',
      `the local Kafka was created with ${previous.brokers} broker(s)${running.length ? ' and is running' : ''}; --brokers ${brokers} needs a new cluster`,
      `run \`tickflow stack down --purge\` (deletes local data), then \`tickflow stack up --brokers ${brokers}\``,
    );
  }

  const javaKafka = want.kafka
    ? findJava(MIN_JAVA.kafka, `Kafka ${VERSIONS.kafka}`, 'point TICKFLOW_KAFKA_BROKERS at an existing Kafka')
    : undefined;
  const javaQuestdb = want.questdb
    ? findJava(MIN_JAVA.questdb, `QuestDB ${VERSIONS.questdb}`, 'point TICKFLOW_QUESTDB_URL at an existing QuestDB')
    : undefined;
  const javaRegistry = want.registry
    ? findJava(
        MIN_JAVA.registry,
        `Apicurio Registry ${VERSIONS.apicurio}`,
        'point TICKFLOW_SCHEMA_REGISTRY_URL at an existing Confluent-compatible registry',
      )
    : undefined;

  const installed = await installArtifacts(paths.home, want);
  const state: StackState = previous ?? { brokers, clusterId: newClusterId(), versions: VERSIONS };
  state.brokers = brokers;
  state.versions = VERSIONS;
  fs.mkdirSync(paths.home, { recursive: true });
  fs.writeFileSync(paths.state, `${JSON.stringify(state, null, 2)}\n`);

  const specs: ServerSpec[] = [];
  if (javaKafka) {
    const heap = brokers === 1 ? 1024 : 512;
    for (let node = 1; node <= brokers; node++)
      specs.push(kafkaSpec(node, brokers, paths.home, installed.kafkaClasspath, javaKafka, heap));
  }
  if (javaQuestdb) specs.push(questdbSpec(paths.home, installed.questdbJar, javaQuestdb));
  if (javaRegistry) specs.push(registrySpec(paths.home, installed.apicurioDir, javaRegistry));

  // Check every port before starting anything, so a clash leaves nothing half started.
  const toStart: ServerSpec[] = [];
  const waits: Promise<void>[] = [];
  for (const spec of specs) {
    const proc = managed(paths, spec.name);
    const pid = runningPid(proc);
    if (pid !== undefined) {
      result.alreadyRunning.push(spec.label);
      waits.push(waitReady(spec, proc, pid, -1, options.timeoutMs ?? 120_000));
      continue;
    }
    for (const { port, role } of spec.ports) {
      if (await portInUse(port)) {
        throw new TickflowError(
          'PORT_TAKEN',
          `port ${port} (${role}) is already taken by a process that tickflow did not start`,
          `stop that process (see: ss -ltnp 'sport = :${port}'), or, if it is a server you want tickflow to use, set ${spec.externalVariable} so that \`stack up\` leaves it alone`,
        );
      }
    }
    toStart.push(spec);
  }
  for (const spec of toStart) {
    const proc = managed(paths, spec.name);
    const args = spec.prepare();
    if (spec.name.startsWith('kafka-')) {
      const properties = path.join(paths.home, 'config', `${spec.name}.properties`);
      const format = spawnSync(spec.java.bin, kafkaFormatArgs(installed.kafkaClasspath, state.clusterId, properties), {
        encoding: 'utf8',
      });
      if (format.status !== 0) {
        throw new TickflowError(
          'START_FAILED',
          `formatting the storage of ${spec.label} failed:\n${format.stdout}\n${format.stderr}`,
          'run `tickflow stack down --purge` and try again',
        );
      }
    }
    const since = fs.existsSync(proc.logFile) ? fs.statSync(proc.logFile).size : 0;
    const started = startDetached(proc, spec.java.bin, [`-Dtickflow.component=${spec.name}`, ...args], paths.home);
    log.info(`starting ${spec.label} (pid ${started}, Java ${spec.java.major}, log ${proc.logFile})`);
    result.started.push(spec.label);
    waits.push(waitReady(spec, proc, started, since, options.timeoutMs ?? 120_000));
  }
  const outcomes = await Promise.allSettled(waits);
  const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failure) throw failure.reason;
  await checkExternal(env);
  return result;
}

/** A refused login is a configuration error, not an unreachable server: say which settings to fix. */
function refused(url: string, status: number | undefined, security: HttpSecurity): TickflowError | undefined {
  if (status !== 401 && status !== 403) return undefined;
  const prefix = security.service === 'questdb' ? 'TICKFLOW_QUESTDB' : 'TICKFLOW_SCHEMA_REGISTRY';
  const credentials = `${prefix}_USERNAME and ${prefix}_PASSWORD, or ${prefix}_TOKEN`;
  const fix = security.auth ? `check ${credentials}` : `set ${credentials} (each also as <NAME>_FILE)`;
  return new TickflowError('CONFIG', `${prefix}_URL: ${url} refused tickflow (${status})`, fix);
}

async function checkExternal(env: ReturnType<typeof endpoints>): Promise<void> {
  if (env.external.questdb) {
    const security = httpSecurity('questdb');
    const status = await httpStatus(`${env.questdbUrl}/ping`, security);
    const login = refused(`${env.questdbUrl}/ping`, status, security);
    if (login) throw login;
    if (status !== 204) {
      throw new TickflowError(
        'NOT_REACHABLE',
        `TICKFLOW_QUESTDB_URL=${env.questdbUrl} does not answer GET /ping`,
        'start that QuestDB, fix the URL, or unset TICKFLOW_QUESTDB_URL to use the local stack',
      );
    }
  }
  if (env.external.schemaRegistry) {
    const security = httpSecurity('schemaRegistry');
    const status = await httpStatus(`${env.schemaRegistryUrl}/subjects`, security);
    const login = refused(`${env.schemaRegistryUrl}/subjects`, status, security);
    if (login) throw login;
    if (status !== 200) {
      throw new TickflowError(
        'NOT_REACHABLE',
        `TICKFLOW_SCHEMA_REGISTRY_URL=${env.schemaRegistryUrl} does not answer GET /subjects`,
        'start that registry, fix the URL (Apicurio: .../apis/ccompat/v7), or unset the variable for the local stack',
      );
    }
  }
  if (env.external.kafka) {
    const [host, port] = env.kafkaBrokers[0].split(':');
    if (!(await portInUse(Number(port), host))) {
      throw new TickflowError(
        'NOT_REACHABLE',
        `TICKFLOW_KAFKA_BROKERS=${env.kafkaBrokers.join(',')}: nothing listens on ${env.kafkaBrokers[0]}`,
        'start that Kafka, fix the list, or unset TICKFLOW_KAFKA_BROKERS to use the local stack',
      );
    }
    if (kafkaSecurity().protocol !== 'PLAINTEXT') {
      // Loaded only here: pipelines/runtime/kafka.ts insists on the patched kafkajs, which `stack up` itself does not
      // need.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { ensureKafkaReachable } = require('../../pipelines/runtime/kafka') as typeof KafkaModule;
      await ensureKafkaReachable(env.kafkaBrokers);
    }
  }
}

const STOP_ORDER = ['registry', 'questdb', 'kafka-3', 'kafka-2', 'kafka-1'];

export async function stackDown(options: { purge: boolean }): Promise<string[]> {
  const paths = stackPaths();
  const stopped: string[] = [];
  await Promise.all(
    STOP_ORDER.map(async (name) => {
      const proc = managed(paths, name);
      const pid = runningPid(proc);
      if (pid === undefined) return;
      log.info(`stopping ${name} (pid ${pid})`);
      if (await stopProcess(proc, 30_000)) stopped.push(name);
    }),
  );
  if (options.purge) {
    for (const dir of [paths.data, paths.logs, paths.run, path.join(paths.home, 'config')])
      fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(paths.state, { force: true });
    log.info(`purged data and logs under ${paths.home} (downloads in ${path.join(paths.home, 'lib')} kept)`);
  }
  return stopped;
}

export interface ComponentStatus {
  component: string;
  state: 'running' | 'stopped' | 'external' | 'unreachable';
  address: string;
  pid?: number;
  detail?: string;
}

export async function stackStatus(): Promise<ComponentStatus[]> {
  const paths = stackPaths();
  const env = endpoints();
  const state = readState(paths);
  const rows: ComponentStatus[] = [];
  if (env.external.kafka) {
    const [host, port] = env.kafkaBrokers[0].split(':');
    rows.push({
      component: 'kafka',
      state: (await portInUse(Number(port), host)) ? 'external' : 'unreachable',
      address: env.kafkaBrokers.join(','),
      detail: 'TICKFLOW_KAFKA_BROKERS',
    });
  } else {
    for (let node = 1; node <= (state?.brokers ?? 1); node++) {
      const pid = runningPid(managed(paths, `kafka-${node}`));
      const port = kafkaNodePorts(node).broker;
      const up = pid !== undefined && (await portInUse(port));
      rows.push({
        component: `kafka-${node}`,
        state: up ? 'running' : pid ? 'unreachable' : 'stopped',
        address: `127.0.0.1:${port}`,
        pid,
        detail: `Kafka ${VERSIONS.kafka}`,
      });
    }
  }
  if (env.external.questdb) {
    const ping = await httpStatus(`${env.questdbUrl}/ping`, httpSecurity('questdb'));
    const state = ping === 204 ? 'external' : 'unreachable';
    rows.push({ component: 'questdb', state, address: env.questdbUrl, detail: 'TICKFLOW_QUESTDB_URL' });
  } else {
    const pid = runningPid(managed(paths, 'questdb'));
    const up = pid !== undefined && (await httpStatus(`${env.questdbUrl}/ping`)) === 204;
    rows.push({
      component: 'questdb',
      state: up ? 'running' : pid ? 'unreachable' : 'stopped',
      address: `${env.questdbUrl} (console), pg 127.0.0.1:8812`,
      pid,
      detail: `QuestDB ${VERSIONS.questdb}`,
    });
  }
  if (env.external.schemaRegistry) {
    const subjects = await httpStatus(`${env.schemaRegistryUrl}/subjects`, httpSecurity('schemaRegistry'));
    const state = subjects === 200 ? 'external' : 'unreachable';
    rows.push({ component: 'registry', state, address: env.schemaRegistryUrl, detail: 'TICKFLOW_SCHEMA_REGISTRY_URL' });
  } else {
    const pid = runningPid(managed(paths, 'registry'));
    const up = pid !== undefined && (await httpStatus(`${env.schemaRegistryUrl}/subjects`)) === 200;
    rows.push({
      component: 'registry',
      state: up ? 'running' : pid ? 'unreachable' : 'stopped',
      address: env.schemaRegistryUrl,
      pid,
      detail: `Apicurio Registry ${VERSIONS.apicurio}`,
    });
  }
  return rows;
}

export function logFiles(component?: string): { name: string; file: string }[] {
  const paths = stackPaths();
  const names = ['kafka-1', 'kafka-2', 'kafka-3', 'questdb', 'registry'].filter(
    (n) => !component || n === component || (component === 'kafka' && n.startsWith('kafka-')),
  );
  if (component && names.length === 0) {
    throw new TickflowError(
      'USAGE',
      `no component '${component}'`,
      'use one of kafka, kafka-1, kafka-2, kafka-3, questdb, registry',
    );
  }
  return names.map((name) => ({ name, file: managed(paths, name).logFile })).filter((l) => fs.existsSync(l.file));
}

/** Stops one local server (kafka-N, questdb, registry); `stackUp` starts it again. For fault tests. */
export async function stopComponent(name: string, graceMs = 30_000): Promise<boolean> {
  if (!STOP_ORDER.includes(name))
    throw new TickflowError('USAGE', `no component '${name}'`, `use one of ${STOP_ORDER.join(', ')}`);
  return stopProcess(managed(stackPaths(), name), graceMs);
}
