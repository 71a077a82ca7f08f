#!/usr/bin/env node
'use strict';
// Builds the addon with AddressSanitizer + UBSan (build-asan/) and runs the native-provider tests
// against it. Node itself is not instrumented, so the ASan runtime is preloaded; leak checking is
// off because V8 keeps allocations until exit by design.
const { spawnSync, execFileSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
const run = (cmd, args, env) => {
  const res = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (res.status !== 0) process.exit(res.status ?? 1);
};

run(process.execPath, [path.join(__dirname, 'build-native.js'), '--asan', '--strict']);
// node-gyp builds into build/; put the release addon back for everything else.
run(process.execPath, [path.join(__dirname, 'build-native.js'), '--strict']);

const libasan = execFileSync('gcc', ['-print-file-name=libasan.so']).toString().trim();
const libubsan = execFileSync('gcc', ['-print-file-name=libubsan.so']).toString().trim();
if (!fs.existsSync(libasan)) {
  console.error(`AddressSanitizer runtime not found (${libasan})`);
  process.exit(1);
}
const addon = path.join(root, 'build-asan', 'Release', 'via_shm.node');
const specs = process.argv.slice(2).length ? process.argv.slice(2) : ['test/shm-provider.test.js', 'test/shm-links.test.js', 'test/sovia-shm.test.js', 'test/faults.test.js', 'test/close-contract.test.js'];
run(path.join(root, 'node_modules', '.bin', 'mocha'), ['--reporter', 'dot', ...specs.filter((s) => fs.existsSync(path.join(root, s)))], {
  VIA_NET_ADDON: addon,
  LD_PRELOAD: `${libasan} ${libubsan}`,
  // halt_on_error makes any finding fail the run; children inherit these settings.
  ASAN_OPTIONS: 'detect_leaks=0:halt_on_error=1:abort_on_error=1:verify_asan_link_order=0',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
});
console.log('ASan/UBSan run: no findings');
