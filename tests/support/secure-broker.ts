import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tickflowHome } from '../../pipelines/runtime/settings';
import { installArtifacts } from '../../ops/stack/artifacts';
import type { JavaInstall } from '../../ops/stack/java';
import { findJava } from '../../ops/stack/java';
import type { ManagedProcess } from '../../ops/stack/processes';
import { componentMarker, isAlive, sleep, startDetached, tail } from '../../ops/stack/processes';
import { KAFKA_LOG4J, kafkaFormatArgs, kafkaServerArgs } from '../../ops/stack/servers';
import { MIN_JAVA } from '../../ops/stack/versions';
import { portInUse } from '../../pipelines/runtime/net';

/**
 * A dedicated single-node KRaft broker for security tests, apart from the shared stack: its own
 * ports and temporary directory, the installed Kafka classpath and Java, and one listener per way
 * of connecting. Certificates come from the JDK's keytool (PKCS12); the CA is exported as PEM for
 * Node. SCRAM users are created when the storage is formatted (KIP-900). Throwaway passwords stay
 * off command lines anyway (keytool `:env`, StorageTool `@file`), as tickflow asks of its users.
 */
export const SECURE_BROKER_PORTS = {
  /** SASL_PLAINTEXT with SCRAM-SHA-256 and SCRAM-SHA-512. */
  saslPlaintext: 29092,
  /** SSL: TLS, no client certificate. */
  ssl: 29093,
  /** SSL with ssl.client.auth=required: mutual TLS. */
  mtls: 29094,
  /** SASL_SSL with SCRAM-SHA-256 and SCRAM-SHA-512. */
  saslSsl: 29095,
  controller: 29096,
  /** PLAINTEXT, inter-broker only (transaction markers go through it). */
  internal: 29097,
} as const;
export type SecureListener = Exclude<keyof typeof SECURE_BROKER_PORTS, 'controller' | 'internal'>;

export interface ScramUser {
  mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  username: string;
  password: string;
}

export interface SecureBroker {
  dir: string;
  logFile: string;
  pid: number;
  users: { sha256: ScramUser; sha512: ScramUser };
  /** PEM files for Node: the CA, and a client certificate and key it signed (for mutual TLS). */
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  address(listener: SecureListener): string;
  /** Stops the broker's process group and deletes its directory; waits until every port is free. */
  stop(): Promise<void>;
}

const COMPONENT = 'secure-test-broker';

/** Pids of processes carrying this helper's marker (an earlier run that was killed before its cleanup). */
function leftovers(): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.includes(componentMarker(COMPONENT))) found.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

async function ensurePortsFree(): Promise<void> {
  const taken: number[] = [];
  for (const port of Object.values(SECURE_BROKER_PORTS)) if (await portInUse(port)) taken.push(port);
  if (taken.length === 0) return;
  const pids = leftovers();
  throw new Error(
    `ports ${taken.join(', ')} of the secure test broker are taken` +
      (pids.length > 0
        ? ` by a secure test broker an earlier run left behind (pid ${pids.join(', ')}): ` +
          `stop it with kill -- -${pids[0]}`
        : `; see ss -ltnp 'sport = :${taken[0]}'`),
  );
}

