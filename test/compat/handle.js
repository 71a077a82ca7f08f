'use strict';
// socket._handle: what libraries reach into (fd, setNoDelay, setKeepAlive, getAsyncId, the
// address getters, ref/unref, readStart/readStop, close), and node's own TLS on top of a
// connected socket, which must keep working when the handle is via-net's on shm.
const tls = require('node:tls');
const { expect } = require('chai');
const { once, closed, collect, sha256, payload } = require('../support/compat-harness');

/** TLS without certificates: a pre-shared key (TLS 1.2 PSK suites). */
const PSK = Buffer.from('via-net compat pre-shared key 32');
const PSK_TLS = { ciphers: 'PSK-AES128-GCM-SHA256', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' };

function asyncIdOf(socket) {
  const sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'async_id_symbol');
  return socket[sym];
}

module.exports = {
  area: 'socket._handle',
  clientServer: true,
  define({ impl, h }) {
    async function connectedPair(onPeer = () => {}) {
      let peer;
      const { port } = await h.startServer(null, (p) => { peer = p; onPeer(p); });
      const s = h.connect(port);
      await once(s, 'connect');
      if (!peer) await new Promise((resolve) => setImmediate(resolve));
      return { s, port, peer: () => peer };
    }

    it('is null before connect and after close, an object while connected', async () => {
      const fresh = h.trackSocket(new impl.Socket());
      expect(fresh._handle).to.equal(null);
      const { s } = await connectedPair();
      expect(s._handle).to.be.an('object');
      s.destroy();
      expect(s._handle).to.equal(null);
      await closed(s);
      expect(s._handle).to.equal(null);
    });

    it('answers what libraries call: setNoDelay, setKeepAlive, getAsyncId, fd, ref/unref/hasRef', async () => {
      const { s } = await connectedPair();
      const handle = s._handle;
      expect(handle.setNoDelay(true)).to.equal(0);
      expect(handle.setNoDelay(false)).to.equal(0);
      expect(handle.setKeepAlive(true, 1)).to.equal(0);
      expect(handle.getAsyncId()).to.be.a('number').and.equal(asyncIdOf(s));
      expect(handle.fd).to.be.a('number');
      expect(handle.hasRef()).to.equal(true);
      handle.unref();
      expect(handle.hasRef()).to.equal(false);
      handle.ref();
      expect(handle.hasRef()).to.equal(true);
      expect(handle.isStreamBase === true).to.equal(!('transport' in s) || s.transport === 'tcp');
    });

    it('getpeername/getsockname fill what the socket reports; bytesRead/bytesWritten match', async () => {
      const data = payload(100 * 1024, 4);
      const { s, peer } = await connectedPair((p) => p.on('data', () => {}));
      const peername = {};
      const sockname = {};
      expect(s._handle.getpeername(peername)).to.equal(0);
      expect(s._handle.getsockname(sockname)).to.equal(0);
      expect(peername).to.deep.equal({ address: s.remoteAddress, family: s.remoteFamily, port: s.remotePort });
      expect(sockname).to.deep.equal(s.address());
      const written = new Promise((resolve) => s.write(data, resolve));
      await written;
      expect(s._handle.bytesWritten).to.equal(s.bytesWritten);
      const got = collect(s);
      peer().end(data);
      expect(sha256(await got)).to.equal(sha256(data));
      expect(s._handle === null || s._handle.bytesRead === s.bytesRead).to.equal(true);
      expect(s.bytesRead).to.equal(data.length);
    });

    it('readStop() then readStart() on the handle: everything still arrives, intact', async () => {
      const data = payload(512 * 1024, 5);
      const { s, peer } = await connectedPair();
      const handle = s._handle;
      handle.reading = false;
      expect(handle.readStop()).to.equal(0);
      const got = collect(s);
      peer().end(data);
      handle.reading = true;
      expect(handle.readStart()).to.equal(0);
      expect(sha256(await got)).to.equal(sha256(data));
    });

    it('close(cb) on the handle: cb runs and the peer sees the end of the stream', async () => {
      let peer;
      const { port } = await h.startServer(null, (p) => { peer = p; p.resume(); });
      // Not tracked: over TCP the socket never learns its handle was closed, so it emits no 'close'.
      const s = impl.connect(h.tcpOptions(port));
      s.on('error', () => {});
      await once(s, 'connect');
      if (!peer) await new Promise((resolve) => setImmediate(resolve));
      const peerEnded = once(peer, 'end');
      await new Promise((resolve) => s._handle.close(resolve));
      await peerEnded;
    });

    it('tls.connect({ socket }) and new TLSSocket(accepted, { isServer }) run TLS over it, intact', async () => {
      const data = payload(1024 * 1024, 6);
      const { port } = await h.startServer(null, (raw) => {
        const secure = new tls.TLSSocket(raw, { isServer: true, ...PSK_TLS, pskCallback: () => PSK });
        secure.on('error', () => {});
        secure.pipe(secure); // echo
      });
      const s = h.connect(port);
      await once(s, 'connect');
      const secure = tls.connect({ socket: s, ...PSK_TLS, checkServerIdentity: () => undefined, pskCallback: () => ({ psk: PSK, identity: 'compat' }) });
      await once(secure, 'secureConnect');
      expect(secure.encrypted).to.equal(true);
      const got = collect(secure);
      secure.end(data);
      expect(sha256(await got)).to.equal(sha256(data));
      s.destroy();
    });
  },
};
