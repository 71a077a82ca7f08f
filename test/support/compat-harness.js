'use strict';
// Shared helpers for the compatibility scenarios. One harness is built per implementation
// (node:net or via-net); every server and socket a scenario creates goes through `track`, so
// the afterEach hook can close them all and the suite leaks no handles between scenarios.
const crypto = require('node:crypto');
const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');
const { once } = require('node:events');
const { expect } = require('chai');
const { bytes } = require('./prng');

const CLOSE_WAIT_MS = 2000; // bound on how long cleanup waits for one 'close' event

let pathCounter = 0;

function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

/** Deterministic pseudo-random payload (prng.js), so a failing hash is reproducible. */
function payload(size, seed = 1) {
  return bytes(size, seed);
}

/** A unique unix socket path under os.tmpdir(); removed by cleanup. */
function tmpPath(tag = 'sock') {
  pathCounter += 1;
  return path.join(os.tmpdir(), `via-net-compat-${process.pid}-${Date.now()}-${pathCounter}-${tag}.sock`);
}

/** Resolves with the first of `events` emitted by `emitter` as { event, args }; never rejects. */
function firstOf(emitter, events) {
  return new Promise((resolve) => {
    const handlers = {};
    for (const ev of events) {
      handlers[ev] = (...args) => {
        for (const e of events) emitter.removeListener(e, handlers[e]);
        resolve({ event: ev, args });
      };
      emitter.on(ev, handlers[ev]);
    }
  });
}

/** Waits for 'close' without rejecting on 'error' (events.once would reject). */
function closed(emitter) {
  return new Promise((resolve) => emitter.once('close', (...args) => resolve(args)));
}

/** Resolves after `emitter` emitted 'error'; returns the error. */
function errored(emitter) {
  return new Promise((resolve) => emitter.once('error', resolve));
}

/**
 * Appends the name of each listed event to `log` as it fires. `fmt` may map (name, args) to
 * the entry to push (default: the name), to record e.g. 'close:false'.
 */
function record(emitter, events, log = [], fmt) {
  for (const ev of events) {
    emitter.on(ev, (...args) => log.push(fmt ? fmt(ev, args) : ev));
  }
  return log;
}

/** Formats close events with their hadError argument, everything else by name. */
function withHadError(ev, args) {
  return ev === 'close' ? `close:${args[0]}` : ev;
}

/** Collects everything a readable emits until 'end' (or 'close'), as one Buffer. */
function collect(readable) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    readable.on('data', (c) => chunks.push(typeof c === 'string' ? Buffer.from(c) : c));
    readable.once('end', () => resolve(Buffer.concat(chunks)));
    readable.once('error', reject);
  });
}

/** Reads exactly n bytes from a flowing socket. */
function readBytes(readable, n) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let have = 0;
    if (n === 0) { resolve(Buffer.alloc(0)); return; }
    function onData(c) {
      chunks.push(c);
      have += c.length;
      if (have >= n) { done(); resolve(Buffer.concat(chunks)); }
    }
    function onEnd() { done(); reject(new Error(`stream ended after ${have} of ${n} bytes`)); }
    function onError(e) { done(); reject(e); }
    function done() {
      readable.removeListener('data', onData);
      readable.removeListener('end', onEnd);
      readable.removeListener('error', onError);
    }
    readable.on('data', onData);
    readable.on('end', onEnd);
    readable.on('error', onError);
  });
}

/**
 * Waits until predicate() holds, checking once per event-loop turn (setImmediate), bounded by
 * `ms`. Used only where node:net offers no event for the state (e.g. bytes buffered while paused).
 */
async function waitUntil(predicate, ms = 2000, what = 'condition') {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Asserts `fn` throws synchronously an error with the given code (and message, if given). */
function expectThrow(fn, { code, message, name }) {
  let caught;
  try { fn(); } catch (e) { caught = e; }
  expect(caught, `expected a throw with code ${code}`).to.be.an('error');
  expect(caught.code).to.equal(code);
  if (message !== undefined) expect(caught.message).to.equal(message);
  if (name !== undefined) expect(caught.name).to.equal(name);
  return caught;
}

function checkError(err, { code, message, name, syscall }) {
  expect(err, `expected an error with code ${code}`).to.be.an('error');
  expect(err.code).to.equal(code);
  if (message !== undefined) expect(err.message).to.equal(message);
  if (name !== undefined) expect(err.name).to.equal(name);
  if (syscall !== undefined) expect(err.syscall).to.equal(syscall);
}

function hasIPv6Loopback() {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list || []) if (a.family === 'IPv6' && a.address === '::1') return true;
  }
  return false;
}

