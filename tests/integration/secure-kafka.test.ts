import fs from 'node:fs';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { TickflowError } from '../../pipelines/runtime/errors';
import { createKafka, ensureKafkaReachable } from '../../pipelines/runtime/kafka';
import { readableLog } from '../../pipelines/runtime/log';
import { unique } from '../support/helpers';
import type { SecureBroker } from '../support/secure-broker';
import { startSecureBroker } from '../support/secure-broker';

/**
 * tickflow against a secured Kafka: a dedicated single-node KRaft broker (tests/support/secure-broker.ts,
 * ports 29092-29097, not the shared stack) with SCRAM-SHA-256 and SCRAM-SHA-512 over SASL_PLAINTEXT
 * and SASL_SSL, TLS, and mutual TLS. tickflow's own `createKafka` is configured only through
 * environment variables (and once through TICKFLOW_CONFIG_FILE); through each listener it creates a
 * topic, produces, commits one transaction and aborts another, and a read_committed consumer sees
 * exactly the committed records. Wrong credentials and an untrusted certificate fail within seconds
 * with tickflow's error naming the setting to fix, and no secret reaches an error or a log line.
 */
const SETTINGS = /^(TICKFLOW_(KAFKA|SCHEMA_REGISTRY|QUESTDB)_|TICKFLOW_CONFIG_FILE$)/;

