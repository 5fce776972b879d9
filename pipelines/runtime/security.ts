import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { SASLOptions } from 'kafkajs';
import type { Setting, SettingName, Settings } from './settings';
import { endpoints, loadSettings, settingPath, warnOnce } from './settings';
import { TickflowError } from './errors';

/**
 * How tickflow reaches secured servers: Kafka over TLS and/or SASL, and the schema registry and
 * QuestDB over HTTP(S) with basic auth or a bearer token. Every setting comes from the environment
 * or the config file (see `loadSettings` in config.ts), never from a command line, and is checked
 * before use with an error that says what is wrong and how to fix it. Secrets never appear in
 * errors or logs; credentials are only ever sent to the server they were configured for.
 */

export const KAFKA_SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type KafkaSecurityProtocol = (typeof KAFKA_SECURITY_PROTOCOLS)[number];
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** TLS client settings, files already read and checked. */
export interface TlsClient {
  /** PEM certificates to trust instead of the system's; absent: the system's. */
  ca?: string[];
  caFile?: string;
  /** Client certificate (PEM, may hold its chain) and private key for mutual TLS. */
  cert?: string;
  certFile?: string;
  key?: string;
  keyFile?: string;
  passphrase?: string;
  /** Name checked against the server's certificate (and sent as SNI) instead of the host. */
  serverName?: string;
}

export interface KafkaSecurity {
  protocol: KafkaSecurityProtocol;
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
  /** Present exactly when the protocol is SSL or SASL_SSL. */
  tls?: TlsClient;
}

const KAFKA_SASL_SETTINGS: readonly SettingName[] = [
  'TICKFLOW_KAFKA_SASL_MECHANISM',
  'TICKFLOW_KAFKA_SASL_USERNAME',
  'TICKFLOW_KAFKA_SASL_PASSWORD',
];
const KAFKA_TLS_SETTINGS: readonly SettingName[] = [
  'TICKFLOW_KAFKA_SSL_CA_FILE',
  'TICKFLOW_KAFKA_SSL_CERT_FILE',
  'TICKFLOW_KAFKA_SSL_KEY_FILE',
  'TICKFLOW_KAFKA_SSL_KEY_PASSWORD',
  'TICKFLOW_KAFKA_SSL_SERVER_NAME',
];

/** Control characters break HTTP headers and the QuestDB config string; reported without the value. */
function checkPrintable(name: SettingName, setting: Setting): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(setting.value)) {
    throw new TickflowError(
      'CONFIG',
      `${name} (${setting.source}) contains a control character (a stray line break or tab?)`,
      `set ${name} to the value alone; a ${name}_FILE may end with a line break, nothing else`,
    );
  }
}

function readFileSetting(name: SettingName, setting: Setting): { file: string; text: string } {
  const file = settingPath(setting);
  try {
    return { file, text: fs.readFileSync(file, 'utf8') };
  } catch (error) {
    throw new TickflowError(
      'CONFIG',
      `${name}=${file} (${setting.source}) cannot be read: ${(error as Error).message}`,
      `point ${name} at a readable PEM file`,
    );
  }
}

/** Reads and checks a PEM file of certificates (a CA bundle, or a client certificate with its chain). */
export function readCertificates(
  name: SettingName,
  setting: Setting,
): { file: string; pems: string[]; certificates: crypto.X509Certificate[] } {
  const { file, text } = readFileSetting(name, setting);
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) {
    throw new TickflowError(
      'CONFIG',
      `${name}=${file} holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)`,
      'give a PEM file: convert DER with `openssl x509 -inform der -in FILE -out cert.pem`, or export from a Java ' +
        'truststore with `keytool -exportcert -rfc -alias ALIAS -keystore truststore.jks -file ca.pem`',
    );
  }
  const certificates = pems.map((pem, index) => {
    try {
      return new crypto.X509Certificate(pem);
    } catch (error) {
      throw new TickflowError(
        'CONFIG',
        `certificate ${index + 1} in ${name}=${file} is malformed: ${(error as Error).message}`,
        `replace ${file} with an intact copy of the PEM file`,
      );
    }
  });
  return { file, pems, certificates };
}

