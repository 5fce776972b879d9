#!/usr/bin/env node
// Applies tickflow's patches to installed npm packages (ops/patches/<package>/...). Runs as the
// npm postinstall and from the bootstrap of `npm start` / `npm test`; idempotent. Each patch names
// the package version and the SHA-256 of the original file it replaces, so an upgrade or a changed
// file fails loudly instead of running unpatched or patched wrongly.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');

const PATCHES = [
  {
    // Messages lost when partition leadership moves during a send (tulios/kafkajs#1303).
    pkg: 'kafkajs',
    version: '2.2.4',
    file: 'src/producer/sendMessages.js',
    patch: 'ops/patches/kafkajs/sendMessages.js',
    originalSha256: '8a120e6993955e040a13014cccebd79b8d41e7355d6eda1065fa83fea2fbbcdb',
  },
  {
    // A FindCoordinator round trip before every transactional request (about five per transaction).
    pkg: 'kafkajs',
    version: '2.2.4',
    file: 'src/producer/eosManager/index.js',
    patch: 'ops/patches/kafkajs/eosManager.js',
    originalSha256: 'a74ae029d7aa786b8616b77f922d30a81bec2833878769dbfa6b4a9dab66db22',
  },
];

const sha256 = (buffer) => crypto.createHash('sha256').update(buffer).digest('hex');
const firstLine = (buffer) => buffer.toString('utf8', 0, 300).split('\n')[0];

function apply({ pkg, version, file, patch, originalSha256 }) {
  const pkgDir = path.join(root, 'node_modules', pkg);
  const installed = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
  if (installed !== version) {
    throw new Error(
      `${pkg} ${installed} is installed, the patch ${patch} is for ${version}: port the patch (or drop it if ${installed} fixed the bug), then update ops/bin/patch-deps.cjs`,
    );
  }
  const target = path.join(pkgDir, file);
  const wanted = fs.readFileSync(path.join(root, patch));
  const current = fs.readFileSync(target);
  if (current.equals(wanted)) return false;
  // An earlier version of the same patch (same first line, which names tickflow) is replaced too.
  if (sha256(current) !== originalSha256 && firstLine(current) !== firstLine(wanted)) {
    throw new Error(
      `node_modules/${pkg}/${file} is neither the ${pkg} ${version} original nor tickflow's patch: reinstall with \`rm -rf node_modules && npm ci\``,
    );
  }
  fs.writeFileSync(target, wanted);
  return true;
}

function main() {
  for (const p of PATCHES) {
    if (apply(p)) console.error(`tickflow: patched ${p.pkg}/${p.file} (${p.patch})`);
  }
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(`tickflow: ${error.message}`);
    process.exit(1);
  }
}
module.exports = { main };
