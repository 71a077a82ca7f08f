'use strict';
// HTTP/2 under `node -r via-net/register` (issue 15). node's http2 (and TLS) look at the socket's
// `_handle` as connect() returns, and wrap a socket without a native StreamBase handle in a
// JSStreamSocket. A via-net client of a server that is not via-net's must therefore be on node's
// kernel TCP handle by then, or register makes HTTP/2 slower than node:net. Each test runs the
// unmodified app pair of benchmarks/apps (h2-server.js, h2-client.js) as separate processes and
// checks every response body's sha256 against the server's header and the client's own copy.
const { expect } = require('chai');
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { scratchDir, selfSignedCert, startServer, runClient } = require('./support/app-harness');

const REGISTER_MJS = path.join(__dirname, '..', 'dist', 'register.mjs');
const SERVER = path.join('..', '..', 'benchmarks', 'apps', 'h2-server.js');
const CLIENT = path.join('..', '..', 'benchmarks', 'apps', 'h2-client.js');
const SIZES = [13, 4096, 65536];
const SEEDS = 8; // h2-client.js asks for every size with seeds 1..8, in turn

/** What h2-client.js must have received for `count` requests (its warm-up included). */
function expectedBytes(count) {
  const perPath = SIZES.flatMap((size) => Array(SEEDS).fill(size));
  let total = 0;
  for (let i = 0; i < count; i++) total += perPath[i % perPath.length];
  return total;
}

function clientArgs(port, { requests, inflight, warmup, scheme = 'http' }) {
  return ['--port', port, '--requests', requests, '--inflight', inflight, '--sizes', SIZES.join(','), '--warmup', warmup,
    ...(scheme === 'https' ? ['--https'] : [])];
}

