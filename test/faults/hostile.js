'use strict';
// The hostile peer: connects to a via-net server's shm rendezvous with the raw VI binding and a
// well-formed connect payload, then scribbles over the server's shared memory (its VI's ring and,
// every third round, the link's region header that all its VIs share) and sends garbage packets,
// reconnecting whenever its VI breaks, until the time is up.
// argv: port durationMs seed. Prints one JSON line: { connections, rounds, breaks: {code: n} }.
const path = require('node:path');
const { scribble } = require('../support/testing-addon'); // before via-net: the addon with test hooks
const { shmProvider } = require(path.join(__dirname, '..', '..', 'dist', 'providers', 'shm'));
const { encodeConnectPayload } = require(path.join(__dirname, '..', '..', 'dist', 'transport', 'payload'));

const [port, durationMs, seed] = process.argv.slice(2).map(Number);
const provider = shmProvider();
const end = Date.now() + durationMs;
const stats = { connections: 0, refused: 0, rounds: 0, breaks: {} };
const payload = encodeConnectPayload({
  targets: [{ address: '127.0.0.1', family: 'IPv4' }], port, localAddress: null, localPort: 0, forced: false, sovia: { window: 32, ackThreshold: 16 },
});

function attack() {
  if (Date.now() > end) {
    process.stdout.write(JSON.stringify(stats) + '\n');
    process.exit(0);
  }
  provider.connect(`tcp:${port}`, { recvDepth: 34, payload }, (err, vi) => {
    if (err) {
      stats.refused++;
      return setTimeout(attack, 5);
    }
    stats.connections++;
    let broken = false;
    vi.setHandler({
      onRecv() {},
      onSendComplete() {},
      onBroken(e) {
        broken = true;
        stats.breaks[e.code] = (stats.breaks[e.code] || 0) + 1;
      },
    });
    vi.postRecv(34);
    const tick = () => {
      for (let i = 0; i < 20 && !broken && Date.now() < end; i++) {
        try {
          scribble(vi, stats.rounds % 3 === 2 ? 'link-peer' : 'peer', seed + stats.rounds);
          stats.rounds++;
          vi.postSend(Buffer.from('garbage!'), 0, 8, (Math.random() * 2 ** 32) >>> 0);
        } catch (e) {
          broken = true;
          stats.breaks[`send:${e.code}`] = (stats.breaks[`send:${e.code}`] || 0) + 1;
        }
      }
      if (broken || Date.now() >= end) {
        vi.close();
        setImmediate(attack);
      } else setImmediate(tick);
    };
    tick();
  });
}
attack();
