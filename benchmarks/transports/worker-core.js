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
 *   expect { test, size, count, workUs?, phases? }
 *                                   -> {}            arm the newest connection for the next trial (for 'stream':
 *                                    the next one accepted); CPU meter starts
 *   report {}                       -> { cpu: { user, system }, phases? }   CPU (µs) since `expect`; for
 *                                    'stream' also the CPU of each phase ([{ user, system }]), and an
 *                                    EBENCH_CORRUPT error if the bytes received do not add up exactly
 *   close {}                        -> {}            close the listener and every connection
 *   snapshot { connections, fdsAtMost, shmemAtMost, waitMs, stableMs } -> { memory, settleMs, connections, errors }
 *                                    wait (up to waitMs) until exactly `connections` are open, at
 *                                    most `fdsAtMost` fds are, and their number has not changed
 *                                    for stableMs; then GC and read this process's memory and fds
 *                                    (the idle test; every condition may be omitted)
 * Client commands:
 *   connect { address }             -> {}            open the block's persistent connection
 *   verify { bytes }                -> { sha256 }    echo `bytes` random bytes, check the sha256 (not timed)
 *   run { test, size, count, workUs?, phases? }
 *                                   -> { elapsedNs, cpu: { user, system }, phases? }   for 'stream', also
 *                                    [{ count, elapsedNs, cpu }] per phase
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
 * Tests: 'latency' (ping-pong of `size` bytes, `count` round trips), 'think' (the same, but the
 * server busy-works `workUs` µs before each reply: request/response with think time), 'bandwidth'
 * and 'rate' (`count` writes of `size` bytes, then a 1-byte acknowledgement from the receiver),
 * 'connect' (`count` times: connect, 1 byte echoed, close), 'stream' (a new connection, then for
 * each entry of `phases` that many writes of `size` bytes and a 1-byte acknowledgement of the
 * phase's last byte; the first phase is timed from the connect() call, each later one from the
 * previous acknowledgement: the cold and warm streams). A connection that was not armed echoes
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

/**
 * Spin on the clock for `ns`: the think time is CPU work, as a request handler's would be. A timer
 * would let the event loop (and a busy-polling transport) run meanwhile, which real work does not.
 */
function busyWork(ns) {
  const end = process.hrtime.bigint() + ns;
  while (process.hrtime.bigint() < end) { /* working */ }
}

/**
 * Ping-pong echo: every `size` bytes received, send `size` bytes back; with `workUs`, busy-work
 * that long before each reply (the think-time test).
 */
