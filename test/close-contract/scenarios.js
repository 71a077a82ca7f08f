'use strict';
// The close-contract table: how a connection ends when the process at one end exits, is killed,
// throws, destroys its socket or terminates the worker that owns it. run.js plays every scenario
// over node:net and over via-net and requires the same observable outcome.
//
// A scenario is { id, name, listener, survivor(ctx), victim(ctx), drive(o), victimStays, nofile }:
//  - listener: which side listens ('survivor' or 'victim'); it is started first and reports its port.
//  - survivor(ctx) / victim(ctx): run in their own child processes (victim.js), with ctx.lib being
//    node:net or via-net. What they resolve with is their outcome; a victim that dies resolves
//    with nothing and its outcome is its exit code or signal.
//  - drive(o): the test process's steps in between: waits for IPC messages, then kills the victim
//    or tells a side to go on. Every step waits for an event reported over IPC, never a sleep, so
//    the outcome over TCP is the same every run. It may resolve with extra victim-side facts.
//  - victimStays: the victim lives on (destroy(), worker.terminate(), EMFILE) and reports an outcome.
//  - nofile: run the victim under `prlimit --nofile=N:N`.
//  - fallsBack: via-net may carry a connection over TCP (the server had no fds for shm).
const fs = require('node:fs');
const path = require('node:path');
const { bytesAt, prefixHash } = require('../support/pattern-stream');
const { pump } = require('../support/socket-transfer');

const KB = 1024;
const MB = 1024 * KB;
const SEED = 11; // every transfer is pattern stream SEED, so the receiver can check it against the sender's
const NEVER = new Promise(() => {});
const noop = () => {};

// ---- survivor-side building blocks -------------------------------------------------------------

/** Survivor as a server: accepts one connection, watches it, resolves with the log at its 'close'. */
function acceptOne(ctx, { serverOptions = {}, errorListener = true, onSocket = noop } = {}) {
  return new Promise((resolve) => {
    const server = ctx.lib.createServer(serverOptions, (sock) => {
      const log = ctx.observe(sock, { errorListener });
      ctx.track(sock);
      ctx.report('accepted');
      onSocket(sock, log);
      log.closed.then(() => resolve({ ...log, sock }));
    });
    ctx.serve(server);
  });
}

/** Survivor as a client of the victim's server: watches the socket, resolves with the log at 'close'. */
function connectOne(ctx, onConnect = noop) {
  const sock = ctx.connect();
  const log = ctx.observe(sock);
  sock.once('connect', () => {
    ctx.track(sock);
    onConnect(sock, log);
  });
  return log.closed.then(() => log);
}

/** Reports `type` once the socket has received at least `bytes` (for the mid-stream kills). */
function reportAt(ctx, sock, log, bytes, type) {
  const check = () => {
    if (log.checker.bytes >= bytes) {
      sock.off('data', check);
      ctx.report(type);
    }
  };
  sock.on('data', check);
}

/** A complete transfer: how much arrived, its sha256, and whether it is exactly the `sent` bytes. */
function exact(log, sent) {
  const { checker } = log;
  return {
    bytes: checker.bytes,
    sha256: checker.hash(),
    intact: checker.bytes === sent && checker.verify() && checker.hash() === prefixHash(SEED, sent),
    events: log.events,
  };
}

/** A stream cut by a kill: only "what arrived is a prefix of what was sent" and the events are stable. */
function prefix(log, atLeast) {
  return { prefix: log.checker.verify(), atLeast: log.checker.bytes >= atLeast, events: log.events };
}

// ---- victim-side building blocks ---------------------------------------------------------------

/** Victim client: connect, report 'connected' (the test then exits or kills it). */
function idleClient(ctx) {
  const sock = ctx.connect();
  sock.on('error', noop);
  sock.once('connect', () => {
    ctx.track(sock);
    ctx.report('connected');
  });
  ctx.next('exit').then(() => process.exit(0));
  return NEVER;
}

/** Victim client: pause on the first chunk (the rest stays unread), report it, then `then(sock)`. */
function pausedClient(ctx, then) {
  const sock = ctx.connect();
  const log = ctx.observe(sock, { read: false });
  sock.once('connect', () => ctx.track(sock));
  sock.once('data', () => {
    sock.pause();
    ctx.report('paused');
    then(sock);
  });
  return log;
}

