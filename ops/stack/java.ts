import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TickflowError } from '../../pipelines/runtime/errors';

export interface JavaInstall {
  bin: string;
  major: number;
}

/** `java -version` prints to stderr; read both streams. */
function versionText(bin: string): string | undefined {
  const result = spawnSync(bin, ['-version'], { encoding: 'utf8' });
  return result.status === 0 ? `${result.stdout}${result.stderr}` : undefined;
}

export function parseMajor(text: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(text);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] ? Number(match[2]) : first;
}

function candidates(): string[] {
  const list: string[] = [];
  for (const variable of ['TICKFLOW_JAVA_HOME', 'JAVA_HOME']) {
    const home = process.env[variable];
    if (home) list.push(path.join(home, 'bin', 'java'));
  }
  list.push('java');
  for (const dir of ['/usr/lib/jvm', '/opt/java', '/usr/local/lib/jvm']) {
    if (!fs.existsSync(dir)) continue;
    for (const entry of fs.readdirSync(dir).sort()) {
      const bin = path.join(dir, entry, 'bin', 'java');
      if (fs.existsSync(bin)) list.push(bin);
    }
  }
  return [...new Set(list)];
}

let found: JavaInstall[] | undefined;

export function javaInstalls(): JavaInstall[] {
  if (!found) {
    found = [];
    for (const bin of candidates()) {
      const text = versionText(bin);
      const major = text ? parseMajor(text) : undefined;
      if (major !== undefined) found.push({ bin, major });
    }
  }
  return found;
}

/**
 * The first Java (in the order TICKFLOW_JAVA_HOME, JAVA_HOME, PATH, then JDKs under /usr/lib/jvm)
 * whose major version is at least `min`.
 */
export function findJava(min: number, purpose: string, alternative: string): JavaInstall {
  const installs = javaInstalls();
  const match = installs.find((j) => j.major >= min);
  if (match) return match;
  const seen =
    installs.length > 0
      ? `found ${installs.map((j) => `Java ${j.major} (${j.bin})`).join(', ')}`
      : 'found no Java at all';
  throw new TickflowError(
    'JAVA_MISSING',
    `${purpose} needs Java ${min} or newer; ${seen}`,
    `install a JDK ${min}+ (Debian: apt-get install openjdk-17-jdk-headless for 17) and set TICKFLOW_JAVA_HOME to it, or ${alternative}`,
  );
}
