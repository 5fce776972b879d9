import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import type { QueryResult } from '../../connectors/questdb/sql';
import type { AvroCodec } from '../../pipelines/runtime/codec';
import { TickflowError } from '../../pipelines/runtime/errors';
import type { RiskCommandOptions } from '../run/risk-commands';
import type { ConsoleOptions, ConsoleServer } from './server';
import { startConsole } from './server';
import {
  RateLimiter,
  authorizeAction,
  authorizeRead,
  configuredToken,
  credentialOf,
  hostAllowed,
  isLoopback,
  originAllowed,
  tokenId,
  tokensEqual,
} from './security';
import { StreamHub } from './stream';

const TOKEN = 'unit-test-token-0123456789';

/** A QuestDB stand-in: answers the stream's and the endpoints' queries from a small mutable state; records them. */
function fakeQuestDb(): {
  sql: (q: string) => Promise<QueryResult>;
  queries: string[];
  state: { txn: number; signals: number };
} {
  const queries: string[] = [];
  const state = { txn: 1, signals: 2 };
  const result = (columns: [string, string][], dataset: unknown[][]): QueryResult => ({
    columns: columns.map(([name, type]) => ({ name, type })),
    dataset,
    count: dataset.length,
  });
  const signal = (i: number): unknown[] => [`2020-01-01T00:00:0${i}.000000Z`, `sig-${i}`, 'A:B', '12.500000000000'];
  return {
    queries,
    state,
    sql: async (q) => {
      queries.push(q);
      if (q.includes('wal_tables()'))
        return result(
          [
            ['name', 'STRING'],
            ['writerTxn', 'LONG'],
          ],
          [['signals', state.txn]],
        );
      if (/count\(\) n FROM signals GROUP BY instrument_id/.test(q))
        return result(
          [
            ['instrument_id', 'SYMBOL'],
            ['n', 'LONG'],
          ],
          [['A:B', state.signals]],
        );
      const newest = /FROM signals WHERE instrument_id = 'A:B' ORDER BY ts DESC LIMIT (\d+)/.exec(q);
      if (newest) {
        const rows = Array.from({ length: Number(newest[1]) }, (_, k) => signal(state.signals - k));
        return result(
          [
            ['ts', 'TIMESTAMP'],
            ['id', 'VARCHAR'],
            ['instrument_id', 'SYMBOL'],
            ['price', 'DECIMAL(38,12)'],
          ],
          rows,
        );
      }
      return result([], []);
    },
  };
}

