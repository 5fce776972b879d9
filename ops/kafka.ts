import { Kafka, logLevel as KafkaLogLevel } from 'kafkajs';
import type { ISocketFactory, LogEntry } from 'kafkajs';
import net from 'node:net';
import tls from 'node:tls';
import { endpoints } from './config';
import { TickflowError } from './errors';
import { portInUse } from './stack/processes';
import { logger, logLevel } from './log';

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
  const RequestQueue = require('kafkajs/src/network/requestQueue') as { prototype: RequestQueueShape & { __tickflowPatched?: boolean } };
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
    throw new TickflowError('SETUP', 'the installed kafkajs is not patched (it can lose messages when a broker fails)', 'run `node ops/bin/patch-deps.cjs` (npm ci and npm start/test do it)');
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
    const levels: Record<string, KafkaLogLevel> = { nothing: KafkaLogLevel.NOTHING, error: KafkaLogLevel.ERROR, warn: KafkaLogLevel.WARN, info: KafkaLogLevel.INFO, debug: KafkaLogLevel.DEBUG };
    const level = levels[override.toLowerCase()];
    if (level === undefined) throw new TickflowError('CONFIG', `TICKFLOW_KAFKAJS_LOG_LEVEL is '${override}'`, `set it to one of ${Object.keys(levels).join(', ')}, or unset it`);
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
    if (message.startsWith('Response ') || message.includes('while another concurrent operation on the same transaction')) {
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
 * one back for tens of milliseconds per round trip.
 */
const socketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...ssl }, onConnect) : net.connect({ host, port, noDelay: true }, onConnect);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 60_000);
  return socket;
};

export function createKafka(clientId: string, brokers: string[] = endpoints().kafkaBrokers): Kafka {
  return new Kafka({
    clientId,
    brokers,
    socketFactory,
    logLevel: kafkajsLevel(),
    logCreator,
    connectionTimeout: 5000,
    requestTimeout: 30000,
    retry: { initialRetryTime: 200, retries: 10, maxRetryTime: 10000 },
  });
}

/**
 * Fails fast, with the fix, when no broker answers: kafkajs would otherwise retry for about a
 * minute and end with a bare connection error.
 */
export async function ensureKafkaReachable(brokers: string[] = endpoints().kafkaBrokers): Promise<void> {
  for (const broker of brokers) {
    const [host, port] = broker.split(':');
    if (await portInUse(Number(port), host, 2000)) return;
  }
  throw new TickflowError(
    'NOT_REACHABLE',
    `no Kafka broker answers at ${brokers.join(', ')}`,
    process.env.TICKFLOW_KAFKA_BROKERS ? 'start that Kafka or fix TICKFLOW_KAFKA_BROKERS' : 'run `npx tickflow stack up` (or `npm start`), or set TICKFLOW_KAFKA_BROKERS to a running cluster',
  );
}
