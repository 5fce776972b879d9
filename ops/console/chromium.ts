import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { TickflowError } from '../../pipelines/runtime/errors';

/** Where Debian's chromium package puts the browser the console's tests drive (playwright-core). */
export const CHROMIUM = process.env.TICKFLOW_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Installs Debian's chromium when it is missing (`apt-get install chromium`, as root or through
 * `sudo -n`), printing progress; returns the browser's path. The browser tests need it; nothing
 * else does.
 */
export function ensureChromium(): string {
  if (fs.existsSync(CHROMIUM)) return CHROMIUM;
  const root = process.getuid?.() === 0;
  const run = (args: string[]): boolean => {
    const [cmd, ...rest] = root ? args : ['sudo', '-n', ...args];
    const r = spawnSync(cmd, rest, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    return r.status === 0;
  };
  process.stderr.write("installing Debian's chromium for the browser tests (apt-get install chromium) ...\n");
  if (!run(['apt-get', 'install', '-y', '-q', 'chromium'])) {
    run(['apt-get', 'update', '-q']);
    if (!run(['apt-get', 'install', '-y', '-q', 'chromium']))
      throw new TickflowError(
        'CONFIG',
        "Debian's chromium could not be installed",
        'install it (apt-get install chromium) or set TICKFLOW_CHROMIUM to a Chromium binary',
      );
  }
  execFileSync(CHROMIUM, ['--version'], { stdio: 'ignore' });
  return CHROMIUM;
}
