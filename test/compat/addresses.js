'use strict';
// address(), remote*/local* properties of both ends, IPv4, IPv6 (::1) and unix sockets.
const { expect } = require('chai');
const { once, hasIPv6Loopback } = require('../support/compat-harness');

const FAMILIES = [
  { family: 'IPv4', host: '127.0.0.1' },
  { family: 'IPv6', host: '::1' },
];

module.exports = {
  area: 'addresses',
  clientServer: true,
  define({ impl, h }) {
    for (const { family, host } of FAMILIES) {
      const title = (t) => `${family}: ${t}`;
      const maybeSkip = function () { if (family === 'IPv6' && !hasIPv6Loopback()) this.skip(); };

      it(title('client remoteAddress/remotePort/remoteFamily name the server'), async function () {
        maybeSkip.call(this);
        const { client, port } = await h.pair({ host });
        expect([client.remoteAddress, client.remotePort, client.remoteFamily]).to.deep.equal([host, port, family]);
      });

      it(title('client localAddress/localPort/localFamily and address() agree'), async function () {
        maybeSkip.call(this);
        const { client, port } = await h.pair({ host });
        expect(client.localAddress).to.equal(host);
        expect(client.localFamily).to.equal(family);
        expect(client.localPort).to.be.a('number').and.not.equal(port);
        expect(client.address()).to.deep.equal({ address: host, family, port: client.localPort });
      });

      it(title("server-side socket's remote end is the client's local end"), async function () {
        maybeSkip.call(this);
        const { client, peer, port } = await h.pair({ host });
        expect([peer.remoteAddress, peer.remotePort, peer.remoteFamily])
          .to.deep.equal([client.localAddress, client.localPort, family]);
        expect([peer.localAddress, peer.localPort]).to.deep.equal([host, port]);
        expect(peer.address()).to.deep.equal({ address: host, family, port });
      });

      it(title('server.address() is exactly {address, family, port}'), async function () {
        maybeSkip.call(this);
        const srv = h.server();
        const port = await h.listen(srv, 0, host);
        expect(srv.address()).to.deep.equal({ address: host, family, port });
        expect(Object.keys(srv.address()).sort()).to.deep.equal(['address', 'family', 'port']);
      });
    }

    it('server.address() is null before listen and after close', async () => {
      const srv = h.server();
      expect(srv.address()).to.equal(null);
      await h.listen(srv);
      srv.close();
      expect(srv.address()).to.equal(null);
      await once(srv, 'close');
    });

    it('listen(0) without host binds synchronously: address() has the port right away', () => {
      const srv = h.server();
      srv.listen(0);
      const a = srv.address();
      expect(srv.listening).to.equal(true);
      expect(a.port).to.be.a('number').and.above(0);
      expect(a.family).to.equal(hasIPv6Loopback() ? 'IPv6' : 'IPv4');
      expect(a.address).to.equal(hasIPv6Loopback() ? '::' : '0.0.0.0');
    });

    it('listen(0, host) resolves asynchronously: address() is null until listening', async () => {
      const srv = h.server();
      srv.listen(0, '127.0.0.1');
      expect([srv.listening, srv.address()]).to.deep.equal([false, null]);
      await once(srv, 'listening');
      expect(srv.listening).to.equal(true);
    });

    it('a client can reach a listen(0) server (no host) over 127.0.0.1', async () => {
      const srv = h.server();
      srv.listen(0);
      await once(srv, 'listening');
      const s = await h.connected(srv.address().port);
      expect(s.remoteAddress).to.equal('127.0.0.1');
    });

    it('before connect: address() is {} and remote/local properties are undefined', () => {
      const s = h.trackSocket(new impl.Socket());
      expect(s.address()).to.deep.equal({});
      expect([s.remoteAddress, s.remotePort, s.remoteFamily, s.localAddress, s.localPort])
        .to.deep.equal([undefined, undefined, undefined, undefined, undefined]);
    });

    it('unix socket: server.address() is the path, sockets report {} and undefined remotes', async () => {
      const p = h.tmp('addr');
      const srv = h.server();
      await h.listen(srv, p);
      expect(srv.address()).to.equal(p);
      const gotPeer = once(srv, 'connection');
      const c = h.trackSocket(impl.connect(p));
      await once(c, 'connect');
      const [peer] = await gotPeer;
      for (const s of [c, peer]) {
        expect(s.address()).to.deep.equal({});
        expect([s.remoteAddress, s.remotePort, s.remoteFamily]).to.deep.equal([undefined, undefined, undefined]);
      }
    });

    it('two ephemeral listeners get different ports', async () => {
      const a = await h.startServer();
      const b = await h.startServer();
      expect(a.port).to.not.equal(b.port);
    });
  },
};
