import { spawnSync } from 'node:child_process';
import path from 'node:path';

// The formatter as `npm run lint` runs it, here so that `npm test` (and CI) holds the code to it:
// Prettier at 120 columns (.prettierrc.json), with the max-len rule in eslint.config.mjs for comments.
const ROOT = path.resolve(__dirname, '..', '..');

describe('formatting', () => {
  it('every source file is as Prettier writes it (fix: npm run format)', () => {
    const prettier = path.join(ROOT, 'node_modules', 'prettier', 'bin', 'prettier.cjs');
    const run = spawnSync(process.execPath, [prettier, '--list-different', '**/*.{ts,mjs,cjs,js,json}'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect({
      status: run.status,
      differ: run.stdout.trim().split('\n').filter(Boolean),
      error: run.stderr.trim(),
    }).toEqual({ status: 0, differ: [], error: '' });
  }, 60_000);
});
