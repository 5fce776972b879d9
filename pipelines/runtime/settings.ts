import fs from 'node:fs';
import path from 'node:path';
import { TickflowError } from './errors';
import { logger } from './log';

/**
 * Where tickflow finds its servers. Each address comes from its environment variable (or the config
 * file, see `loadSettings`) when set (an existing server, left alone by `stack up`), otherwise from
 * the local stack's fixed ports.
 */
export interface Endpoints {
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  questdbUrl: string;
  /** True for each component that a setting points at an existing server. */
  external: { kafka: boolean; schemaRegistry: boolean; questdb: boolean };
}

/** The repository root, from the source tree (pipelines/runtime) or from its compiled copy (dist/pipelines/runtime). */
export const REPO_ROOT =
  path.basename(path.resolve(__dirname, '..', '..')) === 'dist'
    ? path.resolve(__dirname, '..', '..', '..')
    : path.resolve(__dirname, '..', '..');

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

/**
 * Settings that may come from the environment or from the config file named by TICKFLOW_CONFIG_FILE
 * (KEY=VALUE lines; the environment wins). Everything else tickflow reads only from the environment.
 */
export const FILE_SETTINGS = [
  'TICKFLOW_KAFKA_BROKERS',
  'TICKFLOW_SCHEMA_REGISTRY_URL',
  'TICKFLOW_QUESTDB_URL',
  'TICKFLOW_KAFKA_SECURITY_PROTOCOL',
  'TICKFLOW_KAFKA_SASL_MECHANISM',
  'TICKFLOW_KAFKA_SASL_USERNAME',
  'TICKFLOW_KAFKA_SASL_PASSWORD',
  'TICKFLOW_KAFKA_SSL_CA_FILE',
  'TICKFLOW_KAFKA_SSL_CERT_FILE',
  'TICKFLOW_KAFKA_SSL_KEY_FILE',
  'TICKFLOW_KAFKA_SSL_KEY_PASSWORD',
  'TICKFLOW_KAFKA_SSL_SERVER_NAME',
  'TICKFLOW_SCHEMA_REGISTRY_USERNAME',
  'TICKFLOW_SCHEMA_REGISTRY_PASSWORD',
  'TICKFLOW_SCHEMA_REGISTRY_TOKEN',
  'TICKFLOW_SCHEMA_REGISTRY_CA_FILE',
  'TICKFLOW_QUESTDB_USERNAME',
  'TICKFLOW_QUESTDB_PASSWORD',
  'TICKFLOW_QUESTDB_TOKEN',
  'TICKFLOW_QUESTDB_CA_FILE',
  'ALPHAVANTAGE_API_KEY',
  'ALPACA_API_KEY_ID',
  'ALPACA_API_SECRET_KEY',
  'TICKFLOW_CONSOLE_TOKEN',
] as const;
export type SettingName = (typeof FILE_SETTINGS)[number];

/** Secrets: never printed, never taken from a command line; each may also be given as `<NAME>_FILE`. */
export const SECRET_SETTINGS: ReadonlySet<SettingName> = new Set<SettingName>([
  'TICKFLOW_KAFKA_SASL_PASSWORD',
  'TICKFLOW_KAFKA_SSL_KEY_PASSWORD',
  'TICKFLOW_SCHEMA_REGISTRY_PASSWORD',
  'TICKFLOW_SCHEMA_REGISTRY_TOKEN',
  'TICKFLOW_QUESTDB_PASSWORD',
  'TICKFLOW_QUESTDB_TOKEN',
  'ALPHAVANTAGE_API_KEY',
  'ALPACA_API_KEY_ID',
  'ALPACA_API_SECRET_KEY',
  'TICKFLOW_CONSOLE_TOKEN',
]);

/** Settings that may also come from a file named by `<NAME>_FILE` (Docker and Kubernetes secrets). */
const FROM_FILE: ReadonlySet<SettingName> = new Set<SettingName>([
  ...SECRET_SETTINGS,
  'TICKFLOW_KAFKA_SASL_USERNAME',
  'TICKFLOW_SCHEMA_REGISTRY_USERNAME',
  'TICKFLOW_QUESTDB_USERNAME',
]);

/** A setting's value and where it came from; `source` names a variable or file, never the value. */
export interface Setting {
  value: string;
  source: string;
  /** Directory a relative path in `value` is relative to: the config file's for values from it. */
  baseDir?: string;
}

/** A setting that names a file, as an absolute path. */
export function settingPath(setting: Setting): string {
  return path.resolve(setting.baseDir ?? process.cwd(), setting.value);
}

