'use strict';
// The client's fallback from a network provider (verbs) to TCP, through the public API and the
// production path choice (lib/transport/plan.ts, attempt.ts): a provider that is unavailable,
// refuses, or is abandoned mid-connect leaves the socket on TCP with its bytes intact; a forced
// transport reports the provider's error instead. A scripted provider stands in for rdma_cm
// where this machine has no device; the real rdma_cm case runs only with one.
const { expect } = require('chai');
const crypto = require('node:crypto');
const net = require('node:net');
const { viaNet, once, closeOf, sha256 } = require('./support/facade');
const { PROVIDERS } = require('../dist/providers');
const { verbsUnavailableReason, connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS } = require('../dist/providers/verbs');
const { verbsStatus } = require('../dist/providers/verbs-native');

/** A provider whose connect answers as the test scripts it, recording names and cancellations. */
function scriptedProvider(reach, answer) {
  const p = {
    name: 'scripted',
    reach,
    attrs: { maxTransferSize: 32768, maxRecvDepth: 256, maxSendDepth: 64 },
    names: [],
    cancels: 0,
    listen() {
      throw Object.assign(new Error('scripted provider has no listener'), { code: 'EAFNOSUPPORT' });
    },
    connect(name, options, cb) {
      p.names.push(name);
      answer(cb);
      return { cancel: () => p.cancels++ };
    },
  };
  return p;
}

/** Run `fn` with the provider table holding only `provider` (tried by 'auto'), then restore it. */
async function withOnly(provider, fn) {
  const saved = PROVIDERS.slice();
  PROVIDERS.splice(0, PROVIDERS.length, { name: provider.name, auto: true, provider: () => provider, unavailableReason: () => null });
  try {
    return await fn();
  } finally {
    PROVIDERS.splice(0, PROVIDERS.length, ...saved);
  }
}

/** A node:net echo server on loopback. */
async function echoServer() {
  const server = net.createServer((s) => s.pipe(s));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

/** Connects with via-net, echoes `bytes` and returns the transport used and the sha256 received. */
async function echoThrough(port, bytes, options = {}) {
  const socket = viaNet.connect({ port, host: '127.0.0.1', ...options });
  await once(socket, 'connect');
  const got = [];
  let n = 0;
  const done = new Promise((resolve) => socket.on('data', (d) => {
    got.push(d);
    n += d.length;
    if (n >= bytes.length) resolve();
  }));
  socket.write(bytes);
  await done;
  const transport = socket.transport;
  socket.destroy();
  await closeOf(socket);
  return { transport, hash: sha256(Buffer.concat(got)) };
}

describe('verbs connect fallback to TCP (through the facade)', function () {
  this.timeout(15000);
  let server;
  beforeEach(async () => {
    server = await echoServer();
  });
  afterEach(() => server.close());

  it('uses TCP when the verbs provider is unavailable, and says why', async function () {
    if (verbsStatus().reason === null) this.skip(); // this machine has a device: the device test covers it
    const reason = verbsUnavailableReason();
    expect(reason).to.be.a('string').and.not.equal('');
    expect(viaNet.providerStatus().verbs).to.deep.equal({ available: false, reason });
    const data = crypto.randomBytes(256 * 1024);
    const { transport, hash } = await echoThrough(server.address().port, data);
    expect(transport).to.equal('tcp');
    expect(hash).to.equal(sha256(data));
  });

  it('falls back to TCP with every byte intact when the provider refuses', async () => {
    const p = scriptedProvider('network', (cb) => setImmediate(() => cb(Object.assign(new Error('rejected'), { code: 'ECONNREFUSED' }))));
    const data = crypto.randomBytes(300 * 1024 + 7);
    const { transport, hash } = await withOnly(p, () => echoThrough(server.address().port, data));
    expect(p.names).to.deep.equal([`tcp:${server.address().port}`]);
    expect(transport).to.equal('tcp');
    expect(hash).to.equal(sha256(data));
  });

  it('cancels the attempt when the socket is destroyed, and closes a VI that arrives afterwards', async () => {
    let late;
    const p = scriptedProvider('network', (cb) => (late = cb));
    await withOnly(p, async () => {
      const socket = viaNet.connect({ port: server.address().port, host: '127.0.0.1' });
      socket.on('error', () => {});
      await new Promise((r) => setImmediate(r));
      expect(p.names).to.have.length(1);
      socket.destroy();
      await closeOf(socket);
      expect(p.cancels).to.equal(1);
    });
    let closed = 0;
    late(null, { id: 1, close: () => closed++ }, Buffer.alloc(0));
    expect(closed).to.equal(1);
  });

  it('offers another host only to a network provider, by the host-qualified name', async () => {
    const refuse = (cb) => setImmediate(() => cb(Object.assign(new Error('rejected'), { code: 'ECONNREFUSED' })));
    // 192.0.2.1 (TEST-NET-1) is not this host. Forced, so nothing falls back to TCP and no packet
    // leaves the machine: the outcome is the provider's error, or the plan's refusal.
    const attempt = (p) =>
      withOnly(p, async () => {
        const socket = viaNet.connect({ port: 9, host: '192.0.2.1', transport: 'scripted' });
        const [err] = await once(socket, 'error');
        await closeOf(socket);
        return err;
      });
    const network = scriptedProvider('network', refuse);
    const viaNetwork = await attempt(network);
    expect(network.names).to.deep.equal(['tcp:9@192.0.2.1']);
    expect(viaNetwork.code).to.equal('ERR_VIA_TRANSPORT_UNAVAILABLE');
    const host = scriptedProvider('host', refuse);
    const viaHost = await attempt(host);
    expect(host.names).to.deep.equal([]);
    expect(viaHost.code).to.equal('ERR_VIA_TRANSPORT_UNAVAILABLE');
    expect(viaHost.message).to.contain('192.0.2.1 is not an address of this host');
  });

  it('takes the rdma_cm connect budget from VIA_NET_CONNECT_TIMEOUT_MS, ignoring nonsense', () => {
    expect(connectTimeoutMs({})).to.equal(DEFAULT_CONNECT_TIMEOUT_MS);
    expect(connectTimeoutMs({ VIA_NET_CONNECT_TIMEOUT_MS: '250' })).to.equal(250);
    expect(connectTimeoutMs({ VIA_NET_CONNECT_TIMEOUT_MS: '-1' })).to.equal(DEFAULT_CONNECT_TIMEOUT_MS);
    expect(connectTimeoutMs({ VIA_NET_CONNECT_TIMEOUT_MS: 'soon' })).to.equal(DEFAULT_CONNECT_TIMEOUT_MS);
  });

  describe('with a real RDMA device', () => {
    before(function () {
      const status = verbsStatus();
      if (status.reason) {
        console.log(`      skipped: needs an RDMA device and rdma_cm (${status.reason})`);
        this.skip();
      }
    });

    it('rdma_cm to a TCP port with no rdma_cm listener fails fast and the socket falls back to TCP', async () => {
      const started = Date.now();
      const data = crypto.randomBytes(64 * 1024);
      const saved = PROVIDERS.slice();
      PROVIDERS.splice(0, PROVIDERS.length, ...saved.filter((e) => e.name === 'verbs'));
      try {
        const { transport, hash } = await echoThrough(server.address().port, data);
        expect(transport).to.equal('tcp');
        expect(hash).to.equal(sha256(data));
      } finally {
        PROVIDERS.splice(0, PROVIDERS.length, ...saved);
      }
      expect(Date.now() - started).to.be.below(connectTimeoutMs());
    });
  });
});
