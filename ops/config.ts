import fs from 'node:fs';
import path from 'node:path';
import { TickflowError } from './errors';

/**
 * Where tickflow finds its servers. Each address comes from its environment variable when set
 * (an existing server, left alone by `stack up`), otherwise from the local stack's fixed ports.
 */
export interface Endpoints {
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  questdbUrl: string;
  /** True for each component that an environment variable points at an existing server. */
  external: { kafka: boolean; schemaRegistry: boolean; questdb: boolean };
}

/** The repository root, whether this runs compiled (dist/ops) or from source under ts-jest (ops). */
export const REPO_ROOT = path.basename(path.resolve(__dirname, '..')) === 'dist' ? path.resolve(__dirname, '..', '..') : path.resolve(__dirname, '..');

/** The one directory that holds the local stack's downloads, data, logs and pid files. */
export function tickflowHome(): string {
  return path.resolve(process.env.TICKFLOW_HOME ?? path.join(REPO_ROOT, '.tickflow'));
}

export const LOCAL_PORTS = {
  /** Broker port of node i (1-based) is kafkaBroker + 2 * (i - 1); its controller port is one above. */
  kafkaBroker: 9092,
  questdbHttp: 9000,
  questdbMin: 9003,
  questdbPg: 8812,
  questdbIlpTcp: 9009,
  registryHttp: 8081,
  registryManagement: 8091,
} as const;

function parseUrl(name: string, value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    return value.replace(/\/+$/, '');
  } catch {
    throw new TickflowError('CONFIG', `${name}='${value}' is not an http(s) URL`, `set ${name} to a URL such as http://127.0.0.1:9000, or unset it to use the local stack`);
  }
}

function parseBrokers(value: string): string[] {
  const brokers = value.split(',').map((b) => b.trim()).filter(Boolean);
  for (const broker of brokers) {
    if (!/^[^\s:]+:\d+$/.test(broker)) {
      throw new TickflowError('CONFIG', `TICKFLOW_KAFKA_BROKERS has '${broker}', which is not host:port`, 'set TICKFLOW_KAFKA_BROKERS to comma-separated host:port pairs such as 127.0.0.1:9092,127.0.0.1:9094');
    }
  }
  if (brokers.length === 0) throw new TickflowError('CONFIG', 'TICKFLOW_KAFKA_BROKERS is empty', 'unset it to use the local stack, or list host:port pairs');
  return brokers;
}

/**
 * Broker port of local Kafka node 1 (`TICKFLOW_KAFKA_PORT`, default 9092); node i listens on
 * base + 2(i - 1) and its controller one above. A second local cluster (fault tests) uses another base.
 */
export function kafkaBasePort(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.TICKFLOW_KAFKA_PORT;
  if (!text) return LOCAL_PORTS.kafkaBroker;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1024 || port > 65000) throw new TickflowError('CONFIG', `TICKFLOW_KAFKA_PORT='${text}' is not a port between 1024 and 65000`, 'unset it to use 9092, or set e.g. TICKFLOW_KAFKA_PORT=19092');
  return port;
}

export function localBrokerAddresses(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.0.1:${kafkaBasePort() + 2 * i}`);
}

/** Broker count of the local stack as `stack up` recorded it (1 when it has not run). */
export function localBrokerCount(): number {
  try {
    const state = JSON.parse(fs.readFileSync(path.join(tickflowHome(), 'stack.json'), 'utf8')) as { brokers?: number };
    return state.brokers === 3 ? 3 : 1;
  } catch {
    return 1;
  }
}

export function endpoints(env: NodeJS.ProcessEnv = process.env): Endpoints {
  const kafka = env.TICKFLOW_KAFKA_BROKERS;
  const registry = env.TICKFLOW_SCHEMA_REGISTRY_URL;
  const questdb = env.TICKFLOW_QUESTDB_URL;
  return {
    kafkaBrokers: kafka ? parseBrokers(kafka) : localBrokerAddresses(localBrokerCount()),
    schemaRegistryUrl: registry ? parseUrl('TICKFLOW_SCHEMA_REGISTRY_URL', registry) : `http://127.0.0.1:${LOCAL_PORTS.registryHttp}/apis/ccompat/v7`,
    questdbUrl: questdb ? parseUrl('TICKFLOW_QUESTDB_URL', questdb) : `http://127.0.0.1:${LOCAL_PORTS.questdbHttp}`,
    external: { kafka: Boolean(kafka), schemaRegistry: Boolean(registry), questdb: Boolean(questdb) },
  };
}
