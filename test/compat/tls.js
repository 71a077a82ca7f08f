'use strict';
// node's TLS on top of a connected socket (tls.connect({ socket }), new TLSSocket(accepted)): the
// events each side sees, the addresses TLS reports, half-close and a carrier destroyed underneath,
// which must be the same over a via-net socket (shm: TLS wraps the socket's own native stream
// handle, lib/stream-handle.ts) as over a node:net socket (TLS wraps the kernel handle).
const tls = require('node:tls');
const { expect } = require('chai');
const { once, closed, collect, sha256, payload, record, withHadError } = require('../support/compat-harness');

/** TLS without certificates: a pre-shared key (TLS 1.2 PSK suites). */
const PSK = Buffer.from('via-net compat pre-shared key 32');
const PSK_TLS = { ciphers: 'PSK-AES128-GCM-SHA256', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' };
const SERVER_TLS = { isServer: true, ...PSK_TLS, pskCallback: () => PSK };
const CLIENT_TLS = { ...PSK_TLS, checkServerIdentity: () => undefined, pskCallback: () => ({ psk: PSK, identity: 'compat' }) };

const CLIENT_EVENTS = ['secureConnect', 'end', 'finish', 'close', 'error'];
const SERVER_EVENTS = ['secure', 'end', 'finish', 'close', 'error'];

module.exports = {
  area: 'TLS over the socket',
  clientServer: true,
  define({ h }) {
    /** A TLS server over the harness's server; `onSecure(secure, raw)` for each connection. */
    async function tlsServer(onSecure, options = {}) {
      const { port } = await h.startServer(null, (raw) => {
        const secure = new tls.TLSSocket(raw, { ...SERVER_TLS, ...options });
        secure.on('error', () => {});
        onSecure(secure, raw);
      });
      return port;
    }

    async function tlsClient(port, options = {}) {
      const raw = h.connect(port);
      await once(raw, 'connect');
      const secure = tls.connect({ socket: raw, ...CLIENT_TLS, ...options });
      return { raw, secure };
    }

    it('carries 2 MB each way intact, and reports the socket\'s addresses', async () => {
      const up = payload(2 * 1024 * 1024, 21);
      const down = payload(2 * 1024 * 1024, 22);
      const served = deferred();
      let serverSide;
      const port = await tlsServer((secure, raw) => {
        serverSide = { raw, secure };
        collect(secure).then((got) => served.resolve(sha256(got)));
        secure.write(down);
      });
      const { raw, secure } = await tlsClient(port);
      await once(secure, 'secureConnect');
      const got = collect(secure);
      secure.end(up);
      expect(sha256(await got)).to.equal(sha256(down));
      expect(await served.promise).to.equal(sha256(up));
      expect({ address: secure.remoteAddress, port: secure.remotePort, family: secure.remoteFamily })
        .to.deep.equal({ address: raw.remoteAddress, port: raw.remotePort, family: raw.remoteFamily });
      expect(secure.address()).to.deep.equal(raw.address());
      expect(serverSide.secure.remoteAddress).to.equal(serverSide.raw.remoteAddress);
      expect(serverSide.secure.remotePort).to.equal(serverSide.raw.remotePort);
      await closed(secure);
    });

    it('client end(): both sides see the same events in the same order, and the server\'s TLSSocket keeps allowHalfOpen false', async () => {
      const serverLog = [];
      const serverClosed = deferred();
      let serverHalfOpen;
      const port = await tlsServer((secure) => {
        serverHalfOpen = secure.allowHalfOpen;
        record(secure, SERVER_EVENTS, serverLog, withHadError);
        secure.on('data', (d) => secure.write(d)); // echo; it ends on the client's end (allowHalfOpen false)
        secure.on('close', serverClosed.resolve);
      });
      const { secure } = await tlsClient(port);
      const clientLog = [];
      record(secure, CLIENT_EVENTS, clientLog, withHadError);
      await once(secure, 'secureConnect');
      const got = collect(secure);
      secure.end(Buffer.from('hello over tls'));
      expect((await got).toString()).to.equal('hello over tls');
      await closed(secure);
      await serverClosed.promise;
      expect(serverHalfOpen).to.equal(false);
      expect(clientLog).to.deep.equal(['secureConnect', 'finish', 'end', 'close:false']);
      expect(serverLog).to.deep.equal(['secure', 'end', 'finish', 'close:false']);
    });

    it('a carrier destroyed under the client\'s TLS: both TLS sockets close, the same way', async () => {
      const withCode = (ev, args) => (ev === 'error' ? `error:${args[0].code}` : withHadError(ev, args));
      const serverLog = [];
      const serverClosed = deferred();
      const port = await tlsServer((secure) => {
        record(secure, SERVER_EVENTS, serverLog, withCode);
        secure.resume();
        secure.on('close', serverClosed.resolve);
      });
      const { raw, secure } = await tlsClient(port);
      const clientLog = [];
      record(secure, CLIENT_EVENTS, clientLog, withCode);
      secure.on('error', () => {});
      await once(secure, 'secureConnect');
      raw.destroy();
      await closed(secure);
      await serverClosed.promise;
      expect(clientLog).to.deep.equal(['secureConnect', 'close:false']);
      expect(serverLog).to.deep.equal(['secure', 'end', 'finish', 'close:false']);
    });
  },
};

function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}
