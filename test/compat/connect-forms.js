'use strict';
// Every argument form of connect / createConnection / new Socket().connect reaches the server,
// returns a Socket and calls the connect listener exactly once with no arguments.
const { expect } = require('chai');
const { once } = require('../support/compat-harness');

// kind: which server the form targets; cb: whether the form takes a connect listener.
const FORMS = [
  { label: '(port)', kind: 'tcp', call: (fn, t) => fn(t.port) },
  { label: '(port, host)', kind: 'tcp', call: (fn, t) => fn(t.port, '127.0.0.1') },
  { label: '(port, host, listener)', kind: 'tcp', cb: true, call: (fn, t, cb) => fn(t.port, '127.0.0.1', cb) },
  { label: '(port, listener)', kind: 'tcp', cb: true, call: (fn, t, cb) => fn(t.port, cb) },
  { label: '(String(port), host)', kind: 'tcp', call: (fn, t) => fn(String(t.port), '127.0.0.1') },
  { label: '({port, host})', kind: 'tcp', call: (fn, t) => fn(t.h.tcpOptions(t.port)) },
  { label: '({port, host}, listener)', kind: 'tcp', cb: true, call: (fn, t, cb) => fn(t.h.tcpOptions(t.port), cb) },
  { label: '(path)', kind: 'unix', call: (fn, t) => fn(t.path) },
  { label: '(path, listener)', kind: 'unix', cb: true, call: (fn, t, cb) => fn(t.path, cb) },
  { label: '({path})', kind: 'unix', call: (fn, t) => fn({ path: t.path }) },
  { label: '({path}, listener)', kind: 'unix', cb: true, call: (fn, t, cb) => fn({ path: t.path }, cb) },
];

module.exports = {
  area: 'connect argument forms',
  clientServer: false,
  define({ impl, h }) {
    async function target(kind) {
      const srv = h.server();
      if (kind === 'unix') {
        const p = h.tmp('connect');
        await h.listen(srv, p);
        return { srv, path: p, h };
      }
      const port = await h.listen(srv);
      return { srv, port, h };
    }

    async function check(form, makeFn) {
      const t = await target(form.kind);
      const cbCalls = [];
      const cb = function (...args) { cbCalls.push({ self: this, args }); };
      const gotConn = once(t.srv, 'connection');
      const sock = h.trackSocket(form.call(makeFn(), t, cb));
      expect(sock).to.be.instanceOf(impl.Socket);
      await once(sock, 'connect');
      const [peer] = await gotConn;
      expect(peer).to.be.instanceOf(impl.Socket);
      if (form.cb) {
        expect(cbCalls.length).to.equal(1);
        expect(cbCalls[0].self).to.equal(sock);
        expect(cbCalls[0].args).to.deep.equal([]);
      }
      // A byte round trip proves the connection really is the one the server accepted.
      peer.end('pong');
      const chunks = [];
      for await (const c of sock) chunks.push(c);
      expect(Buffer.concat(chunks).toString()).to.equal('pong');
    }

    for (const fnName of ['connect', 'createConnection']) {
      for (const form of FORMS) {
        it(`net.${fnName}${form.label}`, () => check(form, () => impl[fnName]));
      }
    }

    const SOCKET_FORMS = [
      FORMS.find((f) => f.label === '(port, host)'),
      FORMS.find((f) => f.label === '({port, host}, listener)'),
      FORMS.find((f) => f.label === '(path)'),
      FORMS.find((f) => f.label === '(path, listener)'),
    ];
    for (const form of SOCKET_FORMS) {
      it(`new Socket().connect${form.label}`, () => check(form, () => {
        const s = new impl.Socket();
        return (...args) => s.connect(...args);
      }));
    }

    it('socket.connect() returns the socket itself', async () => {
      const { port } = await h.startServer();
      const s = h.trackSocket(new impl.Socket());
      expect(s.connect(h.tcpOptions(port))).to.equal(s);
      await once(s, 'connect');
    });

    it('connect(options) and listen(options) leave the options objects unchanged', async () => {
      const listenOpts = { port: 0, host: '127.0.0.1' };
      const srv = h.server();
      srv.listen(listenOpts);
      await once(srv, 'listening');
      const connectOpts = h.tcpOptions(srv.address().port);
      const before = JSON.stringify(connectOpts);
      const s = h.trackSocket(impl.connect(connectOpts));
      await once(s, 'connect');
      expect([JSON.stringify(listenOpts), JSON.stringify(connectOpts)])
        .to.deep.equal([JSON.stringify({ port: 0, host: '127.0.0.1' }), before]);
    });

    it('connect with host "localhost" and family 4 reaches 127.0.0.1', async () => {
      const { port } = await h.startServer();
      const s = h.connect(port, { host: 'localhost', family: 4 });
      await once(s, 'connect');
      expect(s.remoteAddress).to.equal('127.0.0.1');
    });

    it('connect with localAddress binds the local side', async () => {
      const { port } = await h.startServer();
      const s = h.connect(port, { localAddress: '127.0.0.1' });
      await once(s, 'connect');
      expect(s.localAddress).to.equal('127.0.0.1');
    });
  },
};
