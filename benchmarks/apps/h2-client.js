#!/usr/bin/env node
'use strict';
/**
 * An unmodified HTTP/2 client app: one http2.connect() session, GETs of body.js's deterministic
 * bodies with `inflight` of them outstanding (load.js), a warm-up and then the timed phase. Every
 * body is checked (sha256) against the server's x-sha256 header and against the client's own
 * computation of the same bytes. Prints one JSON line: the timing and latency quantiles, the
 * integrity counts, and what the session runs on, as http2 saw it right after connect(): the
 * socket it wrapped (a JSStreamSocket when the net.Socket had no native handle at that moment)
 * and that socket's handle.
 *
 *   node [-r dist/register.js] benchmarks/apps/h2-client.js --port N [--requests 5000 | --seconds S]
 *        [--inflight 1] [--sizes 13,4096,65536] [--warmup 200 | --warmup-seconds S] [--https]
 * (--https: h2 over TLS; trust the server's certificate with NODE_EXTRA_CA_CERTS.)
 */
const crypto = require('crypto');
const http2 = require('http2');
const { forPath, pathOf } = require('./body');
const { measure, loadOptions, finish, fail } = require('./load');

// What each path answers is computed here, independently of the server, before anything is timed.
const { port, inflight, sizes, warmup, timed } = loadOptions({ sizes: '13,4096,65536', warmup: { requests: 200 }, timed: { requests: 5000 } });
const scheme = process.argv.includes('--https') ? 'https' : 'http';

/** A private member of one of node's objects, by its symbol's description (null if absent). */
function bySymbol(obj, description) {
  const sym = Object.getOwnPropertySymbols(obj).find((s) => s.description === description);
  return sym ? obj[sym] : null;
}

/**
 * What http2 wrapped: its private kSocket, else the public proxy's view. Over TLS, also what the
 * TLSSocket encrypts over: the owner of its TLSWrap's parent handle (a JSStreamSocket when TLS
 * found no native handle) and that handle.
 */
function describeSocket(session) {
  const inner = bySymbol(session, 'socket');
  const handle = inner ? inner._handle : session.socket._handle;
  const out = {
    wrapper: inner ? inner.constructor.name : null,
    handle: handle ? handle.constructor.name : null,
    isStreamBase: !!(handle && handle.isStreamBase),
    transport: session.socket.transport ?? null,
  };
  const tlsWrap = inner && bySymbol(inner, 'res');
  if (tlsWrap) {
    out.tlsOver = tlsWrap._parentWrap ? tlsWrap._parentWrap.constructor.name : null;
    out.tlsParentHandle = tlsWrap._parent ? tlsWrap._parent.constructor.name : null;
  }
  return out;
}

const session = http2.connect(`${scheme}://127.0.0.1:${port}`);
const atConnect = describeSocket(session);
session.on('error', (err) => {
  process.stderr.write(`session error: ${err.stack}\n`);
  process.exit(1);
});

let bad = 0;
let bytes = 0;
let responses = 0;

function get(i) {
  return new Promise((resolve, reject) => {
    const p = pathOf(sizes, i);
    const req = session.request({ ':path': p });
    const hash = crypto.createHash('sha256');
    let header = null;
    req.on('response', (h) => { header = h['x-sha256']; });
    req.on('data', (d) => { bytes += d.length; hash.update(d); });
    req.on('end', () => {
      const got = hash.digest('hex');
      responses++;
      if (got !== header || got !== forPath(p).sha256) bad++;
      resolve();
    });
    req.on('error', reject);
    req.end();
  });
}

(async () => {
  const figures = await measure({ inflight, warmup, timed, request: get });
  const fd = session.socket._handle ? session.socket._handle.fd : null;
  // socket.transport is final only once connected ('tcp' while a user-level attempt runs). A
  // JSStreamSocket is a socket of its own: what it wraps (`stream`) has the transport.
  const inner = bySymbol(session, 'socket');
  const carrier = inner && inner.constructor.name === 'JSStreamSocket' && inner.stream ? inner.stream : session.socket;
  const transport = carrier.transport ?? null;
  const report = globalThis[Symbol.for('via-net.register')];
  session.close();
  finish({ register: !!(report && report.active), inflight, ...figures, bad, bytes, responses, atConnect, fd, transport });
})().catch(fail);
