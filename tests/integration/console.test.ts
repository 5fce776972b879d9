import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { ensureChromium } from '../../ops/console/chromium';
import { collectTopic } from '../../ops/cli/tap';
import type { ConsoleServer } from '../../ops/console/server';
import { startConsole } from '../../ops/console/server';
import { tokenId } from '../../ops/console/security';
import { RISK_COMMANDS_TOPIC } from '../../ops/run/risk-commands';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { createKafka } from '../../pipelines/runtime/kafka';
import { REPO_ROOT } from '../../pipelines/runtime/settings';
import type { RiskCommand } from '../../schemas/types.generated';
import { ensureDemoData } from '../support/demo-data';
import type { Hooks } from '../support/console-page';

// The browser's globals, for the functions evaluated in the page (the project compiles without the DOM library).
declare const window: { __tickflow?: Hooks };
declare const document: {
  querySelectorAll(selector: string): { length: number };
  getElementById(id: string): { textContent: string | null } | null;
};
import { openConsole, waitForRowsIn } from '../support/console-page';

/**
 * The web console on the real stack, in a real browser (Debian's chromium through playwright-core), over the demo's
 * data: the page draws the candles /api/marketdata returns, every documented read answers with its declared shape,
 * actions refuse anonymous and cross-origin callers, and a halt from the page lands on risk.commands.v1 with its reason
 * and actor. The halt targets an account nobody trades, and is resumed at the end.
 *
 * Extending it with a running pipeline (halt cancels orders, a new signal and fill appear without reload): start the
 * pipeline, pass `pipeline: pipelineSource(pipeline)` to startConsole, and use openConsole / waitForRowsIn below.
 */

type Schema = { $ref?: string; type?: string | string[]; properties?: Record<string, Schema>; required?: string[] };

