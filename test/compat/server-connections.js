'use strict';
// getConnections, maxConnections and the 'drop' event, the 'connection' event.
const { expect } = require('chai');
const { once, record, withHadError, closed } = require('../support/compat-harness');

function count(server) {
  return new Promise((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
}

module.exports = {
  area: 'server connections',
  clientServer: true,
  define({ impl, h }) {
    it('getConnections: 0 with none, callback gets (null, n), returns the server', async () => {
      const srv = h.server();
      await h.listen(srv);
      const args = await new Promise((resolve) => expect(srv.getConnections((...a) => resolve(a))).to.equal(srv));
      expect(args).to.deep.equal([null, 0]);
    });

    it('getConnections counts open connections and drops closed ones', async () => {
      const srv = h.server();
      const port = await h.listen(srv);
      const peers = [];
      srv.on('connection', (p) => peers.push(p));
      const a = await h.connected(port);
      await h.connected(port);
      while (peers.length < 2) await once(srv, 'connection');
      expect(await count(srv)).to.equal(2);
      const peerClosed = closed(peers[0].remotePort === a.localPort ? peers[0] : peers[1]);
      a.destroy();
      await peerClosed;
      expect(await count(srv)).to.equal(1);
    });

    it('maxConnections defaults to undefined', () => {
      expect(h.server().maxConnections).to.equal(undefined);
    });

    it("maxConnections: an excess connection is closed and 'drop' describes it", async () => {
      const srv = h.server();
      srv.maxConnections = 1;
      const port = await h.listen(srv);
      const firstAccepted = once(srv, 'connection');
      const first = await h.connected(port);
      await firstAccepted;
      const second = h.connect(port);
      const secondClosed = closed(second);
      const clientLog = record(second, ['connect', 'end', 'close', 'error'], [], withHadError);
      second.resume();
      const [drop] = await once(srv, 'drop');
      await secondClosed;
      expect(clientLog).to.deep.equal(['connect', 'end', 'close:false']);
      expect({ ...drop }).to.deep.equal({
        localAddress: '127.0.0.1', localPort: port, localFamily: 'IPv4',
        remoteAddress: '127.0.0.1', remotePort: drop.remotePort, remoteFamily: 'IPv4',
      });
      expect(drop.remotePort).to.be.a('number').and.not.equal(first.localPort);
      expect(await count(srv)).to.equal(1);
    });

    it('maxConnections: after a connection closes, a new one is accepted', async () => {
      const srv = h.server();
      srv.maxConnections = 1;
      const port = await h.listen(srv);
      const firstAccepted = once(srv, 'connection');
      const first = await h.connected(port);
      const [peer] = await firstAccepted;
      const peerClosed = closed(peer);
      first.destroy();
      await peerClosed;
      const gotConn = once(srv, 'connection');
      await h.connected(port);
      await gotConn;
      expect(await count(srv)).to.equal(1);
    });

    it("'connection' passes a Socket connected to the client", async () => {
      const { client, peer } = await h.pair();
      expect(peer).to.be.instanceOf(impl.Socket);
      expect(peer.remotePort).to.equal(client.localPort);
      expect(peer.readyState).to.equal('open');
    });

    it('many concurrent clients are all accepted (20)', async () => {
      const srv = h.server();
      const port = await h.listen(srv);
      let accepted = 0;
      srv.on('connection', () => { accepted++; });
      await Promise.all(Array.from({ length: 20 }, () => h.connected(port)));
      while (accepted < 20) await once(srv, 'connection');
      expect(await count(srv)).to.equal(20);
    });
  },
};
