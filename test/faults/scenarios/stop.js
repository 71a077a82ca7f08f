'use strict';
// Scenario 2: the peer is SIGSTOPped for `stopMs` in the middle of a two-way stream, then
// SIGCONT: the connection must survive and every byte arrive, in both directions.
const { via, spawnPeer, within, sleep, listen, connected, row } = require('../../support/scenario-tools');
const { pump, receive, watch } = require('../../support/socket-transfer');
const { prefixHash } = require('../../support/pattern-stream');

async function run({ stopMs = 5000, total = 64 * 1024 * 1024 } = {}) {
  const peer = await spawnPeer();
  const failures = [];
  let sock;
  try {
    const { port } = await peer.call('listen', { mode: 'duplex', seed: 11, total, serverOptions: { allowHalfOpen: true } });
    sock = via.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    await connected(sock);
    if (sock.transport !== 'shm') failures.push(`transport ${sock.transport}`);
    const log = watch(sock);
    const checking = receive(sock, 11);
    const sending = pump(sock, { seed: 22, total });
    // Stop the peer once the stream is under way (the first data proves it is).
    await new Promise((resolve) => sock.once('data', resolve));
    peer.child.kill('SIGSTOP');
    await sleep(stopMs);
    if (log.events.length) failures.push(`events while the peer was stopped: ${log.events}`);
    peer.child.kill('SIGCONT');
    const sinkDone = peer.waitFor((m) => m.type === 'sink-done', 60000);
    const closed = await within(log.closed, 60000);
    if (closed === 'timeout') failures.push('no close within 60 s of SIGCONT');
    const checker = await checking;
    const sent = await sending;
    if (log.error) failures.push(`error ${log.error.code}`);
    if (checker.bytes !== total || !checker.verify()) failures.push(`peer->us: ${checker.bytes}/${total} bytes, prefix ok ${checker.ok}`);
    const sink = await within(sinkDone, 5000, null);
    if (!sink || sink.bytes !== sent.sent || sink.hash !== prefixHash(22, total)) failures.push(`us->peer: peer verdict ${JSON.stringify(sink)}`);
    return row(`2. peer SIGSTOPped ${stopMs / 1000} s`, 1, failures, `${(2 * total) / 2 ** 20} MiB both ways, sha256 equal`);
  } finally {
    peer.child.kill('SIGCONT');
    peer.kill('SIGKILL');
    sock?.destroy();
  }
}

module.exports = { run };
