#!/usr/bin/env node
// Entry point of `npm start` and `npm test` on a fresh clone: installs npm packages when the
// lockfile changed, compiles TypeScript when a source is newer than the build, then runs the job.
// It uses only Node built-ins because it runs before node_modules exists.
'use strict';
const { spawnSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const SOURCE_DIRS = ['pipelines', 'topics', 'schemas', 'connectors', 'ops', 'tests'];

function run(cmd, args, what) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (result.error) {
    console.error(`tickflow: ${what} could not start: ${result.error.message}`);
    process.exit(1);
  }
  if (result.status !== 0) {
    console.error(`tickflow: ${what} failed (exit ${result.status}).`);
    process.exit(result.status || 1);
  }
}

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function ensureDependencies() {
  const installed = path.join(root, 'node_modules', '.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  if (mtime(installed) >= mtime(lock) && mtime(installed) > 0) return;
  console.error('tickflow: installing npm packages (npm ci) ...');
  run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], 'npm ci');
}

/** npm ci applies the dependency patches (postinstall); this also covers an install made before a patch was added. */
function ensurePatches() {
  run(process.execPath, [path.join(__dirname, 'patch-deps.cjs')], 'patching npm packages (ops/bin/patch-deps.cjs)');
}

function newestSource(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (/\.(ts|avsc|json)$/.test(entry.name)) newest = Math.max(newest, mtime(full));
  }
  return newest;
}

function ensureBuild() {
  const stamp = path.join(root, 'dist', '.tsbuildinfo');
  const sources = Math.max(
    mtime(path.join(root, 'tsconfig.json')),
    ...SOURCE_DIRS.map((d) => newestSource(path.join(root, d))),
  );
  if (mtime(stamp) >= sources) return;
  console.error('tickflow: compiling TypeScript ...');
  run(
    process.execPath,
    [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
    'TypeScript build (typecheck)',
  );
  // tsc leaves the stamp untouched when nothing changed; touch it so the next run skips the check.
  const now = new Date();
  fs.utimesSync(stamp, now, now);
}

function exec(cmd, args) {
  const child = spawn(cmd, args, { cwd: root, stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

function main() {
  const [command, ...rest] = process.argv.slice(2);
  ensureDependencies();
  ensurePatches();
  ensureBuild();
  const cli = path.join(root, 'dist', 'ops', 'cli', 'main.js');
  if (command === 'start') return exec(process.execPath, [cli, 'demo', ...rest]);
  if (command === 'test') {
    run(process.execPath, [path.join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), '.'], 'lint (eslint)');
    console.error(
      'tickflow: typecheck and lint passed; running jest (unit and integration tests against the real stack) ...',
    );
    const report = path.join(root, '.tickflow', 'jest-report.json');
    fs.mkdirSync(path.dirname(report), { recursive: true });
    fs.rmSync(report, { force: true });
    const jest = spawnSync(
      process.execPath,
      [
        path.join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
        '--runInBand',
        // A test that fails part-way can leave a load publisher retrying against a stopped stack;
        // the run must still end (CI has a time limit), after every test and the teardown.
        '--forceExit',
        '--json',
        `--outputFile=${report}`,
        ...rest,
      ],
      { cwd: root, stdio: 'inherit' },
    );
    // A plain closing line that any CI can read, whatever the runner prints.
    try {
      const result = JSON.parse(fs.readFileSync(report, 'utf8'));
      console.log(`${result.numPassedTests} passed, ${result.numFailedTests} failed`);
    } catch {
      console.log('0 passed, 1 failed');
    }
    process.exit(jest.status ?? 1);
  }
  if (command === 'cli') return exec(process.execPath, [cli, ...rest]);
  console.error('usage: bootstrap.cjs start|test|cli [args...]');
  process.exit(2);
}

module.exports = { ensureDependencies, ensureBuild, root };
if (require.main === module) main();
