'use strict';
// Listen errors: EADDRINUSE (two servers, TCP and unix path), ERR_SERVER_ALREADY_LISTEN.
const { expect } = require('chai');
const { once, record, expectThrow, checkError } = require('../support/compat-harness');

module.exports = {
  area: 'server errors',
  clientServer: false,
  define({ h }) {
    it('EADDRINUSE on a TCP port another server holds: error only, no close, not listening', async () => {
      const a = h.server();
      const port = await h.listen(a);
      const b = h.server();
      const log = record(b, ['listening', 'error', 'close']);
      b.listen(port, '127.0.0.1');
      const [err] = await once(b, 'error').catch((e) => [e]);
      checkError(err, {
        code: 'EADDRINUSE', syscall: 'listen',
        message: `listen EADDRINUSE: address already in use 127.0.0.1:${port}`,
      });
      expect([err.address, err.port]).to.deep.equal(['127.0.0.1', port]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(log).to.deep.equal(['error']);
      expect([b.listening, b.address()]).to.deep.equal([false, null]);
    });

    it('EADDRINUSE on a unix path another server holds', async () => {
      const p = h.tmp('inuse');
      const a = h.server();
      await h.listen(a, p);
      const b = h.server();
      b.listen(p);
      const [err] = await once(b, 'error').catch((e) => [e]);
      checkError(err, { code: 'EADDRINUSE', syscall: 'listen', message: `listen EADDRINUSE: address already in use ${p}` });
    });

    it('after EADDRINUSE the same server can listen on a free port', async () => {
      const a = h.server();
      const port = await h.listen(a);
      const b = h.server();
      b.listen(port, '127.0.0.1');
      await once(b, 'error').catch(() => {});
      const port2 = await h.listen(b);
      expect(port2).to.not.equal(port);
    });

    it('listen() twice throws ERR_SERVER_ALREADY_LISTEN synchronously', async () => {
      const srv = h.server();
      await h.listen(srv);
      expectThrow(() => srv.listen(0), {
        code: 'ERR_SERVER_ALREADY_LISTEN',
        message: 'Listen method has been called more than once without closing.',
      });
      expect(srv.listening).to.equal(true);
    });
  },
};
