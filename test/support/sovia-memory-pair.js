'use strict';
// Test harness: two SoviaConnections joined by a MemoryProvider VI pair, with recorders for
// every engine event, a controllable reader, and helpers that hash what was sent and received.

const crypto = require('crypto');
const { SoviaConnection, recvDepthFor, resolveParams, wakeupFor } = require('../../dist/sovia');
const { MemoryProvider } = require('../../dist/providers/memory');
const { bytes } = require('./prng');

function params(overrides = {}) {
  return resolveParams(overrides, {});
}

/** One side: the engine plus everything it reported. */
class Endpoint {
  constructor(name) {
    this.name = name;
    this.chunks = [];
    this.bytes = 0;
    this.log = [];
    this.error = null;
    this.ended = false;
    this.closed = false;
    this.established = false;
    /** Decides the return value of onData (true = keep going). */
    this.accept = () => true;
    this.hash = crypto.createHash('sha256');
    this.sentHash = crypto.createHash('sha256');
    this.sentBytes = 0;
    this.waiters = [];
    this.conn = null;
  }

  events() {
    return {
      onEstablished: () => {
        if (this.established) throw new Error(`${this.name}: onEstablished twice`);
        if (this.chunks.length > 0) throw new Error(`${this.name}: onEstablished after data`);
        this.established = true;
        this.notify();
      },
      onData: (chunk) => {
        if (this.ended || this.closed) throw new Error(`${this.name}: onData after end/close`);
        this.chunks.push(chunk);
        this.bytes += chunk.length;
        this.hash.update(chunk);
        this.log.push('data');
        const ok = this.accept(chunk);
        this.notify();
        return ok;
      },
      onEnd: () => {
        if (this.ended) throw new Error(`${this.name}: onEnd twice`);
        if (this.closed) throw new Error(`${this.name}: onEnd after close`);
        this.ended = true;
        this.log.push('end');
        this.notify();
      },
      onError: (err) => {
        if (this.error) throw new Error(`${this.name}: onError twice`);
        if (this.closed) throw new Error(`${this.name}: onError after close`);
        this.error = err;
        this.log.push('error:' + err.code);
        this.notify();
      },
      onClose: () => {
        if (this.closed) throw new Error(`${this.name}: onClose twice`);
        this.closed = true;
        this.log.push('close');
        this.notify();
      },
    };
  }

  notify() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolve when predicate() holds; re-checked after every event of this endpoint. */
  until(predicate, what = 'condition', timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: timed out waiting for ${what}; log tail ${this.log.slice(-8).join(',')}`)), timeoutMs);
      const check = () => {
        if (predicate()) {
          clearTimeout(timer);
          resolve();
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }

  received() {
    return Buffer.concat(this.chunks);
  }

  receivedDigest() {
    return this.hash.digest('hex');
  }

  /** Write `chunk`, recording it in the sent hash; resolves with the callback's error. */
  write(chunk) {
    this.sentHash.update(chunk);
    this.sentBytes += chunk.length;
    return new Promise((resolve) => this.conn.write(chunk, (err) => resolve(err || null)));
  }

  end() {
    return new Promise((resolve) => this.conn.end((err) => resolve(err || null)));
  }
}

/**
 * A connected pair. `opts.provider` (a MemoryProvider) or `opts.providerOptions`; `a`/`b` are
 * SOVIA options for each side (defaults: the engine defaults, with no environment).
 * `opts.handshake`: the WAKEUPs go with the (simulated) connect handshake, not as packets.
 */
function connectedPair(opts = {}) {
  const provider = opts.provider || new MemoryProvider(opts.providerOptions || {});
  const pa = params(opts.a || {});
  const pb = params(opts.b || opts.a || {});
  const [viA, viB] = provider.createPair(recvDepthFor(pa), recvDepthFor(pb));
  const a = new Endpoint('A');
  const b = new Endpoint('B');
  const handshake = (peer) => (opts.handshake ? wakeupFor(peer) : undefined);
  a.conn = new SoviaConnection(viA, pa, a.events(), handshake(pb));
  b.conn = new SoviaConnection(viB, pb, b.events(), handshake(pa));
  return { provider, a, b, viA, viB, pa, pb };
}

/** Deterministic pseudo-random bytes (prng.js). */
function patternBuffer(size, seed) {
  return bytes(size, seed);
}

function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

module.exports = { Endpoint, connectedPair, params, patternBuffer, sha256, MemoryProvider };

/**
 * Manual schedule: deliver completions and let the event loop run (nextTick flushes, callbacks)
 * until neither produces more work. Returns the number of completions delivered.
 */
async function settle(provider, maxRounds = 100000) {
  let total = 0;
  let idleRounds = 0;
  for (let round = 0; round < maxRounds; round++) {
    const n = provider.runPending();
    total += n;
    await new Promise((resolve) => setImmediate(resolve));
    if (n === 0 && provider.busyVis === 0) {
      if (++idleRounds >= 2) return total;
    } else {
      idleRounds = 0;
    }
  }
  throw new Error('settle: still busy after ' + maxRounds + ' rounds');
}

module.exports.settle = settle;

/**
 * Write `pieces` the way a Writable drives _write: the next piece only after the previous
 * callback (which may run synchronously). Resolves with the first error, or null, after the
 * last callback. `progress.completed` counts callbacks as they run.
 */
function produce(endpoint, pieces, progress = { completed: 0 }) {
  return new Promise((resolve) => {
    let i = 0;
    const next = () => {
      while (i < pieces.length) {
        const piece = pieces[i++];
        endpoint.sentHash.update(piece);
        endpoint.sentBytes += piece.length;
        let inCall = true;
        let completedInCall = false;
        let failed = null;
        endpoint.conn.write(piece, (err) => {
          progress.completed++;
          if (err) failed = err;
          if (err && !inCall) { resolve(err); return; }
          if (inCall) completedInCall = true;
          else if (i >= pieces.length) resolve(null);
          else next();
        });
        inCall = false;
        if (failed) { resolve(failed); return; }
        if (!completedInCall) return; // wait for the callback
      }
      resolve(null);
    };
    next();
  });
}

module.exports.produce = produce;
