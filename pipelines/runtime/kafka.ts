import { Kafka, logLevel as KafkaLogLevel } from 'kafkajs';
import type { ISocketFactory, LogEntry } from 'kafkajs';
import net from 'node:net';
import tls from 'node:tls';
import { endpoints } from './settings';
import { TickflowError } from './errors';
import type { KafkaSecurity } from './security';
import { describeKafkaSecurity, kafkaClientOptions, kafkaSecurity, redactSecrets } from './security';
import { logger, logLevel } from './log';
import { portInUse } from './net';

// tickflow always uses kafkajs' default (Java-compatible murmur2) partitioner; the v2 notice is noise.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

/**
 * kafkajs 2.2.4 re-arms its pending-request check on every connection every millisecond even when
 * nothing is pending and nothing is throttled (tulios/kafkajs#1556): an idle pipeline burned ~77% of
 * a core here. The check is only needed while requests wait, so skip arming it otherwise.
 * Measured by `tickflow bench idle`.
 */
interface RequestQueueShape {
  pending: unknown[];
  throttledUntil: number;
  scheduleCheckPendingRequests(): void;
}
function patchIdleSpin(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RequestQueue = require('kafkajs/src/network/requestQueue') as {
    prototype: RequestQueueShape & { __tickflowPatched?: boolean };
  };
  const proto = RequestQueue.prototype;
  if (proto.__tickflowPatched) return;
  const original = proto.scheduleCheckPendingRequests;
  proto.scheduleCheckPendingRequests = function (this: RequestQueueShape): void {
    if (this.pending.length === 0 && !(this.throttledUntil > Date.now())) return;
    original.call(this);
  };
  proto.__tickflowPatched = true;
}
patchIdleSpin();

/**
 * kafkajs 2.2.4 loses messages when partition leadership moves during a send (tulios/kafkajs#1303);
 * ops/patches/kafkajs/sendMessages.js fixes it and is installed by `npm ci` (postinstall). Refuse to
 * run with an unpatched client rather than lose data on the next broker failure.
 */
function ensureSendPatched(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sendMessages = require('kafkajs/src/producer/sendMessages') as { TICKFLOW_PATCHED?: string };
  if (!sendMessages.TICKFLOW_PATCHED) {
    throw new TickflowError(
      'SETUP',
      'the installed kafkajs is not patched (it can lose messages when a broker fails)',
      'run `node ops/bin/patch-deps.cjs` (npm ci and npm start/test do it)',
    );
  }
}
ensureSendPatched();

const kafkaLog = logger('kafkajs');

/**
 * kafkajs' own level follows tickflow's (one step quieter: its INFO is chatty). For troubleshooting
 * the client itself, TICKFLOW_KAFKAJS_LOG_LEVEL=debug logs every request and response.
 */
function kafkajsLevel(): KafkaLogLevel {
  const override = process.env.TICKFLOW_KAFKAJS_LOG_LEVEL;
  if (override) {
    const levels: Record<string, KafkaLogLevel> = {
      nothing: KafkaLogLevel.NOTHING,
      error: KafkaLogLevel.ERROR,
      warn: KafkaLogLevel.WARN,
      info: KafkaLogLevel.INFO,
      debug: KafkaLogLevel.DEBUG,
    };
    const level = levels[override.toLowerCase()];
    if (level === undefined)
      throw new TickflowError(
        'CONFIG',
        `TICKFLOW_KAFKAJS_LOG_LEVEL is '${override}'`,
        `set it to one of ${Object.keys(levels).join(', ')}, or unset it`,
      );
    return level;
  }
  switch (logLevel()) {
    case 'debug':
      return KafkaLogLevel.INFO;
    case 'silent':
      return KafkaLogLevel.NOTHING;
    case 'error':
      return KafkaLogLevel.ERROR;
    default:
      return KafkaLogLevel.WARN;
  }
}

/** kafkajs logs through tickflow's logger; it is chatty at INFO, so that needs --log-level debug. */
function logCreator() {
  return ({ level, log }: LogEntry): void => {
    const { message, ...fields } = log;
    // Known, accepted: tickflow bounds producer retries and handles failure by aborting the transaction.
    if (message.startsWith('Limiting retries for the idempotent producer')) return;
    // Per-request error responses (coordinator loading, leader moved, ...) are retried by kafkajs;
    // the call fails, and is reported, only if the retries run out.
    // CONCURRENT_TRANSACTIONS: the previous commit's markers are still being written; retried
    // within milliseconds on every busy partition, so not worth an ERROR line each time.
    if (
      message.startsWith('Response ') ||
      message.includes('while another concurrent operation on the same transaction')
    ) {
      kafkaLog.debug(message, fields);
      return;
    }
    delete (fields as Record<string, unknown>).timestamp;
    delete (fields as Record<string, unknown>).logger;
    if (level <= KafkaLogLevel.ERROR) kafkaLog.error(message, fields);
    else if (level === KafkaLogLevel.WARN) kafkaLog.warn(message, fields);
    else kafkaLog.debug(message, fields);
  };
}

