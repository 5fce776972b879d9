import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TickflowError } from '../../pipelines/runtime/errors';
import { logger } from '../../pipelines/runtime/log';
import type { Manifest } from './checksums';
import { isVerified, markVerified, readManifest, verifyFiles } from './checksums';
import { DEPENDENCY_PLUGIN, VERSIONS, kafkaPom } from './versions';

const log = logger('stack');

/**
 * Server binaries come from Maven Central through `mvn`, into the local Maven repository (so a
 * second install downloads nothing) and from there into `<home>/lib/<name>-<version>`. A directory
 * counts as installed only once its `.complete` marker exists, so an interrupted install is redone.
 *
 * Supply chain: mvn runs with strict checksums (`-C`: a download whose .sha1 does not match fails),
 * and every installed file must match the SHA-256 pinned in ops/stack/checksums.sha256 (see
 * checksums.ts) before it is used: checked right after the download, and once for an install made
 * before (its `.verified` marker then makes later starts cheap). A mismatch stops `stack up`.
 */
export interface Installed {
  kafkaClasspath: string;
  questdbJar: string;
  apicurioDir: string;
}

function ensureMaven(): void {
  const probe = spawnSync('mvn', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new TickflowError(
      'MAVEN_MISSING',
      'Maven (mvn) is not on PATH; the local stack installs Kafka, QuestDB and Apicurio Registry from Maven Central with it',
      'install Maven (Debian: apt-get install maven) or point tickflow at existing servers with TICKFLOW_KAFKA_BROKERS, TICKFLOW_QUESTDB_URL and TICKFLOW_SCHEMA_REGISTRY_URL',
    );
  }
}