/** Victim client: read until `total` bytes arrived, report them, then `then(sock)`. */
function readAllClient(ctx, total, then) {
  const sock = ctx.connect();
  const log = ctx.observe(sock);
  sock.once('connect', () => ctx.track(sock));
  const onData = () => {
    if (log.checker.bytes < total) return;
    sock.off('data', onData);
    const seen = { bytes: log.checker.bytes, intact: log.checker.verify() && log.checker.hash() === prefixHash(SEED, total) };
    ctx.report('read-all', { seen });
    then(sock, seen);
  };
  sock.on('data', onData);
  return log;
}

// ---- the test process's steps ------------------------------------------------------------------

/** Both ends have the connection: the victim's 'connect' and the survivor's 'connection'. */
const bothConnected = (o) => Promise.all([o.wait(o.victim, 'connected'), o.wait(o.survivor, 'accepted')]);

// ---- the table -----------------------------------------------------------------------------------

/** a-c: the client writes `size` bytes, calls end(), and exits in the same 'connect' callback. */
function endThenExit(id, size, withEnd = true) {
  return {
    id,
    name: `client writes ${size} B${withEnd ? ', end()' : ' (no end())'}, process.exit() in the connect callback`,
    listener: 'survivor',
    survivor: (ctx) => acceptOne(ctx).then((log) => exact(log, size)),
    victim(ctx) {
      const sock = ctx.connect();
      sock.on('error', noop);
      sock.once('connect', () => {
        sock.write(bytesAt(SEED, 0, size)); // one write
        if (withEnd) sock.end();
        process.exit(0);
      });
      return NEVER;
    },
  };
}

/** e, f, g, q: an idle client exits (or is SIGKILLed) once both ends have the connection. */
function idleEnd(id, name, { kill, errorListener = true, halfOpen = false }) {
  return {
    id,
    name,
    listener: 'survivor',
    async survivor(ctx) {
      const serverOptions = halfOpen ? { allowHalfOpen: true } : {};
      const log = await acceptOne(ctx, {
        serverOptions,
        errorListener,
        // allowHalfOpen: our side stays open after the peer's end; answer and end it ourselves.
        onSocket: (sock) => halfOpen && sock.once('end', () => sock.end('bye')),
      });
      const out = exact(log, 0);
      // g has no 'error' listener: an 'error' would have crashed us (run.js reports that instead).
      return errorListener ? out : { ...out, crashed: false };
    },
    victim: idleClient,
    async drive(o) {
      await bothConnected(o);
      if (kill) await o.kill();
      else o.tell(o.victim, 'exit');
    },
  };
}