function run(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: env ?? process.env });
  if (result.error || result.status !== 0) {
    const why = result.error?.message ?? `exit ${result.status}`;
    throw new Error(
      `${path.basename(command)} ${args.slice(0, 2).join(' ')} failed (${why}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** keytool next to the java that runs the broker, else the one on PATH. */
function keytoolOf(java: JavaInstall): string {
  const sibling = path.join(path.dirname(java.bin), 'keytool');
  return path.isAbsolute(java.bin) && fs.existsSync(sibling) ? sibling : 'keytool';
}

export interface TlsMaterial {
  keystore: string;
  truststore: string;
  storePassword: string;
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

/**
 * A CA, a broker certificate for 127.0.0.1 and localhost signed by it (in a PKCS12 keystore with
 * its chain), a PKCS12 truststore holding the CA (the broker checks client certificates with it),
 * and a client certificate signed by the CA whose key openssl made, since keytool cannot export keys.
 */
export function makeTls(dir: string, java: JavaInstall): TlsMaterial {
  const storePassword = randomBytes(12).toString('hex');
  const env = { ...process.env, SECURE_BROKER_STORE_PASSWORD: storePassword };
  const file = (name: string): string => path.join(dir, name);
  const keytool = (...args: string[]): void => {
    run(keytoolOf(java), [...args, '-storepass:env', 'SECURE_BROKER_STORE_PASSWORD'], dir, env);
  };
  const keypair = (alias: string, dname: string, store: string, ...extensions: string[]): void => {
    const ec = ['-keyalg', 'EC', '-groupname', 'secp256r1', '-validity', '2', '-storetype', 'PKCS12'];
    const rest = ['-keypass:env', 'SECURE_BROKER_STORE_PASSWORD', ...extensions];
    keytool('-genkeypair', '-alias', alias, ...ec, '-dname', dname, '-keystore', file(store), ...rest);
  };
  const sign = (csr: string, out: string, ...extensions: string[]): void => {
    const io = ['-infile', file(csr), '-outfile', file(out), '-rfc', '-validity', '2'];
    keytool('-gencert', '-alias', 'ca', '-keystore', file('ca.p12'), ...io, ...extensions);
  };
  keypair('ca', 'CN=tickflow-test-ca', 'ca.p12', '-ext', 'bc:c');
  keytool('-exportcert', '-rfc', '-alias', 'ca', '-keystore', file('ca.p12'), '-file', file('ca.pem'));
  keypair('broker', 'CN=localhost', 'broker.p12');
  keytool('-certreq', '-alias', 'broker', '-keystore', file('broker.p12'), '-file', file('broker.csr'));
  const serverUse = ['-ext', 'KU=digitalSignature,keyEncipherment', '-ext', 'EKU=serverAuth,clientAuth'];
  sign('broker.csr', 'broker.pem', '-ext', 'SAN=dns:localhost,ip:127.0.0.1', ...serverUse);
  // The CA first, so that keytool can build the chain of the signed reply.
  keytool('-importcert', '-noprompt', '-alias', 'ca', '-file', file('ca.pem'), '-keystore', file('broker.p12'));
  keytool('-importcert', '-alias', 'broker', '-file', file('broker.pem'), '-keystore', file('broker.p12'));
  const truststore = ['-keystore', file('truststore.p12'), '-storetype', 'PKCS12'];
  keytool('-importcert', '-noprompt', '-alias', 'ca', '-file', file('ca.pem'), ...truststore);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const request = ['-keyout', file('client-key.pem'), '-out', file('client.csr'), '-subj', '/CN=tickflow-test-client'];
  run('openssl', ['req', '-new', ...ecKey, ...request], dir);
  sign('client.csr', 'client.pem', '-ext', 'KU=digitalSignature', '-ext', 'EKU=clientAuth');
  return {
    keystore: file('broker.p12'),
    truststore: file('truststore.p12'),
    storePassword,
    caFile: file('ca.pem'),
    clientCertFile: file('client.pem'),
    clientKeyFile: file('client-key.pem'),
  };
}

export function secureBrokerProperties(
  dataDir: string,
  tls: Pick<TlsMaterial, 'keystore' | 'truststore' | 'storePassword'>,
): string {
  const p = SECURE_BROKER_PORTS;
  const listeners = {
    SASL_PLAINTEXT: p.saslPlaintext,
    SSL: p.ssl,
    MTLS: p.mtls,
    SASL_SSL: p.saslSsl,
    INTERNAL: p.internal,
  };
  const advertised = Object.entries(listeners)
    .map(([name, port]) => `${name}://127.0.0.1:${port}`)
    .join(',');
  // SCRAM needs a JAAS entry per SASL listener and mechanism, though clients bring their own credentials.
  const scramModule = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  const jaas = ['sasl_plaintext', 'sasl_ssl'].flatMap((listener) =>
    ['scram-sha-256', 'scram-sha-512'].map(
      (mechanism) => `listener.name.${listener}.${mechanism}.sasl.jaas.config=${scramModule}`,
    ),
  );
  return [
    '# Written by tests/support/secure-broker.ts for one test run.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${p.controller}`,
    `listeners=${advertised},CONTROLLER://127.0.0.1:${p.controller}`,
    `advertised.listeners=${advertised}`,
    'listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,MTLS:SSL,SASL_SSL:SASL_SSL,' +
      'CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=INTERNAL',
    'sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512',
    ...jaas,
    'ssl.keystore.type=PKCS12',
    `ssl.keystore.location=${tls.keystore}`,
    `ssl.keystore.password=${tls.storePassword}`,
    `ssl.key.password=${tls.storePassword}`,
    'ssl.truststore.type=PKCS12',
    `ssl.truststore.location=${tls.truststore}`,
    `ssl.truststore.password=${tls.storePassword}`,
    'ssl.client.auth=none',
    'listener.name.mtls.ssl.client.auth=required',
    `log.dirs=${dataDir}`,
    'num.network.threads=2',
    'num.io.threads=2',
    'background.threads=2',
    'num.partitions=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=4',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=4',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    '',
  ].join('\n');
}

/** Starts the broker and resolves once it serves every listener; throws with its log tail otherwise. */
export async function startSecureBroker(timeoutMs = 90_000): Promise<SecureBroker> {
  await ensurePortsFree();
  const java = findJava(MIN_JAVA.kafka, 'the secure test broker', 'run this test on a machine with a JDK 17+');
  const { kafkaClasspath } = await installArtifacts(tickflowHome(), { kafka: true, questdb: false, registry: false });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tickflow-secure-broker-'));
  const proc: ManagedProcess = {
    name: COMPONENT,
    pidFile: path.join(dir, 'broker.pid'),
    logFile: path.join(dir, 'broker.log'),
  };
  let pid: number | undefined;
  const killGroup = (signal: NodeJS.Signals): void => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      /* already gone */
    }
  };
  // A test run that dies without afterAll must not leave a JVM holding the ports.
  const onExit = (): void => killGroup('SIGKILL');
  process.once('exit', onExit);
  const stop = async (): Promise<void> => {
    process.removeListener('exit', onExit);
    if (pid !== undefined) {
      killGroup('SIGTERM');
      const deadline = Date.now() + 5000;
      while (isAlive(pid) && Date.now() < deadline) await sleep(100);
      killGroup('SIGKILL');
      const killDeadline = Date.now() + 10_000;
      while (isAlive(pid) && Date.now() < killDeadline) await sleep(50);
    }
    const portsDeadline = Date.now() + 10_000;
    for (const port of Object.values(SECURE_BROKER_PORTS)) {
      while ((await portInUse(port)) && Date.now() < portsDeadline) await sleep(100);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const tls = makeTls(dir, java);
    const users = {
      sha256: { mechanism: 'SCRAM-SHA-256', username: 'alice-256', password: randomBytes(12).toString('hex') },
      sha512: { mechanism: 'SCRAM-SHA-512', username: 'bob-512', password: randomBytes(12).toString('hex') },
    } satisfies Record<string, ScramUser>;
    const properties = path.join(dir, 'server.properties');
    const log4j = path.join(dir, 'kafka-log4j.properties');
    fs.writeFileSync(properties, secureBrokerProperties(path.join(dir, 'data'), tls), { mode: 0o600 });
    fs.writeFileSync(log4j, KAFKA_LOG4J);
    // StorageTool reads arguments from an @file, one per line: the SCRAM credentials stay off the command line.
    const scram = path.join(dir, 'scram-args');
    const scramArg = (u: ScramUser): string => `${u.mechanism}=[name=${u.username},password=${u.password}]`;
    const credentials = Object.values(users).flatMap((u) => ['--add-scram', scramArg(u)]);
    fs.writeFileSync(scram, `${credentials.join('\n')}\n`, { mode: 0o600 });
    const clusterId = randomBytes(16).toString('base64url').replace(/^-/, 'A');
    run(java.bin, kafkaFormatArgs(kafkaClasspath, clusterId, properties, [`@${scram}`]), dir);
    pid = startDetached(
      proc,
      java.bin,
      [componentMarker(COMPONENT), ...kafkaServerArgs(512, log4j, kafkaClasspath, properties)],
      dir,
    );
    const started = Date.now();
    const listening = async (): Promise<boolean> =>
      (await portInUse(SECURE_BROKER_PORTS.saslPlaintext)) && (await portInUse(SECURE_BROKER_PORTS.saslSsl));
    for (;;) {
      if (fs.readFileSync(proc.logFile, 'utf8').includes('Kafka Server started') && (await listening())) break;
      if (!isAlive(pid)) throw new Error(`the secure test broker exited during start-up:\n${tail(proc.logFile, 40)}`);
      if (Date.now() - started > timeoutMs) {
        throw new Error(`the secure test broker was not ready in ${timeoutMs / 1000} s:\n${tail(proc.logFile, 40)}`);
      }
      await sleep(200);
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stderr.write(`secure test broker ready in ${seconds} s (pid ${pid}, ${dir})\n`);
    return {
      dir,
      logFile: proc.logFile,
      pid,
      users,
      caFile: tls.caFile,
      clientCertFile: tls.clientCertFile,
      clientKeyFile: tls.clientKeyFile,
      address: (listener) => `127.0.0.1:${SECURE_BROKER_PORTS[listener]}`,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
