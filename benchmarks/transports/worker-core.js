'use strict';
/**
 * The measuring side of every benchmark transport, run in a child process forked by the parent
 * (benchmarks/lib/worker-pair.js). One worker is the server, one the client; both are forked from
 * the same script with the same node flags, and only the role argument differs.
 *
 * IPC protocol (process.send / 'message'), the seam a custom worker (raw-vi-worker.js) must speak:
 *   worker -> parent, once at start:   { type: 'ready', pid }
 *   parent -> worker:                  { id, cmd, ...args }
 *   worker -> parent, one per request: { id, ok: true, ...result } | { id, ok: false, error: { message, code } }
 *
 * Server commands:
 *   listen {}                       -> { address }   (opaque JSON the client's connect gets back)
 *   expect { test, size, count }    -> {}            arm the newest connection for the next trial; CPU meter starts
 *   report {}                       -> { cpu: { user, system } }   CPU (µs) since `expect`
 *   close {}                        -> {}            close the listener and every connection
 *   snapshot { connections, fdsAtMost, shmemAtMost, waitMs, stableMs } -> { memory, settleMs, connections, errors }
 *                                    wait (up to waitMs) until exactly `connections` are open, at
 *                                    most `fdsAtMost` fds are, and their number has not changed
 *                                    for stableMs; then GC and read this process's memory and fds
 *                                    (the idle test; every condition may be omitted)
 * Client commands:
 *   connect { address }             -> {}            open the block's persistent connection
 *   verify { bytes }                -> { sha256 }    echo `bytes` random bytes, check the sha256 (not timed)
 *   run { test, size, count }       -> { elapsedNs, cpu: { user, system } }
 *   disconnect {}                   -> {}
 *   openIdle { address, count, concurrency, stallMs }
 *                                   -> { opened, elapsedNs, error }   open `count` connections, each
 *                                    echoes 1 byte once and then stays open and idle; stops at the
 *                                    first failure (EMFILE, ...), which `error` reports
 *   closeIdle {}                    -> { closed }    destroy them and wait for their 'close'
 *   snapshot { fdsAtMost, shmemAtMost, waitMs, stableMs } -> { memory, settleMs, connections, errors }
 * Both: exit {} -> process exits.
 *
 * `memory` is read after two global.gc() (the workers run with --expose-gc): VmRSS and its parts
 * RssAnon, RssFile, RssShmem from /proc/self/status, V8's heapUsed and external, and the number
 * of entries in /proc/self/fd. All sizes in bytes.
 *
 * Tests: 'latency' (ping-pong of `size` bytes, `count` round trips), 'bandwidth' and 'rate'
 * (`count` writes of `size` bytes, then a 1-byte acknowledgement from the receiver), 'connect'
 * (`count` times: connect, 1 byte echoed, close). A connection that was not armed echoes
 * everything (used by `verify` and by the connect test).
 *
 * The timed loops hold nothing but the work: no logging, no JSON, no clock reads per message.
 * Their state lives in closures created before the clock starts.
 *
 * Adapter: `runWorker(role, adapter)` where
 *   adapter.listen(onConnection, onError) -> Promise<{ address, close(): Promise<void> }>
 *                                  (onError: errors of the listener once it listens, e.g. EMFILE on accept)
 *   adapter.connect(address)     -> Promise<socket>
 * and sockets are node:net-like: write(buf) -> boolean, 'data', 'drain', 'close', 'error', end(),
 * destroy(), setNoDelay() (optional).
 */
const crypto = require('node:crypto');

const ACK = Buffer.from([0x06]);

function errorPayload(err) {
  return { message: String((err && err.message) || err), code: (err && err.code) || 'EBENCH' };
}

function cpuSince(start) {
  const d = process.cpuUsage(start);
  return { user: d.user, system: d.system };
}

function setNoDelay(sock, on) {
  if (typeof sock.setNoDelay === 'function') sock.setNoDelay(on);
}

/** Resolve once `sock` has emitted 'close' (or at once if it already has). */
function closed(sock) {
  return new Promise((resolve) => {
    if (sock.closed === true) resolve(); // node:net (and stream) sockets set this after 'close'
    else sock.once('close', () => resolve());
  });
}

const fs = require('node:fs');

