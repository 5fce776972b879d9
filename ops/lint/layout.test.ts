import fs from 'node:fs';
import path from 'node:path';
import { COMMANDS } from '../cli/command-list';

// The layout DESIGN.md section 2 fixes, where a directory listing can hold it.
const OPS = path.resolve(__dirname, '..');

describe('layout', () => {
  it('keeps ops/ one sub-folder per role, nothing loose at its top', () => {
    const loose = fs
      .readdirSync(OPS, { withFileTypes: true })
      .filter((entry) => !entry.isDirectory())
      .map((entry) => entry.name);
    expect(loose).toEqual([]);
  });

  it('has one file per CLI command in ops/cli/commands/, named after a command of command-list.ts', () => {
    const files = fs
      .readdirSync(path.join(OPS, 'cli', 'commands'))
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
      .map((file) => file.replace(/\.ts$/, ''));
    for (const name of Object.keys(COMMANDS)) expect(files).toContain(name);
    // A large sub-command may have its own file, `<command>-<sub>.ts`.
    for (const file of files) expect(Object.keys(COMMANDS)).toContain(file.replace(/-.*$/, ''));
  });
});