function readPrivateKey(
  setting: Setting,
  passphrase: string | undefined,
): { file: string; pem: string; key: crypto.KeyObject } {
  const name = 'TICKFLOW_KAFKA_SSL_KEY_FILE';
  const { file, text } = readFileSetting(name, setting);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new TickflowError(
      'CONFIG',
      `${name}=${file} holds no PEM private key (no -----BEGIN ... PRIVATE KEY----- line)`,
      'give the client key as PEM; from a PKCS12 keystore: ' +
        '`openssl pkcs12 -in client.p12 -nocerts -out client-key.pem`',
    );
  }
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text);
  try {
    if (encrypted && passphrase === undefined) {
      throw Object.assign(new Error('encrypted key'), { code: 'ERR_MISSING_PASSPHRASE' });
    }
    return { file, pem: text, key: crypto.createPrivateKey({ key: text, format: 'pem', passphrase }) };
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'ERR_MISSING_PASSPHRASE' || code === 'ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED') {
      throw new TickflowError(
        'CONFIG',
        `the private key in ${file} is encrypted and TICKFLOW_KAFKA_SSL_KEY_PASSWORD is not set`,
        'set TICKFLOW_KAFKA_SSL_KEY_PASSWORD (or TICKFLOW_KAFKA_SSL_KEY_PASSWORD_FILE) to its passphrase',
      );
    }
    if (passphrase !== undefined && /bad decrypt/i.test(message)) {
      throw new TickflowError(
        'CONFIG',
        `TICKFLOW_KAFKA_SSL_KEY_PASSWORD does not decrypt the private key in ${file}`,
        'set TICKFLOW_KAFKA_SSL_KEY_PASSWORD to the passphrase of that key',
      );
    }
    throw new TickflowError(
      'CONFIG',
      `the private key in ${file} cannot be loaded: ${message}`,
      `replace ${file} with the PEM private key that belongs to TICKFLOW_KAFKA_SSL_CERT_FILE`,
    );
  }
}

function parseProtocol(setting: Setting | undefined): KafkaSecurityProtocol {
  if (!setting) return 'PLAINTEXT';
  const value = setting.value.trim().toUpperCase();
  const match = KAFKA_SECURITY_PROTOCOLS.find((p) => p === value);
  if (match) return match;
  const hint = value === 'TLS' ? ' (Kafka calls TLS "SSL")' : value === 'SASL_TLS' ? ' (Kafka calls it SASL_SSL)' : '';
  throw new TickflowError(
    'CONFIG',
    `TICKFLOW_KAFKA_SECURITY_PROTOCOL is '${setting.value}' (${setting.source}), ` +
      `which is not a Kafka security protocol${hint}`,
    `set it to ${KAFKA_SECURITY_PROTOCOLS.join(', ')} (security.protocol in a Java client's config), ` +
      'or unset it for PLAINTEXT',
  );
}

function parseMechanism(setting: Setting | undefined, protocol: KafkaSecurityProtocol): SaslMechanism {
  if (!setting) {
    throw new TickflowError(
      'CONFIG',
      `TICKFLOW_KAFKA_SECURITY_PROTOCOL=${protocol} needs TICKFLOW_KAFKA_SASL_MECHANISM`,
      `set it to the mechanism the cluster enables: ${SASL_MECHANISMS.join(', ')}`,
    );
  }
  const value = setting.value.trim().toUpperCase();
  const match = SASL_MECHANISMS.find((m) => m === value);
  if (match) return match;
  const unsupported = /^(GSSAPI|OAUTHBEARER|AWS_MSK_IAM)$/.test(value)
    ? ` (${value} is not supported by tickflow)`
    : '';
  throw new TickflowError(
    'CONFIG',
    `TICKFLOW_KAFKA_SASL_MECHANISM is '${setting.value}' (${setting.source}), which tickflow cannot use${unsupported}`,
    `set it to one of ${SASL_MECHANISMS.join(', ')} (the broker's sasl.enabled.mechanisms must include it)`,
  );
}

