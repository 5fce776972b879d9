import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../pipelines/runtime/settings';
import { TickflowError } from '../../pipelines/runtime/errors';

/**
 * Pinned SHA-256 hashes of every file `stack up` installs from Maven Central, kept in the repository
 * (ops/stack/checksums.sha256, `sha256sum` format, keyed by install directory name such as
 * `kafka-3.9.2`). An install is checked right after its download, before it is used, and an install
 * made earlier is checked once; a `.verified` marker holding the digest of the lines it was checked
 * against makes later starts cheap and re-checks it when those lines change.
 */
export const MANIFEST_FILE = path.join(REPO_ROOT, 'ops', 'stack', 'checksums.sha256');
export const VERIFIED_MARKER = '.verified';

/** Install directory name -> file name -> SHA-256 (lower-case hex). */
export type Manifest = Map<string, Map<string, string>>;

const MANIFEST_NAME = path.relative(REPO_ROOT, MANIFEST_FILE);

export function parseManifest(text: string, source: string): Manifest {
  const manifest: Manifest = new Map();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    // sha256sum writes "<hash>  <file>" (text mode) or "<hash> *<file>" (binary mode).
    const match = /^([0-9a-fA-F]{64}) [ *]([^/\s]+)\/([^/\s]+)$/.exec(line);
    if (!match) {
      throw new TickflowError(
        'SETUP',
        `line ${index + 1} of ${source} is not '<sha256>  <install directory>/<file>'`,
        `fix that line of ${source} (it is in sha256sum's format)`,
      );
    }
    const [, hash, dir, file] = match;
    const files = manifest.get(dir) ?? new Map<string, string>();
    if (files.has(file))
      throw new TickflowError(
        'SETUP',
        `${source} pins ${dir}/${file} twice (line ${index + 1})`,
        'keep one line per file',
      );
    files.set(file, hash.toLowerCase());
    manifest.set(dir, files);
  });
  return manifest;
}

export function readManifest(file = MANIFEST_FILE): Manifest {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new TickflowError(
      'SETUP',
      `the checksum manifest ${file} cannot be read: ${(error as Error).message}`,
      'restore it from the repository (git checkout -- ops/stack/checksums.sha256)',
    );
  }
  return parseManifest(text, file);
}

/** SHA-256 of a file, read in 1 MiB blocks (server archives are over 100 MB). */
export function sha256File(file: string): string {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(1 << 20);
  const fd = fs.openSync(file, 'r');
  try {
    for (;;) {
      const read = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

export interface ChecksumProblem {
  file: string;
  kind: 'mismatch' | 'unpinned' | 'missing';
  expected?: string;
  actual?: string;
}

/**
 * Compares files of `dir` with the hashes pinned for install `name`. With `files`, only those are
 * checked; without, every regular file in `dir` (dot files are tickflow's markers) is, and a pinned
 * file that is absent is a problem too.
 */
export function checkFiles(
  dir: string,
  name: string,
  manifest: Manifest,
  files?: readonly string[],
): ChecksumProblem[] {
  const pinned = manifest.get(name) ?? new Map<string, string>();
  const present =
    files ??
    fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.startsWith('.'))
      .map((e) => e.name);
  const problems: ChecksumProblem[] = [];
  for (const file of [...present].sort()) {
    const expected = pinned.get(file);
    if (!expected) {
      problems.push({ file, kind: 'unpinned' });
      continue;
    }
    const full = path.join(dir, file);
    if (!fs.existsSync(full)) {
      problems.push({ file, kind: 'missing', expected });
      continue;
    }
    const actual = sha256File(full);
    if (actual !== expected) problems.push({ file, kind: 'mismatch', expected, actual });
  }
  if (!files) {
    for (const [file, expected] of pinned)
      if (!present.includes(file)) problems.push({ file, kind: 'missing', expected });
  }
  return problems;
}

/**
 * Throws, naming every file with its expected and actual hash and the fix, unless the files match.
 * `what` names the install in messages (e.g. "Kafka 3.9.2"). Returns how many files were checked.
 */
export function verifyFiles(
  dir: string,
  name: string,
  what: string,
  manifest: Manifest,
  files?: readonly string[],
): number {
  const problems = checkFiles(dir, name, manifest, files);
  const mismatched = problems.filter((p) => p.kind === 'mismatch');
  if (mismatched.length > 0) {
    const first = mismatched[0].file;
    throw new TickflowError(
      'DOWNLOAD_FAILED',
      `${what}: ${mismatched.length} file(s) in ${dir} differ from the SHA-256 pinned in ${MANIFEST_NAME}:\n` +
        mismatched.map((p) => `  ${p.file}: expected ${p.expected}, actual ${p.actual}`).join('\n'),
      `delete ${dir} and Maven's copies (find ~/.m2/repository -name '${first}'), ` +
        'then run `tickflow stack up` again to download them afresh; if they differ again, the Maven repository ' +
        "or mirror you download from (see ~/.m2/settings.xml) serves files that are not Maven Central's: " +
        'do not run them',
    );
  }
  const unpinned = problems.filter((p) => p.kind === 'unpinned');
  if (unpinned.length > 0) {
    const names = unpinned.map((p) => p.file);
    const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')}, ... (${names.length} files)` : names.join(', ');
    throw new TickflowError(
      'DOWNLOAD_FAILED',
      `${what}: no SHA-256 is pinned in ${MANIFEST_NAME} for ${name}/${shown}`,
      `if you changed a version in ops/stack/versions.ts, check that the files in ${dir} came from Maven Central, ` +
        `then pin them (see the comment at the top of ${MANIFEST_NAME}) and run \`tickflow stack up\` again; ` +
        `otherwise delete ${dir} and run it again`,
    );
  }
  const missing = problems.filter((p) => p.kind === 'missing');
  if (missing.length > 0) {
    throw new TickflowError(
      'DOWNLOAD_FAILED',
      `${what}: ${dir} lacks ${missing.length} pinned file(s): ${missing
        .slice(0, 5)
        .map((p) => p.file)
        .join(', ')}${missing.length > 5 ? ', ...' : ''}`,
      `delete ${dir} and run \`tickflow stack up\` again to install it afresh`,
    );
  }
  return files ? files.length : (manifest.get(name)?.size ?? 0);
}

/** Digest of the lines pinned for `name`: the marker's content, so a changed pin re-checks the install. */
export function pinDigest(name: string, manifest: Manifest): string {
  const lines = [...(manifest.get(name) ?? new Map<string, string>())]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([file, hash]) => `${hash}  ${file}`);
  return createHash('sha256')
    .update(`${name}\n${lines.join('\n')}`)
    .digest('hex');
}

export function isVerified(dir: string, name: string, manifest: Manifest): boolean {
  try {
    return fs.readFileSync(path.join(dir, VERIFIED_MARKER), 'utf8').trim() === pinDigest(name, manifest);
  } catch {
    return false;
  }
}

export function markVerified(dir: string, name: string, manifest: Manifest): void {
  fs.writeFileSync(path.join(dir, VERIFIED_MARKER), `${pinDigest(name, manifest)}\n`);
}
