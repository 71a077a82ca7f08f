'use strict';
// Scenario 5: file descriptors run out. A child limited with `prlimit --nofile=N:N` opens
// connections to an echo server until one fails. Over TCP every connection costs an fd, so
// node:net fails with EMFILE after about N. Over shm only the first connection to a process costs
// fds (the link), so via-net holds every connection asked for, with no fd per connection; and when
// the fds are gone before the first connection (the child fills its table first), via-net fails
// with node:net's code. Either way the connections already open keep working (sha256-checked echo
// on each), and closing them gives every fd back.
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { PeerProcess } = require('../../support/peer-process');
const { via, listen, row } = require('../../support/scenario-tools');

const PEER = path.join(__dirname, '..', '..', 'support', 'peers', 'fault-peer.js');

/** A fault-peer.js child run under `prlimit --nofile=limit:limit`. */
async function limitedPeer(limit) {
  // fork() cannot apply a limit, so run node through prlimit; IPC still works through fd 3.
  const peer = new PeerProcess(PEER, { execPath: 'prlimit', execArgv: [`--nofile=${limit}:${limit}`, process.execPath] });
  const ready = await peer.ready;
  return { peer, ready };
}

async function attempt(lib, port, limit, failures, { fill = false } = {}) {
  const { peer } = await limitedPeer(limit);
  try {
    const before = await peer.call('stats');
    const ex = await peer.call('exhaust', { port, lib, max: 500, fill });
    // Where the connections filled the fd table, no fd is left to read /proc/self/fd with until
    // closeAll frees them: count only where they did not.
    const during = ex.failure ? before : await peer.call('stats');
    const code = ex.failure?.code ?? 'none';
    const t = await peer.call('transferAll', { size: 100000 });
    if (t.ok !== ex.opened || t.bad.length) failures.push(`${lib}: ${t.ok}/${ex.opened} held connections echoed intact after the failure`);
    let after = await peer.call('closeAll');
    // Closed sockets release their native fds on a later loop turn (libuv close callbacks):
    // re-sample until they are back, for at most 2 s. What remains after that is a leak.
    const deadline = Date.now() + 2000;
    while (after.fds > before.fds + 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      after = await peer.call('stats');
    }
    // The failed attempt must not leave an fd behind; the listener, CQ and IPC stay.
    if (after.fds > before.fds + 3) failures.push(`${lib}: fds ${before.fds} before, ${after.fds} after closing everything`);
    if (ex.failure?.thrown) failures.push(`${lib}: connect() threw ${code} synchronously instead of emitting 'error': ${ex.failure.stack.split('\n').slice(0, 6).join(' | ')}`);
    return { code, opened: ex.opened, transports: ex.transports, message: ex.failure?.message, fdsBefore: before.fds, fdsDuring: during.fds, fdsAfter: after.fds };
  } finally {
    peer.kill();
  }
}

async function run({ limit = 64 } = {}) {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
  } catch {
    return row('5. fds exhausted (EMFILE)', 0, [], 'skipped: prlimit not installed');
  }
  const failures = [];
  const server = via.createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  const port = await listen(server);
  try {
    const v = await attempt('via', port, limit, failures);
    const n = await attempt('net', port, limit, failures);
    if (n.code !== 'EMFILE') failures.push(`node:net reported ${n.code}, expected EMFILE (limit too high?)`);
    // fds per peer process, not per connection: all 500 over shm, a handful of fds in all.
    if (v.code !== 'none' || v.transports.shm !== 500) failures.push(`via-net: ${v.opened} conns ${JSON.stringify(v.transports)} then ${v.code} (${v.message}); expected 500 over shm`);
    if (v.fdsDuring - v.fdsBefore > 4) failures.push(`via-net: ${v.fdsDuring - v.fdsBefore} fds for 500 shm connections (expected the link's only)`);
    // No fd left at all: the first connection (which needs a link) fails as node:net's does.
    const vf = await attempt('via', port, limit, failures, { fill: true });
    const nf = await attempt('net', port, limit, failures, { fill: true });
    if (nf.code !== 'EMFILE' || vf.code !== nf.code) failures.push(`fd table full: via-net ${vf.code} (${vf.message}), node:net ${nf.code}`);
    const notes = `nofile=${limit}: via-net ${v.opened} conns ${JSON.stringify(v.transports)} with ${v.fdsDuring - v.fdsBefore} fds; node:net ${n.opened} then ${n.code}; table full first: via-net ${vf.code}, node:net ${nf.code}; fds after close ${v.fdsBefore}->${v.fdsAfter}`;
    return row('5. fds exhausted (EMFILE)', v.opened + n.opened + vf.opened + nf.opened, failures, notes);
  } finally {
    server.close();
  }
}

module.exports = { run };
