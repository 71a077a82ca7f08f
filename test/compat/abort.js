'use strict';
// AbortSignal on connect (constructor and connect options) and on listen.
const { expect } = require('chai');
const { once, record, withHadError, closed, checkError } = require('../support/compat-harness');

const ABORT = { code: 'ABORT_ERR', name: 'AbortError', message: 'The operation was aborted' };

module.exports = {
  area: 'AbortSignal',
  clientServer: true,
  define({ impl, h }) {
    it('new Socket({signal}) with an aborted signal: error AbortError then close', async () => {
      const ac = new AbortController();
      ac.abort();
      const s = h.trackSocket(new impl.Socket({ signal: ac.signal }));
      const log = record(s, ['connect', 'error', 'close'], [], withHadError);
      const err = new Promise((resolve) => s.once('error', resolve));
      await closed(s);
      // Destroyed before any handle existed: 'close' carries no hadError argument.
      expect(log).to.deep.equal(['error', 'close:undefined']);
      checkError(await err, ABORT);
    });

    it('connect({signal}) with an aborted signal: first error AbortError, then close', async () => {
      const { port } = await h.startServer();
      const ac = new AbortController();
      ac.abort();
      const s = h.connect(port, { signal: ac.signal });
      const log = record(s, ['connect', 'error', 'close'], [], withHadError);
      const err = new Promise((resolve) => s.once('error', resolve));
      await closed(s);
      // Node 20 bug: connect() then revives the destroyed socket and connects anyway (later
      // 'connect'/'ready', or a second 'close'). Only the first two events are specified.
      expect(log.slice(0, 2)).to.deep.equal(['error', 'close:undefined']);
      checkError(await err, ABORT);
    });

    it('abort while connecting: error AbortError, close(true), no connect', async () => {
      const { port } = await h.startServer();
      const ac = new AbortController();
      const s = h.connect(port, { signal: ac.signal });
      const log = record(s, ['connect', 'error', 'close'], [], withHadError);
      ac.abort();
      await closed(s);
      expect(log).to.deep.equal(['error', 'close:true']);
    });

    it('abort after connect: connect, error AbortError, close(true)', async () => {
      const { port } = await h.startServer();
      const ac = new AbortController();
      const s = h.connect(port, { signal: ac.signal });
      const log = record(s, ['connect', 'error', 'close'], [], withHadError);
      await once(s, 'connect');
      ac.abort();
      await closed(s);
      expect(log).to.deep.equal(['connect', 'error', 'close:true']);
    });

    it('abort on the next turn (while a user-level connect may still be under way): AbortError and close only', async () => {
      const { server, port } = await h.startServer();
      const peers = [];
      server.on('connection', (p) => { peers.push(p); p.resume(); });
      const ac = new AbortController();
      const s = h.connect(port, { signal: ac.signal });
      const log = record(s, ['connect', 'error', 'close'], [], (ev, args) => (ev === 'error' ? `error:${args[0].name}` : withHadError(ev, args)));
      setImmediate(() => ac.abort());
      await closed(s);
      // Whether 'connect' came first is a race over TCP too; nothing else may follow.
      expect(log.filter((e) => e !== 'connect')).to.deep.equal(['error:AbortError', 'close:true']);
      // A server-side socket, if the connection got that far, ends without an error.
      for (const p of peers) {
        const events = record(p, ['end', 'error'], []);
        if (!p.destroyed) await closed(p);
        expect(events.filter((e) => e === 'error')).to.deep.equal([]);
      }
    });

    it('the peer of an aborted connection sees it end', async () => {
      const ac = new AbortController();
      const { peer } = await h.pair({ clientExtra: { signal: ac.signal } });
      peer.resume();
      const log = record(peer, ['end', 'finish', 'close', 'error'], [], withHadError);
      ac.abort();
      await closed(peer);
      expect(log).to.deep.equal(['end', 'finish', 'close:false']);
    });

    it('listen({signal}) with an aborted signal: close, never listening', async () => {
      const ac = new AbortController();
      ac.abort();
      const srv = h.server();
      const log = record(srv, ['listening', 'close', 'error']);
      srv.listen({ port: 0, host: '127.0.0.1', signal: ac.signal });
      await once(srv, 'close');
      expect(log).to.deep.equal(['close']);
      expect(srv.listening).to.equal(false);
    });

    it('abort after listening: listening, then close', async () => {
      const ac = new AbortController();
      const srv = h.server();
      const log = record(srv, ['listening', 'close', 'error']);
      srv.listen({ port: 0, host: '127.0.0.1', signal: ac.signal });
      await once(srv, 'listening');
      ac.abort();
      await once(srv, 'close');
      expect(log).to.deep.equal(['listening', 'close']);
      expect(srv.listening).to.equal(false);
    });

    it('after abort the port is free again (connect is refused)', async () => {
      const ac = new AbortController();
      const srv = h.server();
      srv.listen({ port: 0, host: '127.0.0.1', signal: ac.signal });
      await once(srv, 'listening');
      const { port } = srv.address();
      ac.abort();
      await once(srv, 'close');
      const s = h.connect(port);
      const err = new Promise((resolve) => s.once('error', resolve));
      checkError(await err, { code: 'ECONNREFUSED' });
    });
  },
};
