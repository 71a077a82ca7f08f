#!/usr/bin/env node
'use strict';
/**
 * An unmodified HTTP/2 client app: one http2.connect() session, `requests` GETs with `inflight`
 * of them outstanding, after `warmup` untimed ones. Every body is checked (sha256) against the
 * server's x-sha256 header and against the client's own computation of the same bytes.
 * Prints one JSON line: the timing, the integrity counts, and what the session runs on, as
 * http2 saw it right after connect(): the socket it wrapped (a JSStreamSocket when the
 * net.Socket had no native handle at that moment) and that socket's handle.
 *
 *   node [-r dist/register.js] benchmarks/apps/h2-client.js <port> [requests=5000] [inflight=1] [sizes=13,4096,65536] [warmup=200] [http|https]
 * (https: h2 over TLS; trust the server's certificate with NODE_EXTRA_CA_CERTS.)
 */
const crypto = require('crypto');
const http2 = require('http2');
const { body } = require('./h2-body');

const port = Number(process.argv[2]);
const requests = Number(process.argv[3] || 5000);
const inflight = Math.max(1, Number(process.argv[4] || 1));
const sizes = String(process.argv[5] || '13,4096,65536').split(',').map(Number);
const warmup = Number(process.argv[6] ?? 200);
const scheme = process.argv[7] === 'https' ? 'https' : 'http';
const SEEDS = 8;

// What each path answers, computed here independently of the server.
const expected = new Map();
for (const size of sizes) for (let seed = 1; seed <= SEEDS; seed++) expected.set(`/${size}/${seed}`, body(size, seed).sha256);
const paths = [...expected.keys()];

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
    const p = paths[i % paths.length];
    const req = session.request({ ':path': p });
    const hash = crypto.createHash('sha256');
    let header = null;
    req.on('response', (h) => { header = h['x-sha256']; });
    req.on('data', (d) => { bytes += d.length; hash.update(d); });
    req.on('end', () => {
      const got = hash.digest('hex');
      responses++;
      if (got !== header || got !== expected.get(p)) bad++;
      resolve();
    });
    req.on('error', reject);
    req.end();
  });
}

/** `count` requests starting at index `from`, `inflight` at a time. */
async function run(from, count) {
  let next = from;
  const end = from + count;
  const lane = async () => { while (next < end) await get(next++); };
  await Promise.all(Array.from({ length: Math.min(inflight, count) }, lane));
}

(async () => {
  await run(0, warmup);
  const t0 = process.hrtime.bigint();
  await run(warmup, requests);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const fd = session.socket._handle ? session.socket._handle.fd : null;
  // socket.transport is final only once connected ('tcp' while a user-level attempt runs). A
  // JSStreamSocket is a socket of its own: what it wraps (`stream`) has the transport.
  const inner = bySymbol(session, 'socket');
  const carrier = inner && inner.constructor.name === 'JSStreamSocket' && inner.stream ? inner.stream : session.socket;
  const transport = carrier.transport ?? null;
  const report = globalThis[Symbol.for('via-net.register')];
  session.close();
  process.stdout.write(`${JSON.stringify({
    register: !!(report && report.active), requests, inflight, warmup, ms, bad, bytes, responses, atConnect, fd, transport,
  })}\n`);
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
