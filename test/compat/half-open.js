'use strict';
// allowHalfOpen false (auto-end on the peer's FIN) versus true (half-close kept open).
const { expect } = require('chai');
const { once, record, withHadError, closed, collect } = require('../support/compat-harness');

module.exports = {
  area: 'allowHalfOpen',
  clientServer: true,
  define({ h }) {
    it('default server: a client end() makes the server socket end too (auto-end)', async () => {
      const { client, peer } = await h.pair();
      const peerLog = record(peer, ['end', 'finish', 'close'], [], withHadError);
      peer.resume();
      client.resume();
      client.end();
      await closed(peer);
      expect(peerLog).to.deep.equal(['end', 'finish', 'close:false']);
      expect(peer.allowHalfOpen).to.equal(false);
    });

    it('default client: the server end() makes the client end too (auto-end)', async () => {
      const { client, peer } = await h.pair();
      const log = record(client, ['end', 'finish', 'close'], [], withHadError);
      client.resume();
      peer.resume();
      peer.end();
      await closed(client);
      expect(log).to.deep.equal(['end', 'finish', 'close:false']);
    });

    it('allowHalfOpen server: after the client ends, the server can still write', async () => {
      const { client, peer } = await h.pair({ serverOpts: { allowHalfOpen: true } });
      expect(peer.allowHalfOpen).to.equal(true);
      const toClient = collect(client);
      peer.resume();
      client.end('question');
      await once(peer, 'end');
      expect(peer.writable).to.equal(true);
      peer.end('late answer');
      expect((await toClient).toString()).to.equal('late answer');
    });

    it('allowHalfOpen server: no auto-end - finish only after an explicit end()', async () => {
      const { client, peer } = await h.pair({ serverOpts: { allowHalfOpen: true } });
      const log = record(peer, ['end', 'finish', 'close'], [], withHadError);
      peer.resume();
      client.resume();
      client.end();
      await once(peer, 'end');
      await new Promise((resolve) => setImmediate(resolve));
      expect(log).to.deep.equal(['end']);
      peer.end();
      await closed(peer);
      expect(log).to.deep.equal(['end', 'finish', 'close:false']);
    });

    it('allowHalfOpen client: after the server ends, the client can still write', async () => {
      const { client, peer } = await h.pair({ clientExtra: { allowHalfOpen: true } });
      const toServer = collect(peer);
      client.resume();
      peer.end();
      await once(client, 'end');
      expect(client.writable).to.equal(true);
      client.end('reply after FIN');
      expect((await toServer).toString()).to.equal('reply after FIN');
    });

    it('both half-open: each side ends independently, data flows both ways', async () => {
      const { client, peer } = await h.pair({ serverOpts: { allowHalfOpen: true }, clientExtra: { allowHalfOpen: true } });
      const toServer = collect(peer);
      const toClient = collect(client);
      const bothClosed = Promise.all([closed(client), closed(peer)]);
      client.end('c->s');
      expect((await toServer).toString()).to.equal('c->s');
      expect(peer.writable).to.equal(true);
      peer.end('s->c');
      expect((await toClient).toString()).to.equal('s->c');
      // Both directions finished: each side closes by itself.
      await bothClosed;
    });
  },
};
