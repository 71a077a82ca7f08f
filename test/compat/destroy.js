'use strict';
// destroy(), destroy(err), destroySoon(), resetAndDestroy() and what each side observes.
const { expect } = require('chai');
const { once, record, withHadError, closed, collect, checkError } = require('../support/compat-harness');

const EVENTS = ['connect', 'data', 'end', 'finish', 'error', 'close'];

module.exports = {
  area: 'destroy',
  clientServer: true,
  define({ impl, h }) {
    it('destroy() emits only close(false) and sets destroyed', async () => {
      const { client } = await h.pair();
      const log = record(client, EVENTS, [], withHadError);
      client.destroy();
      expect(client.destroyed).to.equal(true);
      await closed(client);
      expect(log).to.deep.equal(['close:false']);
    });

    it('destroy(err) emits error (the same object) then close(true)', async () => {
      const { client } = await h.pair();
      const log = record(client, EVENTS, [], withHadError);
      const errs = [];
      client.on('error', (e) => errs.push(e));
      const boom = new Error('boom');
      client.destroy(boom);
      await closed(client);
      expect(log).to.deep.equal(['error', 'close:true']);
      expect(errs).to.deep.equal([boom]);
      expect(errs[0]).to.equal(boom);
    });

    it('destroy() returns the socket', async () => {
      const { client } = await h.pair();
      expect(client.destroy()).to.equal(client);
    });

    it('destroy() twice emits close once', async () => {
      const { client } = await h.pair();
      const log = record(client, EVENTS, [], withHadError);
      client.destroy();
      client.destroy(new Error('ignored'));
      await closed(client);
      // A later event would have to be queued by now; one more round trip through the loop.
      await new Promise((resolve) => setImmediate(resolve));
      expect(log).to.deep.equal(['close:false']);
    });

    it('destroy() on a never-connected socket emits close(false)', async () => {
      const s = h.trackSocket(new impl.Socket());
      const log = record(s, EVENTS, [], withHadError);
      s.destroy();
      await closed(s);
      // No handle was ever opened: node emits 'close' without the hadError argument.
      expect(log).to.deep.equal(['close:undefined']);
    });

    it('destroy() while connecting: no connect, close(false)', async () => {
      const { port } = await h.startServer();
      const s = h.connect(port);
      const log = record(s, EVENTS, [], withHadError);
      expect(s.connecting).to.equal(true);
      s.destroy();
      await closed(s);
      expect(log).to.deep.equal(['close:false']);
    });

    it('peer of destroy() sees end, finish, close(false)', async () => {
      const { client, peer } = await h.pair();
      const log = record(peer, EVENTS, [], withHadError);
      peer.resume();
      client.destroy();
      await closed(peer);
      expect(log).to.deep.equal(['end', 'finish', 'close:false']);
    });

    it('destroySoon() flushes pending writes, then finish and close', async () => {
      const { client, peer } = await h.pair();
      const received = collect(peer);
      const log = record(client, EVENTS, [], withHadError);
      client.write('flushed before close');
      client.destroySoon();
      await closed(client);
      expect(log).to.deep.equal(['finish', 'close:false']);
      expect((await received).toString()).to.equal('flushed before close');
    });

    it('resetAndDestroy(): local close(false), peer error ECONNRESET then close(true)', async () => {
      const { client, peer } = await h.pair();
      const localLog = record(client, EVENTS, [], withHadError);
      const peerLog = record(peer, EVENTS, [], withHadError);
      const peerErr = new Promise((resolve) => peer.once('error', resolve));
      const peerClosed = closed(peer);
      peer.resume();
      expect(client.resetAndDestroy()).to.equal(client);
      await Promise.all([closed(client), peerClosed]);
      expect(localLog).to.deep.equal(['close:false']);
      expect(peerLog).to.deep.equal(['error', 'close:true']);
      checkError(await peerErr, { code: 'ECONNRESET', message: 'read ECONNRESET', syscall: 'read' });
    });

    it('resetAndDestroy() on a never-connected socket: ERR_SOCKET_CLOSED', async () => {
      const s = h.trackSocket(new impl.Socket());
      const err = new Promise((resolve) => s.once('error', resolve));
      const done = closed(s);
      s.resetAndDestroy();
      checkError(await err, { code: 'ERR_SOCKET_CLOSED', message: 'Socket is closed' });
      await done;
      expect(s.destroyed).to.equal(true);
    });

    it('write after destroy(): callback gets ERR_STREAM_DESTROYED, no error event, returns false', async () => {
      const { client } = await h.pair();
      const log = record(client, ['error'], []);
      const done = closed(client);
      client.destroy();
      const cbErr = new Promise((resolve) => { expect(client.write('x', resolve)).to.equal(false); });
      checkError(await cbErr, { code: 'ERR_STREAM_DESTROYED', message: 'Cannot call write after a stream was destroyed' });
      await done;
      expect(log).to.deep.equal([]);
    });

    it('server-side socket destroy(err): error then close(true) on it, peer sees end', async () => {
      const { client, peer } = await h.pair();
      const log = record(peer, EVENTS, [], withHadError);
      const clientLog = record(client, ['end', 'close'], [], withHadError);
      client.resume();
      peer.destroy(new Error('server side'));
      await Promise.all([closed(peer), closed(client)]);
      expect(log).to.deep.equal(['error', 'close:true']);
      expect(clientLog).to.deep.equal(['end', 'close:false']);
    });

    it('after destroy() the socket is neither readable nor writable', async () => {
      const { client } = await h.pair();
      expect([client.readable, client.writable]).to.deep.equal([true, true]);
      client.destroy();
      await once(client, 'close');
      expect([client.readable, client.writable, client.closed]).to.deep.equal([false, false, true]);
    });
  },
};