function latencyServerHandler(sock, size, workUs = 0) {
  const reply = Buffer.alloc(size, 0x62);
  const workNs = BigInt(Math.round(workUs * 1000));
  let have = 0;
  return (chunk) => {
    have += chunk.length;
    while (have >= size) {
      have -= size;
      if (workNs) busyWork(workNs);
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

/**
 * The stream test's sink: one acknowledgement byte after each phase's last byte, and the bytes
 * counted exactly. The sender starts a phase only once the previous one is acknowledged, so a
 * phase must end exactly where a chunk ends; `stats.error` says where it did not.
 */
function phasedSinkHandler(sock, stats) {
  let phase = 0;
  let end = stats.totals[0];
  return (chunk) => {
    stats.bytes += chunk.length;
    if (phase >= stats.totals.length || stats.bytes < end) return;
    if (stats.bytes !== end && !stats.error) stats.error = `phase ${phase} ended at byte ${stats.bytes}, not ${end}`;
    stats.marks.push(process.cpuUsage());
    sock.write(ACK);
    phase++;
    end += stats.totals[phase] || 0;
  };
}

/**
 * The time this process's provider has spent polling with nothing found, in ns (adapter.spinNs:
 * the shm completion queue's counter), or null for a transport that does not poll.
 */
function spinNs(adapter) {
  return typeof adapter.spinNs === 'function' ? adapter.spinNs() : null;
}

function spinSince(adapter, start) {
  const now = spinNs(adapter);
  return now === null || start === null ? null : now - start;
}

/** CPU (µs) between two process.cpuUsage() readings. */
function cpuBetween(a, b) {
  return { user: b.user - a.user, system: b.system - a.system };
}

/** The stream test's figures on the server: CPU per phase, once the bytes are checked to add up. */
function streamReport(stats, cpuStart) {
  const want = stats.totals.reduce((a, b) => a + b, 0);
  let error = stats.error;
  if (!error && stats.bytes !== want) error = `received ${stats.bytes} B, sent ${want} B`;
  if (!error && stats.marks.length !== stats.totals.length) error = `${stats.marks.length} of ${stats.totals.length} phases acknowledged`;
  if (error) throw Object.assign(new Error(`stream: ${error}`), { code: 'EBENCH_CORRUPT' });
  const marks = [cpuStart, ...stats.marks];
  return stats.marks.map((m, i) => cpuBetween(marks[i], m));
}

function armServerConnection(sock, test, size, count, { workUs = 0, stats = null } = {}) {
  let handler;
  if (test === 'latency' || test === 'think') handler = latencyServerHandler(sock, size, workUs);
  else if (test === 'bandwidth' || test === 'rate') handler = sinkServerHandler(sock, size * count);
  else if (test === 'stream') handler = phasedSinkHandler(sock, stats);
  else handler = echoHandler(sock);
  // The server writes only echoes and 1-byte acknowledgements: none may wait for Nagle.
  setNoDelay(sock, true);
  sock.benchOnData = handler;
}

async function runServer(adapter) {
  const state = { sockets: new Set(), newest: null, listener: null, cpuStart: null, spinStart: null, waiters: [], errors: [], armNext: null, stream: null };
  // The client's connect may complete before this side has accepted (Unix sockets do): `expect`
  // then waits for the connection to show up rather than failing.
  const connection = () => (state.newest ? Promise.resolve(state.newest)
    : new Promise((resolve) => state.waiters.push(resolve)));
  const onConnection = (sock) => {
    state.sockets.add(sock);
    state.newest = sock;
    for (const w of state.waiters.splice(0)) w(sock);
    sock.benchOnData = echoHandler(sock);
    if (state.armNext) {
      // The stream test's connection: armed before its first byte can arrive.
      const arm = state.armNext;
      state.armNext = null;
      arm(sock);
    }
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
    async expect({ test, size, count, workUs, phases }) {
      if (test !== 'connect' && !state.listener) throw Object.assign(new Error('expect before listen'), { code: 'EBENCH_STATE' });
      state.stream = null;
      state.armNext = null;
      if (test === 'stream') {
        // Its connection does not exist yet: the client opens it inside the timed run.
        const stats = { totals: phases.map((n) => n * size), bytes: 0, marks: [], error: null };
        state.stream = stats;
        state.armNext = (sock) => armServerConnection(sock, test, size, count, { stats });
      } else if (test !== 'connect') {
        armServerConnection(await connection(), test, size, count, { workUs });
      }
      state.cpuStart = process.cpuUsage();
      state.spinStart = spinNs(adapter);
      return {};
    },
    async report() {
      if (!state.cpuStart) throw Object.assign(new Error('report before expect'), { code: 'EBENCH_STATE' });
      const { cpuStart, stream } = state;
      const cpu = cpuSince(cpuStart);
      const spin = spinSince(adapter, state.spinStart);
      state.cpuStart = null;
      state.stream = null;
      state.armNext = null;
      return stream ? { cpu, phases: streamReport(stream, cpuStart) } : { cpu, spinNs: spin };
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

/**
 * `count` writes of `msg` back to back (waiting for 'drain' when asked to), then the receiver's
 * acknowledgement; resolves with the time it arrived. The receiver sends nothing but that one
 * byte, so anything else is a count that did not add up, and an error.
 */
function streamUntilAck(sock, msg, count) {
  return new Promise((resolve, reject) => {
    let sent = 0;
    const onData = (chunk) => {
      const t1 = process.hrtime.bigint();
      sock.removeListener('data', onData);
      if (chunk.length === 1 && chunk[0] === ACK[0]) resolve(t1);
      else reject(Object.assign(new Error(`expected a 1-byte acknowledgement, got ${chunk.length} B`), { code: 'EBENCH_CORRUPT' }));
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
    pump();
  });
}

function streamLoop(sock, size, count) {
  const msg = Buffer.alloc(size, 0x61);
  const t0 = process.hrtime.bigint();
  return streamUntilAck(sock, msg, count).then((t1) => t1 - t0);
}

/** A promise that rejects when `sock` closes (an error closes it too) before `release()`: a trial must fail, not hang. */
function whileOpen(sock, failure) {
  let onClose;
  const broken = new Promise((_, reject) => {
    onClose = () => reject(failure() || Object.assign(new Error('connection closed during trial'), { code: 'ECONNRESET' }));
    sock.once('close', onClose);
  });
  broken.catch(() => {});
  return { broken, release: () => sock.removeListener('close', onClose) };
}

/**
 * The cold and warm streams: a new connection, then for each entry of `phases` that many writes of
 * `size` bytes and the receiver's acknowledgement. The first phase is timed from the connect()
 * call, so it pays for the set-up and for whatever a fresh connection has yet to ramp up (rings
 * touched for the first time, TCP's congestion window, a poll mode's state); each later phase from
 * the previous acknowledgement, on the same connection. The close afterwards is not timed.
 */
async function phasedStream(adapter, address, size, phases) {
  const msg = Buffer.alloc(size, 0x61);
  const marks = [{ cpu: process.cpuUsage(), t: process.hrtime.bigint() }];
  const sock = await adapter.connect(address);
  let failure = sock.benchError || null;
  sock.on('error', (err) => { if (!failure) failure = err; });
  const { broken, release } = whileOpen(sock, () => failure);
  try {
    for (const count of phases) {
      // As the bandwidth test: Nagle (and via-net's combining) during the phase, a flush at its end.
      setNoDelay(sock, false);
      const t = await Promise.race([streamUntilAck(sock, msg, count), broken]);
      marks.push({ cpu: process.cpuUsage(), t });
    }
  } finally {
    release();
    if (sock.closed !== true) {
      const done = closed(sock);
      sock.destroy();
      await done;
    }
  }
  return phases.map((count, i) => ({
    count, elapsedNs: Number(marks[i + 1].t - marks[i].t), cpu: cpuBetween(marks[i].cpu, marks[i + 1].cpu),
  }));
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
    async run({ test, size, count, address, phases }) {
      let elapsed;
      let cpu;
      const spinStart = spinNs(adapter);
      if (test === 'stream') {
        const out = await phasedStream(adapter, address, size, phases);
        const sum = (f) => out.reduce((a, p) => a + f(p), 0);
        return { elapsedNs: sum((p) => p.elapsedNs), cpu: { user: sum((p) => p.cpu.user), system: sum((p) => p.cpu.system) }, phases: out };
      }
      if (test === 'connect') {
        const start = process.cpuUsage();
        elapsed = await connectLoop(adapter, address, count);
        cpu = cpuSince(start);
      } else {
        const sock = needSock();
        // Latency and think time: NetPIPE's TCP_NODELAY (a request/response protocol sets it
        // too). Streams: the default, flushed after the last write. The think time itself is
        // the server's: the client's loop is the latency loop.
        const pingPong = test === 'latency' || test === 'think';
        setNoDelay(sock, pingPong);
        const loop = pingPong ? latencyLoop : streamLoop;
        // A connection that breaks mid-trial must fail the trial, not hang it.
        const { broken, release } = whileOpen(sock, () => state.failure);
        const start = process.cpuUsage();
        elapsed = await Promise.race([loop(sock, size, count), broken]);
        cpu = cpuSince(start);
        release();
      }
      return { elapsedNs: Number(elapsed), cpu, spinNs: spinSince(adapter, spinStart) };
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
