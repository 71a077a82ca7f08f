'use strict';
// Scenario 3: the server goes away while `conns` connections stream both ways, either by
// server.close() plus destroying its sockets, or by its process exiting. Every client must end
// cleanly or get an error, and close, within the deadline; what each received must be a prefix.
const { via, spawnPeer, within, row } = require('../../support/scenario-tools');
const { pump, receive, watch } = require('../../support/socket-transfer');

async function variant(how, conns) {
  const peer = await spawnPeer();
  const failures = [];
  const socks = [];
  try {
    const { port } = await peer.call('listen', { mode: 'duplex', seed: 7 });
    const clients = await Promise.all(
      Array.from({ length: conns }, async (_, i) => {
        const sock = via.connect({ port, host: '127.0.0.1' });
        socks.push(sock);
        const log = watch(sock);
        const firstData = new Promise((resolve) => sock.once('data', resolve));
        const checking = receive(sock, 7);
        await new Promise((resolve) => sock.once('connect', resolve));
        pump(sock, { seed: 100 + i, total: Infinity, maxChunk: 8192 });
        await firstData; // streaming in both directions
        return { sock, log, checking };
      }),
    );
    if (how === 'close') await peer.call('closeServer');
    else await peer.call('exit', { code: 0 });
    const outcomes = {};
    for (const c of clients) {
      const closed = await within(c.log.closed, 5000);
      const key = closed === 'timeout' ? 'HUNG' : c.log.error ? c.log.error.code : c.log.ended ? 'end' : 'close-only';
      outcomes[key] = (outcomes[key] || 0) + 1;
      const checker = await within(c.checking, 100, null);
      if (!checker || !checker.verify()) failures.push(`a client's received stream is not a prefix`);
    }
    if (outcomes.HUNG) failures.push(`${outcomes.HUNG} clients hung`);
    if (outcomes['close-only']) failures.push(`${outcomes['close-only']} clients closed with neither end nor error`);
    const transports = new Set(clients.map((c) => c.sock.transport));
    if (transports.size !== 1 || !transports.has('shm')) failures.push(`transports ${[...transports]}`);
    return { failures, outcomes };
  } finally {
    peer.kill('SIGKILL');
    for (const s of socks) s.destroy();
  }
}

async function run({ conns = 100 } = {}) {
  const a = await variant('close', conns);
  const b = await variant('exit', conns);
  const fmt = (o) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ');
  return row(`3. server closes under ${conns} streams`, 2 * conns, [...a.failures, ...b.failures], `close(): ${fmt(a.outcomes)}; exit: ${fmt(b.outcomes)}`);
}

module.exports = { run };
