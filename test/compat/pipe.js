'use strict';
// pipe() and stream.pipeline() with sockets on either end.
const { expect } = require('chai');
const { Readable, Writable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const { once, sha256, payload, collect } = require('../support/compat-harness');

module.exports = {
  area: 'pipe',
  clientServer: true,
  define({ h }) {
    it('socket.pipe(socket) through a proxy server delivers 1 MB intact', async () => {
      const sink = h.server();
      const sinkPort = await h.listen(sink);
      const sinkGot = once(sink, 'connection').then(([s]) => collect(s));
      const proxy = h.server((downstream) => {
        const upstream = h.connect(sinkPort);
        downstream.pipe(upstream);
      });
      const proxyPort = await h.listen(proxy);
      const client = h.connect(proxyPort);
      const data = payload(1 << 20, 51);
      client.end(data);
      expect(sha256(await sinkGot)).to.equal(sha256(data));
    });

    it('pipe() returns the destination', async () => {
      const { client, peer } = await h.pair();
      const dest = new Writable({ write(c, e, cb) { cb(); } });
      expect(client.pipe(dest)).to.equal(dest);
      peer.end();
      await once(dest, 'finish');
    });

    it('pipeline(Readable.from(chunks), socket) sends every chunk and ends', async () => {
      const { client, peer } = await h.pair();
      const chunks = Array.from({ length: 100 }, (_, i) => payload(1000 + i, i + 60));
      const received = collect(peer);
      await pipeline(Readable.from(chunks), client);
      expect(sha256(await received)).to.equal(sha256(Buffer.concat(chunks)));
    });

    it('pipeline(socket, Writable) collects everything the peer sends', async () => {
      const { client, peer } = await h.pair();
      const data = payload(512 * 1024, 70);
      const parts = [];
      const collector = new Writable({ write(c, e, cb) { parts.push(c); cb(); } });
      peer.end(data);
      await pipeline(client, collector);
      expect(sha256(Buffer.concat(parts))).to.equal(sha256(data));
    });

    it('a slow Writable destination applies backpressure without losing data', async () => {
      const { client, peer } = await h.pair();
      const data = payload(2 << 20, 71);
      const parts = [];
      const slow = new Writable({
        highWaterMark: 1024,
        write(c, e, cb) { parts.push(c); setImmediate(cb); },
      });
      peer.end(data);
      client.pipe(slow);
      await once(slow, 'finish');
      expect(sha256(Buffer.concat(parts))).to.equal(sha256(data));
    });
  },
};