/**
 * kafkajs' socket factory without Nagle's algorithm: Kafka requests are small and pipelined on one
 * connection (fetch, produce, heartbeat, transaction calls), and Nagle plus delayed ACKs can hold
 * one back for tens of milliseconds per round trip. With TLS, `ssl` (see `kafkaClientOptions`)
 * carries the CA, the client certificate and key, and may override the server name; by default
 * the server name is the broker's host name (none is sent for an IP address, which the
 * certificate must then list).
 */
const socketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
    : net.connect({ host, port, noDelay: true }, onConnect);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 60_000);
  return socket;
};

const described = new Set<string>();

/**
 * A kafkajs client for `brokers`, secured as the settings say (TLS, SASL; see pipelines/runtime/security.ts).
 * Throws a CONFIG error, before any connection, when those settings are wrong.
 */
export function createKafka(clientId: string, brokers: string[] = endpoints().kafkaBrokers): Kafka {
  const security = kafkaSecurity();
  if (security.protocol !== 'PLAINTEXT') {
    const description = `Kafka at ${brokers.join(',')}: ${describeKafkaSecurity(security)}`;
    if (!described.has(description)) {
      described.add(description);
      kafkaLog.info(description);
    }
  }
  return new Kafka({
    clientId,
    brokers,
    socketFactory,
    ...kafkaClientOptions(security),
    logLevel: kafkajsLevel(),
    logCreator,
    connectionTimeout: 5000,
    authenticationTimeout: 10000,
    requestTimeout: 30000,
    retry: { initialRetryTime: 200, retries: 10, maxRetryTime: 10000 },
  });
}

/**
 * Fails fast, with the fix, when no broker answers or (with TLS or SASL) when the first broker that
 * answers refuses the handshake or the login: kafkajs would otherwise retry for about a minute and
 * end with a bare connection error.
 */
export async function ensureKafkaReachable(brokers: string[] = endpoints().kafkaBrokers): Promise<void> {
  const security = kafkaSecurity();
  let reachable: string | undefined;
  for (const broker of brokers) {
    const [host, port] = broker.split(':');
    if (await portInUse(Number(port), host, 2000)) {
      reachable = broker;
      break;
    }
  }
  if (!reachable) {
    throw new TickflowError(
      'NOT_REACHABLE',
      `no Kafka broker answers at ${brokers.join(', ')}`,
      endpoints().external.kafka
        ? 'start that Kafka or fix TICKFLOW_KAFKA_BROKERS'
        : 'run `npx tickflow stack up` (or `npm start`), or set TICKFLOW_KAFKA_BROKERS to a running cluster',
    );
  }
  if (security.protocol !== 'PLAINTEXT') await checkKafkaLogin(reachable, security);
}

