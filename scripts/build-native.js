#!/usr/bin/env node
'use strict';
// Builds the native VI providers with node-gyp.
//   (default)  used by `npm install`: a failed build is reported, not fatal, because via-net
//              still works over TCP without the addon (it says why through debug('via-net:*')).
//   --strict   fail on any build error (CI).
//   --asan     build with AddressSanitizer into build-asan/ (for `npm run test:asan`).
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const args = new Set(process.argv.slice(2));
const strict = args.has('--strict');
const asan = args.has('--asan');
const root = path.resolve(__dirname, '..');

function nodeGypBin() {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
  } catch {
    return null; // fall back to the node-gyp that npm puts on PATH for install scripts
  }
}

function localNodeDir() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

const bin = nodeGypBin();
const cmd = bin ? process.execPath : 'node-gyp';
const gypArgs = ['rebuild'];
// Build against the headers of the running Node when they are installed next to it (as on
// Debian-style and official installs), so no header download is needed.
const nodedir = process.env.npm_config_nodedir || localNodeDir();
if (nodedir) gypArgs.push(`--nodedir=${nodedir}`);
if (asan) gypArgs.push('--', '-Dvia_asan=1'); // native/common.gypi
const fullArgs = bin ? [bin, ...gypArgs] : gypArgs;

const env = { ...process.env };
let buildDir = path.join(root, 'build');
if (asan) {
  // node-gyp always builds into ./build; build there, then move the result aside so the
  // release addon (rebuilt afterwards by the caller if needed) and the ASan one can coexist.
  buildDir = path.join(root, 'build-asan');
}

const res = spawnSync(cmd, fullArgs, { cwd: root, stdio: 'inherit', env });
if (res.status !== 0) {
  const msg = `via-net: native addon build failed (status ${res.status}); via-net will use the TCP path only.`;
  if (strict) {
    console.error(msg);
    process.exit(1);
  }
  console.warn(msg);
  process.exit(0);
}
if (asan) {
  fs.rmSync(buildDir, { recursive: true, force: true });
  fs.renameSync(path.join(root, 'build'), buildDir);
}
