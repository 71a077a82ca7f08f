#!/usr/bin/env node
'use strict';
// What a connection costs to make, via-net against node:net in the same run, two processes,
// through the public net API:
//   - serial: connect -> 1 B echoed -> close, one after another (µs per cycle);
//   - churn: `--parallel` loops of connect / 1 KB echo / close (cycles per second).
// Each figure is a median over `--trials`, with the range. The server runs in a child process:
// an echo server built with via-net (so its TCP listener is node's own) or with node:net.
//
//   node benchmarks/connect.js [--serial 2000] [--churn 100000] [--parallel 4] [--trials 3] [--warmup-ms 1000] [--json]
const { fork } = require('node:child_process');
const crypto = require('node:crypto');
const net = require('node:net');
const path = require('node:path');

const SERVER = '--serve';

if (process.argv[2] === SERVER) {
  const impl = process.argv[3] === 'via' ? require(path.join(__dirname, '..', 'dist')) : net;
  const server = impl.createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => process.exit(0));
  return;
}

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const SERIAL = option('serial', 2000);
const CHURN = option('churn', 100000);
const PARALLEL = option('parallel', 4);
const TRIALS = option('trials', 3);
const JSON_OUT = process.argv.includes('--json');
const WARMUP_MS = option('warmup-ms', 1000);

const via = require(path.join(__dirname, '..', 'dist'));
const IMPLS = { 'node:net': { lib: net, server: 'net' }, 'via-net': { lib: via, server: 'via' } };

function startServer(kind) {
  const child = fork(__filename, [SERVER, kind], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', ({ port }) => resolve({ child, port }));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

/** One cycle: connect, send `payload`, end, wait for the whole echo and 'close'. */
function cycle(lib, port, payload, transports) {
  return new Promise((resolve, reject) => {
    const sock = lib.connect({ port, host: '127.0.0.1' });
    const chunks = [];
    sock.on('error', reject);
    sock.on('connect', () => {
      transports.add(sock.transport || 'tcp');
      sock.end(payload);
    });
    sock.on('data', (d) => chunks.push(d));
    sock.on('close', () => (Buffer.concat(chunks).equals(payload) ? resolve() : reject(new Error('echo differs'))));
  });
}

async function serial(lib, port, n, transports) {
  const payload = Buffer.from([0x5a]);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await cycle(lib, port, payload, transports);
  return Number(process.hrtime.bigint() - t0) / 1e3 / n; // µs per cycle
}

async function churn(lib, port, n, parallel, transports) {
  const payload = crypto.randomBytes(1024);
  let next = 0;
  const loop = async () => {
    while (next < n) {
      next++;
      await cycle(lib, port, payload, transports);
    }
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: parallel }, loop));
  return n / (Number(process.hrtime.bigint() - t0) / 1e9); // cycles per second
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const range = (xs) => [Math.min(...xs), Math.max(...xs)];

async function main() {
  const servers = {};
  for (const [name, impl] of Object.entries(IMPLS)) servers[name] = await startServer(impl.server);
  const results = {};
  for (const name of Object.keys(IMPLS)) results[name] = { serialUs: [], churnPerSec: [], transports: new Set() };
  try {
    // Warm both paths up (JIT, the shm link) for WARMUP_MS each, as `npm run bench` does: V8
    // optimises a connection's code only after thousands of calls, and 200 cycles left via-net's
    // longer JavaScript path measured cold (1.77x node:net's time where warm it was 1.0-1.2x).
    // Then alternate trials so drift hits both alike.
    for (const [name, impl] of Object.entries(IMPLS)) {
      const until = Date.now() + WARMUP_MS;
      while (Date.now() < until) await serial(impl.lib, servers[name].port, 100, results[name].transports);
    }
    for (let t = 0; t < TRIALS; t++) {
      const order = t % 2 === 0 ? Object.keys(IMPLS) : Object.keys(IMPLS).reverse();
      for (const name of order) {
        const r = results[name];
        const { lib } = IMPLS[name];
        r.serialUs.push(await serial(lib, servers[name].port, SERIAL, r.transports));
        if (CHURN > 0) r.churnPerSec.push(await churn(lib, servers[name].port, CHURN, PARALLEL, r.transports));
      }
    }
  } finally {
    for (const { child } of Object.values(servers)) child.kill();
  }
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    serial: SERIAL,
    churn: CHURN,
    parallel: PARALLEL,
    trials: TRIALS,
    results: Object.fromEntries(
      Object.entries(results).map(([name, r]) => [
        name,
        {
          transports: [...r.transports],
          serialUs: { median: median(r.serialUs), range: range(r.serialUs), samples: r.serialUs },
          churnPerSec: CHURN > 0 ? { median: median(r.churnPerSec), range: range(r.churnPerSec), samples: r.churnPerSec } : null,
        },
      ]),
    ),
  };
  if (JSON_OUT) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return;
  }
  const tcp = report.results['node:net'];
  const v = report.results['via-net'];
  const fmt = (x) => x.toFixed(x >= 100 ? 0 : 1);
  console.log(`connection cost, ${TRIALS} trials (median, range), via-net over ${v.transports.join('/')} against node:net over ${tcp.transports.join('/')}:`);
  console.log(`  connect + 1 B echoed + close: via-net ${fmt(v.serialUs.median)} µs (${v.serialUs.range.map(fmt).join('-')}), node:net ${fmt(tcp.serialUs.median)} µs (${tcp.serialUs.range.map(fmt).join('-')}): time ×${(v.serialUs.median / tcp.serialUs.median).toFixed(2)} of node:net`);
  if (CHURN > 0) {
    console.log(`  churn, ${CHURN} cycles of 1 KB echo, ${PARALLEL} in parallel: via-net ${fmt(v.churnPerSec.median)}/s (${v.churnPerSec.range.map(fmt).join('-')}), node:net ${fmt(tcp.churnPerSec.median)}/s (${tcp.churnPerSec.range.map(fmt).join('-')}): rate ×${(v.churnPerSec.median / tcp.churnPerSec.median).toFixed(2)} of node:net`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
