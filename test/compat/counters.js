'use strict';
// bytesRead / bytesWritten / writableLength / bufferSize.
const { expect } = require('chai');
const { once, closed, collect, readBytes } = require('../support/compat-harness');

module.exports = {
  area: 'byte counters and buffer sizes',
  clientServer: true,
  define({ impl, h }) {
    it('a new socket has bytesRead 0, bytesWritten 0, writableLength 0', () => {
      const s = h.trackSocket(new impl.Socket());
      expect([s.bytesRead, s.bytesWritten, s.writableLength]).to.deep.equal([0, 0, 0]);
    });

    it('after a 1000-byte transfer both ends count 1000', async () => {
      const { client, peer } = await h.pair();
      const got = readBytes(peer, 1000);
      await new Promise((resolve) => client.write(Buffer.alloc(1000, 7), resolve));
      await got;
      expect([client.bytesWritten, peer.bytesRead]).to.deep.equal([1000, 1000]);
      expect([client.bytesRead, peer.bytesWritten]).to.deep.equal([0, 0]);
    });

    it('strings are counted in encoded bytes (utf8 and hex)', async () => {
      const { client, peer } = await h.pair();
      const received = collect(peer);
      client.write('é'.repeat(10));
      client.end('abcd', 'hex');
      await received;
      expect(client.bytesWritten).to.equal(22);
      expect(peer.bytesRead).to.equal(22);
    });

    it('bytes queued before connect count in bytesWritten, writableLength and bufferSize', async () => {
      const { port } = await h.startServer();
      const s = h.connect(port);
      s.write('hello');
      expect([s.bytesWritten, s.writableLength, s.bufferSize]).to.deep.equal([5, 5, 5]);
      await once(s, 'connect');
      await new Promise((resolve) => s.write('', resolve));
      expect([s.bytesWritten, s.writableLength]).to.deep.equal([5, 0]);
    });

    it('a socket connected again after close counts from zero, as with a new handle', async () => {
      const { port } = await h.startServer(null, (peer) => {
        peer.on('data', (d) => peer.write(d));
        peer.on('end', () => peer.end());
      });
      const s = h.trackSocket(new impl.Socket());
      const counts = [];
      for (let i = 0; i < 2; i++) {
        s.connect(h.tcpOptions(port));
        await once(s, 'connect');
        const echoed = readBytes(s, 5);
        s.write('12345');
        await echoed;
        s.end();
        await closed(s);
        counts.push([s.bytesRead, s.bytesWritten]);
      }
      expect(counts).to.deep.equal([[5, 5], [5, 5]]);
    });

    it('counters keep their values after close', async () => {
      const { client, peer } = await h.pair();
      const got = readBytes(client, 3);
      peer.write('abc');
      await got;
      client.end('12345');
      await new Promise((resolve) => peer.once('data', resolve));
      client.destroy();
      await closed(client);
      expect([client.bytesRead, client.bytesWritten]).to.deep.equal([3, 5]);
    });

    it('writableLength grows while the peer does not read, and drain follows once it does', async () => {
      const { client, peer } = await h.pair();
      peer.pause();
      const chunk = Buffer.alloc(64 * 1024);
      let writes = 0;
      // Bounded: the kernel (or provider) buffers are far smaller than 64 MB.
      while (client.write(chunk) && writes < 1024) writes++;
      expect(writes).to.be.below(1024);
      expect(client.writableLength).to.be.above(0);
      expect(client.bufferSize).to.equal(client.writableLength);
      expect(client.writableNeedDrain).to.equal(true);
      peer.resume();
      await once(client, 'drain');
      expect(client.writableLength).to.equal(0);
    });
  },
};
