import fs from 'node:fs';
import path from 'node:path';
import { prepare } from '../../ops/demo/demo';
import { tickflowHome } from '../../pipelines/runtime/settings';
import { stackStatus } from '../../ops/stack/stack';
import { ensureChromium } from '../../ops/console/chromium';

/**
 * Starts the real local stack for the test run (Kafka, QuestDB, schema registry), applies topics
 * and registers schemas. A stack that was already running is reused and left running afterwards;
 * one this run started is stopped by the teardown.
 */
export const MARKER = (): string => path.join(tickflowHome(), 'run', 'started-by-tests');

export default async function globalSetup(): Promise<void> {
  const before = await stackStatus();
  const wasRunning = before.filter((r) => r.state === 'running').map((r) => r.component);
  const started = Date.now();
  await prepare();
  ensureChromium();
  const after = await stackStatus();
  const startedNow = after
    .filter((r) => r.state === 'running' && !wasRunning.includes(r.component))
    .map((r) => r.component);
  fs.mkdirSync(path.dirname(MARKER()), { recursive: true });
  if (startedNow.length > 0) fs.writeFileSync(MARKER(), JSON.stringify(startedNow));
  process.stderr.write(
    `\n[tests] stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s (started: ${startedNow.join(', ') || 'none, reused running servers'})\n`,
  );
}