export interface Settings {
  get(name: SettingName): Setting | undefined;
  /** Values of every secret that is set, for redaction. */
  secrets(): string[];
}

const configLog = logger('config');
const warned = new Set<string>();

/** Logs a configuration warning once per process. */
export function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  configLog.warn(message);
}

interface FileEntry {
  value: string;
  line: number;
}

/**
 * Parses the config file: `KEY=VALUE` per line, `#` starts a comment line, blank lines are
 * ignored, the value is everything after the first `=` (surrounding whitespace trimmed, one pair
 * of matching quotes removed, no escapes). Errors name the line, never its content, which may be a secret.
 */
export function parseConfigFile(text: string, file: string): Map<string, FileEntry> {
  const entries = new Map<string, FileEntry>();
  const known: readonly string[] = [...FILE_SETTINGS, ...[...FROM_FILE].map((n) => `${n}_FILE`)];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const content = raw.trim();
    if (!content || content.startsWith('#')) return;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(content);
    if (!match) {
      throw new TickflowError(
        'CONFIG',
        `line ${line} of ${file} is not KEY=VALUE`,
        "write one setting per line, e.g. TICKFLOW_KAFKA_SECURITY_PROTOCOL=SASL_SSL ('#' starts a comment)",
      );
    }
    const [, key, rawValue] = match;
    if (!known.includes(key)) {
      throw new TickflowError(
        'CONFIG',
        `line ${line} of ${file} sets ${key}, which tickflow does not read from a config file`,
        `fix the name; the file may set ${FILE_SETTINGS.join(', ')}, and <NAME>_FILE for the secrets and ` +
          'user names (other settings come from the environment only)',
      );
    }
    const previous = entries.get(key);
    if (previous) {
      const lines = `lines ${previous.line} and ${line}`;
      throw new TickflowError('CONFIG', `${file} sets ${key} twice (${lines})`, 'keep one of the two lines');
    }
    let value = rawValue.trim();
    const quoted = value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0]);
    if (quoted) value = value.slice(1, -1);
    entries.set(key, { value, line });
  });
  return entries;
}

function readConfigFile(file: string): Map<string, FileEntry> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new TickflowError(
      'CONFIG',
      `TICKFLOW_CONFIG_FILE=${file} cannot be read: ${(error as Error).message}`,
      'point TICKFLOW_CONFIG_FILE at a readable file of KEY=VALUE lines, or unset it',
    );
  }
  const entries = parseConfigFile(text, file);
  const holdsSecret = [...entries.keys()].some((key) => SECRET_SETTINGS.has(key as SettingName));
  try {
    const mode = fs.statSync(file).mode;
    if (holdsSecret && (mode & 0o077) !== 0) {
      const octal = (mode & 0o777).toString(8);
      warnOnce(`config file ${file} holds secrets and is readable by other users (mode ${octal}); chmod 600 ${file}`);
    }
  } catch {
    /* read above; a race with deletion is not worth a second error */
  }
  return entries;
}

/** Reads a `<NAME>_FILE` secret: the file's content without trailing line breaks (as `echo` and editors leave them). */
function readSecretFile(variable: string, file: string, origin: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new TickflowError(
      'CONFIG',
      `${variable}=${file} (${origin}) cannot be read: ${(error as Error).message}`,
      `make ${file} readable by this user, or fix ${variable}`,
    );
  }
  const value = text.replace(/[\r\n]+$/, '');
  if (!value) {
    const fix = `write the value into ${file}, or unset ${variable}`;
    throw new TickflowError('CONFIG', `${variable}=${file} (${origin}) names an empty file`, fix);
  }
  return value;
}

