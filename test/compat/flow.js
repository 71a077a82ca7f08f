'use strict';
// pause()/resume(), setEncoding(), paused-mode read(), pauseOnConnect.
const { expect } = require('chai');
const { once, waitUntil, sha256, payload, readBytes } = require('../support/compat-harness');

module.exports = {
  area: 'pause, resume and encodings',
  clientServer: true,
  define({ h }) {
    it('pause() returns the socket and isPaused() reports it', async () => {
      const { client } = await h.pair();
      expect(client.pause()).to.equal(client);
      expect(client.isPaused()).to.equal(true);
      expect(client.resume()).to.equal(client);
      expect(client.isPaused()).to.equal(false);
    });

    it('a paused socket buffers data without emitting it; resume() delivers it in order', async () => {
      const { client, peer } = await h.pair();
      const seen = [];
      client.pause();
      client.on('data', (c) => seen.push(c.toString()));
      peer.write('one,');
      peer.write('two');
      await waitUntil(() => client.readableLength === 7, 2000, 'buffered bytes');
      expect(seen).to.deep.equal([]);
      const all = readBytes(client, 7);
      client.resume();
      expect((await all).toString()).to.equal('one,two');
    });

    it('pause/resume toggled on every chunk keeps 1 MB intact (sha256)', async () => {
      const { client, peer } = await h.pair();
      const data = payload(1 << 20, 7);
      const chunks = [];
      const done = new Promise((resolve, reject) => {
        client.on('data', (c) => {
          chunks.push(c);
          client.pause();
          setImmediate(() => client.resume());
        });
        client.on('end', resolve);
        client.on('error', reject);
      });
      peer.end(data);
      await done;
      expect(sha256(Buffer.concat(chunks))).to.equal(sha256(data));
    });

    it("setEncoding('utf8') emits strings and decodes a character split across writes", async () => {
      const { client, peer } = await h.pair();
      expect(client.setEncoding('utf8')).to.equal(client);
      expect(client.readableEncoding).to.equal('utf8');
      const euro = Buffer.from('€');
      const got = [];
      client.on('data', (c) => got.push(c));
      peer.write(euro.subarray(0, 1));
      await new Promise((resolve) => peer.write(euro.subarray(1, 2), resolve));
      peer.end(euro.subarray(2));
      await once(client, 'end');
      expect(got.every((c) => typeof c === 'string')).to.equal(true);
      expect(got.join('')).to.equal('€');
    });

    for (const enc of ['hex', 'base64', 'latin1']) {
      it(`setEncoding('${enc}') emits the data encoded as ${enc}`, async () => {
        const { client, peer } = await h.pair();
        client.setEncoding(enc);
        const bytes = Buffer.from([0, 1, 2, 250, 251, 255]);
        const got = [];
        client.on('data', (c) => got.push(c));
        peer.end(bytes);
        await once(client, 'end');
        expect(got.join('')).to.equal(bytes.toString(enc));
      });
    }

    it("paused mode: 'readable' + read() returns the bytes", async () => {
      const { client, peer } = await h.pair();
      peer.end('read me');
      const parts = [];
      client.on('readable', () => {
        let c;
        while ((c = client.read()) !== null) parts.push(c);
      });
      await once(client, 'end');
      expect(Buffer.concat(parts).toString()).to.equal('read me');
    });

    it('pauseOnConnect: the server socket starts paused and gets data only after resume()', async () => {
      const srv = h.server({ pauseOnConnect: true });
      const port = await h.listen(srv);
      const gotPeer = once(srv, 'connection');
      const client = h.connect(port);
      client.write('held');
      const [peer] = await gotPeer;
      expect(peer.isPaused()).to.equal(true);
      expect(peer.readableFlowing).to.equal(false);
      const seen = [];
      peer.on('data', (c) => seen.push(c.toString()));
      // The client's write callback proves the bytes left the client; they must not be emitted.
      await new Promise((resolve) => client.write('!', resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(seen).to.deep.equal([]);
      const got = readBytes(peer, 5);
      peer.resume();
      expect((await got).toString()).to.equal('held!');
    });

    it('pauseOnConnect: nothing is read before resume() (bytesRead and readableLength stay 0)', async () => {
      const srv = h.server({ pauseOnConnect: true });
      const port = await h.listen(srv);
      const gotPeer = once(srv, 'connection');
      const client = h.connect(port);
      const [peer] = await gotPeer;
      const data = Buffer.alloc(200000, 5);
      await new Promise((resolve) => client.write(data, resolve));
      // One more write that completes: both ends had time to move bytes if they were going to.
      await new Promise((resolve) => client.write('!', resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect([peer.bytesRead, peer.readableLength]).to.deep.equal([0, 0]);
      const got = readBytes(peer, data.length + 1);
      peer.resume();
      expect(sha256(await got)).to.equal(sha256(Buffer.concat([data, Buffer.from('!')])));
    });

    it('without pauseOnConnect the server socket is not paused', async () => {
      const { peer } = await h.pair();
      expect(peer.isPaused()).to.equal(false);
    });
  },
};