function resolve(doc: { components: { schemas: Record<string, Schema> } }, schema: Schema): Schema {
  return schema.$ref ? doc.components.schemas[schema.$ref.split('/').pop() as string] : schema;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function matchesType(value: unknown, declared: string | string[] | undefined): boolean {
  if (declared === undefined) return true;
  const types = Array.isArray(declared) ? declared : [declared];
  const actual = typeOf(value);
  return types.includes(actual) || (actual === 'integer' && types.includes('number'));
}

async function readCommands(kafka: Kafka): Promise<RiskCommand[]> {
  return (await collectTopic<RiskCommand>(kafka, RISK_COMMANDS_TOPIC, 60_000)).map((r) => r.value);
}

async function waitForCommand(kafka: Kafka, commandId: string): Promise<RiskCommand> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const found = (await readCommands(kafka)).find((c) => c.commandId === commandId);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`command ${commandId} not on ${RISK_COMMANDS_TOPIC}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('web console', () => {
  const token = randomBytes(24).toString('hex');
  const account = `console-test-${randomBytes(4).toString('hex')}`;
  const artifacts = path.join(REPO_ROOT, 'tests', 'artifacts');
  let kafka: Kafka;
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let halted = false;

  beforeAll(async () => {
    await ensureDemoData();
    kafka = createKafka('tickflow-console-test');
    // More actions than the default 5 a minute: this file sends a dozen (ops/console/server.test.ts checks the limit).
    server = await startConsole({ kafka, codec: new AvroCodec(), port: 0, token, limits: { actionBurst: 30 } });
    browser = await chromium.launch({ executablePath: ensureChromium(), args: ['--no-sandbox', '--headless=new'] });
    page = await browser.newPage({ viewport: { width: 1600, height: 1250 } });
    page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  afterAll(async () => {
    try {
      if (halted) {
        // Leave the stack as it was: the test account back to ACTIVE.
        const { publishRiskCommand } = await import('../../ops/run/risk-commands');
        await publishRiskCommand(kafka, new AvroCodec(), {
          action: 'RESUME',
          account,
          reason: 'console test cleanup',
          actor: 'console-test',
        });
      }
    } finally {
      await browser?.close();
      await server?.close();
    }
  });

  it('loads, draws the candles /api/marketdata returns, and fills every panel without errors', async () => {
    await openConsole(page, server.url);
    const hooks = (await page.evaluate(() => window.__tickflow)) as Hooks;
    expect(hooks.instrument).toBe('BINANCE-FUT:BTCUSDT'); // the demo's recorded instrument: the most fills
    const params = new URLSearchParams({ instrument: hooks.instrument, interval: hooks.interval, limit: '1000' });
    const api = (await (await fetch(`${server.url}api/marketdata?${params}`)).json()) as { bars: unknown[] };
    expect(api.bars.length).toBeGreaterThan(0);
    expect(hooks.barsLoaded).toBe(api.bars.length);
    expect(hooks.barsDrawn).toBe(api.bars.length);
    expect(hooks.markers).toBeGreaterThan(0); // the demo's signals and fills on BTCUSDT
    expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);

    for (const testid of ['signal-rows', 'decision-rows', 'fill-rows', 'position-rows', 'audit-rows', 'quality-rows'])
      expect(await waitForRowsIn(page, testid, 1)).toBeGreaterThan(0);
    expect(await waitForRowsIn(page, 'pipeline-rows', 3)).toBeGreaterThanOrEqual(3);
    expect(await waitForRowsIn(page, 'table-rows', 5)).toBeGreaterThanOrEqual(5);
    await expect(page.locator('[data-testid="stream-status"]')).toBeTruthy();
    await page.waitForFunction(() => document.getElementById('stream-status')?.textContent === 'live');
    expect(await page.locator('#pnl-summary b').count()).toBe(4);
    expect(pageErrors).toEqual([]);

    fs.mkdirSync(artifacts, { recursive: true });
    const shot = path.join(artifacts, 'console.png');
    await page.waitForTimeout(500);
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env.TICKFLOW_UPDATE_SCREENSHOT === '1')
      fs.copyFileSync(shot, path.join(REPO_ROOT, 'ops', 'console', 'screenshot.png'));
  });

  it('serves an OpenAPI 3.1 document, and every read it documents answers 200 with the declared shape', async () => {
    const response = await fetch(`${server.url}api/openapi.json`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as {
      openapi: string;
      components: { schemas: Record<string, Schema> };
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: { name: string; required?: boolean; example?: string }[];
            responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
          }
        >
      >;
    };
    expect(doc.openapi).toBe('3.1.0');
    const reads = Object.entries(doc.paths).filter(([, ops]) => ops.get);
    expect(reads.length).toBeGreaterThanOrEqual(12);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/halt', '/api/resume']));
    for (const [route, ops] of reads) {
      const get = ops.get;
      const query = new URLSearchParams();
      for (const p of get.parameters ?? []) if (p.required) query.set(p.name, p.example as string);
      const url = `${server.url}${route.slice(1)}${query.size > 0 ? `?${query}` : ''}`;
      const content = get.responses['200'].content ?? {};
      if (content['text/event-stream']) {
        const abort = new AbortController();
        const stream = await fetch(url, { signal: abort.signal });
        expect(stream.status).toBe(200);
        expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
        const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
        let text = '';
        while (!text.includes('event: ready')) text += new TextDecoder().decode((await reader.read()).value);
        abort.abort();
        continue;
      }
      const answer = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
      expect([route, answer.status]).toEqual([route, 200]);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await answer.json()) as Record<string, unknown>;
      const schema = resolve(doc, content['application/json'].schema);
      expect([route, typeOf(body)]).toEqual([route, 'object']);
      for (const key of schema.required ?? []) {
        expect([route, key, key in body]).toEqual([route, key, true]);
        const declared = resolve(doc, (schema.properties ?? {})[key] ?? {});
        expect([route, key, matchesType(body[key], declared.type)]).toEqual([route, key, true]);
      }
    }
  });

  it('refuses actions without the bearer token (401) or from another origin (403)', async () => {
    const post = (headers: Record<string, string>, body = JSON.stringify({ reason: 'test', account })) =>
      fetch(`${server.url}api/halt`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body,
      });
    expect((await post({})).status).toBe(401);
    expect((await post({ Authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
    const basic = `Basic ${Buffer.from(`me:${token}`).toString('base64')}`;
    expect((await post({ Authorization: basic })).status).toBe(401);
    expect((await post({ Authorization: `Bearer ${token}`, Origin: 'http://evil.example' })).status).toBe(403);
    expect((await post({ Authorization: `Bearer ${token}`, 'Content-Type': 'text/plain' })).status).toBe(415);
    const noReason = await post({ Authorization: `Bearer ${token}` }, JSON.stringify({ account, reason: ' ' }));
    expect(noReason.status).toBe(400);
    expect(((await noReason.json()) as { error: string }).error).toBe('REASON_REQUIRED');
  });

  it('halts one account from the page: the command is on risk.commands.v1 with the reason and actor', async () => {
    await page.click('[data-testid="halt-button"]');
    await page.check('#scope-one');
    await page.fill('[data-testid="action-account"]', account);
    const reason = `console test ${account}`;
    await page.fill('[data-testid="action-reason"]', reason);
    await page.fill('[data-testid="action-token"]', token);
    await page.click('[data-testid="action-confirm"]');
    const result = page.locator('[data-testid="action-result"]');
    await page.waitForFunction(() => /sent|Refused/.test(document.getElementById('action-result')?.textContent ?? ''));
    expect(await result.textContent()).toMatch(/^HALT .* sent for console-test-/);
    halted = true;
    const commandId = (await result.getAttribute('data-command-id')) as string;
    const command = await waitForCommand(kafka, commandId);
    expect(command).toMatchObject({
      action: 'HALT',
      account,
      reason,
      flatten: false,
      actor: `console:${tokenId(token)}`,
    });
    expect(command.tsIssued).toBeGreaterThan((Date.now() - 120_000) * 1000);

    // Resume from the page too; the token is remembered for this tab.
    await page.click('[data-testid="action-cancel"]');
    await page.click('[data-testid="resume-button"]');
    expect(await page.locator('#token-field').isHidden()).toBe(true);
    await page.check('#scope-one');
    await page.fill('[data-testid="action-account"]', account);
    await page.fill('[data-testid="action-reason"]', `resume ${reason}`);
    await page.click('[data-testid="action-confirm"]');
    await page.waitForFunction(() =>
      /RESUME .* sent|Refused/.test(document.getElementById('action-result')?.textContent ?? ''),
    );
    const resumed = await waitForCommand(kafka, (await result.getAttribute('data-command-id')) as string);
    expect(resumed).toMatchObject({ action: 'RESUME', account, reason: `resume ${reason}` });
    halted = false;
  });
});
