'use strict';
// A client of a server that is not via-net's (plain node:net, TLS, HTTP/2) runs on TCP, and must
// have node's kernel handle the moment connect() returns: node's TLS and HTTP/2 look at
// `socket._handle` right then, and wrap a socket without a StreamBase handle in a JSStreamSocket
// (a JS stream per byte, much slower). These scenarios pin what node:net gives at that moment.
const tls = require('node:tls');
const http2 = require('node:http2');
const { expect } = require('chai');
const { once, closed, collect, sha256, payload } = require('../support/compat-harness');

/** TLS without certificates: a pre-shared key (TLS 1.2 PSK suites). */
const PSK = Buffer.from('via-net compat pre-shared key 32');
const PSK_TLS = { ciphers: 'PSK-AES128-GCM-SHA256', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' };

/** What a handle is, in terms that are the same for node:net and a via-net socket on TCP. */
function describeHandle(handle) {
  if (!handle) return null;
  return { type: handle.constructor.name, isStreamBase: handle.isStreamBase === true };
}

/** A private member of one of node's objects, by its symbol's description (null if absent). */
function bySymbol(obj, description) {
  const sym = Object.getOwnPropertySymbols(obj).find((s) => s.description === description);
  return sym ? obj[sym] : null;
}

/** What a TLSSocket encrypts over: its TLSWrap's parent handle and the object that owns it. */
function tlsCarrier(secure) {
  const wrap = bySymbol(secure, 'res');
  return {
    parent: describeHandle(wrap && wrap._parent),
    parentWrap: wrap && wrap._parentWrap ? wrap._parentWrap.constructor.name : null,
  };
}

/** What an Http2Session runs over: the socket it keeps (kSocket) and that socket's handle. */
function h2Carrier(session) {
  const socket = bySymbol(session, 'socket');
  return { socket: socket ? socket.constructor.name : null, handle: describeHandle(socket && socket._handle) };
}

const KERNEL_TCP = { type: 'TCP', isStreamBase: true };

module.exports = {
  area: 'native handle towards servers that are not via-net',
  // The servers here are node:net's own: a forced user-level transport cannot reach them.
  clientServer: false,
  define({ impl, net, h }) {
    /** A plain node:net echo server (never via-net, even in via-net's run), tracked for cleanup. */
    async function plainEcho(...listenArgs) {
      const srv = h.trackServer(net.createServer((s) => s.pipe(s)));
      return h.listen(srv, ...listenArgs);
    }

    async function echoIntact(s, size, seed) {
      const data = payload(size, seed);
      const got = collect(s);
      s.end(data);
      expect(sha256(await got)).to.equal(sha256(data));
    }

    it('connect() to a plain TCP server: _handle is a kernel TCP handle as connect() returns, with an fd once connected', async () => {
      const port = await plainEcho();
      const s = h.trackSocket(impl.connect({ port, host: '127.0.0.1' }));
      expect(describeHandle(s._handle)).to.deep.equal(KERNEL_TCP);
      expect(s.connecting).to.equal(true);
      await once(s, 'connect');
      expect(describeHandle(s._handle)).to.deep.equal(KERNEL_TCP);
      expect(s._handle.fd).to.be.a('number').and.at.least(0);
      await echoIntact(s, 256 * 1024, 31);
    });

    it("connect() by name ('localhost') to a plain dual-stack server: kernel handle at once, data intact", async () => {
      const port = await plainEcho(0); // no host: '::', reachable over 127.0.0.1 and ::1
      const s = h.trackSocket(impl.connect(port, 'localhost'));
      expect(describeHandle(s._handle)).to.deep.equal(KERNEL_TCP);
      await once(s, 'connect');
      expect(s._handle.fd).to.be.at.least(0);
      await echoIntact(s, 64 * 1024, 32);
    });

    it('new Socket().connect() to a plain unix-socket server: a kernel Pipe handle at once', async () => {
      const file = h.tmp('plain');
      await plainEcho(file);
      const s = h.trackSocket(new impl.Socket());
      s.connect(file);
      expect(describeHandle(s._handle)).to.deep.equal({ type: 'Pipe', isStreamBase: true });
      await once(s, 'connect');
      expect(s._handle.fd).to.be.at.least(0);
      await echoIntact(s, 64 * 1024, 33);
    });

    it('tls.connect({ socket }) with a socket still connecting to a plain TLS server: TLS wraps the kernel handle, no JSStreamSocket', async () => {
      const data = payload(512 * 1024, 34);
      const srv = h.trackServer(tls.createServer({ ...PSK_TLS, pskCallback: () => PSK }, (secure) => {
        secure.on('error', () => {});
        secure.pipe(secure); // echo
      }));
      const port = await h.listen(srv);
      const raw = h.trackSocket(impl.connect({ port, host: '127.0.0.1' }));
      const secure = h.trackSocket(tls.connect({ socket: raw, ...PSK_TLS, checkServerIdentity: () => undefined, pskCallback: () => ({ psk: PSK, identity: 'compat' }) }));
      expect(tlsCarrier(secure)).to.deep.equal({ parent: KERNEL_TCP, parentWrap: 'Socket' });
      await once(secure, 'secureConnect');
      const got = collect(secure);
      secure.end(data);
      expect(sha256(await got)).to.equal(sha256(data));
      await closed(secure);
    });

    it('http2.connect() over it (createConnection) to a plain HTTP/2 server: the session runs on the kernel handle, bodies intact', async () => {
      const bodies = [13, 4096, 100 * 1024].map((n, i) => payload(n, 40 + i));
      const srv = h.trackServer(http2.createServer());
      srv.on('stream', (stream, headers) => {
        const body = bodies[Number(headers[':path'].slice(1))];
        stream.respond({ ':status': 200, 'x-sha256': sha256(body) });
        stream.end(body);
      });
      const port = await h.listen(srv);
      let socket;
      const session = http2.connect(`http://127.0.0.1:${port}`, {
        createConnection: () => (socket = h.trackSocket(impl.connect({ port, host: '127.0.0.1' }))),
      });
      session.on('error', () => {});
      expect(h2Carrier(session)).to.deep.equal({ socket: 'Socket', handle: KERNEL_TCP });
      expect(bySymbol(session, 'socket')).to.equal(socket);
      for (let i = 0; i < bodies.length; i++) {
        const req = session.request({ ':path': `/${i}` });
        const [headers] = await once(req, 'response');
        const got = await collect(req);
        expect(sha256(got)).to.equal(sha256(bodies[i])).and.equal(headers['x-sha256']);
      }
      session.close();
      await closed(session);
    });
  },
};