/** Connects once, without retries, through the TLS handshake and the SASL login. */
async function checkKafkaLogin(broker: string, security: KafkaSecurity): Promise<void> {
  const probe = new Kafka({
    clientId: 'tickflow-login-check',
    brokers: [broker],
    socketFactory,
    ...kafkaClientOptions(security),
    logLevel: KafkaLogLevel.NOTHING,
    connectionTimeout: 5000,
    authenticationTimeout: 10000,
    requestTimeout: 10000,
    retry: { retries: 0 },
  });
  const admin = probe.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
  } catch (error) {
    throw explainKafkaError(error, broker, security);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

interface KafkajsErrorShape {
  name?: string;
  message?: string;
  code?: unknown;
  type?: string;
  cause?: unknown;
}

function errorChain(error: unknown): KafkajsErrorShape[] {
  const chain: KafkajsErrorShape[] = [];
  let current = error as KafkajsErrorShape | undefined;
  while (current && typeof current === 'object' && chain.length < 10 && !chain.includes(current)) {
    chain.push(current);
    current = current.cause as KafkajsErrorShape | undefined;
  }
  return chain;
}

const UNTRUSTED_CERTIFICATE = [
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_UNTRUSTED',
  'UNABLE_TO_GET_ISSUER_CERT',
];

/**
 * A kafkajs connection or login failure as a TickflowError that says which setting to fix:
 * rejected credentials, an unsupported mechanism, an untrusted or misnamed certificate, or a
 * listener that speaks another protocol. Never includes a secret.
 */
// A list of cases, one message each: splitting it would only scatter the table.
// eslint-disable-next-line max-lines-per-function
export function explainKafkaError(
  error: unknown,
  broker: string,
  security: KafkaSecurity = kafkaSecurity(),
): TickflowError {
  const chain = errorChain(error);
  const detail = redactSecrets(chain.map((e) => e.message).find(Boolean) ?? String(error));
  const auth = chain.find(
    (e) => e.name === 'KafkaJSSASLAuthenticationError' || e.type === 'SASL_AUTHENTICATION_FAILED',
  );
  const sasl = security.sasl;
  if (auth && sasl) {
    const unsupported = chain.some((e) => e.type === 'UNSUPPORTED_SASL_MECHANISM');
    if (unsupported || /mechanism is not supported/i.test(auth.message ?? '')) {
      return new TickflowError(
        'CONFIG',
        `Kafka at ${broker} does not offer SASL ${sasl.mechanism} on this listener`,
        "set TICKFLOW_KAFKA_SASL_MECHANISM to one the listener enables (the broker's sasl.enabled.mechanisms), " +
          'or use the listener meant for it',
      );
    }
    return new TickflowError(
      'CONFIG',
      `Kafka at ${broker} rejected the SASL ${sasl.mechanism} login of user '${sasl.username}': ${detail}`,
      'check TICKFLOW_KAFKA_SASL_USERNAME and TICKFLOW_KAFKA_SASL_PASSWORD (or ..._PASSWORD_FILE), and that the ' +
        `user has ${sasl.mechanism} credentials on the cluster (kafka-configs --alter --entity-type users ` +
        `--entity-name ${sasl.username} --add-config '${sasl.mechanism}=[password=...]')`,
    );
  }
  const codes = chain.map((e) => (typeof e.code === 'string' ? e.code : '')).filter(Boolean);
  if (codes.some((c) => UNTRUSTED_CERTIFICATE.includes(c))) {
    const now = security.tls?.caFile ? ` (now ${security.tls.caFile})` : '';
    return new TickflowError(
      'CONFIG',
      `Kafka at ${broker} presents a TLS certificate this machine does not trust (${detail})`,
      `set TICKFLOW_KAFKA_SSL_CA_FILE to the PEM file of the CA that signed the brokers' certificates${now}`,
    );
  }
  if (codes.includes('ERR_TLS_CERT_ALTNAME_INVALID')) {
    return new TickflowError(
      'CONFIG',
      `the TLS certificate of Kafka at ${broker} is not issued for that name (${detail})`,
      'list the brokers by the names in their certificates in TICKFLOW_KAFKA_BROKERS, ' +
        'or set TICKFLOW_KAFKA_SSL_SERVER_NAME to one of those names',
    );
  }
  if (codes.includes('CERT_HAS_EXPIRED') || codes.includes('CERT_NOT_YET_VALID')) {
    return new TickflowError(
      'CONFIG',
      `the TLS certificate of Kafka at ${broker} is not valid now (${detail})`,
      "renew the broker certificate, or check this machine's clock",
    );
  }
  const evidence = `${chain.map((e) => e.message ?? '').join(' | ')} ${codes.join(' ')}`;
  const tlsMismatch = /wrong version number|packet length too long|unknown protocol|EPROTO/i.test(evidence);
  const closed = /closed connection|connection closed|socket disconnected|hang up|ECONNRESET|EPIPE/i.test(evidence);
  const silent = /timeout|timed out/i.test(evidence);
  if (tlsMismatch || closed || silent) {
    const what = tlsMismatch
      ? 'did not complete a TLS handshake'
      : closed
        ? 'closed the connection during the handshake'
        : 'did not answer the handshake in time';
    const clientCertificate =
      security.tls && !security.tls.certFile
        ? '; a listener with ssl.client.auth=required also needs TICKFLOW_KAFKA_SSL_CERT_FILE and _KEY_FILE'
        : '';
    return new TickflowError(
      'NOT_REACHABLE',
      `Kafka at ${broker} ${what} (${detail}); tickflow uses ${security.protocol} (${security.tls ? 'TLS' : 'no TLS'})`,
      `set TICKFLOW_KAFKA_SECURITY_PROTOCOL to the protocol of the listener at ${broker} ` +
        "(PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL), or list that protocol's listener in " +
        `TICKFLOW_KAFKA_BROKERS${clientCertificate}`,
    );
  }
  return new TickflowError(
    'NOT_REACHABLE',
    `connecting to Kafka at ${broker} with ${describeKafkaSecurity(security)} failed: ${detail}`,
    "check TICKFLOW_KAFKA_BROKERS and the Kafka security settings against the cluster's listener",
  );
}
