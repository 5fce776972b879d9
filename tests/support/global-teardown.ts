import fs from 'node:fs';
import { stackDown } from '../../ops/stack/stack';
import { MARKER } from './global-setup';

/** Stops the stack only if this test run started it (set TICKFLOW_KEEP_STACK=1 to keep it). */
export default async function globalTeardown(): Promise<void> {
  if (!fs.existsSync(MARKER())) return;
  fs.rmSync(MARKER());
  if (process.env.TICKFLOW_KEEP_STACK === '1') return;
  const stopped = await stackDown({ purge: false });
  process.stderr.write(`[tests] stopped ${stopped.join(', ')}\n`);
}