const STATUS_FIELDS = { VmRSS: 'vmRssBytes', RssAnon: 'rssAnonBytes', RssFile: 'rssFileBytes', RssShmem: 'rssShmemBytes' };

/** VmRSS and its parts from /proc/self/status (kB there), in bytes; null where the kernel lacks a field. */
function readStatus(text) {
  const out = { vmRssBytes: null, rssAnonBytes: null, rssFileBytes: null, rssShmemBytes: null };
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)\s*kB/.exec(line);
    if (m && STATUS_FIELDS[m[1]]) out[STATUS_FIELDS[m[1]]] = Number(m[2]) * 1024;
  }
  return out;
}

/**
 * A few descriptors held in reserve (on /dev/null) from the first snapshot on, and given back
 * while /proc is read: a worker that has run out of descriptors (the idle test stops at EMFILE)
 * can still read its own figures. They are never counted: every reading is taken without them.
 */
const RESERVE_FDS = 4;
const reserve = [];

function withoutReserve(fn) {
  while (reserve.length) fs.closeSync(reserve.pop());
  try {
    return fn();
  } finally {
    try {
      while (reserve.length < RESERVE_FDS) reserve.push(fs.openSync('/dev/null', 'r'));
    } catch { /* out of descriptors: fewer in reserve */ }
  }
}

/** Open descriptors: entries of /proc/self/fd (the directory's own fd while it is read is one of them, every time). */
function countFds() {
  return withoutReserve(() => fs.readdirSync('/proc/self/fd').length);
}

