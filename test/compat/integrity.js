'use strict';
// Data integrity: what is sent is what is received (sha256), both directions, many sizes.
const { expect } = require('chai');
const { once, sha256, payload, collect, hasIPv6Loopback } = require('../support/compat-harness');

/** Each side sends 1 MB of its own pattern and ends; both streams must arrive intact (sha256). */
async function bothWaysAtOnce(client, peer, seedUp, seedDown) {
  const up = payload(1 << 20, seedUp);
  const down = payload(1 << 20, seedDown);
  const gotUp = collect(peer);
  const gotDown = collect(client);
  client.end(up);
  peer.end(down);
  const [u, d] = await Promise.all([gotUp, gotDown]);
  expect([sha256(u), sha256(d)]).to.deep.equal([sha256(up), sha256(down)]);
}

const SIZES = [['0 B', 0], ['1 B', 1], ['64 KB', 64 * 1024], ['4 MB', 4 * 1024 * 1024]];

module.exports = {
  area: 'data integrity',
  clientServer: true,
  define({ impl, h }) {
    for (const [label, size] of SIZES) {
      it(`client -> server ${label} (sha256)`, async () => {
        const { client, peer } = await h.pair();
        const data = payload(size, size + 1);
        const received = collect(peer);
        client.end(data);
        const got = await received;
        expect([got.length, sha256(got)]).to.deep.equal([size, sha256(data)]);
      });

      it(`server -> client ${label} (sha256)`, async () => {
        const { client, peer } = await h.pair();
        const data = payload(size, size + 2);
        const received = collect(client);
        peer.end(data);
        const got = await received;
        expect([got.length, sha256(got)]).to.deep.equal([size, sha256(data)]);
      });
    }

    it('both directions at once, 1 MB each (sha256)', async () => {
      const { client, peer } = await h.pair();
      await bothWaysAtOnce(client, peer, 11, 12);
    });

    it('many small writes: 10000 x 7 B arrive in order (sha256)', async () => {
      const { client, peer } = await h.pair();
      const parts = Array.from({ length: 10000 }, (_, i) => Buffer.from(String(i).padStart(7, '0')));
      const received = collect(peer);
      for (const p of parts) client.write(p);
      client.end();
      expect(sha256(await received)).to.equal(sha256(Buffer.concat(parts)));
    });

    it('many small writes server -> client with callbacks: all called, in order', async () => {
      const { client, peer } = await h.pair();
      const parts = Array.from({ length: 2000 }, (_, i) => Buffer.from(`${i};`));
      const received = collect(client);
      const order = [];
      parts.forEach((p, i) => peer.write(p, () => order.push(i)));
      peer.end();
      expect(sha256(await received)).to.equal(sha256(Buffer.concat(parts)));
      expect(order).to.deep.equal(parts.map((_, i) => i));
    });

    it('mixed-size writes (1 B .. 100 KB) keep byte order (sha256)', async () => {
      const { client, peer } = await h.pair();
      const sizes = [1, 100, 2047, 2048, 2049, 32 * 1024 - 1, 32 * 1024, 32 * 1024 + 1, 100 * 1024, 3];
      const parts = sizes.map((n, i) => payload(n, i + 100));
      const received = collect(peer);
      for (const p of parts) client.write(p);
      client.end();
      expect(sha256(await received)).to.equal(sha256(Buffer.concat(parts)));
    });

    it('echo round trip of 1 MB (sha256)', async () => {
      const { port } = await h.startServer(null, (peer) => peer.pipe(peer));
      const client = h.connect(port);
      const data = payload(1 << 20, 21);
      const received = collect(client);
      client.end(data);
      expect(sha256(await received)).to.equal(sha256(data));
    });

    it('unix socket: 1 MB both directions (sha256)', async () => {
      const p = h.tmp('integrity');
      const srv = h.server();
      await h.listen(srv, p);
      const gotPeer = once(srv, 'connection');
      const client = h.trackSocket(impl.connect(p));
      const [peer] = await gotPeer;
      await bothWaysAtOnce(client, peer, 31, 32);
    });

    it('IPv6 ::1: 1 MB client -> server (sha256)', async function () {
      if (!hasIPv6Loopback()) this.skip();
      const { client, peer } = await h.pair({ host: '::1' });
      const data = payload(1 << 20, 41);
      const received = collect(peer);
      client.end(data);
      expect(sha256(await received)).to.equal(sha256(data));
    });
  },
};
