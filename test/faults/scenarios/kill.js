'use strict';
// Scenario 1: the peer process is SIGKILLed mid-stream at a random moment. Data flows both ways;
// the peer is the client on even rounds and the server on odd ones. The survivor must see
// 'error' (ECONNRESET) then 'close' within 100 ms of the kill, and what it received must be an
// exact prefix of what the peer sent (nothing duplicated, reordered or invented).
// ECONNRESET is what node:net shows here too: the victim stops reading just before it is killed
// while we keep streaming, so when it dies it has data of ours unread (a kernel sends RST for
// that). Without that pause a victim could, by chance, have taken every byte we had sent, and
// both transports then show end of stream first: those deterministic cases are the close-contract
// table (test/close-contract), which runs each one over node:net and via-net.
const { via, spawnPeer, within, sleep, listen, connected, row } = require('../../support/scenario-tools');
// Seeded, so a failing run can be replayed with the same seed.
const { random: prng } = require('../../support/prng');
const { pump, receive, watch } = require('../../support/socket-transfer');

const { timeBound } = require('../../support/sanitizers');

// 100 ms; looser only under ASan (see timeBound).
const DEADLINE_MS = timeBound(100);

async function once(i, rand, server, port) {
  const peer = await spawnPeer();
  const peerSeed = 1000 + i;
  const ourSeed = 5000 + i;
  let sock;
  try {
    if (i % 2 === 0) {
      const accepted = new Promise((resolve) => server.once('connection', resolve));
      await peer.call('connect', { port, mode: 'duplex', seed: peerSeed, connectOptions: { allowHalfOpen: true } });
      sock = await accepted;
    } else {
      const { port: peerPort } = await peer.call('listen', { mode: 'duplex', seed: peerSeed, serverOptions: { allowHalfOpen: true } });
      sock = via.connect({ port: peerPort, host: '127.0.0.1', allowHalfOpen: true });
      await connected(sock);
    }
    const transport = sock.transport;
    const log = watch(sock);
    const checking = receive(sock, peerSeed);
    pump(sock, { seed: ourSeed, total: Infinity, rand });
    // A random moment: 0-120 ms into the stream (the streams run at GB/s, so this spans many MB).
    await sleep(Math.floor(rand() * 120));
    await peer.call('pauseAll');
    await sleep(5); // our stream fills its window meanwhile
    const killedAt = performance.now();
    peer.kill('SIGKILL');
    const closed = await within(log.closed, 2000);
    const checker = await within(checking, 100, null);
    const failures = [];
    if (closed === 'timeout') failures.push(`round ${i}: no 'close' within 2 s of the kill`);
    else {
      const code = log.error?.code ?? 'none';
      if (code !== 'ECONNRESET') failures.push(`round ${i}: error code ${code}, expected ECONNRESET (events ${log.events.join(',')})`);
      if (log.events.join(',') !== 'error,close') failures.push(`round ${i}: events ${log.events.join(',')}, expected error,close`);
      if (log.closeAt - killedAt > DEADLINE_MS) failures.push(`round ${i}: 'close' ${(log.closeAt - killedAt).toFixed(1)} ms after the kill`);
    }
    if (checker && !checker.verify()) failures.push(`round ${i}: received stream is not a prefix of the sent one (first bad byte ${checker.firstBad})`);
    return { failures, latency: log.closeAt ? log.closeAt - killedAt : Infinity, bytes: checker ? checker.bytes : 0, transport };
  } finally {
    peer.kill('SIGKILL');
    sock?.destroy();
  }
}

async function run({ count = 10, seed = 1 } = {}) {
  const rand = prng(seed);
  const server = via.createServer({ allowHalfOpen: true });
  const port = await listen(server);
  const failures = [];
  const latencies = [];
  let bytes = 0;
  const transports = new Set();
  try {
    for (let i = 0; i < count; i++) {
      const r = await once(i, rand, server, port);
      failures.push(...r.failures);
      latencies.push(r.latency);
      bytes += r.bytes;
      transports.add(r.transport);
    }
  } finally {
    server.close();
  }
  if (!transports.has('shm') || transports.size !== 1) failures.push(`transports used: ${[...transports]}`);
  latencies.sort((a, b) => a - b);
  const notes = `seed ${seed}; close after kill: median ${latencies[latencies.length >> 1].toFixed(1)} ms, max ${latencies[latencies.length - 1].toFixed(1)} ms; ${(bytes / 1e6).toFixed(0)} MB verified prefix`;
  return row('1. peer SIGKILLed mid-stream', count, failures, notes);
}

module.exports = { run };
