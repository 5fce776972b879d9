import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TickflowError } from '../../pipelines/runtime/errors';
import { stackStatus, stackUp } from '../../ops/stack/stack';

/** The stack is up (global setup); these tests check `up` against running and foreign servers. */
describe('tickflow stack', () => {
  const saved = { ...process.env };
  afterEach(() => {
    const home = process.env.TICKFLOW_HOME;
    process.env = { ...saved };
    if (home && home !== saved.TICKFLOW_HOME) fs.rmSync(home, { recursive: true, force: true });
  });

  it('reports every server running with its address', async () => {
    const rows = await stackStatus();
    expect(rows.map((r) => [r.component, r.state])).toEqual([
      ['kafka-1', 'running'],
      ['questdb', 'running'],
      ['registry', 'running'],
    ]);
    expect(rows.find((r) => r.component === 'kafka-1')?.address).toBe('127.0.0.1:9092');
    expect(rows.find((r) => r.component === 'questdb')?.address).toMatch(/^http:\/\/127\.0\.0\.1:9000/);
  });

  it('`up` while everything runs starts nothing and leaves the servers as they are', async () => {
    const before = await stackStatus();
    const result = await stackUp({});
    expect(result.started).toEqual([]);
    expect(result.alreadyRunning).toEqual(['Kafka', 'QuestDB', 'Schema registry (Apicurio)']);
    expect((await stackStatus()).map((r) => r.pid)).toEqual(before.map((r) => r.pid));
  });

  it('leaves a component alone when its environment variable points at an existing server', async () => {
    process.env.TICKFLOW_HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'tickflow-home-'));
    process.env.TICKFLOW_KAFKA_BROKERS = '127.0.0.1:9092';
    process.env.TICKFLOW_SCHEMA_REGISTRY_URL = 'http://127.0.0.1:8081/apis/ccompat/v7';
    process.env.TICKFLOW_QUESTDB_URL = 'http://127.0.0.1:9000';
    const result = await stackUp({});
    expect(result.started).toEqual([]);
    expect(result.external).toHaveLength(3);
    expect((await stackStatus()).map((r) => r.state)).toEqual(['external', 'external', 'external']);
  });

  it('refuses to start a server whose port another process holds, naming the port and the fix', async () => {
    // A fresh home has no pid files, so the running QuestDB is a foreign process there.
    process.env.TICKFLOW_HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'tickflow-home-'));
    process.env.TICKFLOW_KAFKA_BROKERS = '127.0.0.1:9092';
    process.env.TICKFLOW_SCHEMA_REGISTRY_URL = 'http://127.0.0.1:8081/apis/ccompat/v7';
    let error: unknown;
    try {
      await stackUp({});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TickflowError);
    expect((error as TickflowError).code).toBe('PORT_TAKEN');
    expect((error as TickflowError).message).toMatch(/port 9000 \(QuestDB HTTP/);
    expect((error as TickflowError).fix).toMatch(/TICKFLOW_QUESTDB_URL/);
  });

  it('fails with the fix when an external server does not answer', async () => {
    process.env.TICKFLOW_HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'tickflow-home-'));
    process.env.TICKFLOW_KAFKA_BROKERS = '127.0.0.1:9092';
    process.env.TICKFLOW_SCHEMA_REGISTRY_URL = 'http://127.0.0.1:8081/apis/ccompat/v7';
    process.env.TICKFLOW_QUESTDB_URL = 'http://127.0.0.1:9';
    await expect(stackUp({})).rejects.toThrow(/TICKFLOW_QUESTDB_URL=http:\/\/127.0.0.1:9 does not answer/);
  });
});
