'use strict';
// Event order on both ends of a connection, recorded as arrays and compared to literals.
const { expect } = require('chai');
const { once, record, withHadError, closed } = require('../support/compat-harness');

const CLIENT_EVENTS = ['lookup', 'connect', 'ready', 'data', 'end', 'finish', 'close', 'error', 'timeout'];

module.exports = {
  area: 'event order',
  clientServer: true,
  define({ h }) {
    it('client to an IP host: connect then ready, no lookup', async () => {
      const { port } = await h.startServer();
      const s = h.connect(port);
      const log = record(s, CLIENT_EVENTS);
      await once(s, 'ready');
      expect(log).to.deep.equal(['connect', 'ready']);
    });

    it('client to "localhost" with family 4: lookup, connect, ready', async () => {
      const { port } = await h.startServer();
      const s = h.connect(port, { host: 'localhost', family: 4 });
      const lookups = [];
      s.on('lookup', (...args) => lookups.push(args));
      const log = record(s, CLIENT_EVENTS);
      await once(s, 'ready');
      expect(log).to.deep.equal(['lookup', 'connect', 'ready']);
      expect(lookups).to.deep.equal([[null, '127.0.0.1', 4, 'localhost']]);
    });

    it('custom lookup option: lookup event carries its result', async () => {
      const { port } = await h.startServer();
      const s = h.connect(port, {
        host: 'compat.invalid', family: 4,
        // Answer asynchronously, like dns.lookup: listeners attached after connect() must see it.
        lookup: (host, opts, cb) => setImmediate(cb, null, '127.0.0.1', 4),
      });
      const lookups = [];
      s.on('lookup', (...args) => lookups.push(args));
      await once(s, 'ready');
      expect(lookups).to.deep.equal([[null, '127.0.0.1', 4, 'compat.invalid']]);
    });

    it('failed lookup: lookup(err), error, close(true)', async () => {
      const boom = Object.assign(new Error('getaddrinfo ENOTFOUND compat.invalid'), { code: 'ENOTFOUND' });
      const s = h.connect(1, { host: 'compat.invalid', family: 4, lookup: (host, opts, cb) => setImmediate(cb, boom) });
      const log = record(s, CLIENT_EVENTS, [], withHadError);
      const errs = [];
      s.on('error', (e) => errs.push(e));
      await closed(s);
      expect(log).to.deep.equal(['lookup', 'error', 'close:true']);
      expect(errs[0]).to.equal(boom);
    });

    it('connect listener runs before listeners added after the call', async () => {
      const { port } = await h.startServer();
      const log = [];
      const s = h.trackSocket(h.impl.connect(h.tcpOptions(port), () => log.push('listener')));
      record(s, ['connect', 'ready'], log);
      await once(s, 'ready');
      expect(log).to.deep.equal(['listener', 'connect', 'ready']);
    });

    it('client lifecycle when the server ends: connect, ready, data, end, finish, close(false)', async () => {
      const { port } = await h.startServer(null, (peer) => { peer.resume(); peer.end('bye'); });
      const s = h.connect(port);
      const log = record(s, CLIENT_EVENTS, [], withHadError);
      await closed(s);
      expect(log).to.deep.equal(['connect', 'ready', 'data', 'end', 'finish', 'close:false']);
    });

    it('client lifecycle when the client ends first: finish, end, close(false)', async () => {
      const { port } = await h.startServer(null, (peer) => peer.resume());
      const s = await h.connected(port);
      const log = record(s, CLIENT_EVENTS, [], withHadError);
      s.end();
      await closed(s);
      expect(log).to.deep.equal(['finish', 'end', 'close:false']);
    });

    it('server-side socket lifecycle: data, end, finish, close(false), never connect/ready', async () => {
      const srv = h.server();
      const port = await h.listen(srv);
      const log = [];
      const peerClosed = new Promise((resolve) => srv.once('connection', (peer) => {
        record(peer, CLIENT_EVENTS, log, withHadError);
        peer.once('close', resolve);
      }));
      const s = h.connect(port);
      s.end('hello');
      s.resume();
      await peerClosed;
      expect(log).to.deep.equal(['data', 'end', 'finish', 'close:false']);
    });

    it('server events: listening, connection, close', async () => {
      const srv = h.server();
      const log = record(srv, ['listening', 'connection', 'close', 'error']);
      const port = await h.listen(srv);
      const s = h.connect(port);
      await once(srv, 'connection');
      s.destroy();
      srv.close();
      await once(srv, 'close');
      expect(log).to.deep.equal(['listening', 'connection', 'close']);
    });

    it('connection refused: error then close(true), no connect', async () => {
      const port = await h.closedPort();
      const s = h.connect(port);
      const log = record(s, CLIENT_EVENTS, [], withHadError);
      await closed(s);
      expect(log).to.deep.equal(['error', 'close:true']);
    });
  },
};
