#!/usr/bin/env node
// The `tickflow` command: makes sure packages and the compiled build are current, then runs the CLI.
'use strict';
const path = require('node:path');
const { ensureDependencies, ensureBuild, root } = require('./bootstrap.cjs');

ensureDependencies();
ensureBuild();
require(path.join(root, 'dist', 'ops', 'cli', 'main.js')).runCli(process.argv.slice(2));
