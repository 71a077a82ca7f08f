#!/usr/bin/env node
'use strict';
// `npm run test:faults`: the full fault, bad-input and load scenarios (issue 7), across real
// processes, ending with a table of every scenario, its count and result. Exit code 1 on any FAIL.
// `--only kill,stop` runs a subset; `--quick` uses the CI sizes.
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { printTable } = require(path.join(__dirname, '..', 'test', 'faults', 'table'));
const RUNNER = path.join(__dirname, '..', 'test', 'faults', 'run-scenario.js');

/** Each scenario runs in its own process: one that dies (signal, abort) still gets its table row. */
function runScenario(name, opts) {
  const res = spawnSync(process.execPath, ['--expose-gc', RUNNER, name, JSON.stringify(opts)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const last = res.stdout.trim().split('\n').pop();
  try {
    return JSON.parse(last);
  } catch {
    const how = res.signal ? `killed by ${res.signal}` : `exit code ${res.status}`;
    return { scenario: name, count: 0, result: 'FAIL', failures: [`scenario process ${how}; last output: ${res.stdout.slice(-300)}`], notes: how };
  }
}

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;

const PLAN = [
  ['close-contract', {}],
  ['kill', { count: quick ? 10 : 50, seed: Date.now() % 100000 }],
  ['stop', { stopMs: 5000 }],
  ['server-close', { conns: 100 }],
  ['crashed-server', { rounds: quick ? 2 : 10 }],
  ['emfile', { limit: 64 }],
  ['no-native', {}],
  ['security', {}],
  ['scribble', { durationMs: quick ? 10000 : 60000 }],
  ['churn', { cycles: quick ? 5000 : 100000 }],
];

(async () => {
  const rows = [];
  for (const [name, opts] of PLAN) {
    if (only && !only.includes(name)) continue;
    const t0 = Date.now();
    process.stderr.write(`running ${name} ${JSON.stringify(opts)} ... `);
    rows.push(runScenario(name, opts));
    process.stderr.write(`${rows[rows.length - 1].result} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
  console.log();
  printTable(rows);
  process.exit(rows.some((r) => r.result !== 'pass') ? 1 : 0);
})();
