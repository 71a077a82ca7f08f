'use strict';
// Load: `cycles` connect / 1 KiB echo / close cycles against a server in another process
// (`parallel` loops at once), via-net over shm and then node:net over TCP measured the same way.
// Every echo is compared with sha256; fds of both processes must come back to where they were.
const net = require('node:net');
const crypto = require('node:crypto');
const { via, spawnPeer, within, procStats, row } = require('../../support/scenario-tools');
const { bytesAt } = require('../../support/pattern-stream');

// A full GC before heap samples, so a leak shows as retained memory rather than garbage.
require('node:v8').setFlagsFromString('--expose-gc');
const gc = require('node:vm').runInNewContext('gc');

/** JS heap plus external/ArrayBuffer memory still reachable after a full collection. */
function liveBytes() {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external; // external includes arrayBuffers
}

function cycle(lib, port, seed, failures, transports) {
  return new Promise((resolve) => {
    // One pattern (pattern-stream.js caches a 1 MB block per seed): a different 1 KiB window per cycle.
    const payload = bytesAt(1, (seed * 1031) % 999000, 1024);
    const sock = lib.connect({ port, host: '127.0.0.1' });
    const chunks = [];
    sock.on('error', (err) => failures.push(`cycle ${seed}: ${err.code}`));
    sock.on('connect', () => {
      if (transports) transports.add(sock.transport);
      sock.end(payload);
    });
    sock.on('data', (d) => chunks.push(d));
    sock.on('close', () => {
      const got = crypto.createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
      if (got !== crypto.createHash('sha256').update(payload).digest('hex')) failures.push(`cycle ${seed}: echo differs`);
      resolve();
    });
  });
}

async function measure(lib, useNodeNet, cycles, parallel, failures) {
  const server = await spawnPeer();
  try {
    const { port } = await server.call('listen', { mode: 'echo', nodeNet: useNodeNet });
    const transports = useNodeNet ? null : new Set();
    let next = 0;
    const loop = async () => {
      while (next < cycles && failures.length < 20) await cycle(lib, port, next++, failures, transports);
    };
    // Warm-up, then the baseline for the leak check.
    for (let i = 0; i < 200; i++) await cycle(lib, port, i, failures, transports);
    const before = { me: procStats().fds, server: (await server.call('stats')).fds, live: liveBytes() };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: parallel }, loop));
    const seconds = (performance.now() - t0) / 1000;
    // The server closes its side as it sees each hang-up: wait until it holds no sockets.
    let st = await server.call('stats');
    const deadline = Date.now() + 5000;
    while (st.sockets > 0 && Date.now() < deadline) st = await server.call('stats');
    const after = { me: procStats().fds, server: st.fds, live: liveBytes() };
    const name = useNodeNet ? 'node:net' : 'via-net';
    // Closed connections must be collectable. node:net itself keeps ~1-2 KiB per cycle for a
    // while (caches, timers lists), so the bound is 4 KiB per cycle.
    const perCycle = (after.live - before.live) / cycles;
    if (perCycle > 4096) failures.push(`${name} client keeps ${(perCycle / 1024).toFixed(1)} KiB per closed connection (${((after.live - before.live) / 2 ** 20).toFixed(0)} MiB after ${cycles})`);
    if (after.me > before.me + 5) failures.push(`${name} client fds ${before.me} -> ${after.me}`);
    if (after.server > before.server + 5) failures.push(`${name} server fds ${before.server} -> ${after.server}`);
    if (transports && (transports.size !== 1 || !transports.has('shm'))) failures.push(`via-net transports ${[...transports]}`);
    return { rate: cycles / seconds, before, after, perCycle };
  } finally {
    server.kill();
  }
}

async function run({ cycles = 5000, parallel = 4 } = {}) {
  const failures = [];
  const v = await measure(via, false, cycles, parallel, failures);
  const n = await measure(net, true, cycles, parallel, failures);
  const notes = `via-net ${v.rate.toFixed(0)}/s vs node:net ${n.rate.toFixed(0)}/s (ratio ${(v.rate / n.rate).toFixed(2)}); fds via-net client ${v.before.me}->${v.after.me}, server ${v.before.server}->${v.after.server}; live heap per closed conn via-net ${v.perCycle.toFixed(0)} B, node:net ${n.perCycle.toFixed(0)} B`;
  return row(`load: churn ${cycles} cycles`, cycles, failures.slice(0, 10), notes);
}

module.exports = { run, within };