/**
 * The Kafka security settings in effect, checked: a protocol, SASL credentials exactly when the
 * protocol is SASL_*, TLS files exactly when it is SSL or SASL_SSL (readable, PEM, key matching cert).
 */
export function kafkaSecurity(env: NodeJS.ProcessEnv = process.env): KafkaSecurity {
  const settings = loadSettings(env);
  const protocol = parseProtocol(settings.get('TICKFLOW_KAFKA_SECURITY_PROTOCOL'));
  const sasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
  const tls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const straySasl = sasl ? [] : KAFKA_SASL_SETTINGS.filter((n) => settings.get(n));
  if (straySasl.length > 0) {
    throw new TickflowError(
      'CONFIG',
      `${straySasl.join(', ')} ${straySasl.length > 1 ? 'are' : 'is'} set, ` +
        `but TICKFLOW_KAFKA_SECURITY_PROTOCOL is ${protocol}, so no SASL login would happen`,
      'set TICKFLOW_KAFKA_SECURITY_PROTOCOL=SASL_SSL (or SASL_PLAINTEXT) to log in, or unset the SASL settings',
    );
  }
  const strayTls = tls ? [] : KAFKA_TLS_SETTINGS.filter((n) => settings.get(n));
  if (strayTls.length > 0) {
    throw new TickflowError(
      'CONFIG',
      `${strayTls.join(', ')} ${strayTls.length > 1 ? 'are' : 'is'} set, ` +
        `but TICKFLOW_KAFKA_SECURITY_PROTOCOL is ${protocol}, which does not use TLS`,
      'set TICKFLOW_KAFKA_SECURITY_PROTOCOL=SSL (or SASL_SSL) to use TLS, or unset the TLS settings',
    );
  }
  if (protocol !== 'PLAINTEXT' && !settings.get('TICKFLOW_KAFKA_BROKERS')) {
    throw new TickflowError(
      'CONFIG',
      `TICKFLOW_KAFKA_SECURITY_PROTOCOL is ${protocol}, but TICKFLOW_KAFKA_BROKERS is not set ` +
        "(the local stack's Kafka is PLAINTEXT)",
      'set TICKFLOW_KAFKA_BROKERS to the secured cluster, or unset the Kafka security settings to use the local stack',
    );
  }
  const security: KafkaSecurity = { protocol };
  if (sasl) security.sasl = kafkaSasl(settings, protocol);
  if (tls) security.tls = kafkaTls(settings);
  return security;
}

function kafkaSasl(settings: Settings, protocol: KafkaSecurityProtocol): NonNullable<KafkaSecurity['sasl']> {
  const mechanism = parseMechanism(settings.get('TICKFLOW_KAFKA_SASL_MECHANISM'), protocol);
  const username = settings.get('TICKFLOW_KAFKA_SASL_USERNAME');
  const password = settings.get('TICKFLOW_KAFKA_SASL_PASSWORD');
  const missing = [
    username ? undefined : 'TICKFLOW_KAFKA_SASL_USERNAME',
    password ? undefined : 'TICKFLOW_KAFKA_SASL_PASSWORD',
  ].filter(Boolean);
  if (!username || !password) {
    throw new TickflowError(
      'CONFIG',
      `SASL ${mechanism} needs a user name and a password; ` +
        `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set`,
      'set them in the environment or the TICKFLOW_CONFIG_FILE (TICKFLOW_KAFKA_SASL_PASSWORD_FILE=/run/secrets/kafka ' +
        'reads the password from a file); never put a password on a command line',
    );
  }
  checkPrintable('TICKFLOW_KAFKA_SASL_USERNAME', username);
  checkPrintable('TICKFLOW_KAFKA_SASL_PASSWORD', password);
  if (mechanism === 'PLAIN' && protocol === 'SASL_PLAINTEXT') {
    warnOnce(
      'SASL PLAIN over SASL_PLAINTEXT sends the Kafka password unencrypted; ' +
        'use SASL_SSL (or SCRAM) outside a trusted network',
    );
  }
  return { mechanism, username: username.value, password: password.value };
}

