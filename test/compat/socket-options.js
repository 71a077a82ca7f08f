'use strict';
// setNoDelay / setKeepAlive / ref / unref return values and the noDelay/keepAlive options.
const { expect } = require('chai');
const { once } = require('../support/compat-harness');

module.exports = {
  area: 'socket options',
  clientServer: true,
  define({ impl, h }) {
    const CALLS = [
      ['setNoDelay()', (s) => s.setNoDelay()],
      ['setNoDelay(true)', (s) => s.setNoDelay(true)],
      ['setNoDelay(false)', (s) => s.setNoDelay(false)],
      ['setKeepAlive()', (s) => s.setKeepAlive()],
      ['setKeepAlive(true, 1000)', (s) => s.setKeepAlive(true, 1000)],
      ['setKeepAlive(false)', (s) => s.setKeepAlive(false)],
      ['ref()', (s) => s.ref()],
      ['unref()', (s) => s.unref()],
    ];
    for (const [label, call] of CALLS) {
      it(`${label} returns the socket, before and after connect`, async () => {
        const { port } = await h.startServer();
        const s = h.trackSocket(new impl.Socket());
        expect(call(s)).to.equal(s);
        s.connect(h.tcpOptions(port));
        await once(s, 'connect');
        expect(call(s)).to.equal(s);
      });
    }

    it('noDelay, keepAlive and keepAliveInitialDelay connect options are accepted', async () => {
      const { port } = await h.startServer(null, (peer) => peer.end('ok'));
      const s = h.connect(port, { noDelay: true, keepAlive: true, keepAliveInitialDelay: 1000 });
      const chunks = [];
      for await (const c of s) chunks.push(c);
      expect(Buffer.concat(chunks).toString()).to.equal('ok');
    });

    it('noDelay and keepAlive server options are accepted and connections work', async () => {
      const srv = h.server({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 1000 }, (peer) => peer.end('ok'));
      const port = await h.listen(srv);
      const s = h.connect(port);
      const chunks = [];
      for await (const c of s) chunks.push(c);
      expect(Buffer.concat(chunks).toString()).to.equal('ok');
    });

    it('allowHalfOpen option is reflected by the allowHalfOpen property', () => {
      expect(h.trackSocket(new impl.Socket()).allowHalfOpen).to.equal(false);
      expect(h.trackSocket(new impl.Socket({ allowHalfOpen: true })).allowHalfOpen).to.equal(true);
    });
  },
};
