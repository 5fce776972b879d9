import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Sender, SenderOptions } from '@questdb/nodejs-client';
import { endpoints, loadSettings, parseConfigFile } from './settings';
import { TickflowError } from './errors';
import { explainKafkaError } from './kafka';
import {
  httpSecurity,
  kafkaClientOptions,
  kafkaSecurity,
  questdbSenderConfig,
  redactSecrets,
  schemaRegistryClientOptions,
  serviceFetch,
} from './security';

const SECRET = 's3cr3t-Pa55;word';

function errorOf(fn: () => unknown): TickflowError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TickflowError) {
      // No message or fix ever carries a secret.
      expect(`${error.message} ${error.fix}`).not.toContain(SECRET);
      return error;
    }
    throw error;
  }
  throw new Error('expected a TickflowError, but nothing was thrown');
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tickflow-security-'));
}

function write(dir: string, name: string, content: string, mode = 0o600): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content, { mode });
  return file;
}

const BROKERS = { TICKFLOW_KAFKA_BROKERS: 'kafka.example.com:9093' };

describe('settings: environment, <NAME>_FILE and the config file', () => {
  it('parses KEY=VALUE lines with comments, quotes and export', () => {
    const entries = parseConfigFile(
      [
        '# comment',
        '',
        'export TICKFLOW_KAFKA_SASL_USERNAME = alice ',
        `TICKFLOW_KAFKA_SASL_PASSWORD="${SECRET}"`,
        "TICKFLOW_QUESTDB_URL='https://q:9000'",
      ].join('\n'),
      'f.conf',
    );
    expect(entries.get('TICKFLOW_KAFKA_SASL_USERNAME')).toEqual({ value: 'alice', line: 3 });
    expect(entries.get('TICKFLOW_KAFKA_SASL_PASSWORD')?.value).toBe(SECRET);
    expect(entries.get('TICKFLOW_QUESTDB_URL')?.value).toBe('https://q:9000');
  });

  it('rejects unknown keys, malformed and duplicate lines by line number, never echoing the line', () => {
    expect(errorOf(() => parseConfigFile(`TICKFLOW_KAFKA_SASL_PASSWROD=${SECRET}`, 'f.conf')).message).toMatch(
      /line 1 of f.conf sets TICKFLOW_KAFKA_SASL_PASSWROD/,
    );
    expect(errorOf(() => parseConfigFile(`# x\n${SECRET}`, 'f.conf')).message).toBe(
      'line 2 of f.conf is not KEY=VALUE',
    );
    expect(
      errorOf(() => parseConfigFile('TICKFLOW_QUESTDB_TOKEN=a\nTICKFLOW_QUESTDB_TOKEN=b', 'f.conf')).message,
    ).toMatch(/twice \(lines 1 and 2\)/);
    expect(errorOf(() => parseConfigFile('TICKFLOW_LOG_LEVEL=debug', 'f.conf')).fix).toMatch(/environment only/);
  });

  it('takes the environment over the file, and secrets from <NAME>_FILE with the trailing line break removed', () => {
    const dir = tempDir();
    write(dir, 'password', `${SECRET}\n`);
    const config = write(
      dir,
      'tickflow.conf',
      [
        'TICKFLOW_KAFKA_SASL_USERNAME=from-file',
        'TICKFLOW_KAFKA_SASL_PASSWORD_FILE=password',
        'TICKFLOW_KAFKA_SSL_CA_FILE=ca.pem',
      ].join('\n'),
    );
    const settings = loadSettings({ TICKFLOW_CONFIG_FILE: config, TICKFLOW_KAFKA_SASL_USERNAME: 'from-env' });
    expect(settings.get('TICKFLOW_KAFKA_SASL_USERNAME')).toEqual({
      value: 'from-env',
      source: 'environment variable TICKFLOW_KAFKA_SASL_USERNAME',
    });
    // A relative _FILE or *_CA_FILE in the config file is relative to the config file.
    expect(settings.get('TICKFLOW_KAFKA_SASL_PASSWORD')?.value).toBe(SECRET);
    expect(settings.get('TICKFLOW_KAFKA_SASL_PASSWORD')?.source).toContain(path.join(dir, 'password'));
    expect(settings.get('TICKFLOW_KAFKA_SSL_CA_FILE')?.baseDir).toBe(dir);
    expect(settings.secrets()).toEqual([SECRET]);
    const fromEnvFile = loadSettings({ ALPHAVANTAGE_API_KEY_FILE: path.join(dir, 'password') });
    expect(fromEnvFile.get('ALPHAVANTAGE_API_KEY')?.value).toBe(SECRET);
  });

  it('reports unreadable, empty and doubly given settings with the fix', () => {
    const dir = tempDir();
    expect(errorOf(() => loadSettings({ TICKFLOW_CONFIG_FILE: path.join(dir, 'missing.conf') })).message).toMatch(
      /missing.conf cannot be read/,
    );
    expect(
      errorOf(() => loadSettings({ TICKFLOW_QUESTDB_TOKEN_FILE: path.join(dir, 'nope') }).get('TICKFLOW_QUESTDB_TOKEN'))
        .message,
    ).toMatch(/TICKFLOW_QUESTDB_TOKEN_FILE=.*nope \(environment\) cannot be read/);
    const empty = write(dir, 'empty', '\n');
    expect(
      errorOf(() => loadSettings({ TICKFLOW_QUESTDB_TOKEN_FILE: empty }).get('TICKFLOW_QUESTDB_TOKEN')).message,
    ).toMatch(/names an empty file/);
    const both = { TICKFLOW_QUESTDB_TOKEN: SECRET, TICKFLOW_QUESTDB_TOKEN_FILE: empty };
    expect(errorOf(() => loadSettings(both).get('TICKFLOW_QUESTDB_TOKEN')).message).toBe(
      'both TICKFLOW_QUESTDB_TOKEN and TICKFLOW_QUESTDB_TOKEN_FILE are set',
    );
  });

  it('reads server addresses from the config file too, and refuses credentials inside a URL', () => {
    const dir = tempDir();
    const config = write(
      dir,
      'tickflow.conf',
      'TICKFLOW_KAFKA_BROKERS=k1:9093,k2:9093\nTICKFLOW_QUESTDB_URL=https://questdb.example.com:9000/',
    );
    const where = endpoints({ TICKFLOW_CONFIG_FILE: config });
    expect(where.kafkaBrokers).toEqual(['k1:9093', 'k2:9093']);
    expect(where.questdbUrl).toBe('https://questdb.example.com:9000');
    expect(where.external).toEqual({ kafka: true, schemaRegistry: false, questdb: true });
    const error = errorOf(() => endpoints({ TICKFLOW_SCHEMA_REGISTRY_URL: `https://bob:${SECRET}@registry:8081` }));
    expect(error.message).toMatch(/'https:\/\/\*\*\*@registry:8081' .* carries credentials/);
    expect(error.fix).toMatch(/TICKFLOW_SCHEMA_REGISTRY_USERNAME/);
  });

  it('redacts configured secrets from foreign messages', () => {
    expect(redactSecrets(`login failed for ${SECRET} (${SECRET})`, { TICKFLOW_QUESTDB_PASSWORD: SECRET })).toBe(
      'login failed for *** (***)',
    );
  });
});

