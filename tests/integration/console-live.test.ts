import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { ensureChromium } from '../../ops/console/chromium';
import { benchRiskConfig } from '../../ops/bench/trading-config';
import { pipelineSource } from '../../ops/console/pipeline-view';
import type { ConsoleServer } from '../../ops/console/server';
import { startConsole } from '../../ops/console/server';
import { publishRiskCommand } from '../../ops/run/risk-commands';
import { Pipeline } from '../../ops/run/pipeline';
import { sql } from '../../connectors/questdb/sql';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { createKafka } from '../../pipelines/runtime/kafka';
import { REPO_ROOT } from '../../pipelines/runtime/settings';
import { ensureDemoData } from '../support/demo-data';
import { publish } from '../support/fault-children';
import { quoteAt, signalFor } from '../support/trading';
import { openConsole } from '../support/console-page';

/**
 * The console beside a running trading pipeline (marks, risk, execution and the sink, in this
 * process), in a real browser: a new signal and its fill appear on the open page without a reload,
 * and a halt from the page cancels the account's resting order, which the audit trail then shows.
 */
describe('web console with a running pipeline', () => {
  const token = randomBytes(24).toString('hex');
  const tag = randomBytes(4).toString('hex');
  const instrument = `SYN:LIVE${tag.toUpperCase()}`;
  const market = `cl-m-${tag}`;
  const limit = `cl-l-${tag}`;
  const kafka = createKafka('tickflow-console-live-test');
  const codec = new AvroCodec();
  let pipeline: Pipeline;
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let quoting = true;
  let quotes: Promise<void> = Promise.resolve();

  const pageText = (testid: string): Promise<string> =>
    page
      .locator(`[data-testid="${testid}"]`)
      .first()
      .innerText()
      .catch(() => '');

  async function waitForText(testid: string, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(await pageText(testid))) {
      if (Date.now() > deadline)
        throw new Error(`${testid} never showed ${pattern}; it shows: ${(await pageText(testid)).slice(0, 500)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  beforeAll(async () => {
    await ensureDemoData();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tickflow-console-live-'));
    const configFile = path.join(dir, 'risk.json');
    const config = benchRiskConfig([market, limit]);
    // Limit orders at the signal's price, below the market: they rest until the halt cancels them.
    (config.accounts as Record<string, unknown>)[limit] = { orderType: 'LIMIT' };
    fs.writeFileSync(configFile, JSON.stringify(config));
    pipeline = new Pipeline(kafka, codec, {
      fuse: false,
      settings: new Map<string, Record<string, string>>([
        ['risk', { configFile }],
        ['marks', { markIntervalMs: '0' }],
      ]),
    });
    await pipeline.start(['marks', 'risk', 'execution', 'sink-questdb']);
    quotes = (async () => {
      while (quoting) {
        await publish(kafka, codec, '', [quoteAt(instrument, Date.now() * 1000, '100.00', '100.01')], 1e6);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    server = await startConsole({ kafka, codec, port: 0, token, pipeline: pipelineSource(pipeline) });
    browser = await chromium.launch({ executablePath: ensureChromium(), args: ['--no-sandbox', '--headless=new'] });
    page = await browser.newPage({ viewport: { width: 1600, height: 1250 } });
    await openConsole(page, server.url, token);
  }, 300_000);

  afterAll(async () => {
    quoting = false;
    await quotes.catch(() => undefined);
    await publishRiskCommand(kafka, codec, { action: 'RESUME', account: limit, reason: 'test cleanup', actor: 'test' });
    await browser?.close();
    await server?.close();
    await pipeline?.stop();
  });

  it('shows a new signal and its fill without a reload', async () => {
    await new Promise((resolve) => setTimeout(resolve, 2000)); // marks from the first quotes
    const signal = signalFor(market, instrument, 'BUY', '100.01', Date.now() * 1000);
    // The signal as validate would publish it (the signals panel) and as route hands it to risk.
    await publish(kafka, codec, '', [{ ...signal, topic: 'signals.v1', key: instrument }, signal], 1e6);
    await waitForText('signal-rows', new RegExp(`LIVE${tag.toUpperCase()}`, 'i'));
    await waitForText('fill-rows', new RegExp(`LIVE${tag.toUpperCase()}`, 'i'));
    const fills = await sql(`SELECT count() FROM fills WHERE account = '${market}'`);
    expect(Number(fills.dataset[0][0])).toBeGreaterThan(0);
  }, 120_000);

  it('halts from the page: the resting order is canceled and the audit trail shows the halt', async () => {
    const signal = signalFor(limit, instrument, 'BUY', '99.50', Date.now() * 1000);
    await publish(kafka, codec, '', [signal], 1e6);
    await waitForText('order-rows', new RegExp(`LIVE${tag.toUpperCase()}`, 'i'));

    await page.click('[data-testid="halt-button"]');
    await page.check('#scope-one');
    await page.fill('[data-testid="action-account"]', limit);
    await page.fill('[data-testid="action-reason"]', `console live test ${tag}`);
    await page.click('[data-testid="action-confirm"]');
    await waitForText('action-result', /HALT .* sent/);
    await waitForText(
      'audit-rows',
      new RegExp(`HALT[\\s\\S]*console live test ${tag}|console live test ${tag}[\\s\\S]*HALT`),
    );
    // The order is gone from the open orders, and QuestDB has it CANCELED.
    const deadline = Date.now() + 60_000;
    let canceled = 0;
    while (Date.now() < deadline && canceled === 0) {
      const r = await sql(`SELECT count() FROM orders WHERE account = '${limit}' AND status = 'CANCELED'`);
      canceled = Number(r.dataset[0][0]);
      if (canceled === 0) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(canceled).toBeGreaterThan(0);
    await page.click('[data-testid="action-cancel"]').catch(() => undefined);
    const artifacts = path.join(REPO_ROOT, 'tests', 'artifacts');
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'console-live.png'), fullPage: true });
  }, 180_000);
});
