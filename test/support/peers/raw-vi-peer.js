'use strict';
// A child process that speaks the raw shm VI binding, driven by a test over IPC.
// It is the "other process" of every shm-provider test: the provider is never tested in-process only.
//
// Test-only flow control (the real one is SOVIA's): imm bit 31 set = credit message returning
// (imm & 0x7fffffff) credits; otherwise a data message whose imm is its sequence number.
// Each side posts DEPTH + SPARE descriptors; data may use DEPTH of them.
const crypto = require('node:crypto');
const path = require('node:path');
const { scribble } = require('../testing-addon'); // before via-net: the addon with test hooks
const { shmProvider } = require(path.join(__dirname, '..', '..', '..', 'dist', 'providers', 'shm'));
const { report, serveCommands } = require('../ipc-child');
const prng = require('../prng');

const DEPTH = 16;
const SPARE = 4;
const CREDIT_FLAG = 0x80000000;
const provider = shmProvider();
if (!provider) {
  process.send({ type: 'unavailable' });
  process.exit(0);
}

/** Deterministic payload bytes, so both sides can hash the same stream. */
function payload(seed, size) {
  return prng.bytes(size, seed);
}

/** One VI with credit-based sending and a receive hash. */
class Endpoint {
  constructor(vi, label) {
    this.vi = vi;
    this.label = label;
    this.credits = DEPTH;
    this.pendingCredits = 0;
    this.recvHash = crypto.createHash('sha256');
    this.recvBytes = 0;
    this.recvCount = 0;
    this.expectSeq = 0;
    this.outOfOrder = 0;
    this.queue = [];
    this.onMessage = null;
    this.broken = null;
    vi.setHandler({
      onRecv: (data, imm) => this.recv(data, imm),
      onSendComplete: () => {},
      onBroken: (err) => {
        this.broken = { code: err.code, message: err.message, at: process.hrtime.bigint().toString() };
        report({ type: 'broken', label: this.label, ...this.broken });
      },
    });
    vi.postRecv(DEPTH + SPARE);
  }

  recv(data, imm) {
    if (!this.hold) this.vi.postRecv(1);
    if (imm & CREDIT_FLAG) {
      this.credits += imm & 0x7fffffff;
      this.pump();
      return;
    }
    if (imm !== this.expectSeq) this.outOfOrder++;
    this.expectSeq = imm + 1;
    this.recvHash.update(data);
    this.recvBytes += data.length;
    this.recvCount++;
    if (++this.pendingCredits >= DEPTH / 2) {
      const n = this.pendingCredits;
      this.pendingCredits = 0;
      try {
        this.vi.postSend(Buffer.alloc(0), 0, 0, (CREDIT_FLAG | n) >>> 0);
      } catch (err) {
        // A garbage-fed VI (the scribbler test) may be broken: its onBroken reports it.
        report({ type: 'send-error', label: this.label, code: err.code });
      }
    }
    if (this.onMessage) this.onMessage(data, imm);
  }

  /** Queue a message; it goes out when a credit is available. */
  send(buf, seq) {
    this.queue.push([buf, seq]);
    this.pump();
  }

  pump() {
    while (this.queue.length && this.credits > 0 && !this.broken) {
      const [buf, seq] = this.queue.shift();
      this.credits--;
      try {
        this.vi.postSend(buf, 0, buf.length, seq);
      } catch (err) {
        report({ type: 'send-error', label: this.label, code: err.code });
        return;
      }
    }
    if (!this.queue.length && this.onIdle) this.onIdle();
  }

  summary() {
    return {
      label: this.label,
      recvBytes: this.recvBytes,
      recvCount: this.recvCount,
      recvHash: this.recvHash.copy().digest('hex'),
      outOfOrder: this.outOfOrder,
      broken: this.broken,
    };
  }
}


const endpoints = new Map();
let listener = null;

/** Streams `count` messages with sizes from `sizes` (cycled), hashing what it sends. */
function stream(ep, { count, sizes, seed }) {
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  let seq = 0;
  const block = payload(seed, 65536);
  return new Promise((resolve) => {
    const more = () => {
      // Keep the queue short so memory stays flat; refill as credits return.
      while (seq < count && ep.queue.length < DEPTH) {
        const size = sizes[seq % sizes.length];
        const start = (seq * 7919) % (65536 - size + 1);
        const buf = block.subarray(start, start + size);
        hash.update(buf);
        bytes += size;
        ep.send(buf, seq++);
      }
      if (seq >= count && ep.queue.length === 0) {
        ep.onIdle = null;
        resolve({ sentBytes: bytes, sentCount: count, sentHash: hash.digest('hex') });
      }
    };
    ep.onIdle = more;
    more();
  });
}