describe('Kafka security settings', () => {
  it('defaults to PLAINTEXT and accepts protocol and mechanism in any case', () => {
    expect(kafkaSecurity({})).toEqual({ protocol: 'PLAINTEXT' });
    const security = kafkaSecurity({
      ...BROKERS,
      TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'sasl_plaintext',
      TICKFLOW_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      TICKFLOW_KAFKA_SASL_USERNAME: 'alice',
      TICKFLOW_KAFKA_SASL_PASSWORD: SECRET,
    });
    expect(security).toEqual({
      protocol: 'SASL_PLAINTEXT',
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'alice', password: SECRET },
    });
    expect(kafkaClientOptions(security)).toEqual({
      sasl: { mechanism: 'scram-sha-512', username: 'alice', password: SECRET },
    });
    expect(kafkaClientOptions(kafkaSecurity({ ...BROKERS, TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'SSL' }))).toEqual({
      ssl: {},
    });
  });

  it('says what is wrong and how to fix it', () => {
    expect(errorOf(() => kafkaSecurity({ ...BROKERS, TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'TLS' })).message).toMatch(
      /'TLS' .* not a Kafka security protocol \(Kafka calls TLS "SSL"\)/,
    );
    expect(errorOf(() => kafkaSecurity({ ...BROKERS, TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' })).message).toBe(
      'TICKFLOW_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs TICKFLOW_KAFKA_SASL_MECHANISM',
    );
    const gssapi = {
      ...BROKERS,
      TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      TICKFLOW_KAFKA_SASL_MECHANISM: 'GSSAPI',
    };
    expect(errorOf(() => kafkaSecurity(gssapi)).message).toMatch(/GSSAPI is not supported/);
    const noPassword = {
      ...BROKERS,
      TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      TICKFLOW_KAFKA_SASL_MECHANISM: 'PLAIN',
      TICKFLOW_KAFKA_SASL_USERNAME: 'alice',
    };
    const missing = errorOf(() => kafkaSecurity(noPassword));
    expect(missing.message).toBe(
      'SASL PLAIN needs a user name and a password; TICKFLOW_KAFKA_SASL_PASSWORD is not set',
    );
    expect(missing.fix).toMatch(/TICKFLOW_KAFKA_SASL_PASSWORD_FILE/);
    // SASL or TLS settings that the protocol would silently ignore.
    expect(
      errorOf(() =>
        kafkaSecurity({ ...BROKERS, TICKFLOW_KAFKA_SASL_USERNAME: 'alice', TICKFLOW_KAFKA_SASL_PASSWORD: SECRET }),
      ).message,
    ).toMatch(/TICKFLOW_KAFKA_SASL_USERNAME, TICKFLOW_KAFKA_SASL_PASSWORD are set, but .*PROTOCOL is PLAINTEXT/);
    const caWithoutTls = {
      ...BROKERS,
      TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
      TICKFLOW_KAFKA_SSL_CA_FILE: '/ca.pem',
    };
    expect(errorOf(() => kafkaSecurity(caWithoutTls)).message).toMatch(
      /TICKFLOW_KAFKA_SSL_CA_FILE is set, but .* SASL_PLAINTEXT, which does not use TLS/,
    );
    expect(errorOf(() => kafkaSecurity({ TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'SSL' })).message).toMatch(
      /TICKFLOW_KAFKA_BROKERS is not set/,
    );
    const control = {
      ...BROKERS,
      TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      TICKFLOW_KAFKA_SASL_MECHANISM: 'PLAIN',
      TICKFLOW_KAFKA_SASL_USERNAME: 'a',
      TICKFLOW_KAFKA_SASL_PASSWORD: `${SECRET}\n`,
    };
    expect(errorOf(() => kafkaSecurity(control)).message).toMatch(
      /TICKFLOW_KAFKA_SASL_PASSWORD .* contains a control character/,
    );
  });

  it('reports unreadable and non-PEM CA files', () => {
    const dir = tempDir();
    const ssl = { ...BROKERS, TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'SSL' };
    expect(
      errorOf(() => kafkaSecurity({ ...ssl, TICKFLOW_KAFKA_SSL_CA_FILE: path.join(dir, 'none.pem') })).message,
    ).toMatch(/none.pem .* cannot be read: ENOENT/);
    const der = write(dir, 'ca.der', '0\x82\x01\x0a');
    expect(errorOf(() => kafkaSecurity({ ...ssl, TICKFLOW_KAFKA_SSL_CA_FILE: der })).fix).toMatch(
      /openssl x509 -inform der/,
    );
    expect(errorOf(() => kafkaSecurity({ ...ssl, TICKFLOW_KAFKA_SSL_CERT_FILE: der })).message).toMatch(
      /CERT_FILE is set without TICKFLOW_KAFKA_SSL_KEY_FILE/,
    );
  });

  it('explains kafkajs failures with the setting to fix, never the password', () => {
    const security = kafkaSecurity({
      ...BROKERS,
      TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      TICKFLOW_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256',
      TICKFLOW_KAFKA_SASL_USERNAME: 'alice',
      TICKFLOW_KAFKA_SASL_PASSWORD: SECRET,
    });
    const auth = Object.assign(
      new Error(
        'SASL SCRAM SHA256 authentication failed: Authentication failed during authentication ' +
          'due to invalid credentials with SASL mechanism SCRAM-SHA-256',
      ),
      { name: 'KafkaJSSASLAuthenticationError' },
    );
    const wrapped = Object.assign(new Error(auth.message), { name: 'KafkaJSNonRetriableError', cause: auth });
    const login = explainKafkaError(wrapped, 'k:9093', security);
    expect(login.code).toBe('CONFIG');
    expect(login.message).toMatch(
      /^Kafka at k:9093 rejected the SASL SCRAM-SHA-256 login of user 'alice': .*invalid credentials/,
    );
    expect(`${login.message} ${login.fix}`).not.toContain(SECRET);
    const untrusted = Object.assign(new Error('Connection error: self-signed certificate in certificate chain'), {
      name: 'KafkaJSConnectionError',
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    expect(explainKafkaError(Object.assign(new Error('x'), { cause: untrusted }), 'k:9093', security).fix).toMatch(
      /TICKFLOW_KAFKA_SSL_CA_FILE/,
    );
    const closed = Object.assign(new Error('Closed connection'), { name: 'KafkaJSConnectionClosedError' });
    expect(explainKafkaError(closed, 'k:9093', security).fix).toMatch(
      /TICKFLOW_KAFKA_SECURITY_PROTOCOL to the protocol of the listener/,
    );
  });
});

describe('schema registry and QuestDB security settings', () => {
  const registry = { TICKFLOW_SCHEMA_REGISTRY_URL: 'http://registry.internal:8081' };

  it('checks the combinations', () => {
    expect(errorOf(() => httpSecurity('schemaRegistry', { TICKFLOW_SCHEMA_REGISTRY_TOKEN: SECRET })).message).toMatch(
      /TICKFLOW_SCHEMA_REGISTRY_TOKEN is set, but TICKFLOW_SCHEMA_REGISTRY_URL is not/,
    );
    const both = {
      ...registry,
      TICKFLOW_SCHEMA_REGISTRY_TOKEN: SECRET,
      TICKFLOW_SCHEMA_REGISTRY_USERNAME: 'u',
      TICKFLOW_SCHEMA_REGISTRY_PASSWORD: SECRET,
    };
    expect(errorOf(() => httpSecurity('schemaRegistry', both)).fix).toMatch(/either a bearer token .* or basic auth/);
    expect(
      errorOf(() => httpSecurity('schemaRegistry', { ...registry, TICKFLOW_SCHEMA_REGISTRY_USERNAME: 'u' })).message,
    ).toBe('TICKFLOW_SCHEMA_REGISTRY_USERNAME is set without TICKFLOW_SCHEMA_REGISTRY_PASSWORD');
    const colon = { ...registry, TICKFLOW_SCHEMA_REGISTRY_USERNAME: 'a:b', TICKFLOW_SCHEMA_REGISTRY_PASSWORD: SECRET };
    expect(errorOf(() => httpSecurity('schemaRegistry', colon)).message).toMatch(/contains ':'/);
    expect(
      errorOf(() =>
        httpSecurity('questdb', { TICKFLOW_QUESTDB_URL: 'http://q:9000', TICKFLOW_QUESTDB_CA_FILE: '/ca.pem' }),
      ).message,
    ).toMatch(/is not https/);
  });

  it('gives the registry client basic auth or a bearer middleware, only for the configured registry', async () => {
    const basic = { ...registry, TICKFLOW_SCHEMA_REGISTRY_USERNAME: 'u', TICKFLOW_SCHEMA_REGISTRY_PASSWORD: SECRET };
    expect(schemaRegistryClientOptions('http://registry.internal:8081', basic)).toEqual({
      auth: { username: 'u', password: SECRET },
    });
    expect(schemaRegistryClientOptions('http://elsewhere:8081', basic)).toEqual({});
    const bearer = schemaRegistryClientOptions('http://registry.internal:8081', {
      ...registry,
      TICKFLOW_SCHEMA_REGISTRY_TOKEN: SECRET,
    });
    const middleware = bearer.middlewares?.[0];
    const prepare = middleware?.({
      clientId: null,
      context: {},
      resourceMethod: 'find',
      resourceName: 'Schema',
    }).prepareRequest;
    const request = { enhance: (extras: { headers: Record<string, string> }) => extras };
    expect(
      await prepare?.(
        async () => request as never,
        () => undefined,
      ),
    ).toEqual({ headers: { authorization: `Bearer ${SECRET}` } });
  });

  it('builds the QuestDB Sender config suffix that the client parses', () => {
    const env = {
      TICKFLOW_QUESTDB_URL: 'http://q:9000',
      TICKFLOW_QUESTDB_USERNAME: 'admin',
      TICKFLOW_QUESTDB_PASSWORD: SECRET,
    };
    const suffix = questdbSenderConfig('http://q:9000', env);
    expect(suffix).toBe(`;username=admin;password=${SECRET.replace(';', ';;')}`);
    const options = new SenderOptions(`http::addr=q:9000;protocol_version=3${suffix}`) as unknown as Record<
      string,
      unknown
    >;
    expect([options.username, options.password]).toEqual(['admin', SECRET]);
    expect(
      questdbSenderConfig('http://q:9000', { TICKFLOW_QUESTDB_URL: 'http://q:9000', TICKFLOW_QUESTDB_TOKEN: SECRET }),
    ).toBe(`;token=${SECRET.replace(';', ';;')}`);
    expect(questdbSenderConfig('http://other:9000', env)).toBe('');
    expect(questdbSenderConfig('http://q:9000', {})).toBe('');
  });
});

/** An in-process HTTP(S) server that records the Authorization header of each request. */
async function recordingServer(
  tlsOptions?: https.ServerOptions,
): Promise<{ url: string; seen: (string | undefined)[]; close(): Promise<void> }> {
  const seen: (string | undefined)[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    seen.push(req.headers.authorization);
    req.resume();
    req.on('end', () => {
      if (req.url === '/ping' || req.url?.startsWith('/write')) {
        res.writeHead(204).end();
        return;
      }
      if (req.url?.startsWith('/subjects/')) {
        res
          .writeHead(200, { 'Content-Type': 'application/vnd.schemaregistry.v1+json' })
          .end(JSON.stringify({ id: 7, version: 1, subject: 's', schema: '"string"' }));
        return;
      }
      res
        .writeHead(200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ path: req.url, method: req.method }));
    });
  };
  const server = tlsOptions ? https.createServer(tlsOptions, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tlsOptions ? 'https' : 'http'}://127.0.0.1:${port}`,
    seen,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

describe('requests to the registry and QuestDB', () => {
  it('send the credentials to the configured server only', async () => {
    const configured = await recordingServer();
    const other = await recordingServer();
    try {
      const env = { TICKFLOW_QUESTDB_URL: configured.url, TICKFLOW_QUESTDB_TOKEN: SECRET };
      const security = httpSecurity('questdb', env);
      const response = await serviceFetch(security, `${configured.url}/exec?query=1`, {
        method: 'POST',
        body: '{}',
        headers: { 'Content-Type': 'application/json' },
      });
      expect(await response.json()).toEqual({ path: '/exec?query=1', method: 'POST' });
      expect((await serviceFetch(security, `${configured.url}/ping`)).status).toBe(204);
      await serviceFetch(security, `${other.url}/exec`);
      expect(configured.seen).toEqual([`Bearer ${SECRET}`, `Bearer ${SECRET}`]);
      expect(other.seen).toEqual([undefined]);
    } finally {
      await configured.close();
      await other.close();
    }
  });
});

const haveOpenssl = spawnSync('openssl', ['version']).status === 0;

/** TLS material made with openssl: a self-signed server certificate for 127.0.0.1 (its own CA) and client key pairs. */
function makeCertificates(
  dir: string,
): Record<'serverCert' | 'serverKey' | 'clientCert' | 'clientKey' | 'otherKey' | 'encryptedKey', string> {
  const run = (args: string[]): void => {
    const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2'];
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'server-key.pem',
    '-out',
    'server.pem',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  run(['req', '-x509', ...ec, '-keyout', 'client-key.pem', '-out', 'client.pem', '-subj', '/CN=client']);
  run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', 'other-key.pem']);
  run(['pkey', '-in', 'client-key.pem', '-aes256', '-passout', `pass:${SECRET}`, '-out', 'client-key-enc.pem']);
  const file = (name: string): string => path.join(dir, name);
  return {
    serverCert: file('server.pem'),
    serverKey: file('server-key.pem'),
    clientCert: file('client.pem'),
    clientKey: file('client-key.pem'),
    otherKey: file('other-key.pem'),
    encryptedKey: file('client-key-enc.pem'),
  };
}

(haveOpenssl ? describe : describe.skip)('TLS files (certificates made with openssl)', () => {
  const dir = tempDir();
  const certs = haveOpenssl ? makeCertificates(dir) : ({} as ReturnType<typeof makeCertificates>);
  const ssl = { ...BROKERS, TICKFLOW_KAFKA_SECURITY_PROTOCOL: 'SSL' };

  it('loads a CA, a client certificate and its key, encrypted or not', () => {
    const security = kafkaSecurity({
      ...ssl,
      TICKFLOW_KAFKA_SSL_CA_FILE: certs.serverCert,
      TICKFLOW_KAFKA_SSL_CERT_FILE: certs.clientCert,
      TICKFLOW_KAFKA_SSL_KEY_FILE: certs.clientKey,
      TICKFLOW_KAFKA_SSL_SERVER_NAME: 'kafka.example.com',
    });
    const options = kafkaClientOptions(security).ssl as Record<string, unknown>;
    expect(options.ca).toEqual([fs.readFileSync(certs.serverCert, 'utf8').trim()]);
    expect(options.cert).toContain('BEGIN CERTIFICATE');
    expect(options.key).toContain('PRIVATE KEY');
    expect(options.servername).toBe('kafka.example.com');
    const encrypted = {
      ...ssl,
      TICKFLOW_KAFKA_SSL_CERT_FILE: certs.clientCert,
      TICKFLOW_KAFKA_SSL_KEY_FILE: certs.encryptedKey,
    };
    expect(kafkaSecurity({ ...encrypted, TICKFLOW_KAFKA_SSL_KEY_PASSWORD: SECRET }).tls?.passphrase).toBe(SECRET);
    expect(errorOf(() => kafkaSecurity(encrypted)).fix).toMatch(/TICKFLOW_KAFKA_SSL_KEY_PASSWORD/);
    expect(
      errorOf(() => kafkaSecurity({ ...encrypted, TICKFLOW_KAFKA_SSL_KEY_PASSWORD: 'wrong-passphrase' })).message,
    ).toMatch(/does not decrypt/);
  });

  it('refuses a key that does not belong to the certificate', () => {
    const mismatched = {
      ...ssl,
      TICKFLOW_KAFKA_SSL_CERT_FILE: certs.clientCert,
      TICKFLOW_KAFKA_SSL_KEY_FILE: certs.otherKey,
    };
    expect(errorOf(() => kafkaSecurity(mismatched)).message).toMatch(
      /other-key.pem does not belong to the certificate in .*client.pem/,
    );
  });

  it('trusts a configured CA for https, and says which setting to set when it is missing', async () => {
    const server = await recordingServer({
      cert: fs.readFileSync(certs.serverCert),
      key: fs.readFileSync(certs.serverKey),
    });
    try {
      const trusted = httpSecurity('schemaRegistry', {
        TICKFLOW_SCHEMA_REGISTRY_URL: server.url,
        TICKFLOW_SCHEMA_REGISTRY_CA_FILE: certs.serverCert,
        TICKFLOW_SCHEMA_REGISTRY_TOKEN: SECRET,
      });
      expect((await serviceFetch(trusted, `${server.url}/subjects`)).status).toBe(200);
      const untrusted = httpSecurity('schemaRegistry', { TICKFLOW_SCHEMA_REGISTRY_URL: server.url });
      await expect(serviceFetch(untrusted, `${server.url}/subjects`)).rejects.toThrow(
        /set TICKFLOW_SCHEMA_REGISTRY_CA_FILE/,
      );
      // The real registry client with the options the codec passes it.
      const basic = {
        TICKFLOW_SCHEMA_REGISTRY_URL: server.url,
        TICKFLOW_SCHEMA_REGISTRY_CA_FILE: certs.serverCert,
        TICKFLOW_SCHEMA_REGISTRY_USERNAME: 'reader',
        TICKFLOW_SCHEMA_REGISTRY_PASSWORD: SECRET,
      };
      const client = new SchemaRegistry({
        host: server.url,
        clientId: 'test',
        ...schemaRegistryClientOptions(server.url, basic),
      });
      expect(await client.getLatestSchemaId('s-value')).toBe(7);
      // The real QuestDB Sender with the suffix the sink appends.
      const questdb = {
        TICKFLOW_QUESTDB_URL: server.url,
        TICKFLOW_QUESTDB_CA_FILE: certs.serverCert,
        TICKFLOW_QUESTDB_TOKEN: SECRET,
      };
      const sender = await Sender.fromConfig(
        `https::addr=${new URL(server.url).host};auto_flush=off;protocol_version=1;retry_timeout=2000` +
          questdbSenderConfig(server.url, questdb),
      );
      await sender.table('t').floatColumn('x', 1).at(1n, 'us');
      await sender.flush();
      await sender.close();
      const basicAuth = `Basic ${Buffer.from(`reader:${SECRET}`).toString('base64')}`;
      expect(server.seen).toEqual([`Bearer ${SECRET}`, basicAuth, `Bearer ${SECRET}`]);
    } finally {
      await server.close();
    }
  });
});
