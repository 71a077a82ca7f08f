'use strict';
// Adaptive polling tunes its spin to the peer (native/cq.cc, AdaptSpin): while the server thinks
// for milliseconds before each reply, the client stops spinning; when replies come back fast
// again, the spin budget returns to its configured size. Client: this process; server: a child.
const { expect } = require('chai');
const { fork } = require('node:child_process');
const { once } = require('node:events');
const path = require('node:path');
const net = require('../dist');
const { shmProvider } = require('../dist/providers/shm');

const SERVER = path.join(__dirname, 'support', 'peers', 'think-server.js');
const SIZE = 64;
const BUDGET_NS = 50 * 1000; // the default spinMicros

/** `count` request/response round trips of 64 B on `sock`. */
function roundTrips(sock, count, onEach = () => {}) {
  return new Promise((resolve, reject) => {
    const msg = Buffer.alloc(SIZE, 0x61);
    let have = 0;
    let left = count;
    const onData = (chunk) => {
      have += chunk.length;
      while (have >= SIZE) {
        have -= SIZE;
        onEach(count - left);
        if (--left === 0) {
          sock.removeListener('data', onData);
          resolve();
          return;
        }
        sock.write(msg);
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.write(msg);
  });
}

describe('adaptive polling tunes its spin to the peer (two processes)', function () {
  this.timeout(60000);
  let child;
  let sock;

  before(async function () {
    if (!net.providerStatus().shm.available) this.skip();
    child = fork(SERVER, ['2000'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const [{ port }] = await once(child, 'message');
    sock = net.connect({ port, host: '127.0.0.1' });
    await once(sock, 'connect');
    expect(sock.transport).to.equal('shm');
    sock.setNoDelay(true);
  });

  after(() => {
    sock?.destroy();
    child?.disconnect();
  });

  it('stops spinning while the server works 2 ms per reply, and spins again once replies are fast', async () => {
    const before = shmProvider().stats();
    await roundTrips(sock, 40);
    const thinking = shmProvider().stats();
    expect(thinking.spinBudgetNs, 'spin budget after 40 slow replies').to.equal(0);
    // Only the first few waits spin (the budget halves on each long one): far below 40 full spins.
    expect(thinking.spinNs - before.spinNs, 'ns spent spinning for 40 slow replies').to.be.below(12 * BUDGET_NS);

    child.send({ workUs: 0 });
    await once(child, 'message');
    let largest = 0;
    await roundTrips(sock, 3000, () => {
      largest = Math.max(largest, shmProvider().stats().spinBudgetNs);
    });
    expect(largest, 'largest spin budget while replies are fast').to.equal(BUDGET_NS);
  });
});
