#!/usr/bin/env node
'use strict';
/**
 * HTTP against a node:cluster server: benchmarks/http/server.js as a primary with `--workers`
 * workers (HTTP_WORKERS), and benchmarks/http/client.js, both ends under -r dist/register.js
 * (via-net: shm from the client to the workers) against both on node:net, in the same run, trials
 * of the two modes in alternating order. Prints, per number in flight, the medians of requests/s
 * and p50/p99 latency of each mode and their ratio, and the client's connections by transport.
 *
 *   node benchmarks/apps/cluster.js [--workers 2] [--api agent|fetch] [--inflight 1,16]
 *                                   [--trials 3] [--seconds 3] [--warmup 0.5]
 */
const path = require('path');
const { ROOT, arg } = require('../lib/cli');
const { App, MODES } = require('./procs');

const WORKERS = Number(arg('workers', 2));
const API = arg('api', 'agent');
const INFLIGHT = String(arg('inflight', '1,16')).split(',').map(Number);
const TRIALS = Number(arg('trials', 3));
const SECONDS = Number(arg('seconds', 3));
const WARMUP = Number(arg('warmup', 0.5));

const SERVER = path.join(ROOT, 'benchmarks/http/server.js');
const CLIENT = path.join(ROOT, 'benchmarks/http/client.js');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** One client run; resolves with its figures and the transports of the connections it opened. */
async function trial(mode, port, inflight) {
  let connections = null;
  const client = new App(CLIENT, ['--port', port, '--api', API, '--inflight', inflight, '--seconds', SECONDS, '--warmup-seconds', WARMUP], {
    mode,
    probe: true,
    onCheckpoint: async (name) => {
      if (name === 'timed:end') connections = (await client.report()).connections.client;
    },
  });
  const r = await client.result((SECONDS + WARMUP) * 1000 + 60_000);
  if (r.bad !== 0) throw new Error(`${mode.name}: ${r.bad} bodies differ from what was sent`);
  return { rps: r.requests / (r.ms / 1000), p50: r.p50, p99: r.p99, connections };
}

async function main() {
  const servers = [];
  try {
    for (const mode of MODES) {
      const app = new App(SERVER, [], { mode, env: { HTTP_WORKERS: WORKERS } });
      servers.push({ mode, app, port: Number((await app.waitFor(/^PORT (\d+)$/, 30_000))[1]) });
    }
    const samples = {};
    const transports = {};
    for (let t = 0; t < TRIALS; t++) {
      for (const [k, inflight] of INFLIGHT.entries()) {
        for (const s of (t + k) % 2 === 0 ? servers : [...servers].reverse()) {
          const r = await trial(s.mode, s.port, inflight);
          (samples[`${s.mode.name}/${inflight}`] ??= []).push(r);
          transports[s.mode.name] = r.connections;
          process.stderr.write(`trial ${t + 1}/${TRIALS} ${inflight} in flight ${s.mode.name}: ${r.rps.toFixed(0)} req/s ${JSON.stringify(r.connections)}\n`);
        }
      }
    }
    console.log(`HTTP keep-alive (${API}), 13 B bodies, node:cluster with ${WORKERS} workers, ${SECONDS} s per trial, median of ${TRIALS}`);
    console.log(`client connections by transport: via-net ${JSON.stringify(transports['via-net'])}, node:net ${JSON.stringify(transports['node:net'])}`);
    console.log('in flight   via-net req/s   node:net req/s   ratio   via p50 µs   net p50 µs   via p99 µs   net p99 µs');
    for (const inflight of INFLIGHT) {
      const fig = (mode, key) => median(samples[`${mode}/${inflight}`].map((x) => x[key]));
      const via = fig('via-net', 'rps');
      const net = fig('node:net', 'rps');
      const cols = [via, net].map((x) => x.toFixed(0).padStart(15)).join(' ');
      const lat = ['p50', 'p99'].flatMap((key) => [fig('via-net', key), fig('node:net', key)]).map((x) => x.toFixed(0).padStart(12)).join(' ');
      console.log(`${String(inflight).padStart(9)} ${cols} ${(via / net).toFixed(2).padStart(7)} ${lat}`);
    }
  } finally {
    await Promise.all(servers.map((s) => s.app.stop()));
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exitCode = 1;
});