function kafkaTls(settings: Settings): TlsClient {
  const result: TlsClient = {};
  const ca = settings.get('TICKFLOW_KAFKA_SSL_CA_FILE');
  if (ca) {
    const read = readCertificates('TICKFLOW_KAFKA_SSL_CA_FILE', ca);
    result.ca = read.pems;
    result.caFile = read.file;
  }
  const cert = settings.get('TICKFLOW_KAFKA_SSL_CERT_FILE');
  const key = settings.get('TICKFLOW_KAFKA_SSL_KEY_FILE');
  const passphrase = settings.get('TICKFLOW_KAFKA_SSL_KEY_PASSWORD');
  if (Boolean(cert) !== Boolean(key)) {
    const [set, unset] = cert ? ['CERT', 'KEY'] : ['KEY', 'CERT'];
    throw new TickflowError(
      'CONFIG',
      `TICKFLOW_KAFKA_SSL_${set}_FILE is set without TICKFLOW_KAFKA_SSL_${unset}_FILE`,
      'a client certificate (mutual TLS) needs both the certificate and its private key as PEM files; ' +
        'set both or neither',
    );
  }
  if (passphrase && !key) {
    throw new TickflowError(
      'CONFIG',
      'TICKFLOW_KAFKA_SSL_KEY_PASSWORD is set without TICKFLOW_KAFKA_SSL_KEY_FILE',
      'set TICKFLOW_KAFKA_SSL_KEY_FILE to the encrypted PEM key, or unset the password',
    );
  }
  if (cert && key) {
    const certificate = readCertificates('TICKFLOW_KAFKA_SSL_CERT_FILE', cert);
    const privateKey = readPrivateKey(key, passphrase?.value);
    const leaf = certificate.certificates[0];
    if (!leaf.checkPrivateKey(privateKey.key)) {
      throw new TickflowError(
        'CONFIG',
        `the private key in ${privateKey.file} does not belong to the certificate in ${certificate.file}`,
        'set TICKFLOW_KAFKA_SSL_KEY_FILE to the key the certificate was issued for ' +
          "(the first certificate in the file is the client's own)",
      );
    }
    if (Date.parse(leaf.validTo) < Date.now()) {
      throw new TickflowError(
        'CONFIG',
        `the client certificate in ${certificate.file} expired on ${leaf.validTo}`,
        "ask the cluster's administrator for a new client certificate",
      );
    }
    Object.assign(result, {
      cert: certificate.pems.join('\n'),
      certFile: certificate.file,
      key: privateKey.pem,
      keyFile: privateKey.file,
      passphrase: passphrase?.value,
    });
  }
  const serverName = settings.get('TICKFLOW_KAFKA_SSL_SERVER_NAME');
  if (serverName) {
    if (!/^[A-Za-z0-9.-]+$/.test(serverName.value)) {
      throw new TickflowError(
        'CONFIG',
        `TICKFLOW_KAFKA_SSL_SERVER_NAME is '${serverName.value}' (${serverName.source}), which is not a host name`,
        "set it to the DNS name in the brokers' certificates, e.g. kafka.example.com, or unset it",
      );
    }
    result.serverName = serverName.value;
  }
  return result;
}

/** The `ssl` and `sasl` options of kafkajs' `new Kafka(...)` for `security`. */
export function kafkaClientOptions(security: KafkaSecurity): { ssl?: tls.ConnectionOptions; sasl?: SASLOptions } {
  const options: { ssl?: tls.ConnectionOptions; sasl?: SASLOptions } = {};
  if (security.tls) {
    const t = security.tls;
    options.ssl = {
      ...(t.ca ? { ca: t.ca } : {}),
      ...(t.cert
        ? { cert: t.cert, key: t.key, ...(t.passphrase !== undefined ? { passphrase: t.passphrase } : {}) }
        : {}),
      ...(t.serverName ? { servername: t.serverName } : {}),
    };
  }
  if (security.sasl) {
    const { mechanism, username, password } = security.sasl;
    const lower = mechanism.toLowerCase() as 'plain' | 'scram-sha-256' | 'scram-sha-512';
    options.sasl = { mechanism: lower, username, password } as SASLOptions;
  }
  return options;
}

