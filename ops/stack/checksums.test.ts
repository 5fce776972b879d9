import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TickflowError } from '../../pipelines/runtime/errors';
import {
  checkFiles,
  isVerified,
  markVerified,
  parseManifest,
  readManifest,
  sha256File,
  verifyFiles,
} from './checksums';
import { libDirs } from './artifacts';

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

function install(files: Record<string, string>): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tickflow-checksums-')), 'kafka-9.9.9');
  fs.mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  fs.writeFileSync(path.join(dir, '.complete'), 'marker files are not checked\n');
  return dir;
}

function failure(fn: () => unknown): TickflowError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TickflowError) return error;
    throw error;
  }
  throw new Error('expected a TickflowError');
}

describe('pinned checksums of the downloaded servers', () => {
  const manifest = parseManifest(
    [
      '# comment',
      `${sha('a')}  kafka-9.9.9/a.jar`,
      `${sha('b').toUpperCase()} *kafka-9.9.9/b.jar`,
      `${sha('q')}  questdb-1.0/q.jar`,
    ].join('\n'),
    'test manifest',
  );

  it('parses sha256sum lines per install directory and rejects malformed or duplicate ones', () => {
    expect([...(manifest.get('kafka-9.9.9') ?? [])]).toEqual([
      ['a.jar', sha('a')],
      ['b.jar', sha('b')],
    ]);
    expect(failure(() => parseManifest('abc  kafka/a.jar', 'm')).message).toBe(
      "line 1 of m is not '<sha256>  <install directory>/<file>'",
    );
    expect(failure(() => parseManifest(`${sha('a')}  k/a.jar\n${sha('b')}  k/a.jar`, 'm')).message).toMatch(
      /pins k\/a.jar twice/,
    );
  });

  it('accepts an install whose files all match', () => {
    const dir = install({ 'a.jar': 'a', 'b.jar': 'b' });
    expect(checkFiles(dir, 'kafka-9.9.9', manifest)).toEqual([]);
    expect(verifyFiles(dir, 'kafka-9.9.9', 'Kafka 9.9.9', manifest)).toBe(2);
  });

  it('stops at a changed file, naming it with the expected and actual hashes and the fix', () => {
    const dir = install({ 'a.jar': 'a', 'b.jar': 'tampered' });
    const error = failure(() => verifyFiles(dir, 'kafka-9.9.9', 'Kafka 9.9.9', manifest));
    expect(error.message).toContain(`b.jar: expected ${sha('b')}, actual ${sha('tampered')}`);
    expect(error.message).not.toContain('a.jar');
    expect(error.fix).toMatch(/delete .*kafka-9.9.9 and Maven's copies \(find ~\/.m2\/repository -name 'b.jar'\)/);
  });

  it('refuses files nobody pinned, and pinned files that are missing', () => {
    const extra = install({ 'a.jar': 'a', 'b.jar': 'b', 'evil.jar': 'x' });
    const unpinned = failure(() => verifyFiles(extra, 'kafka-9.9.9', 'Kafka 9.9.9', manifest));
    expect(unpinned.message).toMatch(/no SHA-256 is pinned .* for kafka-9.9.9\/evil.jar/);
    expect(unpinned.fix).toMatch(/if you changed a version in ops\/stack\/versions.ts/);
    expect(
      failure(() => verifyFiles(install({ 'a.jar': 'a' }), 'kafka-9.9.9', 'Kafka 9.9.9', manifest)).message,
    ).toMatch(/lacks 1 pinned file\(s\): b.jar/);
    // A new version with no lines at all: every file is unpinned.
    expect(checkFiles(install({ 'a.jar': 'a' }), 'kafka-10.0.0', manifest)).toEqual([
      { file: 'a.jar', kind: 'unpinned' },
    ]);
  });

  it('checks only the named files when given (the Apicurio archive, before unpacking)', () => {
    const dir = install({ 'q.jar': 'q', 'unpacked.txt': 'not checked' });
    expect(verifyFiles(dir, 'questdb-1.0', 'QuestDB', manifest, ['q.jar'])).toBe(1);
    expect(checkFiles(dir, 'questdb-1.0', manifest, ['gone.jar'])).toEqual([{ file: 'gone.jar', kind: 'unpinned' }]);
  });

  it('marks a checked install, and re-checks it when its pinned lines change', () => {
    const dir = install({ 'a.jar': 'a', 'b.jar': 'b' });
    expect(isVerified(dir, 'kafka-9.9.9', manifest)).toBe(false);
    markVerified(dir, 'kafka-9.9.9', manifest);
    expect(isVerified(dir, 'kafka-9.9.9', manifest)).toBe(true);
    const repinned = parseManifest(`${sha('a')}  kafka-9.9.9/a.jar\n${sha('c')}  kafka-9.9.9/b.jar`, 'm');
    expect(isVerified(dir, 'kafka-9.9.9', repinned)).toBe(false);
  });

  it('hashes files larger than its read buffer', () => {
    const dir = install({});
    const content = Buffer.alloc(3 * (1 << 20) + 17, 7);
    fs.writeFileSync(path.join(dir, 'big.bin'), content);
    expect(sha256File(path.join(dir, 'big.bin'))).toBe(createHash('sha256').update(content).digest('hex'));
  });

  it('pins every server version that versions.ts names', () => {
    const repository = readManifest();
    for (const dir of Object.values(libDirs('/x')))
      expect(repository.get(path.basename(dir))?.size ?? 0).toBeGreaterThan(0);
  });
});
