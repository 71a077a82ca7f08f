'use strict';
// write()/end() callbacks, their ordering, encodings and corking.
const { expect } = require('chai');
const { once, collect, closed, readBytes } = require('../support/compat-harness');

// Each string is written with the encoding; the peer must receive exactly Buffer.from(str, enc).
const ENCODINGS = [
  ['utf8', 'héllo wörld €'],
  ['hex', 'deadbeef00ff'],
  ['base64', 'aGVsbG8gYmFzZTY0IQ=='],
  ['base64url', 'aGVsbG8_-w'],
  ['latin1', 'caf\u00e9 \u00ff'],
  ['ascii', 'plain ascii'],
  ['ucs2', 'utf-16 \u20ac'],
];

module.exports = {
  area: 'write and end',
  clientServer: true,
  define({ h }) {
    /** A pair whose peer collects everything until end. */
    async function sink() {
      const p = await h.pair();
      const received = collect(p.peer);
      return { ...p, received };
    }

    it('write callback is called once with null', async () => {
      const { client } = await sink();
      const args = [];
      client.write('x', (...a) => args.push(a));
      client.end();
      await once(client, 'finish');
      expect(args).to.deep.equal([[null]]);
    });

    it('write callbacks run in write order, end callback before finish', async () => {
      const { client, received } = await sink();
      const log = [];
      client.on('finish', () => log.push('finish'));
      for (let i = 1; i <= 5; i++) client.write(`w${i}`, () => log.push(`w${i}`));
      client.end('e', (...a) => log.push(`end:${a[0]}`));
      await once(client, 'finish');
      expect(log).to.deep.equal(['w1', 'w2', 'w3', 'w4', 'w5', 'end:null', 'finish']);
      expect((await received).toString()).to.equal('w1w2w3w4w5e');
    });

    it('small write on a connected socket returns true', async () => {
      const { client } = await sink();
      expect(client.write('small')).to.equal(true);
    });

    for (const [enc, str] of ENCODINGS) {
      it(`write(string, '${enc}') sends Buffer.from(string, '${enc}')`, async () => {
        const { client, received } = await sink();
        client.write(str, enc);
        client.end();
        expect((await received).equals(Buffer.from(str, enc))).to.equal(true);
      });
    }

    it('write(string, callback) defaults to utf8', async () => {
      const { client, received } = await sink();
      const cb = new Promise((resolve) => client.write('ünïcode', resolve));
      client.end();
      expect(await cb).to.equal(null);
      expect((await received).toString('utf8')).to.equal('ünïcode');
    });

    it('write(Uint8Array) and write(DataView) send the bytes', async () => {
      const { client, received } = await sink();
      client.write(new Uint8Array([1, 2, 3]));
      client.write(new DataView(new Uint8Array([4, 5]).buffer));
      client.end();
      expect([...(await received)]).to.deep.equal([1, 2, 3, 4, 5]);
    });

    it('write(empty buffer) calls back and sends nothing', async () => {
      const { client, received } = await sink();
      await new Promise((resolve) => client.write(Buffer.alloc(0), resolve));
      client.end();
      expect((await received).length).to.equal(0);
    });

    it('end(data) delivers the data before end', async () => {
      const { client, received } = await sink();
      client.end('last words');
      expect((await received).toString()).to.equal('last words');
    });

    it("end(data, 'hex') decodes with the encoding", async () => {
      const { client, received } = await sink();
      client.end('cafe', 'hex');
      expect([...(await received)]).to.deep.equal([0xca, 0xfe]);
    });

    it('end(data, encoding, cb) calls cb with null', async () => {
      const { client, received } = await sink();
      const args = await new Promise((resolve) => client.end('x', 'utf8', (...a) => resolve(a)));
      expect(args).to.deep.equal([null]);
      expect((await received).toString()).to.equal('x');
    });

    it('end(cb) calls cb once the write side finished', async () => {
      const { client } = await sink();
      const args = await new Promise((resolve) => client.end((...a) => resolve(a)));
      expect(args).to.deep.equal([null]);
      expect(client.writableFinished).to.equal(true);
    });

    it('end() returns the socket', async () => {
      const { client } = await sink();
      expect(client.end()).to.equal(client);
    });

    it('writableEnded is set by end(), writableFinished after finish', async () => {
      const { client } = await sink();
      expect([client.writableEnded, client.writableFinished]).to.deep.equal([false, false]);
      client.end();
      expect(client.writableEnded).to.equal(true);
      await once(client, 'finish');
      expect(client.writableFinished).to.equal(true);
    });

    it('writes issued before connect are delivered after connect, callbacks in order', async () => {
      const srv = h.server();
      const port = await h.listen(srv);
      const gotPeer = once(srv, 'connection');
      const s = h.connect(port);
      const log = [];
      s.once('connect', () => log.push('connect'));
      s.write('early1', () => log.push('cb1'));
      s.write('early2', () => log.push('cb2'));
      const [peer] = await gotPeer;
      const data = await readBytes(peer, 12);
      s.end();
      await once(s, 'finish');
      expect(data.toString()).to.equal('early1early2');
      expect(log).to.deep.equal(['connect', 'cb1', 'cb2']);
    });

    it('cork()/uncork() delivers all corked writes, in order', async () => {
      const { client, received } = await sink();
      client.cork();
      client.write('a');
      client.write('b');
      client.write('c');
      expect(client.writableCorked).to.equal(1);
      process.nextTick(() => { client.uncork(); client.end(); });
      expect((await received).toString()).to.equal('abc');
    });

    it('peer writes reach the client too (server to client direction)', async () => {
      const { client, peer } = await h.pair();
      const got = collect(client);
      const done = closed(client);
      peer.write('from ');
      peer.end('server');
      expect((await got).toString()).to.equal('from server');
      await done;
    });
  },
};
