'use strict';
// Every listen() argument form: returns the server, emits 'listening', calls the callback once
// (no arguments, `this` the server), reports the expected address, and accepts a connection.
const { expect } = require('chai');
const { once, hasIPv6Loopback } = require('../support/compat-harness');

// call(server, t, cb): t has path (unix). expect: 'v4' | 'v6' | 'any' | 'path'. cb: takes a callback.
const FORMS = [
  { label: 'listen(0)', expect: 'any', call: (s) => s.listen(0) },
  { label: 'listen()', expect: 'any', call: (s) => s.listen() },
  { label: "listen('0')", expect: 'any', call: (s) => s.listen('0') },
  { label: 'listen(0, callback)', expect: 'any', cb: true, call: (s, t, cb) => s.listen(0, cb) },
  { label: 'listen(callback)', expect: 'any', cb: true, call: (s, t, cb) => s.listen(cb) },
  { label: 'listen(0, host)', expect: 'v4', call: (s) => s.listen(0, '127.0.0.1') },
  { label: 'listen(0, host, callback)', expect: 'v4', cb: true, call: (s, t, cb) => s.listen(0, '127.0.0.1', cb) },
  { label: 'listen(0, host, backlog)', expect: 'v4', call: (s) => s.listen(0, '127.0.0.1', 16) },
  { label: 'listen(0, host, backlog, callback)', expect: 'v4', cb: true, call: (s, t, cb) => s.listen(0, '127.0.0.1', 16, cb) },
  { label: 'listen({port: 0})', expect: 'any', call: (s) => s.listen({ port: 0 }) },
  { label: 'listen({port, host})', expect: 'v4', call: (s) => s.listen({ port: 0, host: '127.0.0.1' }) },
  { label: 'listen({port, host, backlog})', expect: 'v4', call: (s) => s.listen({ port: 0, host: '127.0.0.1', backlog: 16 }) },
  { label: 'listen({port, host, exclusive: true})', expect: 'v4', call: (s) => s.listen({ port: 0, host: '127.0.0.1', exclusive: true }) },
  { label: 'listen({port, host}, callback)', expect: 'v4', cb: true, call: (s, t, cb) => s.listen({ port: 0, host: '127.0.0.1' }, cb) },
  { label: "listen({port, host: '::1', ipv6Only: true})", expect: 'v6', call: (s) => s.listen({ port: 0, host: '::1', ipv6Only: true }) },
  { label: "listen(0, '::1')", expect: 'v6', call: (s) => s.listen(0, '::1') },
  { label: 'listen(path)', expect: 'path', call: (s, t) => s.listen(t.path) },
  { label: 'listen(path, callback)', expect: 'path', cb: true, call: (s, t, cb) => s.listen(t.path, cb) },
  { label: 'listen({path})', expect: 'path', call: (s, t) => s.listen({ path: t.path }) },
  { label: 'listen({path}, callback)', expect: 'path', cb: true, call: (s, t, cb) => s.listen({ path: t.path }, cb) },
];

module.exports = {
  area: 'server listen forms',
  clientServer: false,
  define({ impl, h }) {
    for (const form of FORMS) {
      it(`${form.label}`, async function () {
        if (form.expect === 'v6' && !hasIPv6Loopback()) this.skip();
        const srv = h.server();
        const t = { path: h.tmp('listen') };
        const cbCalls = [];
        const cb = function (...args) { cbCalls.push({ self: this, args }); };
        const listening = once(srv, 'listening');
        expect(form.call(srv, t, cb)).to.equal(srv);
        await listening;
        expect(srv.listening).to.equal(true);
        if (form.cb) expect(cbCalls).to.have.lengthOf(1).and.to.satisfy((c) => c[0].self === srv && c[0].args.length === 0);

        const a = srv.address();
        let client;
        if (form.expect === 'path') {
          expect(a).to.equal(t.path);
          client = h.trackSocket(impl.connect(t.path));
        } else {
          expect(a.port).to.be.a('number').and.above(0);
          if (form.expect === 'v4') expect([a.address, a.family]).to.deep.equal(['127.0.0.1', 'IPv4']);
          if (form.expect === 'v6') expect([a.address, a.family]).to.deep.equal(['::1', 'IPv6']);
          const host = form.expect === 'v6' ? '::1' : '127.0.0.1';
          client = h.connect(a.port, { host });
        }
        const gotConn = once(srv, 'connection');
        await once(client, 'connect');
        const [peer] = await gotConn;
        expect(peer).to.be.instanceOf(impl.Socket);
      });
    }

    it("the listen callback runs before 'listening' listeners added after the call", async () => {
      const srv = h.server();
      const log = [];
      srv.listen(0, '127.0.0.1', () => log.push('callback'));
      srv.on('listening', () => log.push('listening'));
      await once(srv, 'listening');
      expect(log).to.deep.equal(['callback', 'listening']);
    });

    it('a server can listen again after close()', async () => {
      const srv = h.server();
      await h.listen(srv);
      srv.close();
      await once(srv, 'close');
      const port = await h.listen(srv);
      await h.connected(port);
    });

    it('createServer(listener) registers a connection listener', () => {
      const listener = () => {};
      const srv = h.track(impl.createServer(listener));
      expect(srv.listeners('connection')).to.include(listener);
      const srv2 = h.track(impl.createServer({}, listener));
      expect(srv2.listeners('connection')).to.include(listener);
    });
  },
};
