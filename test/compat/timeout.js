'use strict';
// setTimeout(), the 'timeout' event, clearing it, and the timeout property/option.
const { expect } = require('chai');
const { once, record } = require('../support/compat-harness');

const SHORT = 30; // ms of idleness; the events below are awaited, never slept for

module.exports = {
  area: 'timeouts',
  clientServer: true,
  define({ impl, h }) {
    it("setTimeout(ms) emits 'timeout' on an idle socket and does not close it", async () => {
      const { client } = await h.pair();
      const log = record(client, ['timeout', 'end', 'close', 'error']);
      client.setTimeout(SHORT);
      await once(client, 'timeout');
      expect(log).to.deep.equal(['timeout']);
      expect(client.destroyed).to.equal(false);
      expect(client.writable).to.equal(true);
    });

    it('setTimeout(ms, cb) calls cb on timeout with no arguments', async () => {
      const { client } = await h.pair();
      const args = await new Promise((resolve) => client.setTimeout(SHORT, (...a) => resolve(a)));
      expect(args).to.deep.equal([]);
    });

    it('setTimeout returns the socket', async () => {
      const { client } = await h.pair();
      expect(client.setTimeout(SHORT)).to.equal(client);
      expect(client.setTimeout(0)).to.equal(client);
    });

    it('timeout property: undefined, then the ms, then 0 after clearing', () => {
      const s = h.trackSocket(new impl.Socket());
      expect(s.timeout).to.equal(undefined);
      s.setTimeout(1234);
      expect(s.timeout).to.equal(1234);
      s.setTimeout(0);
      expect(s.timeout).to.equal(0);
    });

    it('setTimeout(0) clears a pending timeout (a longer one on another socket fires first)', async () => {
      const a = await h.pair();
      const b = await h.pair();
      const aLog = record(a.client, ['timeout']);
      a.client.setTimeout(SHORT);
      a.client.setTimeout(0);
      b.client.setTimeout(SHORT * 3);
      await once(b.client, 'timeout');
      expect(aLog).to.deep.equal([]);
    });

    it('setTimeout(0, cb) removes that timeout listener', async () => {
      const { client } = await h.pair();
      const cb = () => {};
      client.setTimeout(SHORT, cb);
      expect(client.listeners('timeout')).to.include(cb);
      client.setTimeout(0, cb);
      expect(client.listeners('timeout')).to.not.include(cb);
    });

    it("timeout option of connect() arms the timer: 'timeout' fires, property is set", async () => {
      const { port } = await h.startServer();
      const s = h.connect(port, { timeout: SHORT });
      expect(s.timeout).to.equal(SHORT);
      await once(s, 'connect');
      await once(s, 'timeout');
      expect(s.destroyed).to.equal(false);
    });

    it('a server-side socket times out too', async () => {
      const { peer } = await h.pair();
      peer.setTimeout(SHORT);
      await once(peer, 'timeout');
      expect(peer.destroyed).to.equal(false);
    });

    it('the usual idiom end() on timeout closes the connection cleanly on both sides', async () => {
      const { client, peer } = await h.pair();
      peer.resume();
      client.resume();
      client.setTimeout(SHORT, () => client.end());
      const [hadError] = await once(client, 'close');
      expect(hadError).to.equal(false);
    });
  },
};