/** GC (twice, with a turn of the event loop between, so finalizers run), then read memory and fds. */
async function memorySnapshot() {
  if (typeof global.gc === 'function') {
    global.gc();
    await new Promise((resolve) => setImmediate(resolve));
    global.gc();
  }
  // process.memoryUsage() reads /proc too (for its rss).
  const [status, fds, mu] = withoutReserve(() => [
    fs.readFileSync('/proc/self/status', 'utf8'), fs.readdirSync('/proc/self/fd').length, process.memoryUsage(),
  ]);
  return {
    ...readStatus(status),
    heapUsedBytes: mu.heapUsed,
    externalBytes: mu.external,
    fds,
    gc: typeof global.gc === 'function',
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Wait (up to `waitMs`) until `ready()` holds and the number of descriptors has not changed for
 * `stableMs`, then take a memory snapshot; returns it with how long the wait took. Closing a
 * connection releases some of its resources only after its 'close' event (a user-level
 * connection unmaps its segment and closes its descriptors a little later), so the test waits for
 * that before it reads the memory.
 */
/** Shared memory this process has mapped and touched right now (RssShmem), in bytes. */
function shmemBytes() {
  return withoutReserve(() => readStatus(fs.readFileSync('/proc/self/status', 'utf8')).rssShmemBytes) ?? 0;
}

async function settledSnapshot(ready, waitMs, stableMs) {
  const t0 = Date.now();
  let fds = countFds();
  let since = t0;
  for (;;) {
    const now = Date.now();
    const n = countFds();
    if (n !== fds) {
      fds = n;
      since = now;
    }
    if ((ready() && now - since >= stableMs) || now - t0 >= waitMs) break;
    await sleep(10);
  }
  const settleMs = Date.now() - t0;
  return { memory: await memorySnapshot(), settleMs };
}

// ---------------------------------------------------------------------------------------------
// Server side: per-connection data handlers. A handler is swapped only between trials.

function echoHandler(sock) {
  return (chunk) => { sock.write(chunk); };
}

/** Ping-pong echo: every `size` bytes received, send `size` bytes back. */
function latencyServerHandler(sock, size) {
  const reply = Buffer.alloc(size, 0x62);
  let have = 0;
  return (chunk) => {
    have += chunk.length;
    while (have >= size) {
      have -= size;
      sock.write(reply);
    }
  };
}

/** Stream sink: after `total` bytes, one acknowledgement byte. */
function sinkServerHandler(sock, total) {
  let have = 0;
  return (chunk) => {
    have += chunk.length;
    if (have >= total && have - chunk.length < total) sock.write(ACK);
  };
}

function armServerConnection(sock, test, size, count) {
  let handler;
  if (test === 'latency') handler = latencyServerHandler(sock, size);
  else if (test === 'bandwidth' || test === 'rate') handler = sinkServerHandler(sock, size * count);
  else handler = echoHandler(sock);
  // The server writes only echoes and 1-byte acknowledgements: none may wait for Nagle.
  setNoDelay(sock, true);
  sock.benchOnData = handler;
}

async function runServer(adapter) {
  const state = { sockets: new Set(), newest: null, listener: null, cpuStart: null, waiters: [], errors: [] };
  // The client's connect may complete before this side has accepted (Unix sockets do): `expect`
  // then waits for the connection to show up rather than failing.
  const connection = () => (state.newest ? Promise.resolve(state.newest)
    : new Promise((resolve) => state.waiters.push(resolve)));
  const onConnection = (sock) => {
    state.sockets.add(sock);
    state.newest = sock;
    for (const w of state.waiters.splice(0)) w(sock);
    sock.benchOnData = echoHandler(sock);
    // One dispatching listener per socket: swapping handlers between trials needs no listener churn.
    sock.on('data', (chunk) => sock.benchOnData(chunk));
    sock.on('error', () => {}); // peers close abruptly in the connect test; errors end the socket
    sock.on('close', () => {
      state.sockets.delete(sock);
      if (state.newest === sock) state.newest = null;
    });
  };
  return {
    async listen() {
      if (state.listener) throw Object.assign(new Error('already listening'), { code: 'EBENCH_STATE' });
      // Errors of the listener after it listens (accept failing with EMFILE when the idle test
      // runs out of descriptors) are kept for `snapshot`, not thrown at the worker.
      state.listener = await adapter.listen(onConnection, (err) => {
        if (state.errors.length < 10) state.errors.push(errorPayload(err));
      });
      return { address: state.listener.address };
    },
    async expect({ test, size, count }) {
      if (test !== 'connect') {
        if (!state.listener) throw Object.assign(new Error('expect before listen'), { code: 'EBENCH_STATE' });
        armServerConnection(await connection(), test, size, count);
      }
      state.cpuStart = process.cpuUsage();
      return {};
    },
    async report() {
      if (!state.cpuStart) throw Object.assign(new Error('report before expect'), { code: 'EBENCH_STATE' });
      const cpu = cpuSince(state.cpuStart);
      state.cpuStart = null;
      return { cpu };
    },
    async snapshot({ connections, fdsAtMost, shmemAtMost, waitMs = 0, stableMs = 0 }) {
      const snap = await settledSnapshot(() => (typeof connections !== 'number' || state.sockets.size === connections)
        && (typeof fdsAtMost !== 'number' || countFds() <= fdsAtMost)
        && (typeof shmemAtMost !== 'number' || shmemBytes() <= shmemAtMost), waitMs, stableMs);
      return { ...snap, connections: state.sockets.size, errors: state.errors.splice(0) };
    },
    async close() {
      const listener = state.listener;
      state.listener = null;
      const waits = [...state.sockets].map((s) => { s.destroy(); return closed(s); });
      if (listener) waits.push(listener.close());
      await Promise.all(waits);
      return {};
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Client side: the timed loops.

function latencyLoop(sock, size, count) {
  return new Promise((resolve) => {
    const msg = Buffer.alloc(size, 0x61);
    let have = 0;
    let left = count;
    let t0;
    const onData = (chunk) => {
      have += chunk.length;
      if (have < size) return;
      have -= size;
      if (--left === 0) {
        const t1 = process.hrtime.bigint();
        sock.removeListener('data', onData);
        resolve(t1 - t0);
      } else {
        sock.write(msg);
      }
    };
    sock.on('data', onData);
    t0 = process.hrtime.bigint();
    sock.write(msg);
  });
}

function streamLoop(sock, size, count) {
  return new Promise((resolve) => {
    const msg = Buffer.alloc(size, 0x61);
    let sent = 0;
    let t0;
    const onData = () => {
      const t1 = process.hrtime.bigint();
      sock.removeListener('data', onData);
      resolve(t1 - t0);
    };
    const pump = () => {
      while (sent < count) {
        sent++;
        if (!sock.write(msg)) {
          sock.once('drain', pump);
          return;
        }
      }
      // Everything is written: flush, as end() would without closing. Without this the last
      // partial TCP segment waits for Nagle until the receiver's delayed ACK (40 ms on Linux),
      // which would dominate short trials. Writes during the stream keep the default (Nagle on,
      // and via-net's combining where the preset enables it).
      setNoDelay(sock, true);
    };
    sock.on('data', onData);
    t0 = process.hrtime.bigint();
    pump();
  });
}

function connectLoop(adapter, address, count) {
  return new Promise((resolve, reject) => {
    const one = Buffer.from([0x31]);
    let left = count;
    let t0;
    const next = () => {
      adapter.connect(address).then((sock) => {
        sock.on('error', reject);
        sock.once('data', () => sock.end());
        sock.once('close', () => {
          if (--left === 0) resolve(process.hrtime.bigint() - t0);
          else next();
        });
        sock.write(one);
      }, reject);
    };
    t0 = process.hrtime.bigint();
    next();
  });
}

async function verifyEcho(sock, bytes) {
  const data = crypto.randomBytes(bytes);
  const want = crypto.createHash('sha256').update(data).digest('hex');
  const hash = crypto.createHash('sha256');
  let have = 0;
  await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      hash.update(chunk);
      have += chunk.length;
      if (have >= bytes) done(null);
    };
    const onClose = () => done(Object.assign(new Error('connection closed during verify'), { code: 'ECONNRESET' }));
    const done = (err) => {
      sock.removeListener('data', onData);
      sock.removeListener('close', onClose);
      if (err) reject(err); else resolve();
    };
    sock.on('data', onData);
    sock.on('close', onClose);
    // Several writes of odd sizes, so chunking and reassembly are exercised too.
    for (let off = 0; off < bytes; off += 65539) sock.write(data.subarray(off, Math.min(bytes, off + 65539)));
  });
  const got = hash.digest('hex');
  if (have !== bytes || got !== want) {
    throw Object.assign(new Error(`echo mismatch: sent ${bytes} B sha256 ${want}, got ${have} B sha256 ${got}`), { code: 'EBENCH_CORRUPT' });
  }
  return { sha256: got };
}

/**
 * The idle test's connections: `count` of them, at most `concurrency` being set up at a time, each
 * writing 1 byte and waiting for its echo (so the user-level path is really established on both
 * sides), then left open and idle in `idle`. The first failure stops the opening and is returned;
 * no progress for `stallMs` (a server that cannot accept any more) is one too.
 */
function openIdle(adapter, address, count, concurrency, stallMs, idle, laterErrors) {
  return new Promise((resolve) => {
    const one = Buffer.from([0x31]);
    let started = 0;
    let inFlight = 0;
    let opened = 0;
    let error = null;
    let finished = false;
    let stall;
    const t0 = process.hrtime.bigint();
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(stall);
      resolve({ opened, elapsedNs: Number(process.hrtime.bigint() - t0), error });
    };
    const fail = (err) => {
      if (!error) error = errorPayload(err);
    };
    const armStall = () => {
      clearTimeout(stall);
      stall = setTimeout(() => {
        fail(Object.assign(new Error(`no connection completed for ${stallMs} ms (${opened} open)`), { code: 'ETIMEDOUT' }));
        finish();
      }, stallMs);
    };
    const settle = () => {
      inFlight--;
      if (finished) return;
      armStall();
      if (error || started >= count) {
        if (inFlight === 0) finish();
      } else {
        launch();
      }
    };
    const launch = () => {
      while (!error && started < count && inFlight < concurrency) {
        started++;
        inFlight++;
        let done = false;
        const once = (err) => {
          if (done) return false;
          done = true;
          if (err) fail(err);
          settle();
          return true;
        };
        adapter.connect(address).then((sock) => {
          idle.add(sock);
          sock.on('error', (err) => {
            if (!sock.benchError) sock.benchError = err;
            once(err);
          });
          sock.once('close', () => {
            idle.delete(sock);
            const err = sock.benchError || Object.assign(new Error('idle connection closed by the peer'), { code: 'ECONNRESET' });
            // Before its echo: the opening fails. After: the test does, at the next snapshot.
            if (!once(err) && !sock.benchClosing && laterErrors.length < 10) laterErrors.push(errorPayload(err));
          });
          sock.once('data', () => {
            opened++;
            once(null);
          });
          sock.write(one);
        }, (err) => once(err));
      }
    };
    armStall();
    if (count === 0) finish();
    else launch();
  });
}

async function runClient(adapter) {
  const state = { sock: null, address: null, failure: null, closed: false, idle: new Set(), errors: [] };
  const needSock = () => {
    if (state.failure) throw state.failure;
    if (!state.sock) throw Object.assign(new Error('not connected'), { code: 'EBENCH_STATE' });
    return state.sock;
  };
  return {
    async connect({ address }) {
      const sock = await adapter.connect(address);
      state.sock = sock;
      state.address = address;
      state.failure = sock.benchError || null;
      state.closed = false;
      sock.on('error', (err) => { if (!state.failure) state.failure = err; });
      sock.once('close', () => { if (state.sock === sock) state.closed = true; });
      return {};
    },
    async verify({ bytes }) {
      try {
        return await verifyEcho(needSock(), bytes);
      } catch (err) {
        throw state.failure || err; // the socket's own error says more than "closed"
      }
    },
    async run({ test, size, count, address }) {
      let elapsed;
      let cpu;
      if (test === 'connect') {
        const start = process.cpuUsage();
        elapsed = await connectLoop(adapter, address, count);
        cpu = cpuSince(start);
      } else {
        const sock = needSock();
        // Latency: NetPIPE's TCP_NODELAY. Streams: the default, flushed after the last write.
        setNoDelay(sock, test === 'latency');
        const loop = test === 'latency' ? latencyLoop : streamLoop;
        // A connection that breaks mid-trial must fail the trial, not hang it.
        let onClose;
        const broken = new Promise((_, reject) => {
          onClose = () => reject(state.failure || Object.assign(new Error('connection closed during trial'), { code: 'ECONNRESET' }));
          sock.once('close', onClose);
        });
        const start = process.cpuUsage();
        elapsed = await Promise.race([loop(sock, size, count), broken]);
        cpu = cpuSince(start);
        sock.removeListener('close', onClose);
        broken.catch(() => {});
      }
      return { elapsedNs: Number(elapsed), cpu };
    },
    async openIdle({ address, count, concurrency = 8, stallMs = 10000 }) {
      // An idle connection that breaks later is an error of the test, seen at the next snapshot.
      return openIdle(adapter, address, count, concurrency, stallMs, state.idle, state.errors);
    },
    async closeIdle() {
      const socks = [...state.idle];
      await Promise.all(socks.map((s) => {
        s.benchClosing = true;
        const done = closed(s);
        s.destroy();
        return done;
      }));
      return { closed: socks.length };
    },
    async snapshot({ fdsAtMost, shmemAtMost, waitMs = 0, stableMs = 0 }) {
      const snap = await settledSnapshot(() => (typeof fdsAtMost !== 'number' || countFds() <= fdsAtMost)
        && (typeof shmemAtMost !== 'number' || shmemBytes() <= shmemAtMost), waitMs, stableMs);
      return { ...snap, connections: state.idle.size, errors: state.errors.splice(0) };
    },
    async disconnect() {
      const sock = state.sock;
      state.sock = null;
      // Our own flag as well as `closed`: a node:net-like socket need not have that property.
      if (sock && !state.closed) {
        const done = closed(sock);
        sock.destroy();
        await done;
      }
      return {};
    },
  };
}

/** Serve the IPC protocol above for `role` ('server' | 'client') over `adapter`. */
async function runWorker(role, adapter) {
  if (typeof process.send !== 'function') {
    throw new Error('benchmark workers run as forked children of benchmarks/run.js');
  }
  const commands = role === 'server' ? await runServer(adapter) : await runClient(adapter);
  // Requests are handled one at a time, in order: the parent never pipelines, but a queue keeps
  // a stray message from interleaving with a running trial.
  let queue = Promise.resolve();
  process.on('message', (msg) => {
    if (!msg || typeof msg !== 'object') return;
    if (msg.cmd === 'exit') { process.exit(0); }
    queue = queue.then(async () => {
      const fn = commands[msg.cmd];
      try {
        if (!fn) throw Object.assign(new Error(`unknown command ${msg.cmd}`), { code: 'EBENCH_CMD' });
        const result = await fn(msg);
        process.send({ id: msg.id, ok: true, ...result });
      } catch (err) {
        process.send({ id: msg.id, ok: false, error: errorPayload(err) });
      }
    });
  });
  // The parent going away must not leave a worker (or a busy-polling socket) behind.
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', pid: process.pid });
}

module.exports = { runWorker, errorPayload, readStatus, memorySnapshot };
