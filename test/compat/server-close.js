'use strict';
// server.close(): callback, 'close' event, waiting for open connections, not-running errors.
const { expect } = require('chai');
const { once, closed, checkError } = require('../support/compat-harness');

const NOT_RUNNING = { code: 'ERR_SERVER_NOT_RUNNING', message: 'Server is not running.' };

module.exports = {
  area: 'server close',
  clientServer: true,
  define({ h }) {
    it('close(cb): close event, then cb with no error; returns the server', async () => {
      const srv = h.server();
      await h.listen(srv);
      const log = [];
      srv.on('close', () => log.push('close'));
      const done = new Promise((resolve) => {
        expect(srv.close((...args) => { log.push(`cb:${args.length === 0 ? 'none' : args[0]}`); resolve(); })).to.equal(srv);
      });
      await done;
      // The callback is a once('close') listener added by close(), after ours.
      expect(log).to.deep.equal(['close', 'cb:none']);
    });

    it('close() without callback emits close exactly once', async () => {
      const srv = h.server();
      await h.listen(srv);
      let n = 0;
      srv.on('close', () => n++);
      srv.close();
      await once(srv, 'close');
      await new Promise((resolve) => setImmediate(resolve));
      expect(n).to.equal(1);
    });

    it('close(cb) on a server that never listened: close event, cb gets ERR_SERVER_NOT_RUNNING', async () => {
      const srv = h.server();
      const log = [];
      srv.on('close', () => log.push('close'));
      const err = await new Promise((resolve) => srv.close(resolve));
      checkError(err, NOT_RUNNING);
      expect(log).to.deep.equal(['close']);
    });

    it('second close(cb) gets ERR_SERVER_NOT_RUNNING', async () => {
      const srv = h.server();
      await h.listen(srv);
      srv.close();
      await once(srv, 'close');
      const err = await new Promise((resolve) => srv.close(resolve));
      checkError(err, NOT_RUNNING);
    });

    it('close() waits for open connections: close fires only after the last one ends', async () => {
      const { server, client, peer } = await h.pair();
      const log = [];
      const peerClosed = closed(peer);
      server.on('close', () => log.push('server:close'));
      peer.on('end', () => log.push('peer:end'));
      peer.resume();
      server.close(() => log.push('server:cb'));
      log.push('close() returned');
      expect(server.listening).to.equal(false);
      // The connection still works both ways while the server is closing.
      const echoed = new Promise((resolve) => client.once('data', resolve));
      peer.write('still here');
      expect((await echoed).toString()).to.equal('still here');
      client.end();
      await once(server, 'close');
      // node emits the server's 'close' (on the next tick after the last connection is destroyed)
      // before that connection's own 'close' event.
      expect(log).to.deep.equal(['close() returned', 'peer:end', 'server:close', 'server:cb']);
      await peerClosed;
    });

    it('after close() new connections are refused even while old ones are open', async () => {
      const { server, port } = await h.pair();
      server.close();
      const s = h.connect(port);
      const err = await new Promise((resolve) => s.once('error', resolve));
      checkError(err, { code: 'ECONNREFUSED', syscall: 'connect' });
    });

    it('getConnections() during close counts the remaining connections', async () => {
      const { server, client } = await h.pair();
      server.close();
      const n = await new Promise((resolve, reject) => server.getConnections((e, c) => (e ? reject(e) : resolve(c))));
      expect(n).to.equal(1);
      client.destroy();
      await once(server, 'close');
    });

    it('closing a unix-path server removes the socket file', async () => {
      const p = h.tmp('close');
      const srv = h.server();
      await h.listen(srv, p);
      expect(require('node:fs').existsSync(p)).to.equal(true);
      srv.close();
      await once(srv, 'close');
      expect(require('node:fs').existsSync(p)).to.equal(false);
    });

    it('a socket closed by the peer while the server closes still reports close(false)', async () => {
      const { server, client, peer } = await h.pair();
      const peerClosed = closed(peer);
      server.close();
      peer.resume();
      client.resume();
      peer.end();
      const [hadError] = await once(client, 'close');
      expect(hadError).to.equal(false);
      expect(await peerClosed).to.deep.equal([false]);
    });
  },
};