/** One line for logs: the protocol, mechanism, user and files; never a secret. */
export function describeKafkaSecurity(security: KafkaSecurity): string {
  const parts: string[] = [security.protocol];
  if (security.sasl) parts.push(`${security.sasl.mechanism} as user '${security.sasl.username}'`);
  if (security.tls) {
    parts.push(security.tls.caFile ? `trusting ${security.tls.caFile}` : 'trusting the system CAs');
    if (security.tls.certFile) parts.push(`client certificate ${security.tls.certFile}`);
    if (security.tls.serverName) parts.push(`server name ${security.tls.serverName}`);
  }
  return parts.join(', ');
}

export type HttpService = 'schemaRegistry' | 'questdb';

const HTTP_SERVICES: Record<HttpService, { label: string; prefix: 'TICKFLOW_SCHEMA_REGISTRY' | 'TICKFLOW_QUESTDB' }> = {
  schemaRegistry: { label: 'schema registry', prefix: 'TICKFLOW_SCHEMA_REGISTRY' },
  questdb: { label: 'QuestDB', prefix: 'TICKFLOW_QUESTDB' },
};

export type HttpAuth = { kind: 'basic'; username: string; password: string } | { kind: 'bearer'; token: string };

export interface HttpSecurity {
  service: HttpService;
  label: string;
  /** The configured base URL; credentials and the CA apply only to its origin. */
  url: string;
  auth?: HttpAuth;
  ca?: string[];
  caFile?: string;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '::1' || hostname === '[::1]' || hostname.startsWith('127.');
}

/**
 * The schema registry's or QuestDB's security settings, checked: basic auth (user name and
 * password) or a bearer token, not both; a CA file only for an https URL; none of it for the
 * local stack, which needs none.
 */
export function httpSecurity(service: HttpService, env: NodeJS.ProcessEnv = process.env): HttpSecurity {
  const { label, prefix } = HTTP_SERVICES[service];
  const settings = loadSettings(env);
  const urlName = `${prefix}_URL` as SettingName;
  const names = {
    username: `${prefix}_USERNAME`,
    password: `${prefix}_PASSWORD`,
    token: `${prefix}_TOKEN`,
    ca: `${prefix}_CA_FILE`,
  } as const;
  const username = settings.get(names.username);
  const password = settings.get(names.password);
  const token = settings.get(names.token);
  const ca = settings.get(names.ca);
  const where = endpoints(env);
  const url = service === 'schemaRegistry' ? where.schemaRegistryUrl : where.questdbUrl;
  const security: HttpSecurity = { service, label, url };
  const given: string[] = [];
  if (username) given.push(names.username);
  if (password) given.push(names.password);
  if (token) given.push(names.token);
  if (ca) given.push(names.ca);
  if (given.length === 0) return security;
  if (!settings.get(urlName)) {
    throw new TickflowError(
      'CONFIG',
      `${given.join(', ')} ${given.length > 1 ? 'are' : 'is'} set, ` +
        `but ${urlName} is not (the local stack's ${label} needs no credentials)`,
      `set ${urlName} to the secured ${label}, or unset ${given.join(', ')} to use the local stack`,
    );
  }
  if (token && (username || password)) {
    throw new TickflowError(
      'CONFIG',
      `both ${names.token} and ${username ? names.username : names.password} are set`,
      `use either a bearer token (${names.token}) or basic auth (${names.username} and ${names.password}), not both`,
    );
  }
  if (Boolean(username) !== Boolean(password)) {
    const [set, unset] = username ? [names.username, names.password] : [names.password, names.username];
    throw new TickflowError(
      'CONFIG',
      `${set} is set without ${unset}`,
      `basic auth needs both ${names.username} and ${names.password} (or ${names.password}_FILE)`,
    );
  }
  const target = new URL(url);
  if (username && password) {
    checkPrintable(names.username, username);
    checkPrintable(names.password, password);
    if (username.value.includes(':')) {
      throw new TickflowError(
        'CONFIG',
        `${names.username} (${username.source}) contains ':', which basic auth cannot carry`,
        'use the user name without a colon (or a bearer token)',
      );
    }
    security.auth = { kind: 'basic', username: username.value, password: password.value };
  } else if (token) {
    checkPrintable(names.token, token);
    security.auth = { kind: 'bearer', token: token.value };
  }
  if (ca) {
    if (target.protocol !== 'https:') {
      throw new TickflowError(
        'CONFIG',
        `${names.ca} is set, but ${urlName} (${target.origin}) is not https`,
        `use an https:// URL for ${urlName}, or unset ${names.ca}`,
      );
    }
    const read = readCertificates(names.ca, ca);
    security.ca = read.pems;
    security.caFile = read.file;
  }
  if (security.auth && target.protocol === 'http:' && !isLoopback(target.hostname)) {
    warnOnce(`${label} credentials go to ${target.origin} over plain http; use https outside a trusted network`);
  }
  return security;
}