/** Runs mvn, printing each finished download and a heartbeat so a first install shows progress. */
function mvn(args: string[], cwd: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let downloaded = 0;
    let bytes = 0;
    const output: string[] = [];
    const child = spawn('mvn', ['-B', '-C', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const heartbeat = setInterval(() => {
      log.info(`${what}: still downloading (${Math.round((Date.now() - started) / 1000)} s, ${downloaded} files done)`);
    }, 10_000);
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        output.push(line);
        if (output.length > 200) output.shift();
        const done = /Downloaded from \S+: (\S+) \(([\d.]+) (kB|MB|B)/.exec(line);
        if (done) {
          downloaded += 1;
          const size = Number(done[2]) * (done[3] === 'MB' ? 1e6 : done[3] === 'kB' ? 1e3 : 1);
          bytes += size;
          if (size > 1e6) log.info(`${what}: downloaded ${path.basename(done[1])} (${done[2]} ${done[3]})`);
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (error) => {
      clearInterval(heartbeat);
      reject(error);
    });
    child.on('exit', (code) => {
      clearInterval(heartbeat);
      if (code === 0) {
        if (downloaded > 0)
          log.info(
            `${what}: ${downloaded} files, ${(bytes / 1e6).toFixed(1)} MB downloaded in ${Math.round((Date.now() - started) / 1000)} s`,
          );
        resolve();
        return;
      }
      const errors = output
        .filter((l) => l.includes('ERROR'))
        .slice(0, 5)
        .join('\n');
      reject(
        new TickflowError(
          'DOWNLOAD_FAILED',
          `${what}: mvn ${args.slice(0, 1).join(' ')} failed (exit ${code}):\n${errors}`,
          'check that Maven Central is reachable (mvn -B dependency:get -Dartifact=junit:junit:4.13.2), that ~/.m2/settings.xml has no broken mirror, then run `tickflow stack up` again',
        ),
      );
    });
  });
}

/**
 * Installs into `target` unless it is complete. `fill` downloads into a `.partial` twin and must
 * verify what it downloaded against `manifest` before it unpacks or uses anything; a failure leaves
 * the partial directory for inspection and installs nothing.
 */
async function installDir(
  target: string,
  what: string,
  manifest: Manifest,
  fill: (dir: string) => Promise<void>,
): Promise<void> {
  if (fs.existsSync(path.join(target, '.complete'))) return;
  log.info(`${what}: installing into ${target} (first time only)`);
  const partial = `${target}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { recursive: true });
  await fill(partial);
  markVerified(partial, path.basename(target), manifest);
  fs.writeFileSync(path.join(partial, '.complete'), `${new Date().toISOString()}\n`);
  fs.rmSync(target, { recursive: true, force: true });
  fs.renameSync(partial, target);
}

/** The Apicurio archive as `dependency:copy` names it; it is unpacked and deleted after its check. */
function apicurioArchive(): string {
  return `apicurio-registry-app-${VERSIONS.apicurio}-all.tar.gz`;
}

/** Where mvn keeps the Apicurio archive in the default local repository. */
function apicurioInMavenRepository(): string {
  return path.join(os.homedir(), '.m2', 'repository', 'io', 'apicurio', 'apicurio-registry-app', VERSIONS.apicurio);
}

/**
 * Checks, once, an install made before its checksums were pinned (or pinned differently): Kafka and
 * QuestDB by their files; Apicurio, whose archive is gone, by the archive it was unpacked from in the
 * local Maven repository. Returns false when that archive is not there either, so it is reinstalled.
 */
function verifyExisting(dir: string, what: string, manifest: Manifest): boolean {
  const name = path.basename(dir);
  if (!fs.existsSync(path.join(dir, '.complete')) || isVerified(dir, name, manifest)) return true;
  if (name.startsWith('apicurio-registry-')) {
    const repository = apicurioInMavenRepository();
    if (!fs.existsSync(path.join(repository, apicurioArchive()))) {
      log.info(`${what}: ${dir} predates the pinned checksum and ${repository} lacks its archive; reinstalling`);
      fs.rmSync(path.join(dir, '.complete'), { force: true });
      return false;
    }
    verifyFiles(repository, name, what, manifest, [apicurioArchive()]);
  } else {
    verifyFiles(dir, name, what, manifest);
  }
  markVerified(dir, name, manifest);
  log.info(`${what}: ${dir} matches the SHA-256 pinned in ops/stack/checksums.sha256`);
  return true;
}

export function libDirs(home: string): { kafka: string; questdb: string; apicurio: string } {
  const lib = path.join(home, 'lib');
  return {
    kafka: path.join(lib, `kafka-${VERSIONS.kafka}`),
    questdb: path.join(lib, `questdb-${VERSIONS.questdb}`),
    apicurio: path.join(lib, `apicurio-registry-${VERSIONS.apicurio}`),
  };
}

export async function installArtifacts(
  home: string,
  want: { kafka: boolean; questdb: boolean; registry: boolean },
): Promise<Installed> {
  const dirs = libDirs(home);
  const manifest = readManifest();
  if (want.kafka) verifyExisting(dirs.kafka, `Kafka ${VERSIONS.kafka}`, manifest);
  if (want.questdb) verifyExisting(dirs.questdb, `QuestDB ${VERSIONS.questdb}`, manifest);
  if (want.registry) verifyExisting(dirs.apicurio, `Apicurio Registry ${VERSIONS.apicurio}`, manifest);
  const needed =
    (want.kafka && !fs.existsSync(path.join(dirs.kafka, '.complete'))) ||
    (want.questdb && !fs.existsSync(path.join(dirs.questdb, '.complete'))) ||
    (want.registry && !fs.existsSync(path.join(dirs.apicurio, '.complete')));
  if (needed) ensureMaven();
  const work = path.join(home, 'maven');
  fs.mkdirSync(work, { recursive: true });
  // Every mvn call is given this POM: `dependency:copy` needs a project even though it ignores it.
  const pom = path.join(work, 'kafka-pom.xml');
  fs.writeFileSync(pom, kafkaPom());
  // Sequential: concurrent mvn runs race on the same local repository files.
  const jobs: (() => Promise<void>)[] = [];
  if (want.kafka) {
    jobs.push(() =>
      installDir(dirs.kafka, `Kafka ${VERSIONS.kafka}`, manifest, async (dir) => {
        await mvn(
          ['-f', pom, `${DEPENDENCY_PLUGIN}:copy-dependencies`, '-DincludeScope=runtime', `-DoutputDirectory=${dir}`],
          work,
          `Kafka ${VERSIONS.kafka}`,
        );
        verifyFiles(dir, path.basename(dirs.kafka), `Kafka ${VERSIONS.kafka}`, manifest);
      }),
    );
  }
  if (want.questdb) {
    jobs.push(() =>
      installDir(dirs.questdb, `QuestDB ${VERSIONS.questdb}`, manifest, async (dir) => {
        await mvn(
          [
            '-f',
            pom,
            `${DEPENDENCY_PLUGIN}:copy`,
            `-Dartifact=org.questdb:questdb:${VERSIONS.questdb}`,
            `-DoutputDirectory=${dir}`,
          ],
          work,
          `QuestDB ${VERSIONS.questdb}`,
        );
        verifyFiles(dir, path.basename(dirs.questdb), `QuestDB ${VERSIONS.questdb}`, manifest);
      }),
    );
  }
  if (want.registry) {
    jobs.push(() =>
      installDir(dirs.apicurio, `Apicurio Registry ${VERSIONS.apicurio}`, manifest, async (dir) => {
        await mvn(
          [
            '-f',
            pom,
            `${DEPENDENCY_PLUGIN}:copy`,
            `-Dartifact=io.apicurio:apicurio-registry-app:${VERSIONS.apicurio}:tar.gz:all`,
            `-DoutputDirectory=${dir}`,
          ],
          work,
          `Apicurio Registry ${VERSIONS.apicurio}`,
        );
        // Checked before unpacking: nothing from an archive that is not the pinned one is ever written out.
        const what = `Apicurio Registry ${VERSIONS.apicurio}`;
        verifyFiles(dir, path.basename(dirs.apicurio), what, manifest, [apicurioArchive()]);
        const archive = path.join(dir, apicurioArchive());
        const untar = spawnSync('tar', ['xzf', archive, '-C', dir], { encoding: 'utf8' });
        if (untar.status !== 0)
          throw new TickflowError(
            'DOWNLOAD_FAILED',
            `could not unpack ${archive}: ${untar.stderr}`,
            'delete the file and run `tickflow stack up` again',
          );
        fs.rmSync(archive);
      }),
    );
  }
  for (const job of jobs) await job();
  return {
    kafkaClasspath: path.join(dirs.kafka, '*'),
    questdbJar: path.join(dirs.questdb, `questdb-${VERSIONS.questdb}.jar`),
    apicurioDir: dirs.apicurio,
  };
}
