#!/usr/bin/env node
'use strict';
/**
 * HTTP keep-alive benchmark: an unmodified node:http server and http.Agent client in two processes,
 * over via-net (both preloaded with dist/register.js: shm) and over plain node:net TCP, in the same
 * run. Small responses (13 B), N requests in flight for a fixed time after a warm-up; trials of the
 * two modes interleaved. The table shows the medians over trials of requests/s, p50 and p99
 * latency, and the via-net/node:net ratio of each (requests/s: >1 is better; latency: <1 is better).
 *
 *   node benchmarks/http/run.js [--trials 3] [--seconds 3] [--concurrency 1,16] [--json]
 */
const { spawn } = require('child_process');
const path = require('path');

const { ROOT, REGISTER, arg } = require('../lib/cli');

const TRIALS = Number(arg('trials', 3));
const SECONDS = Number(arg('seconds', 3));
const WARMUP = Number(arg('warmup', 0.5));
const CONCURRENCY = String(arg('concurrency', '1,16')).split(',').map(Number);
const JSON_OUT = process.argv.includes('--json');

const MODES = [
  { name: 'via-net', preload: ['-r', REGISTER] },
  { name: 'node:net', preload: [] },
];

function childEnv() {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.VIA_NET_TRANSPORT;
  return env;
}

function startServer(mode) {
  const child = spawn(process.execPath, [...mode.preload, path.join(__dirname, 'server.js')], { env: childEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${mode.name} server not ready`)), 20_000);
    child.stdout.on('data', (d) => {
      const m = /PORT (\d+)/.exec(String(d));
      if (m) { clearTimeout(timer); resolve({ child, port: Number(m[1]) }); }
    });
    child.once('exit', (code) => reject(new Error(`${mode.name} server exited ${code}`)));
  });
}

function runClient(mode, port, concurrency) {
  const child = spawn(process.execPath, [...mode.preload, path.join(__dirname, 'client.js'), port, concurrency, SECONDS, WARMUP],
    { env: childEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${mode.name} client timed out`)); }, (SECONDS + WARMUP) * 1000 + 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${mode.name} client exited ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

async function main() {
  const servers = [];
  try {
    for (const mode of MODES) servers.push({ mode, ...(await startServer(mode)) });
    const samples = {}; // `${mode}/${c}` -> [{ rps, p50, p99 }]
    const transports = {};
    for (let trial = 0; trial < TRIALS; trial++) {
      for (const c of CONCURRENCY) {
        const order = (trial + c) % 2 === 0 ? servers : [...servers].reverse();
        for (const s of order) {
          const r = await runClient(s.mode, s.port, c);
          const expected = s.mode.name === 'via-net' ? 'shm' : 'tcp (node:net)';
          if (r.transports.some((t) => t !== expected)) {
            throw new Error(`${s.mode.name} sockets used ${r.transports.join(',')}, expected ${expected} (is the native addon built?)`);
          }
          transports[s.mode.name] = r.transports;
          (samples[`${s.mode.name}/${c}`] ??= []).push({ rps: r.requests / (r.elapsedMs / 1000), p50: r.p50, p99: r.p99 });
          if (!JSON_OUT) process.stderr.write(`trial ${trial + 1}/${TRIALS} c=${c} ${s.mode.name}: ${(r.requests / (r.elapsedMs / 1000)).toFixed(0)} req/s\n`);
        }
      }
    }
    const rows = CONCURRENCY.map((c) => {
      const fig = (mode, key) => median(samples[`${mode}/${c}`].map((x) => x[key]));
      const row = { concurrency: c };
      for (const key of ['rps', 'p50', 'p99']) {
        row[key] = { via: fig('via-net', key), net: fig('node:net', key) };
        row[key].ratio = row[key].via / row[key].net;
      }
      return row;
    });
    if (JSON_OUT) {
      console.log(JSON.stringify({ trials: TRIALS, seconds: SECONDS, transports, rows, samples }, null, 2));
    } else {
      console.log(`HTTP keep-alive, 13 B responses, ${SECONDS} s per trial, median of ${TRIALS} trials (via-net sockets: ${transports['via-net']})`);
      console.log('in flight   via-net req/s   node:net req/s   ratio   via p50 µs   net p50 µs   ratio   via p99 µs   net p99 µs   ratio');
      for (const r of rows) {
        console.log(`${String(r.concurrency).padStart(9)} ${r.rps.via.toFixed(0).padStart(15)} ${r.rps.net.toFixed(0).padStart(16)} ${r.rps.ratio.toFixed(2).padStart(7)}`
          + ` ${r.p50.via.toFixed(0).padStart(12)} ${r.p50.net.toFixed(0).padStart(12)} ${r.p50.ratio.toFixed(2).padStart(7)}`
          + ` ${r.p99.via.toFixed(0).padStart(12)} ${r.p99.net.toFixed(0).padStart(12)} ${r.p99.ratio.toFixed(2).padStart(7)}`);
      }
    }
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
  }
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