/**
 * Builds the per-implementation harness.
 * @param impl       the module under test (node:net or via-net)
 * @param clientOpts extra options merged into TCP connect options (e.g. { transport: 'shm' })
 */
function makeHarness(impl, clientOpts = {}) {
  const sockets = new Set();
  const servers = new Set();
  const paths = new Set();
  const leaks = [];

  function trackSocket(s) {
    sockets.add(s);
    // An error emitted during cleanup must not crash the run; scenarios that care listen themselves.
    if (s.listenerCount('error') === 0) s.on('error', () => {});
    return s;
  }
  function trackServer(srv) {
    servers.add(srv);
    srv.on('connection', (s) => trackSocket(s));
    return srv;
  }
  function track(x) {
    return x instanceof impl.Server || typeof x.listen === 'function' ? trackServer(x) : trackSocket(x);
  }

  function server(...args) { return trackServer(impl.createServer(...args)); }

  /** Listens (default 127.0.0.1:0) and resolves with the port (or path) after 'listening'. */
  async function listen(srv, ...args) {
    if (args.length === 0) args = [0, '127.0.0.1'];
    srv.listen(...args);
    await once(srv, 'listening');
    const a = srv.address();
    return typeof a === 'string' ? a : a.port;
  }

  async function startServer(opts, onConnection) {
    const srv = opts ? server(opts, onConnection) : server(onConnection);
    const port = await listen(srv);
    return { server: srv, port };
  }

  function tmp(tag) { const p = tmpPath(tag); paths.add(p); return p; }

  /** Options object for a TCP client, with the forced transport (if any) merged in. */
  function tcpOptions(port, extra = {}) {
    return { port, host: '127.0.0.1', ...clientOpts, ...extra };
  }

  function connect(port, extra) { return trackSocket(impl.connect(tcpOptions(port, extra))); }

  async function connected(port, extra) {
    const s = connect(port, extra);
    await once(s, 'connect');
    return s;
  }

  /**
   * A connected pair: client (our side) and peer (the server's socket for it), both after their
   * 'connect' / 'connection' events.
   */
  async function pair({ serverOpts, clientExtra, host } = {}) {
    const srv = serverOpts ? server(serverOpts) : server();
    const port = await listen(srv, 0, host || '127.0.0.1');
    const gotPeer = once(srv, 'connection');
    const client = connect(port, { host: host || '127.0.0.1', ...clientExtra });
    const [[peer]] = await Promise.all([gotPeer, once(client, 'connect')]);
    return { server: srv, port, client, peer };
  }

  /** A port with nobody listening on 127.0.0.1 (bound then released). */
  async function closedPort() {
    const srv = impl.createServer();
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const { port } = srv.address();
    srv.close();
    await once(srv, 'close');
    return port;
  }

  function boundedClose(emitter, what) {
    return new Promise((resolve) => {
      const t = setTimeout(() => { leaks.push(what); resolve(); }, CLOSE_WAIT_MS);
      t.unref();
      emitter.once('close', () => { clearTimeout(t); resolve(); });
    });
  }

  /** Destroys every tracked socket and closes every tracked server, waiting for 'close'. */
  async function cleanup() {
    const waits = [];
    for (const s of sockets) {
      if (!s.closed) waits.push(boundedClose(s, 'socket'));
      s.destroy();
    }
    sockets.clear();
    await Promise.all(waits);
    const swaits = [];
    for (const srv of servers) {
      if (srv.listening) {
        swaits.push(boundedClose(srv, 'server'));
        srv.close();
      }
    }
    servers.clear();
    await Promise.all(swaits);
    for (const p of paths) { try { fs.unlinkSync(p); } catch { /* already gone */ } }
    paths.clear();
  }

  /**
   * expectThrow for calls that create a socket before validating (net.connect does): node leaves
   * that socket's fresh handle open when it throws, unreachable to the caller. Any handle that
   * appeared during the call is destroyed by cleanup, so the leak check stays meaningful.
   */
  function expectThrowTracked(fn, expected) {
    const before = new Set(process._getActiveHandles());
    try {
      return expectThrow(fn, expected);
    } finally {
      for (const owner of process._getActiveHandles()) {
        if (!before.has(owner) && owner && typeof owner.destroy === 'function') trackSocket(owner);
      }
    }
  }

  return {
    impl, clientOpts, expectThrowTracked, track, trackSocket, trackServer, server, listen, startServer, tmp,
    tcpOptions, connect, connected, pair, closedPort, cleanup, leaks,
  };
}

module.exports = {
  makeHarness, sha256, payload, tmpPath, firstOf, closed, errored, record, withHadError,
  collect, readBytes, waitUntil, expectThrow, checkError, hasIPv6Loopback, once,
};
