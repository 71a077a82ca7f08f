'use strict';
// for await (const chunk of socket).
const { expect } = require('chai');
const { sha256, payload, closed } = require('../support/compat-harness');

module.exports = {
  area: 'async iteration',
  clientServer: true,
  define({ h }) {
    it('for await collects all data until end (256 KB, sha256)', async () => {
      const { client, peer } = await h.pair();
      const data = payload(256 * 1024, 80);
      peer.end(data);
      const parts = [];
      for await (const c of client) parts.push(c);
      expect(sha256(Buffer.concat(parts))).to.equal(sha256(data));
    });

    it('with setEncoding the iterator yields strings', async () => {
      const { client, peer } = await h.pair();
      client.setEncoding('utf8');
      peer.end('añb€');
      const parts = [];
      for await (const c of client) parts.push(c);
      expect(parts.every((c) => typeof c === 'string')).to.equal(true);
      expect(parts.join('')).to.equal('añb€');
    });

    it('breaking out of the loop destroys the socket; the peer sees it close', async () => {
      const { client, peer } = await h.pair();
      peer.resume();
      const peerClosed = closed(peer);
      peer.write('first');
      for await (const c of client) { expect(c.toString()).to.equal('first'); break; }
      expect(client.destroyed).to.equal(true);
      await peerClosed;
    });

    it('iteration rejects with the socket error', async () => {
      const { client } = await h.pair();
      const boom = new Error('iter boom');
      setImmediate(() => client.destroy(boom));
      let caught;
      try { for await (const c of client) void c; } catch (e) { caught = e; }
      expect(caught).to.equal(boom);
    });
  },
};
