'use strict';
// Shared plumbing for the fault scenarios (test/faults/scenarios) and the close-contract runner:
// spawning the fault peer, bounded waits, process statistics, result rows.
const fs = require('node:fs');
const path = require('node:path');
const { PeerProcess } = require('./peer-process');

const PEER = path.join(__dirname, 'peers', 'fault-peer.js');
const via = require(path.join(__dirname, '..', '..', 'dist'));

/** Starts test/support/peers/fault-peer.js as a child process (extra env merged over ours). */
async function spawnPeer(env = {}) {
  const peer = new PeerProcess(PEER, { env: { ...process.env, ...env } });
  await peer.ready;
  return peer;
}

/** Resolves with the promise's value, or with `fallback` after `ms` (the timer never keeps the loop alive). */
function within(promise, ms, fallback = 'timeout') {
  let timer;
  return Promise.race([
    promise,
    new Promise((resolve) => {
      timer = setTimeout(() => resolve(fallback), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function procStats(pid = process.pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
  const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  // RssShmem is the shared segments the peers touched (bounded by connections x segment size);
  // RssAnon is the process's own heap, where a leak would show.
  return { rss: rssKb * 1024, anon: kb('RssAnon'), shmem: kb('RssShmem'), fds: fs.readdirSync(`/proc/${pid}/fd`).length };
}

function listen(server, port = 0) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server.address().port));
  });
}

function connected(sock) {
  return new Promise((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
}

/** Builds a result row; `failures` is a list of strings (empty = pass). */
function row(scenario, count, failures, notes) {
  return { scenario, count, result: failures.length ? 'FAIL' : 'pass', failures, notes };
}

module.exports = { via, spawnPeer, within, sleep, procStats, listen, connected, row };
