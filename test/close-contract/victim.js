'use strict';
// The child process of one close-contract scenario (run.js forks it). argv[2] is JSON
// { scenario, lib: 'net' | 'via', role: 'victim' | 'survivor', port }: load that library and play
// that side of the scenario (scenarios.js). The victim is the side that exits, is killed, throws
// or terminates a worker. The survivor runs in a process of its own too (this same script), so a
// survivor crash (scenario g) shows as an exit code, and a fault in via-net can never take the
// test process down with it.
const path = require('node:path');
const { PrefixChecker } = require('../support/pattern-stream');
const { find, SEED } = require('./scenarios');

const DIST = path.join(__dirname, '..', '..', 'dist');
const args = JSON.parse(process.argv[2]);
const libPath = args.lib === 'via' ? DIST : 'node:net';
const lib = require(libPath);

// If the test process goes away, so do we: no orphan keeps a port or a segment.
process.on('disconnect', () => process.exit(0));

function report(type, data = {}) {
  if (process.connected) process.send({ type, ...data });
}

// Messages from the test process, by type; next(type) resolves with the first (past or future).
const inbox = [];
const waiters = [];
process.on('message', (msg) => {
  const i = waiters.findIndex((w) => w.type === msg.type);
  if (i >= 0) waiters.splice(i, 1)[0].resolve(msg);
  else inbox.push(msg);
});
function next(type) {
  const i = inbox.findIndex((m) => m.type === type);
  if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]);
  return new Promise((resolve) => waiters.push({ type, resolve }));
}

const WATCHED = ['connect', 'end', 'error', 'finish', 'close'];

/**
 * Records the order of a socket's 'connect' / 'end' / 'error' / 'finish' / 'close' by wrapping its
 * emit(), so the log is the true emit order and (with errorListener: false) watching an 'error'
 * does not count as handling it. read: count and hash what arrives (checked against stream `seed`).
 */
function observe(sock, { errorListener = true, read = true, seed = SEED } = {}) {
  const events = [];
  const checker = new PrefixChecker(seed);
  const emit = sock.emit;
  sock.emit = function (name, ...rest) {
    if (WATCHED.includes(name)) events.push(name === 'error' ? `error:${rest[0] && rest[0].code}` : name);
    return emit.call(this, name, ...rest);
  };
  if (errorListener) sock.on('error', () => {});
  if (read) sock.on('data', (d) => checker.push(d));
  // setImmediate: anything emitted in the same turn as 'close' still makes it into the log.
  const closed = new Promise((resolve) => sock.once('close', () => setImmediate(resolve)));
  return { events, checker, closed };
}

const ctx = {
  lib,
  libName: args.lib,
  libPath,
  port: args.port,
  report,
  next,
  observe,
  connect: (options = {}) => lib.connect({ port: args.port, host: '127.0.0.1', ...options }),
  /** Listens on 127.0.0.1, port 0; resolves with the port (the caller reports it). */
  listen: (server) =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve(server.address().port);
      });
    }),
  /** listen() and tell the test process the port, so it can start the other side. */
  serve: async (server) => {
    const port = await ctx.listen(server);
    report('listening', { port });
    return port;
  },
  /** Reports the transport a socket uses (node:net sockets have none: null). */
  track: (sock) => report('transport', { transport: sock.transport ?? null }),
};

Promise.resolve(find(args.scenario)[args.role](ctx)).then(
  (outcome) => report('outcome', { outcome }),
  (err) => report('outcome', { outcome: { threw: String(err && err.stack) } }),
);
report('ready');