const scenarios = [
  endThenExit('a', 12),
  endThenExit('b', 100 * KB),
  endThenExit('c', MB),
  endThenExit('d', 100 * KB, false),

  idleEnd('e', 'idle client process.exit()s after both ends have the connection', { kill: false }),
  idleEnd('f', 'idle client SIGKILLed after both ends have the connection', { kill: true }),
  idleEnd('g', "idle client SIGKILLed; the server's socket has no 'error' listener", { kill: true, errorListener: false }),

  {
    id: 'h',
    name: 'client SIGKILLed with unread data (server sent 1 MiB, client paused on the first chunk)',
    listener: 'survivor',
    survivor: (ctx) => acceptOne(ctx, { onSocket: (sock) => sock.write(bytesAt(SEED, 0, MB)) }).then((log) => ({ events: log.events })),
    victim: (ctx) => (pausedClient(ctx, noop), NEVER),
    drive: (o) => o.wait(o.victim, 'paused').then(() => o.kill()),
  },

  {
    id: 'i',
    name: 'client SIGKILLed after it read everything (server sent 100 KiB, no end())',
    listener: 'survivor',
    survivor: (ctx) => acceptOne(ctx, { onSocket: (sock) => sock.write(bytesAt(SEED, 0, 100 * KB)) }).then((log) => ({ events: log.events })),
    victim: (ctx) => (readAllClient(ctx, 100 * KB, noop), NEVER),
    async drive(o) {
      const { seen } = await o.wait(o.victim, 'read-all');
      await o.kill();
      return { read: seen }; // what the victim had read before it died
    },
  },

  {
    id: 'j',
    name: 'client SIGKILLed mid-stream, client -> server (killed once the server has >= 1 MiB)',
    listener: 'survivor',
    survivor: (ctx) => acceptOne(ctx, { onSocket: (sock, log) => reportAt(ctx, sock, log, MB, 'got-1MiB') }).then((log) => prefix(log, MB)),
    victim(ctx) {
      const sock = ctx.connect();
      sock.on('error', noop);
      sock.once('connect', () => {
        ctx.track(sock);
        pump(sock, { seed: SEED, total: Infinity, end: false });
      });
      return NEVER;
    },
    drive: (o) => o.wait(o.survivor, 'got-1MiB').then(() => o.kill()),
  },

  {
    id: 'k',
    name: 'server SIGKILLed mid-stream, server -> client (killed once the client has >= 1 MiB)',
    listener: 'victim',
    survivor: (ctx) => connectOne(ctx, (sock, log) => reportAt(ctx, sock, log, MB, 'got-1MiB')).then((log) => prefix(log, MB)),
    victim(ctx) {
      const server = ctx.lib.createServer((sock) => {
        sock.on('error', noop);
        ctx.track(sock);
        pump(sock, { seed: SEED, total: Infinity, end: false });
      });
      ctx.serve(server);
      return NEVER;
    },
    drive: (o) => o.wait(o.survivor, 'got-1MiB').then(() => o.kill()),
  },

  {
    id: 'l',
    name: 'client writes 64 KiB then throws in the connect callback (uncaught exception)',
    listener: 'survivor',
    survivor: (ctx) => acceptOne(ctx).then((log) => exact(log, 64 * KB)),
    victim(ctx) {
      const sock = ctx.connect();
      sock.on('error', noop);
      sock.once('connect', () => {
        sock.write(bytesAt(SEED, 0, 64 * KB));
        throw new Error('close-contract: deliberate uncaught exception');
      });
      return NEVER;
    },
  },

  {
    id: 'm',
    name: 'server reads a request line, socket.end(50 KiB reply), process.exit() right after',
    listener: 'victim',
    survivor: (ctx) => connectOne(ctx, (sock) => sock.write('GET\n')).then((log) => exact(log, 50 * KB)),
    victim(ctx) {
      const server = ctx.lib.createServer((sock) => {
        sock.on('error', noop);
        let line = '';
        sock.on('data', (d) => {
          line += d;
          if (!line.includes('\n')) return;
          sock.end(bytesAt(SEED, 0, 50 * KB));
          process.exit(0);
        });
      });
      ctx.serve(server);
      return NEVER;
    },
  },

  {
    id: 'n',
    name: 'client destroy()s after reading everything (server sent 100 KiB, no end())',
    listener: 'survivor',
    victimStays: true,
    survivor: (ctx) => acceptOne(ctx, { onSocket: (sock) => sock.write(bytesAt(SEED, 0, 100 * KB)) }).then((log) => ({ events: log.events })),
    async victim(ctx) {
      const log = readAllClient(ctx, 100 * KB, (sock) => sock.destroy());
      await log.closed;
      return { bytes: log.checker.bytes, events: log.events };
    },
  },

  {
    id: 'o',
    name: 'client destroy()s with unread data (server sent 1 MiB, client paused on the first chunk)',
    listener: 'survivor',
    victimStays: true,
    survivor: (ctx) => acceptOne(ctx, { onSocket: (sock) => sock.write(bytesAt(SEED, 0, MB)) }).then((log) => ({ events: log.events })),
    async victim(ctx) {
      const log = pausedClient(ctx, (sock) => sock.destroy());
      await log.closed;
      return { events: log.events };
    },
  },

  {
    id: 'p',
    name: 'worker thread writes 12 B (write callback ran), then the parent worker.terminate()s it',
    listener: 'survivor',
    victimStays: true,
    survivor: (ctx) => acceptOne(ctx).then((log) => exact(log, 12)),
    victim(ctx) {
      const { Worker } = require('node:worker_threads');
      const worker = new Worker(WORKER, {
        eval: true,
        workerData: { libPath: ctx.libPath, pattern: path.join(__dirname, '..', 'support', 'pattern-stream.js'), port: ctx.port, seed: SEED },
      });
      return new Promise((resolve) => {
        worker.once('message', async ({ transport }) => {
          ctx.report('transport', { transport });
          const exitCode = await worker.terminate();
          resolve({ workerExitCode: exitCode });
        });
        worker.once('error', (err) => resolve({ workerError: String(err) }));
      });
    },
  },

  {
    id: 's',
    name: "client writes a command and destroy()s at once (basic-ftp's QUIT); the server answers from a setImmediate",
    listener: 'survivor',
    victimStays: true,
    survivor: (ctx) =>
      acceptOne(ctx, {
        // ftp-srv answers from a promise chain run by setImmediate: over TCP the end of stream is
        // read on a later turn, so the socket is still writable when the answer goes out.
        onSocket: (sock) =>
          sock.once('data', () =>
            setImmediate(() => {
              sock.answer = { writable: sock.writable };
              if (sock.writable) sock.write('221 bye\r\n');
            }),
          ),
      }).then((log) => ({ events: log.events, ...log.sock.answer })),
    async victim(ctx) {
      const sock = ctx.connect();
      sock.on('error', noop);
      sock.once('connect', () => {
        ctx.track(sock);
        sock.write('QUIT\r\n');
        sock.destroy();
      });
      await new Promise((resolve) => sock.once('close', resolve));
      return { destroyed: sock.destroyed };
    },
  },

  idleEnd('q1', 'allowHalfOpen server (answers "bye" + end() on end): idle client process.exit()s', { kill: false, halfOpen: true }),
  idleEnd('q2', 'allowHalfOpen server (answers "bye" + end() on end): idle client SIGKILLed', { kill: true, halfOpen: true }),

  {
    id: 'r',
    name: 'server at EMFILE (prlimit --nofile=64): a client connects; fds freed; a second client echoes 100 KiB',
    listener: 'victim',
    nofile: 64,
    fallsBack: true, // the first client cannot get an shm connection: it falls back to TCP
    victimStays: true,
    async survivor(ctx) {
      const first = await connectOne(ctx);
      ctx.report('first-closed');
      await ctx.next('second');
      const second = await connectOne(ctx, (sock) => sock.end(bytesAt(SEED, 0, 100 * KB)));
      return { first: { bytes: first.checker.bytes, events: first.events }, second: exact(second, 100 * KB) };
    },
    async victim(ctx) {
      const serverErrors = [];
      let connections = 0;
      const server = ctx.lib.createServer((sock) => {
        connections++;
        sock.on('error', noop);
        ctx.track(sock);
        sock.pipe(sock); // echo
      });
      // Listening: node:net reports EMFILE in accept as an 'error' on the server (and keeps listening).
      server.on('error', (err) => serverErrors.push(`${err.code}/${err.syscall}`));
      const port = await ctx.listen(server);
      // Fill the fd table completely, then let the first client in.
      const fds = [];
      for (;;) {
        try {
          fds.push(fs.openSync('/dev/null', 'r'));
        } catch (err) {
          if (err.code !== 'EMFILE') throw err;
          break;
        }
      }
      ctx.report('listening', { port });
      await ctx.next('free');
      for (const fd of fds) fs.closeSync(fd);
      ctx.report('freed');
      await ctx.next('report');
      return { serverErrors, connections, alive: true };
    },
    async drive(o) {
      await o.wait(o.survivor, 'first-closed');
      o.tell(o.victim, 'free');
      await o.wait(o.victim, 'freed');
      o.tell(o.survivor, 'second');
      await o.wait(o.survivor, 'outcome');
      o.tell(o.victim, 'report');
    },
  },
];

/** The worker of scenario p: connect, write 12 B, tell the parent once the write callback ran. */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const lib = require(workerData.libPath);
const { bytesAt } = require(workerData.pattern);
const sock = lib.connect({ port: workerData.port, host: '127.0.0.1' });
sock.on('error', () => {});
sock.once('connect', () =>
  sock.write(bytesAt(workerData.seed, 0, 12), () => parentPort.postMessage({ transport: sock.transport ?? null })));
`;

function find(id) {
  const s = scenarios.find((x) => x.id === id);
  if (!s) throw new Error(`no close-contract scenario '${id}' (have ${scenarios.map((x) => x.id).join(', ')})`);
  return s;
}

module.exports = { scenarios, find, SEED };