describe('secure Kafka: SCRAM, TLS and mutual TLS through createKafka configured by the environment', () => {
  const saved = { ...process.env };
  let broker: SecureBroker;

  /** The process environment as the test started, minus any tickflow server settings, plus `vars`. */
  function useEnvironment(vars: Record<string, string>): void {
    const base = Object.fromEntries(Object.entries(saved).filter(([key]) => !SETTINGS.test(key)));
    process.env = { ...base, ...vars };
  }

  function secretFile(name: string, value: string): string {
    const file = path.join(broker.dir, name);
    fs.writeFileSync(file, `${value}\n`, { mode: 0o600 });
    return file;
  }

  beforeAll(async () => {
    broker = await startSecureBroker();
  }, 120_000);

  afterAll(async () => {
    process.env = { ...saved };
    await broker?.stop();
  }, 60_000);

  /** Topic, plain produce, a committed and an aborted transaction, a read_committed consumer: what it read. */
  async function roundTrip(label: string): Promise<string[]> {
    await ensureKafkaReachable();
    const kafka: Kafka = createKafka(`secure-test-${label}`);
    const topic = unique(`secure.${label}.`);
    const admin = kafka.admin();
    const producer = kafka.producer();
    const transactional = kafka.producer({
      transactionalId: unique(`secure-tx-${label}-`),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    const consumer = kafka.consumer({ groupId: unique(`secure-group-${label}-`), readUncommitted: false });
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'k', value: 'plain' }] });
      await transactional.connect();
      const committed = await transactional.transaction();
      await committed.send({ topic, messages: [{ key: 'k', value: 'committed' }] });
      await committed.commit();
      const aborted = await transactional.transaction();
      await aborted.send({ topic, messages: [{ key: 'k', value: 'aborted' }] });
      await aborted.abort();
      await producer.send({ topic, messages: [{ key: 'k', value: 'end' }] });
      const seen: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${label}: read ${JSON.stringify(seen)} within 20 s, expected up to "end"`)),
          20_000,
        );
        consumer
          .run({
            eachMessage: async ({ message }) => {
              seen.push(String(message.value));
              if (String(message.value) === 'end') {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch((error: Error) => {
            clearTimeout(timer);
            reject(error);
          });
      });
      return seen;
    } finally {
      await consumer.disconnect().catch(() => undefined);
      await transactional.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
  }

  const EXPECTED = ['plain', 'committed', 'end'];

  it('SCRAM-SHA-256 over SASL_PLAINTEXT (password from TICKFLOW_KAFKA_SASL_PASSWORD_FILE)', async () => {
    const user = broker.users.sha256;
    useEnvironment({
      TICKFLOW_KAFKA_BROKERS: broker.address('saslPlaintext'),
      TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
      TICKFLOW_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256',
      TICKFLOW_KAFKA_SASL_USERNAME: user.username,
      TICKFLOW_KAFKA_SASL_PASSWORD_FILE: secretFile('sha256-password', user.password),
    });
    expect(await roundTrip('scram256')).toEqual(EXPECTED);
  }, 60_000);

  it('SCRAM-SHA-512 over SASL_PLAINTEXT', async () => {
    const user = broker.users.sha512;
    useEnvironment({
      TICKFLOW_KAFKA_BROKERS: broker.address('saslPlaintext'),
      TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
      TICKFLOW_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      TICKFLOW_KAFKA_SASL_USERNAME: user.username,
      TICKFLOW_KAFKA_SASL_PASSWORD: user.password,
    });
    expect(await roundTrip('scram512')).toEqual(EXPECTED);
  }, 60_000);

  it('TLS, trusting the CA from TICKFLOW_KAFKA_SSL_CA_FILE', async () => {
    useEnvironment({
      TICKFLOW_KAFKA_BROKERS: broker.address('ssl'),
      TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'SSL',
      TICKFLOW_KAFKA_SSL_CA_FILE: broker.caFile,
    });
    expect(await roundTrip('tls')).toEqual(EXPECTED);
  }, 60_000);

  it('mutual TLS with a client certificate', async () => {
    useEnvironment({
      TICKFLOW_KAFKA_BROKERS: broker.address('mtls'),
      TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'SSL',
      TICKFLOW_KAFKA_SSL_CA_FILE: broker.caFile,
      TICKFLOW_KAFKA_SSL_CERT_FILE: broker.clientCertFile,
      TICKFLOW_KAFKA_SSL_KEY_FILE: broker.clientKeyFile,
    });
    expect(await roundTrip('mtls')).toEqual(EXPECTED);
  }, 60_000);

  it('SCRAM-SHA-512 over SASL_SSL, every setting from TICKFLOW_CONFIG_FILE', async () => {
    const user = broker.users.sha512;
    secretFile('sha512-password', user.password);
    const config = path.join(broker.dir, 'tickflow.conf');
    const lines = [
      '# tickflow settings for the secure test broker',
      `TICKFLOW_KAFKA_BROKERS=${broker.address('saslSsl')}`,
      'TICKFLOW_KAFKA_SECURITY_PROTOCOL=SASL_SSL',
      'TICKFLOW_KAFKA_SASL_MECHANISM=SCRAM-SHA-512',
      `TICKFLOW_KAFKA_SASL_USERNAME=${user.username}`,
      'TICKFLOW_KAFKA_SASL_PASSWORD_FILE=sha512-password',
      `TICKFLOW_KAFKA_SSL_CA_FILE=${path.basename(broker.caFile)}`,
    ];
    fs.writeFileSync(config, `${lines.join('\n')}\n`, { mode: 0o600 });
    useEnvironment({ TICKFLOW_CONFIG_FILE: config });
    expect(await roundTrip('sasl-ssl')).toEqual(EXPECTED);
  }, 60_000);

  /**
   * Runs `fn`, capturing stderr (tickflow's and kafkajs' log lines), and returns its error and the log as a person
   * reads it (JSON lines unescaped).
   */
  async function failure(fn: () => Promise<unknown>): Promise<{ error: unknown; log: string; ms: number }> {
    const chunks: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      chunks.push(String(chunk));
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write;
    const started = Date.now();
    try {
      await fn();
      return { error: undefined, log: readableLog(chunks.join('')), ms: Date.now() - started };
    } catch (error) {
      return { error, log: readableLog(chunks.join('')), ms: Date.now() - started };
    } finally {
      process.stderr.write = write;
    }
  }

  it("a wrong password fails within seconds with tickflow's error, and never shows the password", async () => {
    const wrong = `wrong-${unique('pw')}`;
    useEnvironment({
      TICKFLOW_KAFKA_BROKERS: broker.address('saslPlaintext'),
      TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
      TICKFLOW_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256',
      TICKFLOW_KAFKA_SASL_USERNAME: broker.users.sha256.username,
      TICKFLOW_KAFKA_SASL_PASSWORD: wrong,
    });
    const checked = await failure(() => ensureKafkaReachable());
    expect(checked.error).toBeInstanceOf(TickflowError);
    const error = checked.error as TickflowError;
    expect(error.code).toBe('CONFIG');
    expect(error.message).toMatch(
      new RegExp(`rejected the SASL SCRAM-SHA-256 login of user '${broker.users.sha256.username}'`),
    );
    expect(error.fix).toMatch(/TICKFLOW_KAFKA_SASL_PASSWORD/);
    expect(checked.ms).toBeLessThan(15_000);
    // A client made by createKafka gives up at once too (a login failure is not retried), without logging the password.
    const admin = createKafka('secure-test-wrong').admin();
    const connected = await failure(() => admin.connect());
    await admin.disconnect().catch(() => undefined);
    expect(String((connected.error as Error)?.message)).toMatch(/SASL SCRAM SHA256 authentication failed/);
    expect(connected.ms).toBeLessThan(15_000);
    for (const text of [error.message, error.fix ?? '', checked.log, connected.log]) expect(text).not.toContain(wrong);
  }, 60_000);

  it('an untrusted broker certificate is named as such, with the CA setting to fix', async () => {
    useEnvironment({ TICKFLOW_KAFKA_BROKERS: broker.address('ssl'), TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'SSL' });
    const checked = await failure(() => ensureKafkaReachable());
    expect(checked.error).toBeInstanceOf(TickflowError);
    expect((checked.error as TickflowError).message).toMatch(/presents a TLS certificate this machine does not trust/);
    expect((checked.error as TickflowError).fix).toMatch(/TICKFLOW_KAFKA_SSL_CA_FILE/);
    expect(checked.ms).toBeLessThan(15_000);
  }, 30_000);

  it('a protocol that does not match the listener fails fast, naming TICKFLOW_KAFKA_SECURITY_PROTOCOL', async () => {
    const user = broker.users.sha256;
    // SASL without TLS against the TLS listener.
    useEnvironment({
      TICKFLOW_KAFKA_BROKERS: broker.address('ssl'),
      TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
      TICKFLOW_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256',
      TICKFLOW_KAFKA_SASL_USERNAME: user.username,
      TICKFLOW_KAFKA_SASL_PASSWORD: user.password,
    });
    const checked = await failure(() => ensureKafkaReachable());
    expect(checked.error).toBeInstanceOf(TickflowError);
    expect((checked.error as TickflowError).fix).toMatch(/TICKFLOW_KAFKA_SECURITY_PROTOCOL/);
    expect(checked.ms).toBeLessThan(20_000);
    for (const text of [(checked.error as TickflowError).message, checked.log])
      expect(text).not.toContain(user.password);
  }, 30_000);
});
