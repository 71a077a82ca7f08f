'use strict';
// A via-net process driven by a test over IPC (test/support/peer-process.js): it is the "other
// process" of every fault scenario, so kills, stops and exits are real.
// It loads via-net from dist/, so VIA_NET_* environment variables given to it take effect.
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const via = require(path.join(__dirname, '..', '..', '..', 'dist'));
const { pump, receive } = require('../socket-transfer');
const { bytesAt } = require('../pattern-stream');
const { report, serveCommands } = require('../ipc-child');
const { describeSocket } = require('../describe-socket');

let server = null;
const sockets = new Set();
const outgoing = new Map();
const held = [];
const fillers = []; // fds taken by exhaust({ fill })


function stats() {
  return {
    fds: fs.readdirSync('/proc/self/fd').length,
    rss: process.memoryUsage().rss,
    sockets: sockets.size,
    pid: process.pid,
  };
}

/**
 * Server behaviours, per accepted connection:
 *  echo:   pipe back everything;
 *  source: stream pattern `seed` (total bytes, Infinity = until the connection dies), then end;
 *  sink:   check the incoming stream against pattern `seed`, answer with a JSON verdict at its end;
 *  duplex: source and sink at once.
 */
function handle(sock, { mode, seed = 1, total, maxChunk }) {
  if (total == null) total = Infinity; // JSON carries Infinity as null
  sockets.add(sock);
  sock.on('error', () => {});
  sock.once('close', () => sockets.delete(sock));
  if (mode === 'echo') sock.pipe(sock);
  if (mode === 'source' || mode === 'duplex') pump(sock, { seed, total, maxChunk });
  if (mode === 'sink' || mode === 'duplex') {
    const h = crypto.createHash('sha256');
    let bytes = 0;
    sock.on('data', (d) => {
      h.update(d);
      bytes += d.length;
    });
    sock.on('end', () => {
      const verdict = JSON.stringify({ bytes, hash: h.digest('hex') });
      if (mode === 'sink') sock.end(verdict);
      else report({ type: 'sink-done', bytes: JSON.parse(verdict).bytes, hash: JSON.parse(verdict).hash });
    });
  }
}

const commands = {
  listen(opts) {
    return new Promise((resolve, reject) => {
      const lib = opts.nodeNet ? require('node:net') : via;
      server = lib.createServer(opts.serverOptions || {}, (sock) => handle(sock, opts));
      server.once('error', reject);
      server.listen(opts.port || 0, '127.0.0.1', () => resolve({ port: server.address().port }));
    });
  },
  /** Opens `count` connections that run behaviour `mode` (same as the server's). */
  connect({ port, count = 1, ...opts }) {
    return Promise.all(
      Array.from({ length: count }, (_, i) =>
        new Promise((resolve) => {
          const sock = via.connect({ port, host: '127.0.0.1', ...(opts.connectOptions || {}) });
          sock.once('error', (err) => resolve({ error: err.code }));
          sock.once('connect', () => {
            outgoing.set(i, sock);
            handle(sock, { ...opts, seed: (opts.seed || 1) + i });
            resolve({ transport: sock.transport });
          });
        }),
      ),
    ).then((results) => ({ results }));
  },
  /** Sends `total` bytes of pattern `seed` to a sink server and returns its verdict and transport. */
  transfer({ port, seed, total, text, connectOptions }) {
    return new Promise((resolve) => {
      const sock = via.connect({ port, host: '127.0.0.1', ...(connectOptions || {}) });
      let reply = '';
      let failure = null; // not 'error': PeerProcess.call would reject on that field
      sock.on('error', (err) => (failure = err.code));
      sock.on('data', (d) => (reply += d));
      sock.once('connect', () => (text !== undefined ? sock.end(text) : pump(sock, { seed, total })));
      sock.once('close', () => resolve({ transport: sock.transport, failure, verdict: reply ? JSON.parse(reply) : null }));
    });
  },
  /**
   * Opens connections to an echo server one after another until one fails (or `max`), keeping
   * them open: the EMFILE scenario. `lib` 'via' or 'net'. Returns the failure as reported.
   */
  /**
   * Opens connections until one fails or `max` are held. With `fill`, first takes every free fd
   * (opening /dev/null until EMFILE), so even the first connection meets the limit.
   */
  async exhaust({ port, max = 1000, lib = 'via', transport, fill = false }) {
    const impl = lib === 'net' ? require('node:net') : via;
    const transports = {};
    if (fill) {
      try {
        for (;;) fillers.push(fs.openSync('/dev/null', 'r'));
      } catch (err) {
        if (err.code !== 'EMFILE') throw err;
      }
    }
    for (let i = 0; i < max; i++) {
      let sock;
      try {
        sock = impl.connect({ port, host: '127.0.0.1', ...(transport ? { transport } : {}) });
      } catch (err) {
        // node:net reports a connect failure as an 'error' event, never a throw from connect().
        return { opened: held.length, failure: { code: err.code, syscall: err.syscall, message: err.message, thrown: true, stack: err.stack }, transports };
      }
      const outcome = await new Promise((resolve) => {
        sock.once('connect', () => resolve(null));
        sock.once('error', (err) => resolve(err));
      });
      if (outcome) {
        return { opened: held.length, failure: { code: outcome.code, syscall: outcome.syscall, message: outcome.message }, transports };
      }
      sock.on('error', () => {});
      const t = sock.transport || 'tcp';
      transports[t] = (transports[t] || 0) + 1;
      held.push(sock);
    }
    return { opened: held.length, failure: null, transports };
  },
  /** Echo round trip of `size` pattern bytes on every held connection, sha256-checked. */
  async transferAll({ size = 100000 }) {
    let ok = 0;
    const bad = [];
    await Promise.all(
      held.map(
        (sock, i) =>
          new Promise((resolve) => {
            const want = crypto.createHash('sha256').update(bytesAt(i + 1, 0, size)).digest('hex');
            const h = crypto.createHash('sha256');
            let got = 0;
            const onData = (d) => {
              h.update(d);
              got += d.length;
              if (got >= size) {
                sock.off('data', onData);
                if (got === size && h.digest('hex') === want) ok++;
                else bad.push(i);
                resolve();
              }
            };
            sock.on('data', onData);
            sock.once('close', resolve);
            sock.write(bytesAt(i + 1, 0, size));
          }),
      ),
    );
    return { ok, bad };
  },
  /** Closes every held connection and waits for their 'close'. */
  /** Stops reading on every socket: whatever is sent to this process from now on stays unread. */
  pauseAll() {
    for (const s of sockets) s.pause(); // accepted and outgoing alike (handle() tracks both)
    return { paused: sockets.size };
  },
  async closeAll() {
    for (const fd of fillers.splice(0)) fs.closeSync(fd);
    await Promise.all(held.map((s) => new Promise((resolve) => (s.destroyed ? resolve() : (s.once('close', resolve), s.end())))));
    held.length = 0;
    return stats();
  },
  /** server.close() and destroy every accepted socket. */
  closeServer() {
    server.close();
    for (const s of sockets) s.destroy();
    return {};
  },
  stats,
  /** Internals of up to `max` sockets that are still open: for stall reports. */
  describe({ max = 5 } = {}) {
    return { open: sockets.size, sockets: [...sockets].slice(0, max).map(describeSocket) };
  },
  exit({ code = 0 }) {
    setImmediate(() => process.exit(code));
    return {};
  },
};

serveCommands(commands);
