'use strict';
// The close contract (issue 12): what the other end sees when a process exits, is killed,
// throws, destroys its socket or terminates its worker. Every row of the table in
// close-contract/scenarios.js runs over node:net and then over via-net, each side in its own
// process, and must end the same: bytes received (sha256), the order of 'end' / 'error' /
// 'close' with error codes, and how the victim went. via-net must have used shm.
const { expect } = require('chai');
const { scenarios } = require('./close-contract/scenarios');
const { runScenario, summarize, usedShm } = require('./close-contract/run');
const { skipWithoutShm } = require('./support/facade');

describe('close contract: node:net and via-net end every exit/kill scenario the same way', function () {
  this.timeout(60000);

  before(function () {
    skipWithoutShm(this);
  });

  for (const sc of scenarios) {
    it(`${sc.id}. ${sc.name}`, async () => {
      const net = await runScenario(sc.id, 'net');
      const via = await runScenario(sc.id, 'via');
      console.log(`        node:net: ${summarize(net.outcome)}`);
      if (net.notes) console.log(`        node:net notes: ${net.notes}`);
      if (via.notes) console.log(`        via-net notes: ${via.notes}`);
      // The TCP outcome is what the scenario is about: it must be a real one, not a hang.
      expect(net.outcome, 'node:net outcome').to.not.have.any.keys('timeout', 'diedWhileWaitingFor');
      expect(via.outcome, 'via-net outcome (node:net in the message)').to.deep.equal(net.outcome);
      expect(usedShm(via, sc), `via-net transports: ${via.transports.join(',')}`).to.equal(true);
    });
  }
});

describe('close contract: a connector that goes away before it took the server\'s first packet', function () {
  this.timeout(30000);
  const path = require('node:path');
  const { PeerProcess } = require('./support/peer-process');
  const viaNet = require('../dist');
  const { encodeConnectPayload } = require('../dist/transport/payload');
  let peer = null;

  before(function () {
    skipWithoutShm(this);
  });
  afterEach(async () => {
    if (peer) await peer.kill();
    peer = null;
  });

  // Over TCP the server's kernel has nothing of ours unread (it never read), so the close reads
  // as end of stream. Over shm the only thing unread is the server engine's WAKEUP: protocol,
  // not data, so it must read the same and not crash a server with no 'error' listener.
  it("a raw shm VI closes without taking the server's WAKEUP: the server's socket ends like TCP's", async () => {
    const serverEvents = async (lib, connectAndVanish) => {
      const events = [];
      const server = lib.createServer((sock) => {
        for (const e of ['end', 'finish', 'close']) sock.on(e, () => events.push(e));
        sock.resume();
        const emit = sock.emit;
        sock.emit = function (name, ...rest) {
          if (name === 'error') events.push(`error:${rest[0] && rest[0].code}`);
          return emit.call(this, name, ...rest);
        };
        sock.on('close', () => server.close());
      });
      server.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const closed = new Promise((resolve) => server.once('close', resolve));
      // No 'error' listener: an 'error' would be an uncaught exception, which fails the test.
      await connectAndVanish(server.address().port);
      await closed;
      return events;
    };
    const overTcp = await serverEvents(require('node:net'), async (port) => {
      const sock = require('node:net').connect({ port, host: '127.0.0.1' });
      await new Promise((resolve) => sock.once('connect', resolve));
      sock.destroy();
    });
    const overShm = await serverEvents(viaNet, async (port) => {
      peer = new PeerProcess(path.join(__dirname, 'support', 'peers', 'raw-vi-peer.js'));
      await peer.ready;
      // What a via-net client sends (lib/transport/payload.ts), so the server takes it.
      const payload = encodeConnectPayload({
        targets: [{ address: '127.0.0.1', family: 'IPv4' }], port, localAddress: null, localPort: 40000, forced: false, sovia: null,
      }).toString('base64');
      const { results } = await peer.call('connect', { name: `tcp:${port}`, labels: ['a'], payload });
      expect(results[0].ok, JSON.stringify(results)).to.equal(true);
      await peer.call('close', { label: 'a' });
    });
    expect(overTcp).to.deep.equal(['end', 'finish', 'close']);
    expect(overShm).to.deep.equal(overTcp);
  });
});