describe('HTTP/2 under via-net/register', function () {
  this.timeout(120_000);
  let server = null;
  let dir = null;

  afterEach(async () => {
    if (server) await server.stop();
    server = null;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  async function plainServer(args = []) {
    server = startServer(SERVER, args, { register: false, ready: /^PORT (\d+)$/ });
    return Number((await server.started)[1]);
  }

  it('a client under register talks to a plain http2 server on the kernel TCP handle (no JSStreamSocket), bodies intact', async () => {
    const port = await plainServer();
    const run = { requests: 600, inflight: 4, warmup: 24 };
    const r = await runClient(CLIENT, clientArgs(port, run));
    expect(r.register).to.equal(true);
    expect(r.atConnect).to.deep.equal({ wrapper: 'Socket', handle: 'TCP', isStreamBase: true, transport: 'tcp' });
    expect(r.transport).to.equal('tcp');
    expect(r.fd).to.be.a('number').and.at.least(0);
    expect(r.responses).to.equal(run.requests + run.warmup);
    expect(r.bad).to.equal(0);
    expect(r.bytes).to.equal(expectedBytes(run.requests + run.warmup));
  });

  async function tlsRun(env) {
    dir = scratchDir('via-net-h2-');
    const pem = selfSignedCert(dir);
    if (!pem) return null; // no openssl on this machine
    const { key, cert } = pem;
    const port = await plainServer([0, key, cert]);
    const run = { requests: 300, inflight: 4, warmup: 24, scheme: 'https' };
    const r = await runClient(CLIENT, clientArgs(port, run), { env: { ...env, NODE_EXTRA_CA_CERTS: cert } });
    expect(r.register).to.equal(true);
    expect(r.atConnect).to.include({ wrapper: 'TLSSocket', handle: 'TLSWrap', isStreamBase: true });
    expect(r.transport).to.equal('tcp');
    expect(r.responses).to.equal(run.requests + run.warmup);
    expect(r.bad).to.equal(0);
    expect(r.bytes).to.equal(expectedBytes(run.requests + run.warmup));
    return r;
  }

  it('h2 over TLS under register: node\'s own tls.connect, TLS on its kernel TCP handle as without register, bodies intact', async function () {
    const r = await tlsRun({});
    if (!r) this.skip();
    expect(r.atConnect).to.include({ tlsOver: null, tlsParentHandle: 'TCP' });
  });

  it('h2 over TLS with VIA_NET_TLS_H2=tls (the wrapped tls.connect), to a server that is not via-net\'s: TLS on the via-net socket\'s kernel handle, bodies intact', async function () {
    const r = await tlsRun({ VIA_NET_TLS_H2: 'tls' });
    if (!r) this.skip();
    expect(r.atConnect).to.include({ tlsOver: 'Socket', tlsParentHandle: 'TCP' });
  });

  it('h2 over TLS with VIA_NET_TLS_H2=auto (the wrapped tls.connect): TLS encrypts over the via-net socket\'s kernel handle, bodies intact', async function () {
    const r = await tlsRun({ VIA_NET_TLS_H2: 'auto' });
    if (!r) this.skip();
    // The TLSWrap's parent: via-net's socket (not a JSStreamSocket) on its kernel TCP handle.
    expect(r.atConnect).to.include({ tlsOver: 'Socket', tlsParentHandle: 'TCP' });
  });

  async function bothUnderRegister(env) {
    server = startServer(SERVER, [], { ready: /^PORT (\d+)$/, env });
    const port = Number((await server.started)[1]);
    const run = { requests: 300, inflight: 4, warmup: 24 };
    const r = await runClient(CLIENT, clientArgs(port, run), { env });
    expect(r.responses).to.equal(run.requests + run.warmup);
    expect(r.bad).to.equal(0);
    expect(r.bytes).to.equal(expectedBytes(run.requests + run.warmup));
    return r;
  }

  it('with the server under register too, http2.connect still takes TCP on the kernel handle (node\'s native HTTP/2), bodies intact', async () => {
    const r = await bothUnderRegister({});
    expect(r.transport).to.equal('tcp');
    expect(r.atConnect).to.deep.equal({ wrapper: 'Socket', handle: 'TCP', isStreamBase: true, transport: 'tcp' });
  });

  it('with VIA_NET_TLS_H2=auto and the server under register, the client takes shm (the asynchronous attempt), bodies intact', async () => {
    const r = await bothUnderRegister({ VIA_NET_TLS_H2: 'auto' });
    expect(r.transport).to.equal('shm');
    // Documented: on shm the handle is not a StreamBase, so http2 runs over a JS stream.
    expect(r.atConnect.wrapper).to.equal('JSStreamSocket');
  });

  it('h2 over TLS with both ends under register and VIA_NET_TLS_H2=tls: shm, node\'s TLS and HTTP/2 native over the socket\'s stream handle, bodies intact', async function () {
    dir = scratchDir('via-net-h2-');
    const pem = selfSignedCert(dir);
    if (!pem) this.skip(); // no openssl on this machine
    const env = { NODE_EXTRA_CA_CERTS: pem.cert, VIA_NET_TLS_H2: 'tls' };
    server = startServer(SERVER, [0, pem.key, pem.cert], { ready: /^PORT (\d+)$/, env });
    const port = Number((await server.started)[1]);
    const run = { requests: 300, inflight: 4, warmup: 24, scheme: 'https' };
    const r = await runClient(CLIENT, clientArgs(port, run), { env });
    expect(r.transport).to.equal('shm');
    // http2 takes the TLSSocket's native TLSWrap; TLS wraps the via-net socket's JSStream handle.
    expect(r.atConnect).to.include({ wrapper: 'TLSSocket', handle: 'TLSWrap', isStreamBase: true, tlsOver: 'Socket', tlsParentHandle: 'JSStream' });
    expect(r.responses).to.equal(run.requests + run.warmup);
    expect(r.bad).to.equal(0);
    expect(r.bytes).to.equal(expectedBytes(run.requests + run.warmup));
  });

  it('an ESM app (--import, named import of connect from node:http2) also gets TCP on the kernel handle', async () => {
    server = startServer(SERVER, [], { ready: /^PORT (\d+)$/ });
    const port = Number((await server.started)[1]);
    const script = `
      import { connect } from 'node:http2';
      const session = connect('http://127.0.0.1:${port}');
      const handle = session.socket._handle ? session.socket._handle.constructor.name : null;
      const req = session.request({ ':path': '/13/1' });
      let bytes = 0;
      req.on('data', (d) => { bytes += d.length; });
      req.on('end', () => { console.log(JSON.stringify({ handle, bytes })); session.close(); });
      req.end();`;
    const out = execFileSync(process.execPath, ['--import', REGISTER_MJS, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(JSON.parse(out.trim().split('\n').pop())).to.deep.equal({ handle: 'TCP', bytes: 13 });
  });

  it('the same client without register gives the same picture as under register on TCP (node:net\'s own)', async () => {
    const port = await plainServer();
    const run = { requests: 100, inflight: 4, warmup: 0 };
    const r = await runClient(CLIENT, clientArgs(port, run), { register: false });
    expect(r.register).to.equal(false);
    expect(r.atConnect).to.deep.equal({ wrapper: 'Socket', handle: 'TCP', isStreamBase: true, transport: null });
    expect(r.bad).to.equal(0);
    expect(r.bytes).to.equal(expectedBytes(run.requests));
  });
});
