'use strict';
// readyState, pending, connecting, destroyed, closed and server.listening transitions.
const { expect } = require('chai');
const { once, closed } = require('../support/compat-harness');

const snap = (s) => ({ readyState: s.readyState, pending: s.pending, connecting: s.connecting, destroyed: s.destroyed });

module.exports = {
  area: 'state properties',
  clientServer: true,
  define({ impl, h }) {
    it("a new Socket: readyState 'open', pending, not connecting, not destroyed", () => {
      const s = h.trackSocket(new impl.Socket());
      expect(snap(s)).to.deep.equal({ readyState: 'open', pending: true, connecting: false, destroyed: false });
    });

    it("right after connect(): 'opening', pending, connecting", async () => {
      const { port } = await h.startServer();
      const s = h.connect(port);
      expect(snap(s)).to.deep.equal({ readyState: 'opening', pending: true, connecting: true, destroyed: false });
    });

    it("after 'connect': 'open', not pending, not connecting (also inside the listener)", async () => {
      const { port } = await h.startServer();
      const s = h.connect(port);
      const inside = await new Promise((resolve) => s.once('connect', () => resolve(snap(s))));
      const expected = { readyState: 'open', pending: false, connecting: false, destroyed: false };
      expect(inside).to.deep.equal(expected);
      expect(snap(s)).to.deep.equal(expected);
    });

    it("after end(): 'readOnly'", async () => {
      const { client } = await h.pair();
      client.end();
      expect(client.readyState).to.equal('readOnly');
    });

    it("after the peer's end with allowHalfOpen: 'writeOnly'", async () => {
      const { client, peer } = await h.pair({ clientExtra: { allowHalfOpen: true } });
      client.resume();
      peer.end();
      await once(client, 'end');
      expect(client.readyState).to.equal('writeOnly');
      expect(client.writable).to.equal(true);
    });

    it("after close: 'closed', pending again, destroyed, closed", async () => {
      const { client } = await h.pair();
      client.destroy();
      await closed(client);
      expect(snap(client)).to.deep.equal({ readyState: 'closed', pending: true, connecting: false, destroyed: true });
      expect(client.closed).to.equal(true);
    });

    it('readyState sequence through a full client lifecycle', async () => {
      const { port } = await h.startServer(null, (peer) => peer.resume());
      const s = h.trackSocket(new impl.Socket());
      const seq = [s.readyState];
      s.connect(h.tcpOptions(port));
      seq.push(s.readyState);
      await once(s, 'connect');
      seq.push(s.readyState);
      s.end();
      seq.push(s.readyState);
      s.resume();
      await closed(s);
      seq.push(s.readyState);
      expect(seq).to.deep.equal(['open', 'opening', 'open', 'readOnly', 'closed']);
    });

    it('server.listening: false, true after listening, false right after close()', async () => {
      const srv = h.server();
      const seq = [srv.listening];
      await h.listen(srv);
      seq.push(srv.listening);
      srv.close();
      seq.push(srv.listening);
      await once(srv, 'close');
      expect(seq).to.deep.equal([false, true, false]);
    });

    it('a failed connection ends closed and destroyed, not connecting', async () => {
      const port = await h.closedPort();
      const s = h.connect(port);
      await closed(s);
      expect(snap(s)).to.deep.equal({ readyState: 'closed', pending: true, connecting: false, destroyed: true });
    });
  },
};
