'use strict';
const { report, serveCommands } = require('../ipc-child');
// A child process that runs SOVIA connections (dist/sovia) over the native shm provider, driven
// by a test or benchmark over IPC. Each VI is wrapped in a SoviaConnection whose parameters come
// from resolveParams(options); the connector's options travel in the connect payload, so both
// ends of a connection run the same preset.
//
// Byte streams are deterministic (test/support/pattern-stream.js): the sender hashes what it
// writes, the receiver hashes what it gets, and a test can regenerate any prefix to check a
// cut-off stream.
//
// Required (not forked), this file only exports the stream helpers and the write-size mix.
const crypto = require('node:crypto');
const path = require('node:path');
const { sliceAt: streamSlice, prefixHash, MAX_SLICE } = require('../pattern-stream');
const { randomInt } = require('../prng');

const DIST = path.join(__dirname, '..', '..', '..', 'dist');

// ------------------------------------------------------------------ deterministic streams

/** Largest single write the generator produces (a zero-copy slice of the pattern stream). */
const MAX_WRITE = MAX_SLICE;

/**
 * Write sizes: 'mixed' is a seeded mix of runs of tiny writes (combining), medium writes around
 * the 2 KB copy threshold and large in-place writes up to MAX_WRITE; a number is a fixed size.
 */
function sizeGenerator(pattern, seed) {
  if (typeof pattern === 'number') return () => pattern;
  const rand = randomInt(seed ^ 0x5123); // not the byte stream's own generator
  let tinyRun = 0;
  return () => {
    if (tinyRun > 0) {
      tinyRun--;
      return rand(65);
    }
    const r = rand(100);
    if (r < 15) {
      tinyRun = 20 + rand(200);
      return rand(65);
    }
    if (r < 55) return 1900 + rand(300); // around the copy threshold
    if (r < 80) return 2049 + rand(32768);
    return 32768 + rand(MAX_WRITE - 32768 + 1);
  };
}

module.exports = { MAX_WRITE, streamSlice, prefixHash, sizeGenerator };

// ------------------------------------------------------------------ the child program

