#!/usr/bin/env node
// Copies the hand-written ESM entry points (lib/*-esm.mjs) to dist/ as *.mjs: tsc only emits CommonJS.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const sources = { 'register-esm.mjs': 'register.mjs' };
for (const [from, to] of Object.entries(sources)) {
  fs.mkdirSync(path.join(root, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(root, 'lib', from), path.join(root, 'dist', to));
}
