'use strict';
// The rest of the documented surface no other module covers: the connectionAttempt events,
// autoSelectFamily, readableAll/writableAll, reusePort, blockList (Node 22+), the server's
// Symbol.asyncDispose, and setTypeOfService/getTypeOfService (Node 24). Members a Node line does
// not have are skipped on it (test/net-surface.test.js lists which line has what).
const fs = require('node:fs');
const net = require('node:net');
const { expect } = require('chai');
const { once, closed, record, collect, checkError } = require('../support/compat-harness');

const hasBlockList = new net.Server({ blockList: new net.BlockList() }).blockList !== undefined;
const hasTypeOfService = typeof net.Socket.prototype.setTypeOfService === 'function';

function blocking(address) {
  const list = new net.BlockList();
  list.addAddress(address);
  return list;
}

module.exports = {
  area: 'the rest of the surface',
  clientServer: true,
  define({ impl, h }) {
    it("'connectionAttempt' (address, port, family) comes before 'connect'", async () => {
      const { port } = await h.startServer(null, (p) => p.end());
      const s = h.connect(port);
      const seen = [];
      s.on('connectionAttempt', (...args) => seen.push(['connectionAttempt', ...args]));
      s.on('connect', () => seen.push(['connect']));
      await closed(s);
      expect(seen).to.deep.equal([['connectionAttempt', '127.0.0.1', port, 4], ['connect']]);
    });

    it("'connectionAttemptFailed' (address, port, family, error) comes before 'error' on a refused port", async () => {
      const srv = h.server();
      const port = await h.listen(srv);
      await new Promise((resolve) => srv.close(resolve));
      const s = h.connect(port);
      const seen = [];
      s.on('connectionAttemptFailed', (address, p, family, err) => seen.push(['connectionAttemptFailed', address, p, family, err.code]));
      s.on('error', (err) => seen.push(['error', err.code]));
      await closed(s);
      expect(seen).to.deep.equal([['connectionAttemptFailed', '127.0.0.1', port, 4, 'ECONNREFUSED'], ['error', 'ECONNREFUSED']]);
    });

    it('autoSelectFamily: true to localhost connects and carries data', async () => {
      const srv = h.server((p) => p.end('over localhost'));
      srv.listen(0); // '::', so both families of localhost reach it
      await once(srv, 'listening');
      const s = h.trackSocket(impl.connect({ port: srv.address().port, host: 'localhost', autoSelectFamily: true, autoSelectFamilyAttemptTimeout: 250 }));
      expect((await collect(s)).toString()).to.equal('over localhost');
    });

    it('listen({ path, readableAll, writableAll }) makes the socket file readable and writable by all', async () => {
      const p = h.tmp('all');
      const srv = h.server();
      srv.listen({ path: p, readableAll: true, writableAll: true });
      await once(srv, 'listening');
      expect(fs.statSync(p).mode & 0o066).to.equal(0o066);
    });

    it('listen({ reusePort: true }) listens and accepts (Node 22.12+; ignored by older lines)', async () => {
      const srv = h.server((p) => p.end('reused'));
      srv.listen({ port: 0, host: '127.0.0.1', reusePort: true });
      await once(srv, 'listening');
      const s = h.connect(srv.address().port);
      expect((await collect(s)).toString()).to.equal('reused');
    });

    it('server[Symbol.asyncDispose]() closes the server', async function () {
      const srv = h.server();
      if (typeof srv[Symbol.asyncDispose] !== 'function') this.skip();
      await h.listen(srv);
      const events = record(srv, ['close']);
      await srv[Symbol.asyncDispose]();
      expect(srv.listening).to.equal(false);
      expect(events).to.deep.equal(['close']);
    });

    describe('blockList (Node 22+)', () => {
      before(function () {
        if (!hasBlockList) this.skip();
      });

      it('a socket whose blockList holds the address: connectionAttempt, then ERR_IP_BLOCKED, nothing sent', async () => {
        let connections = 0;
        const { port } = await h.startServer(null, () => connections++);
        const s = h.trackSocket(new impl.Socket({ blockList: blocking('127.0.0.1') }));
        const seen = record(s, ['connectionAttempt', 'connect', 'error', 'close']);
        let error;
        s.on('error', (err) => { error = err; });
        s.connect(h.tcpOptions(port));
        await closed(s);
        expect(seen).to.deep.equal(['connectionAttempt', 'error', 'close']);
        checkError(error, { code: 'ERR_IP_BLOCKED', message: 'IP(127.0.0.1) is blocked by net.BlockList' });
        expect(connections).to.equal(0);
      });

      it("a server whose blockList holds the client's address drops it without a 'connection'", async () => {
        let connections = 0;
        const srv = h.server({ blockList: blocking('127.0.0.1') }, () => connections++);
        const port = await h.listen(srv);
        const s = h.connect(port);
        const seen = record(s, ['connect', 'end', 'close']);
        s.on('error', () => seen.push('error'));
        await closed(s);
        expect(seen[0]).to.equal('connect');
        expect(seen[seen.length - 1]).to.equal('close');
        expect(connections).to.equal(0);
        expect(s.transport === undefined || s.transport === 'tcp').to.equal(true);
      });
    });

    describe('setTypeOfService / getTypeOfService (Node 24)', () => {
      before(function () {
        if (!hasTypeOfService) this.skip();
      });

      it('returns the socket, validates like node, and reads back what was set, before and after connect', async () => {
        const { port } = await h.startServer();
        const s = h.trackSocket(new impl.Socket());
        expect(s.getTypeOfService()).to.equal(0);
        expect(s.setTypeOfService(0x10)).to.equal(s);
        expect(s.getTypeOfService()).to.equal(0x10);
        let caught;
        try { s.setTypeOfService(256); } catch (err) { caught = err; }
        expect(caught && caught.code).to.equal('ERR_OUT_OF_RANGE');
        s.connect(h.tcpOptions(port));
        await once(s, 'connect');
        expect(s.setTypeOfService(0x08)).to.equal(s);
        expect(s.getTypeOfService()).to.equal(0x08);
      });
    });
  },
};