function main() {
  const { shmProvider } = require(path.join(DIST, 'providers', 'shm'));
  const { SoviaConnection, resolveParams, recvDepthFor } = require(path.join(DIST, 'sovia'));
  const provider = shmProvider();
  if (!provider) {
    process.send({ type: 'unavailable' });
    process.exit(0);
  }

  const now = () => process.hrtime.bigint().toString();
  const connections = new Map();
  let listener = null;

  function paramsFor(options) {
    return resolveParams(options || {}, {}, provider.attrs.maxTransferSize);
  }

  /** One SOVIA connection plus what it received and reported. */
  class Peer {
    constructor(label, vi, params) {
      this.label = label;
      this.params = params;
      this.recvHash = crypto.createHash('sha256');
      this.recvBytes = 0;
      this.recvChunks = 0;
      this.established = false;
      this.ended = false;
      this.closed = false;
      this.error = null;
      this.times = {};
      this.order = [];
      this.paused = false;
      /** [bytes, resolve] pairs: resolved once that many bytes arrived (or the connection closed). */
      this.recvWaiters = [];
      this.closeWaiters = [];
      this.pauseAt = Infinity;
      this.pauseMs = 0;
      this.sender = null;
      this.conn = new SoviaConnection(vi, params, {
        onEstablished: () => {
          this.established = true;
          this.order.push('established');
        },
        onData: (chunk) => this.onData(chunk),
        onEnd: () => {
          this.ended = true;
          this.times.end = now();
          this.order.push('end');
        },
        onError: (err) => {
          this.error = { code: err.code, message: err.message };
          this.times.error = now();
          this.order.push('error');
          report({ type: 'error', label, code: err.code, at: this.times.error, recvBytes: this.recvBytes });
        },
        onClose: () => {
          this.closed = true;
          this.times.close = now();
          this.order.push('close');
          report({ type: 'close', label, at: this.times.close });
          for (const w of this.recvWaiters.splice(0)) w[1]();
          for (const resolve of this.closeWaiters.splice(0)) resolve();
        },
      });
    }

    onData(chunk) {
      this.recvHash.update(chunk);
      this.recvBytes += chunk.length;
      this.recvChunks++;
      if (this.recvWaiters.length) {
        this.recvWaiters = this.recvWaiters.filter(([bytes, resolve]) => (this.recvBytes >= bytes ? (resolve(), false) : true));
      }
      if (this.recvBytes >= this.pauseAt) {
        // Backpressure: refuse more until the timer resumes us (like a Readable whose push returned false).
        this.pauseAt = Infinity;
        this.paused = true;
        this.times.paused = now();
        report({ type: 'paused', label: this.label, at: this.times.paused, recvBytes: this.recvBytes });
        // libuv times a timer from the loop's cached clock, which lags hrtime, so one timer can
        // fire up to a millisecond early by the clock the test compares: re-arm until it has not.
        const resumeAfterPause = () => {
          const left = this.pauseMs - Number(process.hrtime.bigint() - BigInt(this.times.paused)) / 1e6;
          if (left > 0) return void setTimeout(resumeAfterPause, Math.ceil(left));
          this.paused = false;
          this.times.resumed = now();
          report({ type: 'resumed', label: this.label, at: this.times.resumed, recvBytes: this.recvBytes });
          this.conn.resumeReading();
        };
        setTimeout(resumeAfterPause, this.pauseMs);
        return false;
      }
      return true;
    }

    summary() {
      return {
        label: this.label,
        recvBytes: this.recvBytes,
        recvHash: this.recvHash.copy().digest('hex'),
        recvChunks: this.recvChunks,
        established: this.established,
        ended: this.ended,
        closed: this.closed,
        // Not 'error': PeerProcess.call would take the reply for a failed command.
        failure: this.error,
        times: this.times,
        order: this.order,
        state: this.conn.state,
        pendingBytes: this.conn.pendingBytes,
        sender: this.sender && this.sender.progress(),
        stats: this.conn.stats,
        params: this.params,
      };
    }
  }

  /**
   * Writes `total` bytes of stream `seed` in sizes from `sizes`, keeping at most `hwm` bytes
   * un-called-back (hwm 0: the next write only once the previous callback ran), as a Writable
   * with that highWaterMark would. Resolves once every callback ran (and end's, if asked).
   */
  class Sender {
    constructor(peer, { total, seed, sizes = 'mixed', hwm = 65536, end = true }) {
      this.peer = peer;
      this.total = total;
      this.seed = seed;
      this.hwm = hwm;
      this.end = end;
      this.nextSize = sizeGenerator(sizes, seed);
      this.hash = crypto.createHash('sha256');
      this.offset = 0;
      this.outstanding = 0;
      this.issued = 0;
      this.done = 0;
      this.doneBytes = 0;
      this.error = null;
      this.filling = false;
      this.fillAgain = false;
      this.finished = false;
      this.promise = new Promise((resolve) => (this.resolve = resolve));
    }

    /** Bytes left to write; an empty stream still makes one zero-length write. */
    more() {
      return this.offset < this.total || (this.total === 0 && this.issued === 0);
    }

    progress() {
      return { sentBytes: this.offset, issued: this.issued, done: this.done, doneBytes: this.doneBytes, outstanding: this.outstanding, error: this.error };
    }

    /** Issue writes while under the high-water mark (re-entrant: callbacks may run inside write()). */
    fill() {
      if (this.filling) {
        this.fillAgain = true;
        return;
      }
      this.filling = true;
      do {
        this.fillAgain = false;
        while (!this.error && this.more() && (this.issued === this.done || this.outstanding < this.hwm)) {
          const size = Math.min(this.nextSize(), this.total - this.offset);
          const buf = streamSlice(this.seed, this.offset, size);
          this.hash.update(buf);
          this.offset += size;
          this.issued++;
          this.outstanding += size;
          this.peer.conn.write(buf, (err) => this.written(size, err));
        }
      } while (this.fillAgain);
      this.filling = false;
      this.maybeFinish();
    }

    written(size, err) {
      this.done++;
      this.doneBytes += size;
      this.outstanding -= size;
      if (err && !this.error) this.error = { code: err.code, message: err.message };
      this.fill();
    }

    maybeFinish() {
      if (this.finished || this.done !== this.issued || (this.more() && !this.error)) return;
      this.finished = true;
      const result = () => ({ label: this.peer.label, sentBytes: this.offset, sentHash: this.hash.digest('hex'), writes: this.issued, writeError: this.error });
      if (this.end && !this.error) {
        this.peer.conn.end((err) => {
          if (err) this.error = { code: err.code, message: err.message };
          this.resolve(result());
        });
      } else {
        this.resolve(result());
      }
    }
  }

  function attach(label, vi, params) {
    const peer = new Peer(label, vi, params);
    connections.set(label, peer);
    return peer;
  }

  function get(label) {
    const peer = connections.get(label);
    if (!peer) throw Object.assign(new Error(`no connection ${label}`), { code: 'ENOENT' });
    return peer;
  }

  const commands = {
    /** `options`, when given, are the listener's own; otherwise it runs the connector's. */
    listen({ name, options: own }) {
      listener = provider.listen(name, {}, (incoming) => {
        const { label, options } = JSON.parse(incoming.payload.toString());
        const params = paramsFor(own || options);
        const vi = incoming.accept({ recvDepth: recvDepthFor(params), payload: Buffer.from(JSON.stringify(params)) });
        attach(label, vi, params);
        report({ type: 'accepted', label });
      });
      return { pid: process.pid };
    },
    connect({ name, labels, options }) {
      const params = paramsFor(options);
      const payload = (label) => Buffer.from(JSON.stringify({ label, options }));
      return Promise.all(
        labels.map(
          (label) =>
            new Promise((resolve) => {
              provider.connect(name, { recvDepth: recvDepthFor(params), payload: payload(label) }, (err, vi, reply) => {
                if (err) return resolve({ label, error: { code: err.code, message: err.message } });
                attach(label, vi, params);
                resolve({ label, ok: true, serverParams: JSON.parse(reply.toString()) });
              });
            }),
        ),
      ).then((results) => ({ results }));
    },
    /** Start a stream; the result comes when every write callback (and end's) ran. */
    send({ label, ...options }) {
      const peer = get(label);
      peer.sender = new Sender(peer, options);
      peer.sender.fill();
      return peer.sender.promise;
    },
    /** Resolves once `bytes` arrived on `label` (or it closed). */
    waitRecv({ label, bytes }) {
      const peer = get(label);
      return new Promise((resolve) => {
        if (peer.recvBytes >= bytes || peer.closed) resolve();
        else peer.recvWaiters.push([bytes, resolve]);
      }).then(() => peer.summary());
    },
    waitClosed({ label }) {
      const peer = get(label);
      return new Promise((resolve) => (peer.closed ? resolve() : peer.closeWaiters.push(resolve))).then(() => peer.summary());
    },
    /** Pause the reader (onData returns false) once `bytes` arrived, and resume `ms` later. */
    pauseAt({ label, bytes, ms }) {
      const peer = get(label);
      peer.pauseAt = bytes;
      peer.pauseMs = ms;
      return {};
    },
    summary({ label }) {
      return get(label).summary();
    },
    brief({ labels }) {
      return { summaries: (labels || [...connections.keys()]).map((l) => {
        const p = get(l);
        return { label: l, established: p.established, closed: p.closed, failure: p.error, state: p.conn.state };
      }) };
    },
    /** Resolves once every listed connection has the peer's WAKEUP. */
    waitEstablished({ labels }) {
      return new Promise((resolve) => {
        const check = () => (labels.every((l) => connections.get(l)?.established) ? resolve({}) : setTimeout(check, 5));
        check();
      });
    },
    /** Start sampling event-loop delay (10 ms resolution); `lagStop` reports it. */
    lagStart() {
      const { monitorEventLoopDelay } = require('node:perf_hooks');
      this.histogram = monitorEventLoopDelay({ resolution: 10 });
      this.histogram.enable();
      return {};
    },
    lagStop() {
      this.histogram.disable();
      return { maxMs: this.histogram.max / 1e6, p99Ms: this.histogram.percentile(99) / 1e6, meanMs: this.histogram.mean / 1e6 };
    },
    /** Reply, then keep the event loop busy for `ms`: whatever arrives meanwhile piles up unread. */
    stall({ ms }) {
      setImmediate(() => {
        const until = Date.now() + ms;
        while (Date.now() < until);
      });
      return {};
    },
    rss() {
      return { rss: process.memoryUsage().rss, at: now() };
    },
    /** CPU used by this process over `ms` of wall time. */
    cpu({ ms }) {
      const start = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      return new Promise((resolve) =>
        setTimeout(() => {
          const used = process.cpuUsage(start);
          resolve({ userUs: used.user, systemUs: used.system, wallMs: Number(process.hrtime.bigint() - t0) / 1e6, cq: provider.stats() });
        }, ms),
      );
    },
    gc() {
      global.gc?.();
      return {};
    },
    end({ label }) {
      return new Promise((resolve) => get(label).conn.end((err) => resolve({ error: err ? err.code : null })));
    },
    destroy({ label }) {
      get(label).conn.destroy();
      return {};
    },
    exit() {
      setImmediate(() => process.exit(0));
      return {};
    },
  };

  serveCommands(commands);
}

if (require.main === module) main();