/**
 * The settings in effect: each from its environment variable, else `<NAME>_FILE` in the
 * environment, else the config file named by TICKFLOW_CONFIG_FILE (`NAME`, then `NAME_FILE`).
 * Read afresh on every call (cheap), so rotated secret files and test environments are seen.
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const configFile = env.TICKFLOW_CONFIG_FILE ? path.resolve(env.TICKFLOW_CONFIG_FILE) : undefined;
  const file = configFile ? readConfigFile(configFile) : new Map<string, FileEntry>();
  const resolved = new Map<SettingName, Setting | undefined>();
  const fromConfigFile = (name: SettingName, configFile: string): Setting | undefined => {
    const fileVariable = `${name}_FILE`;
    const direct = file.get(name);
    const indirect = FROM_FILE.has(name) ? file.get(fileVariable) : undefined;
    if (direct && indirect) {
      throw new TickflowError(
        'CONFIG',
        `${configFile} sets both ${name} (line ${direct.line}) and ${fileVariable} (line ${indirect.line})`,
        'keep one of the two lines',
      );
    }
    const baseDir = path.dirname(configFile);
    if (direct && direct.value) {
      return { value: direct.value, source: `${name} in ${configFile} line ${direct.line}`, baseDir };
    }
    if (indirect && indirect.value) {
      const target = path.resolve(baseDir, indirect.value);
      const value = readSecretFile(fileVariable, target, `${configFile} line ${indirect.line}`);
      return { value, source: `${fileVariable}=${target} in ${configFile}` };
    }
    return undefined;
  };
  const get = (name: SettingName): Setting | undefined => {
    if (resolved.has(name)) return resolved.get(name);
    const fileVariable = `${name}_FILE`;
    const viaFile = FROM_FILE.has(name);
    let setting: Setting | undefined;
    if (viaFile && env[name] && env[fileVariable]) {
      throw new TickflowError(
        'CONFIG',
        `both ${name} and ${fileVariable} are set`,
        `set only one of them (${fileVariable} names a file holding the value)`,
      );
    }
    if (env[name]) setting = { value: env[name] as string, source: `environment variable ${name}` };
    else if (viaFile && env[fileVariable]) {
      const target = env[fileVariable] as string;
      setting = { value: readSecretFile(fileVariable, target, 'environment'), source: `${fileVariable}=${target}` };
    } else if (configFile) setting = fromConfigFile(name, configFile);
    resolved.set(name, setting);
    return setting;
  };
  return {
    get,
    secrets: () => [...SECRET_SETTINGS].map((name) => get(name)?.value).filter((v): v is string => Boolean(v)),
  };
}

/** A URL for messages: any user name or password in it is masked. */
export function displayUrl(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}

function parseUrl(name: string, setting: Setting): string {
  const { value, source } = setting;
  let url: URL;
  try {
    url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new TickflowError(
      'CONFIG',
      `${name}='${displayUrl(value)}' (${source}) is not an http(s) URL`,
      `set ${name} to a URL such as http://127.0.0.1:9000, or unset it to use the local stack`,
    );
  }
  if (url.username || url.password) {
    const prefix = name.replace(/_URL$/, '');
    throw new TickflowError(
      'CONFIG',
      `${name}='${displayUrl(value)}' (${source}) carries credentials, which would end up in logs`,
      `remove them from the URL and set ${prefix}_USERNAME and ${prefix}_PASSWORD (or ${prefix}_TOKEN) instead`,
    );
  }
  return value.replace(/\/+$/, '');
}

function parseBrokers(value: string): string[] {
  const brokers = value
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  for (const broker of brokers) {
    if (!/^[^\s:]+:\d+$/.test(broker)) {
      throw new TickflowError(
        'CONFIG',
        `TICKFLOW_KAFKA_BROKERS has '${broker}', which is not host:port`,
        'set TICKFLOW_KAFKA_BROKERS to comma-separated host:port pairs such as 127.0.0.1:9092,127.0.0.1:9094',
      );
    }
  }
  if (brokers.length === 0)
    throw new TickflowError(
      'CONFIG',
      'TICKFLOW_KAFKA_BROKERS is empty',
      'unset it to use the local stack, or list host:port pairs',
    );
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
  if (!Number.isInteger(port) || port < 1024 || port > 65000)
    throw new TickflowError(
      'CONFIG',
      `TICKFLOW_KAFKA_PORT='${text}' is not a port between 1024 and 65000`,
      'unset it to use 9092, or set e.g. TICKFLOW_KAFKA_PORT=19092',
    );
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
  const settings = loadSettings(env);
  const kafka = settings.get('TICKFLOW_KAFKA_BROKERS');
  const registry = settings.get('TICKFLOW_SCHEMA_REGISTRY_URL');
  const questdb = settings.get('TICKFLOW_QUESTDB_URL');
  return {
    kafkaBrokers: kafka ? parseBrokers(kafka.value) : localBrokerAddresses(localBrokerCount()),
    schemaRegistryUrl: registry
      ? parseUrl('TICKFLOW_SCHEMA_REGISTRY_URL', registry)
      : `http://127.0.0.1:${LOCAL_PORTS.registryHttp}/apis/ccompat/v7`,
    questdbUrl: questdb ? parseUrl('TICKFLOW_QUESTDB_URL', questdb) : `http://127.0.0.1:${LOCAL_PORTS.questdbHttp}`,
    external: { kafka: Boolean(kafka), schemaRegistry: Boolean(registry), questdb: Boolean(questdb) },
  };
}