function request(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: o.method ?? 'GET', headers: o.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

describe('console guards', () => {
  it('compares tokens and reads credentials', () => {
    expect(tokensEqual(TOKEN, TOKEN)).toBe(true);
    expect(tokensEqual(TOKEN, `${TOKEN}x`)).toBe(false);
    expect(tokensEqual('', TOKEN)).toBe(false);
    expect(credentialOf(`Bearer ${TOKEN}`)).toEqual({ scheme: 'bearer', token: TOKEN });
    expect(credentialOf(`Basic ${Buffer.from(`me:${TOKEN}`).toString('base64')}`)).toEqual({
      scheme: 'basic',
      token: TOKEN,
    });
    expect(credentialOf('Token abc')).toBeUndefined();
    expect(() =>
      authorizeAction({ authorization: `Basic ${Buffer.from(`me:${TOKEN}`).toString('base64')}`, token: TOKEN }),
    ).toThrow(/bearer/);
    expect(() => authorizeAction({ authorization: `Bearer ${TOKEN}`, token: TOKEN })).not.toThrow();
    expect(() => authorizeRead({ token: TOKEN, requireToken: false })).not.toThrow();
    expect(() => authorizeRead({ token: TOKEN, requireToken: true })).toThrow(/token/);
    expect(tokenId(TOKEN)).toMatch(/^[0-9a-f]{8}$/);
    expect(tokenId(TOKEN)).not.toContain(TOKEN.slice(0, 4));
  });

  it('accepts only this console’s host names and origin (DNS rebinding, CSRF)', () => {
    expect(['127.0.0.1', 'localhost', '::1', '[::1]', '127.1.2.3'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', 'example.com', '127.0.0.1.evil.com'].some(isLoopback)).toBe(false);
    const o = { loopback: true, port: 8088 };
    expect(hostAllowed('127.0.0.1:8088', o)).toBe(true);
    expect(hostAllowed('localhost:8088', o)).toBe(true);
    expect(hostAllowed('[::1]:8088', o)).toBe(true);
    expect(hostAllowed('evil.example:8088', o)).toBe(false);
    expect(hostAllowed('127.0.0.1:9999', o)).toBe(false);
    expect(hostAllowed(undefined, o)).toBe(false);
    expect(
      hostAllowed('console.internal:443', { loopback: false, port: 8088, allowedHosts: ['console.internal:443'] }),
    ).toBe(true);
    expect(hostAllowed('other:443', { loopback: false, port: 8088, allowedHosts: ['console.internal:443'] })).toBe(
      false,
    );
    expect(originAllowed(undefined, '127.0.0.1:8088')).toBe(true);
    expect(originAllowed('http://127.0.0.1:8088', '127.0.0.1:8088')).toBe(true);
    expect(originAllowed('http://evil.example', '127.0.0.1:8088')).toBe(false);
    expect(originAllowed('null', '127.0.0.1:8088')).toBe(false);
  });

  it('rate-limits with a token bucket per client and forgets idle clients', () => {
    let now = 0;
    const limiter = new RateLimiter(3, 1, () => now, 2);
    expect([1, 2, 3].map(() => limiter.take('a'))).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(1);
    expect(limiter.take('b')).toBe(0);
    now = 1000;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBeGreaterThan(0);
    now = 10_000;
    limiter.take('c');
    expect(limiter.size).toBeLessThanOrEqual(2);
  });

  it('reads the token from TICKFLOW_CONSOLE_TOKEN or its _FILE, never both', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-token-'));
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, `${TOKEN}\n`);
    try {
      expect(configuredToken({})).toBeUndefined();
      expect(configuredToken({ TICKFLOW_CONSOLE_TOKEN: TOKEN })).toBe(TOKEN);
      expect(configuredToken({ TICKFLOW_CONSOLE_TOKEN_FILE: file })).toBe(TOKEN);
      expect(() => configuredToken({ TICKFLOW_CONSOLE_TOKEN: TOKEN, TICKFLOW_CONSOLE_TOKEN_FILE: file })).toThrow(
        TickflowError,
      );
      expect(() => configuredToken({ TICKFLOW_CONSOLE_TOKEN_FILE: path.join(dir, 'missing') })).toThrow(
        /cannot be read/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('console server', () => {
  const published: RiskCommandOptions[] = [];
  const db = fakeQuestDb();
  const base: ConsoleOptions = {
    kafka: {} as Kafka,
    codec: {} as AvroCodec,
    port: 0,
    sql: db.sql,
    streamPollMs: 50,
    publish: async (_kafka, _codec, options) => {
      published.push(options);
      return {
        commandId: 'c-1',
        action: options.action,
        account: options.account ?? null,
        instrumentId: options.instrumentId ?? null,
        flatten: options.flatten ?? false,
        reason: options.reason,
        actor: options.actor ?? '',
        tsIssued: 1,
      };
    },
  };
  const servers: ConsoleServer[] = [];
  const start = async (o: Partial<ConsoleOptions> = {}): Promise<ConsoleServer> => {
    const s = await startConsole({ ...base, ...o });
    servers.push(s);
    return s;
  };
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  it('refuses to listen beyond loopback without a token, and refuses short tokens', async () => {
    await expect(startConsole({ ...base, host: '0.0.0.0' })).rejects.toThrow(/without a token/);
    await expect(startConsole({ ...base, token: 'short' })).rejects.toThrow(/shorter than 16/);
  });

  it('answers reads with security headers, validates parameters before SQL, and 404s unknown paths', async () => {
    const s = await start({ token: TOKEN });
    expect(s.tokenGenerated).toBe(false);
    const page = await request(s.url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('id="chart"');
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-powered-by']).toBeUndefined();
    const vendor = await request(`${s.url}vendor/lightweight-charts.mjs`);
    expect(vendor.status).toBe(200);
    expect(vendor.headers['content-type']).toMatch(/javascript/);
    const before = db.queries.length;
    const hostile = await request(`${s.url}api/marketdata?instrument=${encodeURIComponent("A:B' OR '1'='1")}`);
    expect(hostile.status).toBe(400);
    expect(JSON.parse(hostile.body)).toMatchObject({ error: 'BAD_PARAMETER' });
    expect((await request(`${s.url}api/marketdata`)).status).toBe(400);
    expect((await request(`${s.url}api/orders?status=${encodeURIComponent("open'")}`)).status).toBe(400);
    expect(db.queries.length).toBe(before);
    expect((await request(`${s.url}api/orders?status=open`)).status).toBe(200);
    expect(db.queries[db.queries.length - 1]).toContain('max(seq)');
    expect((await request(`${s.url}api/nothing`)).status).toBe(404);
    expect((await request(s.url, { headers: { Host: `evil.example:${s.port}` } })).status).toBe(421);
  });

  it('guards actions: bearer token, own origin, JSON, reason; publishes with the console actor', async () => {
    const s = await start({ token: TOKEN, prefix: 'exp1.' });
    const url = `${s.url}api/halt`;
    const json = { 'Content-Type': 'application/json' };
    const body = JSON.stringify({ reason: 'feed outage', account: 'paper-1', operator: 'ana' });
    expect((await request(url, { method: 'POST', headers: json, body })).status).toBe(401);
    const cross = await request(url, {
      method: 'POST',
      headers: { ...json, Authorization: `Bearer ${TOKEN}`, Origin: 'http://evil.example' },
      body,
    });
    expect(cross.status).toBe(403);
    expect(
      (
        await request(url, {
          method: 'POST',
          headers: { 'Content-Type': 'text/plain', Authorization: `Bearer ${TOKEN}` },
          body,
        })
      ).status,
    ).toBe(415);
    const ok = await request(url, {
      method: 'POST',
      headers: { ...json, Authorization: `Bearer ${TOKEN}`, Origin: `http://127.0.0.1:${s.port}` },
      body,
    });
    expect(ok.status).toBe(202);
    expect(published[published.length - 1]).toEqual({
      action: 'HALT',
      account: 'paper-1',
      instrumentId: undefined,
      flatten: false,
      reason: 'feed outage',
      actor: `console:ana@${tokenId(TOKEN)}`,
      prefix: 'exp1.',
    });
    const count = published.length;
    // The fifth action within the minute is the last the default bucket allows.
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push(
        (
          await request(`${s.url}api/resume`, {
            method: 'POST',
            headers: { ...json, Authorization: `Bearer ${TOKEN}` },
            body: JSON.stringify({ reason: 'ok' }),
          })
        ).status,
      );
    expect(statuses).toEqual([202, 429, 429]);
    expect(published.length).toBe(count + 1);
  });

  it('needs the token for everything beyond loopback (Bearer or Basic), and rate-limits reads', async () => {
    const s = await start({ host: '0.0.0.0', token: TOKEN, limits: { readBurst: 3, readsPerSecond: 0.01 } });
    const url = `http://127.0.0.1:${s.port}/`;
    const anonymous = await request(url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic/);
    expect((await request(url, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    const basic = `Basic ${Buffer.from(`me:${TOKEN}`).toString('base64')}`;
    expect((await request(`${url}api/openapi.json`, { headers: { Authorization: basic } })).status).toBe(200);
    const limited = await request(url, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('generates a token on loopback when none is given', async () => {
    const s = await start();
    expect(s.tokenGenerated).toBe(true);
    expect(s.token.length).toBeGreaterThanOrEqual(16);
  });
});

describe('console stream', () => {
  it('pushes only rows that landed after the baseline, found by group counts, and stops polling without clients', async () => {
    const db = fakeQuestDb();
    const hub = new StreamHub(db.sql, 20);
    const events: [string, unknown][] = [];
    const remove = await hub.add((event, data) => events.push([event, data]));
    await new Promise((r) => setTimeout(r, 80));
    expect(events).toEqual([]);
    db.state.signals = 4;
    db.state.txn = 2;
    await new Promise((r) => setTimeout(r, 120));
    expect(events.map(([e, d]) => [e, (d as { id: string }).id])).toEqual([
      ['signal', 'sig-3'],
      ['signal', 'sig-4'],
    ]);
    expect((events[0][1] as { price: string }).price).toBe('12.5');
    remove();
    expect(hub.size).toBe(0);
    const polled = db.queries.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(db.queries.length).toBeLessThanOrEqual(polled + 8); // at most the round in flight
    await hub.close();
  });
});
