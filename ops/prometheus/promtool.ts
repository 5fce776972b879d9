import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TickflowError } from '../../pipelines/runtime/errors';
import { tickflowHome } from '../../pipelines/runtime/settings';

/**
 * promtool checks the scrape config and the alert rules and runs their unit tests. It ships in
 * Debian's `prometheus` package; installing that package would also start a Prometheus daemon
 * (its postinst), so instead the .deb is downloaded with `apt-get download` (no root needed) and
 * unpacked with `dpkg-deb -x` under `<tickflowHome()>/lib/prometheus`: nothing runs, nothing
 * outside the tickflow home changes. Order of preference: `PROMTOOL`, `promtool` on PATH, that
 * cached extract, a fresh download.
 */
const FIX = "install Debian's prometheus package (it contains /usr/bin/promtool) or set PROMTOOL=/path/to/promtool";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program (an absolute path, found by `onPath`) without a shell, in this module's view of the
 * environment; never rejects for a non-zero exit (the caller decides).
 */
function run(command: string, args: readonly string[], cwd?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const options = { cwd, env: process.env, encoding: 'utf8' as const, maxBuffer: 16 * 1024 * 1024 };
    execFile(command, args, options, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(error);
        return;
      }
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The first executable `name` on PATH, as a shell would find it. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Where the unpacked package lives; the binary is `usr/bin/promtool` below it. */
export function promtoolCacheDir(): string {
  return path.join(tickflowHome(), 'lib', 'prometheus');
}

function progress(line: string): void {
  process.stderr.write(`tickflow: ${line}\n`);
}

/** Package lists missing or outdated: apt-get cannot name a candidate for the package. */
function listsMissing(r: Run): boolean {
  return /Unable to locate package|has no installation candidate|Can't select candidate|No packages found/i.test(
    `${r.stderr}\n${r.stdout}`,
  );
}

/** `apt-get update` as root, or through sudo (non-interactive without a terminal, so a test never hangs). */
async function aptUpdate(aptGet: string): Promise<void> {
  const root = process.getuid?.() === 0;
  const sudo = root ? undefined : onPath('sudo');
  if (!root && !sudo)
    throw new TickflowError(
      'SETUP',
      'apt-get has no package lists, and refreshing them needs root (not this user) or sudo (not on PATH)',
      `run \`apt-get update\` as root once, then retry; or ${FIX}`,
    );
  progress(
    root
      ? 'running apt-get update (package lists are missing)'
      : 'running sudo apt-get update (package lists are missing)',
  );
  const r = root
    ? await run(aptGet, ['update'])
    : await run(sudo as string, [...(process.stdin.isTTY ? [] : ['-n']), aptGet, 'update']);
  if (r.code !== 0)
    throw new TickflowError(
      'DOWNLOAD_FAILED',
      `apt-get update failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      `run \`sudo apt-get update\` yourself and retry; or ${FIX}`,
    );
}

async function download(dir: string, aptGet: string): Promise<string> {
  let r = await run(aptGet, ['download', 'prometheus'], dir);
  if (r.code !== 0 && listsMissing(r)) {
    await aptUpdate(aptGet);
    r = await run(aptGet, ['download', 'prometheus'], dir);
  }
  if (r.code !== 0)
    throw new TickflowError(
      'DOWNLOAD_FAILED',
      `apt-get download prometheus failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      `check that the Debian mirror in /etc/apt/sources.list(.d) is reachable; or ${FIX}`,
    );
  const deb = fs.readdirSync(dir).find((f) => /^prometheus_.*\.deb$/.test(f));
  if (!deb)
    throw new TickflowError('DOWNLOAD_FAILED', `apt-get download prometheus left no prometheus_*.deb in ${dir}`, FIX);
  return path.join(dir, deb);
}

/**
 * Unpacks into a private twin of the cache directory and renames it into place, so an interrupted
 * or concurrent install never leaves a half-written binary at the cached path.
 */
async function install(): Promise<string> {
  const [aptGet, dpkgDeb] = ['apt-get', 'dpkg-deb'].map((tool) => {
    const found = onPath(tool);
    if (!found)
      throw new TickflowError('SETUP', `promtool is not installed and ${tool} is not on PATH to fetch it`, FIX);
    return found;
  });
  const target = promtoolCacheDir();
  progress(`installing promtool from Debian's prometheus package into ${target} (first time only) ...`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tickflow-promtool-'));
  const partial = `${target}.partial-${process.pid}`;
  try {
    const deb = await download(tmp, aptGet);
    progress(`downloaded ${path.basename(deb)}; unpacking`);
    fs.rmSync(partial, { recursive: true, force: true });
    fs.mkdirSync(partial, { recursive: true });
    const x = await run(dpkgDeb, ['-x', deb, partial]);
    if (x.code !== 0)
      throw new TickflowError('DOWNLOAD_FAILED', `dpkg-deb -x ${deb} failed (exit ${x.code}): ${x.stderr.trim()}`, FIX);
    if (!isExecutable(path.join(partial, 'usr', 'bin', 'promtool')))
      throw new TickflowError('DOWNLOAD_FAILED', `${path.basename(deb)} holds no usr/bin/promtool`, FIX);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (!isExecutable(path.join(target, 'usr', 'bin', 'promtool'))) {
      fs.rmSync(target, { recursive: true, force: true });
      fs.renameSync(partial, target);
    }
  } finally {
    fs.rmSync(partial, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return path.join(target, 'usr', 'bin', 'promtool');
}

/** Checks that a promtool runs (a wrong architecture or a broken file fails here, not mid-test). */
async function verified(file: string, origin: string): Promise<string> {
  let r: Run;
  try {
    r = await run(file, ['--version']);
  } catch (error) {
    throw new TickflowError('SETUP', `${origin} ${file} cannot be run: ${(error as Error).message}`, FIX);
  }
  if (r.code !== 0)
    throw new TickflowError('SETUP', `${origin} ${file} --version exited ${r.code}: ${r.stderr.trim()}`, FIX);
  return file;
}

/** A path to a working promtool, installing it under the tickflow home when there is none. */
export async function ensurePromtool(): Promise<string> {
  const fromEnv = process.env.PROMTOOL;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!isExecutable(fromEnv))
      throw new TickflowError(
        'CONFIG',
        `PROMTOOL=${fromEnv} is not an executable file`,
        'point PROMTOOL at a promtool binary, or unset it to use the one on PATH or install one',
      );
    return verified(fromEnv, 'PROMTOOL');
  }
  const found = onPath('promtool');
  if (found) return verified(found, 'promtool on PATH:');
  const cached = path.join(promtoolCacheDir(), 'usr', 'bin', 'promtool');
  if (isExecutable(cached)) return verified(cached, 'cached promtool');
  return verified(await install(), 'installed promtool');
}