/** True when `url` is on the configured server, so its credentials and CA may be used for it. */
function sameOrigin(security: HttpSecurity, url: string): boolean {
  try {
    return new URL(url).origin === new URL(security.url).origin;
  } catch {
    return false;
  }
}

export function authorizationHeader(auth: HttpAuth): string {
  return auth.kind === 'bearer'
    ? `Bearer ${auth.token}`
    : `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}

type RegistryClientArgs = ConstructorParameters<typeof SchemaRegistry>[0];
type RegistryMiddleware = NonNullable<RegistryClientArgs['middlewares']>[number];

/** The options of @kafkajs/confluent-schema-registry's client that carry its security. */
export type SchemaRegistrySecurityOptions = Pick<RegistryClientArgs, 'auth' | 'agent' | 'middlewares'>;

/**
 * Extra constructor options for `new SchemaRegistry({ host, clientId, ...these })` (client 3.9.0):
 * `auth` (basic), a middleware adding `Authorization: Bearer` (token), and an https `agent` that
 * trusts TICKFLOW_SCHEMA_REGISTRY_CA_FILE. Empty when `host` is not the configured registry.
 */
export function schemaRegistryClientOptions(
  host: string = endpoints().schemaRegistryUrl,
  env: NodeJS.ProcessEnv = process.env,
): SchemaRegistrySecurityOptions {
  const security = httpSecurity('schemaRegistry', env);
  if (!sameOrigin(security, host)) return {};
  const options: SchemaRegistrySecurityOptions = {};
  const auth = security.auth;
  if (auth?.kind === 'basic') options.auth = { username: auth.username, password: auth.password };
  if (auth?.kind === 'bearer') {
    const bearer: RegistryMiddleware = () => ({
      async prepareRequest(next) {
        const request = await next();
        return request.enhance({ headers: { authorization: `Bearer ${auth.token}` } });
      },
    });
    options.middlewares = [bearer];
  }
  if (security.ca) options.agent = httpsAgent(security.ca);
  return options;
}

/** QuestDB's config-string escaping: a ';' inside a value is written ';;'. */
function configValue(value: string): string {
  return value.replace(/;/g, ';;');
}

/**
 * The suffix to append to a @questdb/nodejs-client 4.2.0 `Sender.fromConfig` string for
 * `baseUrl`: `;username=..;password=..` or `;token=..`, and `;tls_ca=<file>`; '' when none apply.
 */
export function questdbSenderConfig(
  baseUrl: string = endpoints().questdbUrl,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const security = httpSecurity('questdb', env);
  if (!sameOrigin(security, baseUrl)) return '';
  const parts: string[] = [];
  if (security.auth?.kind === 'basic')
    parts.push(`username=${configValue(security.auth.username)}`, `password=${configValue(security.auth.password)}`);
  if (security.auth?.kind === 'bearer') parts.push(`token=${configValue(security.auth.token)}`);
  if (security.caFile) parts.push(`tls_ca=${configValue(security.caFile)}`);
  return parts.map((p) => `;${p}`).join('');
}

const agents = new Map<string, https.Agent>();

/** One keep-alive agent per CA bundle, so repeated requests reuse their TLS connections. */
function httpsAgent(ca: string[]): https.Agent {
  const key = ca.join('\n');
  let agent = agents.get(key);
  if (!agent) {
    agent = new https.Agent({ ca, keepAlive: true });
    agents.set(key, agent);
  }
  return agent;
}

export interface ServiceRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  signal?: AbortSignal;
}

const TLS_TRUST_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_UNTRUSTED',
  'UNABLE_TO_GET_ISSUER_CERT',
]);

/**
 * An HTTP(S) request to the schema registry or QuestDB with their credentials and CA (only when
 * `url` is on the configured server). Answers like fetch; a failure is an Error whose message says
 * what failed, with the setting to fix for TLS trust problems.
 */
export function serviceFetch(security: HttpSecurity, url: string, init: ServiceRequest = {}): Promise<Response> {
  const target = new URL(url);
  const trusted = sameOrigin(security, url);
  const headers: Record<string, string> = { ...init.headers };
  if (trusted && security.auth) headers.Authorization = authorizationHeader(security.auth);
  if (init.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(init.body));
  const secure = target.protocol === 'https:';
  const agent = secure ? (trusted && security.ca ? httpsAgent(security.ca) : https.globalAgent) : http.globalAgent;
  const send = secure ? https.request : http.request;
  const method = init.method ?? 'GET';
  return new Promise<Response>((resolve, reject) => {
    const fail = (error: Error): void => {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      const prefix = HTTP_SERVICES[security.service].prefix;
      if (TLS_TRUST_CODES.has(code)) {
        reject(
          new Error(
            `${error.message}: ${target.origin} presents a certificate this machine does not trust; ` +
              `set ${prefix}_CA_FILE to the PEM file of the CA that signed it`,
          ),
        );
      } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
        reject(new Error(`${error.message}: use the host name the certificate was issued for in ${prefix}_URL`));
      } else reject(error);
    };
    const request = send(target, { method, headers, agent, signal: init.signal }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', fail);
      // A connection cut (or a timeout) after the headers ends the body without 'end'.
      response.on('close', () => {
        if (!response.complete) fail(new Error(`${target.origin} closed the connection mid-answer`));
      });
      response.on('end', () => {
        const status = response.statusCode ?? 500;
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(response.headers)) {
          if (value === undefined) continue;
          for (const item of Array.isArray(value) ? value : [value]) responseHeaders.append(name, item);
        }
        const empty = status === 204 || status === 205 || status === 304 || method === 'HEAD';
        try {
          resolve(
            new Response(empty ? null : Buffer.concat(chunks), {
              status,
              statusText: response.statusMessage ?? '',
              headers: responseHeaders,
            }),
          );
        } catch (error) {
          reject(
            new Error(`${target.origin} answered with an unusable HTTP status ${status}: ${(error as Error).message}`),
          );
        }
      });
    });
    request.on('error', fail);
    if (init.body !== undefined) request.write(init.body);
    request.end();
  });
}

/** `text` with every configured secret replaced by ***, for messages built from foreign errors. */
export function redactSecrets(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let secrets: string[];
  try {
    secrets = loadSettings(env).secrets();
  } catch {
    return text;
  }
  let result = text;
  for (const secret of secrets.sort((a, b) => b.length - a.length)) {
    if (secret.length >= 4) result = result.split(secret).join('***');
  }
  return result;
}
