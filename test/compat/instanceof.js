'use strict';
// Class identity: sockets and servers are instances of the implementation's classes, of
// node:net's classes (via-net must subclass them) and of the stream/event base classes.
const { expect } = require('chai');
const { Duplex } = require('node:stream');
const { EventEmitter } = require('node:events');
const { once } = require('../support/compat-harness');

module.exports = {
  area: 'instanceof',
  clientServer: false,
  define({ impl, net, h }) {
    it('impl.Socket is node:net Socket or a subclass of it', () => {
      expect(impl.Socket.prototype instanceof net.Socket || impl.Socket === net.Socket).to.equal(true);
    });

    it('impl.Server is node:net Server or a subclass of it', () => {
      expect(impl.Server.prototype instanceof net.Server || impl.Server === net.Server).to.equal(true);
    });

    it('connect() and createConnection() return impl.Socket instances (and net.Socket)', async () => {
      const { port } = await h.startServer();
      for (const fn of ['connect', 'createConnection']) {
        const s = h.trackSocket(impl[fn]({ port, host: '127.0.0.1' }));
        expect(s).to.be.instanceOf(impl.Socket);
        expect(s).to.be.instanceOf(net.Socket);
        await once(s, 'connect');
      }
    });

    it('createServer() returns an impl.Server (and net.Server, EventEmitter)', () => {
      const srv = h.server();
      expect(srv).to.be.instanceOf(impl.Server);
      expect(srv).to.be.instanceOf(net.Server);
      expect(srv).to.be.instanceOf(EventEmitter);
    });

    it('new impl.Server() and new impl.Socket() construct instances', () => {
      expect(h.track(new impl.Server())).to.be.instanceOf(impl.Server);
      expect(h.trackSocket(new impl.Socket())).to.be.instanceOf(impl.Socket);
    });

    it('impl.Socket() and impl.Server() also work without new', () => {
      expect(h.trackSocket(impl.Socket())).to.be.instanceOf(impl.Socket);
      expect(h.track(impl.Server())).to.be.instanceOf(impl.Server);
    });

    it("the server's connection socket is an impl.Socket and a net.Socket", async () => {
      const { peer } = await h.pair();
      expect(peer).to.be.instanceOf(impl.Socket);
      expect(peer).to.be.instanceOf(net.Socket);
    });

    it('sockets are Duplex streams', () => {
      expect(h.trackSocket(new impl.Socket())).to.be.instanceOf(Duplex);
    });

    it('impl.Stream is the Socket class (legacy alias)', () => {
      expect(impl.Stream).to.equal(impl.Socket);
    });
  },
};