const commands = {
  listen({ name }) {
    listener = provider.listen(name, {}, (incoming) => {
      const label = incoming.payload.toString();
      const ep = new Endpoint(incoming.accept({ recvDepth: DEPTH + SPARE, payload: Buffer.from('server') }), label);
      endpoints.set(label, ep);
      report({ type: 'accepted', label, peer: incoming.peer });
    });
    return { pid: process.pid };
  },
  /** `payload`: what the connect carries instead of the label, base64 (e.g. a via-net server's format). */
  connect({ name, labels, payload }) {
    return Promise.all(
      labels.map(
        (label) =>
          new Promise((resolve) => {
            provider.connect(name, { recvDepth: DEPTH + SPARE, payload: payload ? Buffer.from(payload, 'base64') : Buffer.from(label) }, (err, vi) => {
              if (err) return resolve({ label, error: { code: err.code, message: err.message } });
              endpoints.set(label, new Endpoint(vi, label));
              resolve({ label, ok: true });
            });
          }),
      ),
    ).then((results) => ({ results }));
  },
  /** Echo every data message back (ping-pong server side). */
  echo({ label }) {
    const ep = endpoints.get(label);
    ep.onMessage = (data, imm) => ep.send(Buffer.from(data), imm);
    return {};
  },
  /** Ping-pong: send each size, wait for the echo, compare bytes. */
  async pingpong({ label, sizes, rounds = 1 }) {
    const ep = endpoints.get(label);
    let mismatches = 0;
    let seq = 0;
    for (let r = 0; r < rounds; r++) {
      for (const size of sizes) {
        const buf = payload(seq + 1, size);
        const echoed = await new Promise((resolve) => {
          ep.onMessage = (data) => resolve(Buffer.from(data));
          ep.send(buf, seq++);
        });
        if (!echoed.equals(buf)) mismatches++;
      }
    }
    ep.onMessage = null;
    return { mismatches, count: seq };
  },
  stream({ label, count, sizes, seed = 1 }) {
    return stream(endpoints.get(label), { count, sizes, seed });
  },
  streamAll({ labels, count, sizes }) {
    const streams = labels.map((label, i) => stream(endpoints.get(label), { count, sizes, seed: i + 1 }).then((r) => ({ label, ...r })));
    return Promise.all(streams).then((results) => ({ results }));
  },
  /** The native counters of one VI and the completion queue's wait state (diagnostics). */
  inspect({ label }) {
    return { vi: endpoints.get(label).vi.inspect(), cq: provider.stats() };
  },
  summary({ labels }) {
    return { summaries: (labels || [...endpoints.keys()]).map((l) => endpoints.get(l).summary()) };
  },
  /** Wait until `label` has received `count` data messages (or broke). */
  waitFor({ label, count }) {
    const ep = endpoints.get(label);
    return new Promise((resolve) => {
      const check = () => {
        if (ep.recvCount >= count || ep.broken) resolve(ep.summary());
        else setImmediate(check);
      };
      check();
    });
  },
  /** Send one fixed 32 KB block whenever a credit allows, for `durationMs`: keeps the peer's ring full. */
  flood({ label, durationMs }) {
    const ep = endpoints.get(label);
    const block = payload(99, 32768);
    const end = Date.now() + durationMs;
    let sent = 0;
    return new Promise((resolve) => {
      ep.onIdle = () => {
        if (Date.now() > end) {
          ep.onIdle = null;
          return resolve({ sent });
        }
        while (ep.queue.length < DEPTH) ep.send(block, sent++);
      };
      ep.onIdle();
    });
  },
  /**
   * Watch a 10 ms interval while traffic flows: how late does the event loop run it? With
   * `label`, also check every message received meanwhile is the flood block, byte for byte.
   */
  lag({ durationMs, label }) {
    const ep = label && endpoints.get(label);
    const block = payload(99, 32768);
    let received = 0;
    let mismatches = 0;
    if (ep) {
      ep.onMessage = (data) => {
        received++;
        if (!data.equals(block)) mismatches++;
      };
    }
    return new Promise((resolve) => {
      let ticks = 0;
      let maxLateMs = 0;
      let last = Date.now();
      const timer = setInterval(() => {
        const now = Date.now();
        maxLateMs = Math.max(maxLateMs, now - last - 10);
        last = now;
        ticks++;
      }, 10);
      setTimeout(() => {
        clearInterval(timer);
        if (ep) ep.onMessage = null;
        resolve({ ticks, maxLateMs, received, mismatches, outOfOrder: ep ? ep.outOfOrder : 0 });
      }, durationMs);
    });
  },
  pollMode({ label, mode, spinMicros = 50 }) {
    endpoints.get(label).vi.setPollMode(mode, spinMicros);
    return {};
  },
  /** CPU (user + system, ms) this process uses over `ms` of wall time. */
  cpu({ ms }) {
    const start = process.cpuUsage();
    return new Promise((resolve) =>
      setTimeout(() => {
        const d = process.cpuUsage(start);
        resolve({ cpuMs: (d.user + d.system) / 1000 });
      }, ms),
    );
  },
  /** Stop re-posting receive descriptors (so a peer that ignores credits runs out). */
  hold({ label }) {
    endpoints.get(label).hold = true;
    return {};
  },
  /** Send without honouring credits: the pre-posting violation. */
  violate({ label, extra }) {
    const ep = endpoints.get(label);
    const errors = [];
    for (let i = 0; i < DEPTH + SPARE + extra; i++) {
      try {
        ep.vi.postSend(Buffer.from('x'), 0, 1, i);
      } catch (err) {
        errors.push(err.code);
        break;
      }
    }
    return { errors };
  },
  /** Switch poll modes at random while receiving: the lost-wake-up stress. */
  chaos({ seed, periodMs }) {
    const modes = ['event', 'adaptive', 'busy'];
    const next = prng.xorshift32(seed);
    const timer = setInterval(() => {
      const x = next();
      for (const ep of endpoints.values()) ep.vi.setPollMode(modes[x % 3], [0, 5, 50][(x >>> 3) % 3]);
      // Sometimes block the loop for a moment, so the peer finds us not polling.
      if (x & 16) {
        const until = Date.now() + (x % 3);
        while (Date.now() < until);
      }
    }, periodMs);
    timer.unref();
    return {};
  },
  /** The hostile peer: scribble over the victim's shared memory while sending. */
  scribble({ label, durationMs, seed }) {
    const ep = endpoints.get(label);
    const end = Date.now() + durationMs;
    let rounds = 0;
    let sendErrors = 0;
    return new Promise((resolve) => {
      const tick = () => {
        if (ep.broken || Date.now() > end) return resolve({ rounds, sendErrors });
        for (let i = 0; i < 50; i++) {
          try {
            scribble(ep.vi, 'peer', seed + rounds);
            rounds++;
            ep.vi.postSend(Buffer.from('garbage'), 0, 7, rounds);
          } catch {
            sendErrors++;
            return resolve({ rounds, sendErrors });
          }
        }
        setImmediate(tick);
      };
      tick();
    });
  },
  /** Open and close VIs to ourselves, one after another; report fds, maps and RSS. */
  async churn({ count }) {
    const fs = require('node:fs');
    const name = `churn-${process.pid}`;
    const l = provider.listen(name, {}, (incoming) => {
      const vi = incoming.accept({ recvDepth: 4, payload: Buffer.alloc(0) });
      vi.setHandler({ onRecv() {}, onSendComplete() {}, onBroken: () => vi.close() });
    });
    const snapshot = () => ({
      fds: fs.readdirSync('/proc/self/fd').length,
      // Only our own shared regions: V8 maps and unmaps heap pages as it likes.
      maps: fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('memfd:via-net-link')).length,
      rss: process.memoryUsage().rss,
    });
    const once = () =>
      new Promise((resolve, reject) => {
        provider.connect(name, { recvDepth: 4, payload: Buffer.alloc(0) }, (err, vi) => {
          if (err) return reject(err);
          vi.setHandler({ onRecv() {}, onSendComplete() {}, onBroken() {} });
          vi.close();
          resolve();
        });
      });
    for (let i = 0; i < 200; i++) await once(); // warm-up
    await new Promise((r) => setTimeout(r, 50));
    global.gc?.();
    const before = snapshot();
    for (let i = 0; i < count; i++) await once();
    // Let the server side notice the hang-ups and close its VIs.
    const deadline = Date.now() + 5000;
    while (provider.openVis > 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    global.gc?.();
    const after = snapshot();
    l.close();
    return { before, after, openVis: provider.openVis };
  },
  close({ label }) {
    endpoints.get(label).vi.close();
    return {};
  },
  exit() {
    setImmediate(() => process.exit(0));
    return {};
  },
};

serveCommands(commands);
