'use strict';
// Load: `conns` concurrent connections to an echo server in another process, each sending
// messages of random sizes with random pauses for `durationMs`, verifying every echoed byte.
// RSS and fd counts of both processes are sampled; after warm-up they must stay flat.
const crypto = require('node:crypto');
const { via, spawnPeer, within, sleep, procStats, row } = require('../../support/scenario-tools');
// Seeded, so a failing run can be replayed with the same seed.
const { random: prng } = require('../../support/prng');
const { receive } = require('../../support/socket-transfer');
const { bytesAt } = require('../../support/pattern-stream');
const { describeSocket } = require('../../support/describe-socket');
const path = require('node:path');
const { shmProvider } = require(path.join(__dirname, '..', '..', '..', 'dist', 'providers', 'shm'));

function fmtMB(n) {
  return (n / 2 ** 20).toFixed(0);
}

async function run({ conns = 1000, durationMs = 60000, samples = 12, seed = 5, log = console.log } = {}) {
  const server = await spawnPeer();
  const failures = [];
  const rows = [];
  let verified = 0;
  let messages = 0;
  let errors = 0;
  try {
    const { port } = await server.call('listen', { mode: 'echo' });
    const rand = prng(seed);
    const end = Date.now() + durationMs;
    const size = () => (rand() < 0.7 ? 1 + Math.floor(rand() * 2048) : 1 + Math.floor(rand() * 256 * 1024));
    const live = new Map(); // connection index -> { sock, sent }: who is still running, for stall reports
    const client = async (i, seed) => {
      const sock = via.connect({ port, host: '127.0.0.1' });
      const state = { sock, sent: 0, phase: 'connect' };
      live.set(i, state);
      sock.on('error', () => errors++);
      const checking = receive(sock, seed);
      let waiter = null;
      sock.on('data', () => waiter && waiter());
      sock.once('close', () => waiter && waiter());
      await new Promise((resolve) => sock.once('connect', resolve));
      if (sock.transport !== 'shm') failures.push(`connection ${i} over ${sock.transport}`);
      let sent = 0;
      // What was sent is hashed as it goes, so the check at the end is one digest comparison:
      // rehashing each connection's whole stream there (prefixHash) made the 1,000 closes a
      // serial burst of ~60 GB of sha256 that starved the event loop past the grace period.
      const sentHash = crypto.createHash('sha256');
      while (Date.now() < end && !sock.destroyed) {
        const n = size();
        const chunk = bytesAt(seed, sent, n);
        sentHash.update(chunk);
        sock.write(chunk);
        sent += n;
        state.sent = sent;
        state.phase = 'echo';
        await new Promise((resolve) => {
          waiter = () => {
            if (sock.bytesRead >= sent || sock.destroyed) resolve();
          };
        });
        waiter = null;
        messages++;
        state.phase = 'pause';
        await sleep(Math.floor(rand() * 100));
      }
      state.phase = 'closing';
      sock.end();
      const c = await checking;
      live.delete(i);
      if (c.bytes !== sent || !c.ok || c.hash() !== sentHash.digest('hex')) failures.push(`connection ${i}: ${c.bytes}/${sent} bytes, prefix ok ${c.ok}`);
      verified += c.bytes;
    };
    const started = Date.now();
    const all = [];
    for (let i = 0; i < conns; i += 50) {
      // 16 patterns shared by all connections (pattern-stream.js caches 1 MB per seed); each connection
      // still checks its own stream from byte 0.
      for (let j = i; j < Math.min(conns, i + 50); j++) all.push(client(j, (j % 16) + 1));
      await sleep(10);
    }
    // Sample while the clients run.
    const interval = durationMs / samples;
    for (let s = 1; s <= samples && Date.now() < end + 1000; s++) {
      await sleep(Math.max(0, started + s * interval - Date.now()));
      const me = procStats();
      const them = procStats(server.child.pid);
      rows.push({ t: ((Date.now() - started) / 1000).toFixed(0), clientRss: me.anon, clientShm: me.shmem, clientFds: me.fds, serverRss: them.anon, serverShm: them.shmem, serverFds: them.fds, messages });
    }
    // Bounded: every connection must finish within 30 s of the deadline; report any that stall.
    if ((await within(Promise.all(all), 30000)) === 'timeout') {
      const stalled = [...live.entries()].slice(0, 5).map(([i, st]) => `#${i} ${st.phase}: sent ${st.sent}, ${describeSocket(st.sock)}`);
      const serverSide = await within(server.call('describe', { max: 5 }), 5000);
      // Is this process starved (its own CPU at 100%) or idle with work stuck in the queue?
      const cpuBefore = process.cpuUsage();
      const cqBefore = shmProvider()?.stats();
      await sleep(2000);
      const cpu = process.cpuUsage(cpuBefore);
      const busy = `${(((cpu.user + cpu.system) / 2e6) * 100).toFixed(0)}%`;
      failures.push(`client over 2 s: CPU ${busy}, completion queue ${JSON.stringify(cqBefore)} -> ${JSON.stringify(shmProvider()?.stats())}`);
      failures.push(`${live.size} connections stalled 30 s after the deadline: ${stalled.join('; ')}`);
      failures.push(`server side: ${JSON.stringify(serverSide)}`);
      for (const st of live.values()) st.sock.destroy();
    }
  } finally {
    server.kill();
  }
  log('   t(s)  client RssAnon MB  client RssShmem MB  client fds  server RssAnon MB  server RssShmem MB  server fds  messages');
  for (const r of rows) log(`${r.t.padStart(7)}  ${fmtMB(r.clientRss).padStart(17)}  ${fmtMB(r.clientShm).padStart(18)}  ${String(r.clientFds).padStart(10)}  ${fmtMB(r.serverRss).padStart(17)}  ${fmtMB(r.serverShm).padStart(18)}  ${String(r.serverFds).padStart(10)}  ${String(r.messages).padStart(8)}`);
  // Flat after warm-up: from the first quarter of the run to its end.
  const warm = rows[Math.floor(rows.length / 4)];
  const last = rows[rows.length - 1];
  if (warm && last) {
    for (const k of ['clientFds', 'serverFds']) if (Math.abs(last[k] - warm[k]) > 10) failures.push(`${k} ${warm[k]} -> ${last[k]}`);
    for (const k of ['clientRss', 'serverRss']) if (last[k] > warm[k] * 1.5 + 64 * 2 ** 20) failures.push(`${k} grew ${fmtMB(warm[k])} -> ${fmtMB(last[k])} MB`);
  }
  if (errors) failures.push(`${errors} socket errors`);
  const notes = `${conns} conns, ${messages} messages, ${(verified / 2 ** 30).toFixed(2)} GiB verified; RssAnon client ${fmtMB(warm?.clientRss)}->${fmtMB(last?.clientRss)} MB, server ${fmtMB(warm?.serverRss)}->${fmtMB(last?.serverRss)} MB; fds client ${warm?.clientFds}->${last?.clientFds}, server ${warm?.serverFds}->${last?.serverFds}`;
  return row(`load: soak ${durationMs / 1000} s`, conns, failures.slice(0, 10), notes);
}

module.exports = { run };
