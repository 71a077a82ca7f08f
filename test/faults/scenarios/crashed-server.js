'use strict';
// Scenario 4: a server is SIGKILLed and leaves its rendezvous entry behind. A client in auto
// mode must then fail cleanly (ECONNREFUSED, as TCP would) or fall back, never hang; a client
// forcing shm must fail with a code. A server restarted on the same port must reclaim both the
// TCP port and the shm entry, and carry a sha256-checked transfer over shm.
const fs = require('node:fs');
const path = require('node:path');
const { via, spawnPeer, within, row } = require('../../support/scenario-tools');
const { entryPath } = require(path.join(__dirname, '..', '..', '..', 'dist', 'providers', 'rundir'));
const { prefixHash } = require('../../support/pattern-stream');
const { pump } = require('../../support/socket-transfer');

function tryConnect(port, options = {}) {
  const t0 = performance.now();
  const sock = via.connect({ port, host: '127.0.0.1', ...options });
  const outcome = new Promise((resolve) => {
    sock.once('connect', () => resolve({ connected: true, transport: sock.transport }));
    sock.once('error', (err) => resolve({ code: err.code }));
  });
  return within(outcome, 5000, { code: 'HUNG' }).then((r) => {
    sock.destroy();
    return { ...r, ms: performance.now() - t0 };
  });
}

async function run({ rounds = 3 } = {}) {
  const failures = [];
  const netns = fs.statSync('/proc/self/ns/net').ino;
  const notes = [];
  for (let i = 0; i < rounds; i++) {
    const first = await spawnPeer();
    const { port } = await first.call('listen', { mode: 'sink' });
    const entry = entryPath(`tcp:${port}`, netns);
    await first.kill('SIGKILL');
    if (!fs.existsSync(entry)) notes.push('entry removed at kill?');
    const auto = await tryConnect(port);
    const forced = await tryConnect(port, { transport: 'shm' });
    if (auto.code !== 'ECONNREFUSED') failures.push(`round ${i}: auto client after the crash: ${JSON.stringify(auto)}`);
    if (!forced.code || forced.code === 'HUNG') failures.push(`round ${i}: forced-shm client after the crash: ${JSON.stringify(forced)}`);
    const second = await spawnPeer();
    try {
      const again = await second.call('listen', { mode: 'sink', port });
      if (again.port !== port) failures.push(`round ${i}: restarted server got port ${again.port}`);
      const sock = via.connect({ port, host: '127.0.0.1' });
      let reply = '';
      sock.on('data', (d) => (reply += d));
      await new Promise((resolve) => sock.once('connect', resolve));
      if (sock.transport !== 'shm') failures.push(`round ${i}: restarted server reached over ${sock.transport}`);
      await pump(sock, { seed: 40 + i, total: 1 << 20 });
      await new Promise((resolve) => sock.once('close', resolve));
      const verdict = JSON.parse(reply || 'null');
      if (!verdict || verdict.hash !== prefixHash(40 + i, 1 << 20)) failures.push(`round ${i}: transfer after restart ${reply}`);
      if (i === 0) notes.push(`after crash: auto ${auto.code} in ${auto.ms.toFixed(1)} ms, forced shm ${forced.code} in ${forced.ms.toFixed(1)} ms`);
    } finally {
      second.kill();
    }
  }
  return row('4. stale rendezvous after server SIGKILL', rounds, failures, `${notes.join('; ')}; restarted server reclaimed port and entry, 1 MiB over shm sha256 equal`);
}

module.exports = { run };
