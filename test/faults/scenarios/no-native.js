'use strict';
// Scenario 6: the addon is disabled (VIA_NET_DISABLE_NATIVE=1) or broken (VIA_NET_ADDON points at
// a garbage file). Peers in that state must still work over TCP, as server and as client, with
// full integrity, and report transport 'tcp'.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { via, spawnPeer, listen, connected, row } = require('../../support/scenario-tools');
const { pump } = require('../../support/socket-transfer');
const { prefixHash } = require('../../support/pattern-stream');

const TOTAL = 4 * 1024 * 1024 + 3;

/** Sends TOTAL bytes from this process to a sink; returns [transport, verdict]. */
async function sendTo(port, seed) {
  const sock = via.connect({ port, host: '127.0.0.1' });
  let reply = '';
  sock.on('data', (d) => (reply += d));
  await connected(sock);
  pump(sock, { seed, total: TOTAL });
  await new Promise((resolve) => sock.once('close', resolve));
  return [sock.transport, reply ? JSON.parse(reply) : null];
}

async function variant(label, env, failures) {
  const server = await spawnPeer(env);
  const client = await spawnPeer(env);
  const ours = via.createServer();
  try {
    const { port } = await server.call('listen', { mode: 'sink' });
    // broken -> broken, native -> broken, broken -> native.
    const a = await client.call('transfer', { port, seed: 31, total: TOTAL });
    const [bTransport, bVerdict] = await sendTo(port, 32);
    ours.on('connection', (sock) => {
      const crypto = require('node:crypto');
      const h = crypto.createHash('sha256');
      let bytes = 0;
      sock.on('data', (d) => (h.update(d), (bytes += d.length)));
      sock.on('end', () => sock.end(JSON.stringify({ bytes, hash: h.digest('hex'), transport: sock.transport })));
    });
    const ourPort = await listen(ours);
    const c = await client.call('transfer', { port: ourPort, seed: 33, total: TOTAL });
    const check = (what, transport, verdict, seed) => {
      if (transport !== 'tcp') failures.push(`${label} ${what}: transport ${transport}`);
      if (!verdict || verdict.bytes !== TOTAL || verdict.hash !== prefixHash(seed, TOTAL)) failures.push(`${label} ${what}: verdict ${JSON.stringify(verdict)}`);
    };
    check('broken->broken', a.transport, a.verdict, 31);
    check('native->broken', bTransport, bVerdict, 32);
    check('broken->native', c.transport, c.verdict, 33);
    if (c.verdict && c.verdict.transport !== 'tcp') failures.push(`${label} broken->native: server side transport ${c.verdict.transport}`);
  } finally {
    ours.close();
    server.kill();
    client.kill();
  }
}

async function run() {
  const failures = [];
  const garbage = path.join(os.tmpdir(), `via-net-garbage-${process.pid}.node`);
  fs.writeFileSync(garbage, Buffer.from('\x7fELF this is not a shared object'.repeat(64)));
  try {
    await variant('VIA_NET_DISABLE_NATIVE=1', { VIA_NET_DISABLE_NATIVE: '1' }, failures);
    await variant('VIA_NET_ADDON=garbage', { VIA_NET_ADDON: garbage }, failures);
  } finally {
    fs.rmSync(garbage, { force: true });
  }
  return row('6. addon disabled / garbage', 6, failures, `3 transfers x 2 variants of ${TOTAL} B over tcp, sha256 equal`);
}

module.exports = { run };
