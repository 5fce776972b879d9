import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TickflowError } from '../../pipelines/runtime/errors';
import { ensurePromtool } from './promtool';

/**
 * ensurePromtool's order of preference and its install from a .deb, with stand-ins for promtool,
 * apt-get, dpkg-deb and sudo on a PATH that holds nothing else: no network, no root, no real package.
 */
const saved = { PATH: process.env.PATH, PROMTOOL: process.env.PROMTOOL, TICKFLOW_HOME: process.env.TICKFLOW_HOME };
let dir: string;
let bin: string;
let home: string;

function script(file: string, body: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

const PROMTOOL_OK = 'echo "promtool, version 2.42.0"';

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tickflow-promtool-test-'));
  bin = path.join(dir, 'bin');
  home = path.join(dir, 'home');
  fs.mkdirSync(bin);
  process.env.PATH = bin;
  process.env.TICKFLOW_HOME = home;
  delete process.env.PROMTOOL;
  jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
});

afterEach(() => {
  jest.restoreAllMocks();
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

async function failure(): Promise<TickflowError> {
  try {
    await ensurePromtool();
  } catch (error) {
    if (error instanceof TickflowError) return error;
    throw error;
  }
  throw new Error('ensurePromtool succeeded');
}

describe('ensurePromtool', () => {
  it('prefers PROMTOOL, then promtool on PATH, then the cached extract', async () => {
    const cached = script(path.join(home, 'lib', 'prometheus', 'usr', 'bin', 'promtool'), PROMTOOL_OK);
    expect(await ensurePromtool()).toBe(cached);
    const onPath = script(path.join(bin, 'promtool'), PROMTOOL_OK);
    expect(await ensurePromtool()).toBe(onPath);
    process.env.PROMTOOL = script(path.join(dir, 'mine', 'promtool'), PROMTOOL_OK);
    expect(await ensurePromtool()).toBe(process.env.PROMTOOL);
  });

  it('rejects a PROMTOOL that is not an executable, or a promtool that does not run, with a fix', async () => {
    process.env.PROMTOOL = path.join(dir, 'missing');
    const missing = await failure();
    expect([missing.code, missing.message]).toEqual([
      'CONFIG',
      `PROMTOOL=${path.join(dir, 'missing')} is not an executable file`,
    ]);
    process.env.PROMTOOL = script(path.join(dir, 'broken'), 'echo "exec format error" >&2; exit 3');
    const broken = await failure();
    expect(broken.code).toBe('SETUP');
    expect(broken.message).toMatch(/--version exited 3: exec format error/);
    expect(broken.fix).toBe(
      "install Debian's prometheus package (it contains /usr/bin/promtool) or set PROMTOOL=/path/to/promtool",
    );
  });

  it('downloads the .deb, runs apt-get update once when the package lists are missing, and unpacks promtool', async () => {
    const log = path.join(dir, 'calls.log');
    // apt-get: `download` fails like a machine without package lists until `update` has run.
    script(
      path.join(bin, 'apt-get'),
      [
        `echo "apt-get $*" >> ${log}`,
        `if [ "$1" = update ]; then : > ${dir}/lists; exit 0; fi`,
        `if [ ! -e ${dir}/lists ]; then echo "E: Unable to locate package prometheus" >&2; exit 100; fi`,
        'echo deb > prometheus_2.42.0+ds-5+deb12u1_amd64.deb',
      ].join('\n'),
    );
    // dpkg-deb -x DEB TARGET: writes the package's usr/bin/promtool.
    script(
      path.join(bin, 'dpkg-deb'),
      [
        `echo "dpkg-deb $1 \${2##*/}" >> ${log}`,
        '/bin/mkdir -p "$3/usr/bin"',
        `printf '#!/bin/sh\\n${PROMTOOL_OK}\\n' > "$3/usr/bin/promtool"`,
        '/bin/chmod 755 "$3/usr/bin/promtool"',
      ].join('\n'),
    );
    // Not root: the update goes through sudo, non-interactive without a terminal.
    script(path.join(bin, 'sudo'), `echo "sudo $1" >> ${log}; [ "$1" = -n ] && shift; exec "$@"`);

    const installed = await ensurePromtool();
    expect(installed).toBe(path.join(home, 'lib', 'prometheus', 'usr', 'bin', 'promtool'));
    const calls = fs.readFileSync(log, 'utf8').trim().split('\n');
    const root = process.getuid?.() === 0;
    expect(calls).toEqual([
      'apt-get download prometheus',
      ...(root ? [] : [process.stdin.isTTY ? `sudo ${path.join(bin, 'apt-get')}` : 'sudo -n']),
      'apt-get update',
      'apt-get download prometheus',
      'dpkg-deb -x prometheus_2.42.0+ds-5+deb12u1_amd64.deb',
    ]);
    expect(fs.readdirSync(path.join(home, 'lib'))).toEqual(['prometheus']);
    // The second call finds the extract: nothing is downloaded again.
    expect(await ensurePromtool()).toBe(installed);
    expect(fs.readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(calls.length);
  });

  it('says what to do when apt-get cannot fetch the package', async () => {
    script(path.join(bin, 'apt-get'), 'echo "E: Failed to fetch http://deb.debian.org/... 404" >&2; exit 100');
    script(path.join(bin, 'dpkg-deb'), 'exit 0');
    const error = await failure();
    expect(error.code).toBe('DOWNLOAD_FAILED');
    expect(error.message).toMatch(/^apt-get download prometheus failed \(exit 100\): E: Failed to fetch/);
    expect(error.fix).toMatch(/set PROMTOOL=\/path\/to\/promtool$/);
    expect(fs.existsSync(path.join(home, 'lib', 'prometheus'))).toBe(false);
  });

  it('says what to do without apt-get (not Debian)', async () => {
    const error = await failure();
    expect([error.code, error.message]).toEqual([
      'SETUP',
      'promtool is not installed and apt-get is not on PATH to fetch it',
    ]);
  });
});
