'use strict';
// The onread option: reads go into the caller's buffer, `callback(nread, buf)` runs instead of
// 'data', and a callback that returns false pauses the socket until resume().
const { expect } = require('chai');
const { once, closed, sha256, payload } = require('../support/compat-harness');

module.exports = {
  area: 'onread (a caller-supplied read buffer)',
  clientServer: true,
  define({ impl, h }) {
    /** Connects with onread; resolves with what the callback saw once the socket closed. */
    async function readWith(port, { buffer, onChunk = () => true }) {
      const pieces = [];
      const buffersSeen = new Set();
      let dataEvents = 0;
      const s = h.connect(port, {
        onread: {
          buffer,
          callback(n, buf) {
            buffersSeen.add(buf);
            pieces.push(Buffer.from(buf.subarray(0, n)));
            return onChunk(s, n);
          },
        },
      });
      s.on('data', () => dataEvents++);
      const ended = once(s, 'end');
      await ended;
      await closed(s);
      return { s, received: Buffer.concat(pieces), pieces, buffersSeen, dataEvents };
    }

    it('a static buffer: every callback gets that buffer, at most its size, and no data event', async () => {
      const { port } = await h.startServer(null, (peer) => peer.end('hello world'));
      const buffer = Buffer.alloc(4);
      const r = await readWith(port, { buffer });
      expect(r.received.toString()).to.equal('hello world');
      expect([...r.buffersSeen]).to.deep.equal([buffer]);
      expect(r.pieces.every((p) => p.length <= 4)).to.equal(true);
      expect(r.dataEvents).to.equal(0);
      expect(r.s.bytesRead).to.equal(11);
    });

    it('a buffer function: called for buffers, 1 MB arrives intact (sha256)', async () => {
      const data = payload(1024 * 1024, 9);
      const { port } = await h.startServer(null, (peer) => peer.end(data));
      let calls = 0;
      const r = await readWith(port, { buffer: () => (calls++, Buffer.alloc(64 * 1024)) });
      expect(sha256(r.received)).to.equal(sha256(data));
      expect(calls).to.be.greaterThan(0);
      expect(r.dataEvents).to.equal(0);
    });

    it('a callback returning false pauses the socket; resume() reads on, intact', async () => {
      const data = payload(256 * 1024, 3);
      const { port } = await h.startServer(null, (peer) => peer.end(data));
      let pauses = 0;
      const r = await readWith(port, {
        buffer: Buffer.alloc(16 * 1024),
        onChunk(s) {
          if (pauses >= 3) return true;
          pauses++;
          // Reading stopped (node stops its handle; the stream itself does not report paused).
          setImmediate(() => s.resume());
          return false;
        },
      });
      expect(pauses).to.equal(3);
      expect(sha256(r.received)).to.equal(sha256(data));
    });

    it('an onread option that is not { buffer, callback } is ignored: data events as usual', async () => {
      const { port } = await h.startServer(null, (peer) => peer.end('plain'));
      const s = h.connect(port, { onread: { buffer: 'not a buffer', callback: () => {} } });
      const chunks = [];
      s.on('data', (c) => chunks.push(c));
      await once(s, 'end');
      expect(Buffer.concat(chunks).toString()).to.equal('plain');
      expect(impl).to.have.property('Socket');
    });
  },
};
