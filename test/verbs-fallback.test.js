'use strict';
// The client's connect fallback: try rdma_cm when verbs is available, use TCP when it is not,
// when the peer has no rdma_cm listener, or when rdma_cm has not connected within 1 x the TCP
// connect timeout. Device-free parts run everywhere; the real rdma_cm case needs a device.
const { expect } = require('chai');
const crypto = require('node:crypto');
const net = require('node:net');
const { connectVerbsOrFallback, verbsProvider, verbsUnavailableReason, verbsRendezvous, connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS } = require('../dist/providers/verbs');
const { verbsStatus } = require('../dist/providers/verbs-native');

const OPTIONS = { recvDepth: 34, payload: Buffer.from('{}') };

/** A provider whose connect answers as scripted, counting cancellations. */
function scriptedProvider(answer) {
  const p = {
    name: 'verbs',
    attrs: { maxTransferSize: 32768, maxRecvDepth: 256, maxSendDepth: 64 },
    cancels: 0,
    connects: 0,
    listen() { throw new Error('unused'); },
    connect(name, options, cb) {
      p.connects++;
      answer(cb);
      return { cancel: () => p.cancels++ };
    },
  };
  return p;
}

const outcome = (provider, reason, timeoutMs) =>
  new Promise((resolve) => {
    const started = process.hrtime.bigint();
    connectVerbsOrFallback(provider, reason, verbsRendezvous('127.0.0.1', 9), OPTIONS, timeoutMs, (o) =>
      resolve({ ...o, ms: Number(process.hrtime.bigint() - started) / 1e6 }),
    );
  });

/** A TCP echo server, and a transfer over it checked by sha256: the fallback path works. */
async function tcpRoundTrip(bytes) {
  const server = net.createServer((s) => s.pipe(s));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const sock = net.connect(server.address().port, '127.0.0.1');
    const got = [];
    let n = 0;
    await new Promise((resolve, reject) => {
      sock.on('error', reject);
      sock.on('data', (d) => {
        got.push(d);
        n += d.length;
        if (n >= bytes.length) resolve();
      });
      sock.write(bytes);
    });
    sock.destroy();
    return crypto.createHash('sha256').update(Buffer.concat(got)).digest('hex');
  } finally {
    server.close();
  }
}

describe('verbs connect fallback to TCP', function () {
  this.timeout(15000);

  it('uses TCP at once when the verbs provider is unavailable, saying why', async function () {
    const real = verbsProvider();
    if (real) this.skip(); // this machine has a device: covered by the device test below
    const reason = verbsUnavailableReason();
    expect(reason).to.be.a('string').and.not.equal('');
    const o = await outcome(null, reason, 1000);
    expect(o.transport).to.equal('tcp');
    expect(o.reason).to.equal(reason);
    expect(o.ms).to.be.below(100);
    const data = crypto.randomBytes(256 * 1024);
    expect(await tcpRoundTrip(data)).to.equal(crypto.createHash('sha256').update(data).digest('hex'));
  });

  it('falls back as soon as rdma_cm refuses (no rdma_cm listener on that port)', async () => {
    const p = scriptedProvider((cb) => setImmediate(() => cb(Object.assign(new Error('rejected'), { code: 'ECONNREFUSED' }))));
    const o = await outcome(p, null, 2000);
    expect(o.transport).to.equal('tcp');
    expect(o.error.code).to.equal('ECONNREFUSED');
    expect(o.ms).to.be.below(500);
  });

  it('falls back within 1 x the connect timeout when rdma_cm never answers, and cancels it', async () => {
    const p = scriptedProvider(() => {});
    const o = await outcome(p, null, 150);
    expect(o.transport).to.equal('tcp');
    expect(o.error.code).to.equal('ETIMEDOUT');
    expect(o.ms).to.be.within(140, 1000);
    expect(p.cancels).to.equal(1);
  });

  it('closes a VI that connects after the deadline, and reports only one outcome', async () => {
    let closed = 0;
    let late;
    const p = scriptedProvider((cb) => (late = cb));
    const outcomes = [];
    await new Promise((resolve) => {
      connectVerbsOrFallback(p, null, 'tcp:9@127.0.0.1', OPTIONS, 30, (o) => {
        outcomes.push(o.transport);
        resolve();
      });
    });
    late(null, { id: 1, close: () => closed++ }, Buffer.alloc(0));
    expect(outcomes).to.deep.equal(['tcp']);
    expect(closed).to.equal(1);
  });

  it('uses verbs when rdma_cm connects in time', async () => {
    const vi = { id: 5, close() {} };
    const p = scriptedProvider((cb) => setImmediate(() => cb(null, vi, Buffer.from('ok'))));
    const o = await outcome(p, null, 1000);
    expect(o.transport).to.equal('verbs');
    expect(o.vi).to.equal(vi);
    expect(o.payload.toString()).to.equal('ok');
  });

  it('takes the connect timeout from VIA_NET_CONNECT_TIMEOUT_MS, ignoring nonsense', () => {
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

    it('rdma_cm to a TCP port with no rdma_cm listener fails fast and falls back to TCP', async () => {
      const server = net.createServer((s) => s.pipe(s));
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      try {
        const timeout = connectTimeoutMs();
        const started = Date.now();
        const o = await new Promise((resolve) =>
          connectVerbsOrFallback(verbsProvider(), null, verbsRendezvous('127.0.0.1', server.address().port), OPTIONS, timeout, resolve),
        );
        expect(o.transport).to.equal('tcp');
        expect(Date.now() - started).to.be.below(timeout);
      } finally {
        server.close();
      }
    });
  });
});
