'use strict';
// Per-socket options through the facade: SOVIA parameters, timeouts, reuse of a destroyed socket.
const crypto = require('crypto');
const { expect } = require('chai');
const { viaNet, once, closeOf, sha256, collect, listen, closeServer } = require('./support/facade');

describe('facade per-socket options', function () {
  this.timeout(30000);
  let server;
  afterEach(async () => {
    if (server) await closeServer(server);
    server = null;
  });

  for (const sovia of [{ preset: 'BASE' }, { preset: 'FLOWCNTL' }, { window: 4, ackThreshold: 2, chunkSize: 1000, copyThreshold: 500, combine: false }]) {
    it(`moves data intact with sovia ${JSON.stringify(sovia)} (the server adopts the client's window)`, async () => {
      server = await listen({ transport: 'memory' });
      const accepted = once(server, 'connection');
      const client = viaNet.connect({ port: server.address().port, host: '127.0.0.1', transport: 'memory', sovia });
      await once(client, 'connect');
      const [peer] = await accepted;
      const data = crypto.randomBytes(300000 + 3);
      const got = collect(peer);
      client.end(data);
      expect(sha256(await got)).to.equal(sha256(data));
      peer.end();
      await closeOf(client);
    });
  }

  it('rejects invalid sovia options synchronously with a node-style code', () => {
    const call = () => viaNet.connect({ port: 9, host: '127.0.0.1', transport: 'memory', sovia: { window: 0 } });
    expect(call).to.throw(RangeError).with.property('code', 'ERR_OUT_OF_RANGE');
  });

  it('honours the timeout option of createConnection on the user-level path', async () => {
    server = await listen({ transport: 'memory' });
    const client = viaNet.createConnection({ port: server.address().port, host: '127.0.0.1', transport: 'memory', timeout: 50 });
    await once(client, 'connect');
    const start = Date.now();
    await once(client, 'timeout');
    expect(Date.now() - start).to.be.at.least(30);
    expect(client.timeout).to.equal(50);
    client.destroy();
  });

  it('a destroyed socket can connect again, over the user-level path', async () => {
    server = await listen({ transport: 'memory' }, (s) => s.end('hi'));
    const port = server.address().port;
    const socket = new viaNet.Socket({ transport: 'memory' });
    for (let round = 0; round < 2; round++) {
      const closed = closeOf(socket);
      socket.connect(port, '127.0.0.1');
      await once(socket, 'connect');
      expect(socket.transport).to.equal('memory');
      expect(String(await collect(socket))).to.equal('hi');
      expect(await closed).to.equal(false);
    }
  });

  it('reports connecting/pending/readyState like net during and after a user-level connect', async () => {
    server = await listen({ transport: 'memory' });
    const client = viaNet.connect({ port: server.address().port, host: '127.0.0.1', transport: 'memory' });
    expect([client.connecting, client.pending, client.readyState]).to.deep.equal([true, true, 'opening']);
    await once(client, 'connect');
    expect([client.connecting, client.pending, client.readyState]).to.deep.equal([false, false, 'open']);
    client.end();
    await once(client, 'finish');
    expect(client.readyState).to.equal('readOnly');
    client.destroy();
    await closeOf(client);
    expect([client.readyState, client.pending, client.connecting, client.destroyed]).to.deep.equal(['closed', true, false, true]);
  });

  it('writes queued before the user-level connect completes are delivered in order', async () => {
    const received = [];
    server = await listen({ transport: 'memory' }, (s) => {
      s.on('data', (d) => received.push(d));
      s.on('end', () => s.end());
    });
    const client = viaNet.connect({ port: server.address().port, host: '127.0.0.1', transport: 'memory' });
    const parts = [crypto.randomBytes(10), crypto.randomBytes(70000), crypto.randomBytes(5)];
    for (const p of parts) client.write(p);
    client.end();
    await closeOf(client);
    expect(sha256(Buffer.concat(received))).to.equal(sha256(Buffer.concat(parts)));
  });
});
