'use strict';
// socket._handle on shm (lib/user-handle.ts), where it cannot behave as over TCP: a user-level
// connection cannot be passed to another process. The send must fail with a code, in the
// sending process, leaving the socket and its server as they were (over TCP the socket travels;
// a plain object handed to libuv would crash the process instead).
const path = require('node:path');
const { spawn } = require('node:child_process');
const { once } = require('node:events');
const { expect } = require('chai');
const { skipWithoutShm } = require('./support/facade');

const via = require(path.join(__dirname, '..', 'dist'));

describe('socket._handle on shm: passing the socket to another process', function () {
  this.timeout(20000);
  before(function () {
    skipWithoutShm(this);
  });

  it('child.send(msg, socket) throws ERR_VIA_NET_NOT_TRANSFERABLE; the socket and its server carry on', async () => {
    const child = spawn(process.execPath, ['-e', "process.on('message', (m, h) => process.send({ got: m, handle: typeof h }))"],
      { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    try {
      const server = via.createServer((s) => s.pipe(s));
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const accepted = once(server, 'connection');
      const c = via.connect({ port: server.address().port, host: '127.0.0.1' });
      await once(c, 'connect');
      const [peer] = await accepted;
      expect(c.transport).to.equal('shm');
      for (const s of [c, peer]) {
        let caught;
        try { child.send('socket', s); } catch (err) { caught = err; }
        expect(caught, 'send must throw').to.be.an('error');
        expect(caught.code).to.equal('ERR_VIA_NET_NOT_TRANSFERABLE');
        expect(s._handle).to.be.an('object');
      }
      // The server still counts its connection (node had counted it out before the throw);
      // the socket still works; the channel too.
      const count = await new Promise((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
      expect(count).to.equal(1);
      c.write('still here');
      const [echo] = await once(c, 'data');
      expect(echo.toString()).to.equal('still here');
      child.send('plain');
      const [reply] = await once(child, 'message');
      expect(reply).to.deep.equal({ got: 'plain', handle: 'undefined' });
      c.destroy();
      await new Promise((resolve) => server.close(resolve));
    } finally {
      child.kill();
    }
  });
});
