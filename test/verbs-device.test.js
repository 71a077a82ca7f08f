'use strict';
// The verbs provider on a real RDMA device (InfiniBand, RoCE, iWARP or soft-RoCE: see
// docs/VERBS.md). Skipped, with the reason printed, where there is none.
// Server and client live in one process over the loopback address: the RC QPs, the CQ, the
// completion channel and rdma_cm are all real; only the cable is short.
const { expect } = require('chai');
const crypto = require('node:crypto');
const net = require('node:net');
const { verbsProvider } = require('../dist/providers/verbs');
const { remoteTcpRendezvous: verbsRendezvous } = require('../dist/transport/rendezvous');
const { verbsStatus } = require('../dist/providers/verbs-native');
const packet = require('../dist/sovia/packet');

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const HOST = process.env.VIA_NET_VERBS_TEST_HOST || '127.0.0.1';

/** A free TCP port (the rdma_cm listener takes the same number, as a via-net server does). */
async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, HOST, r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

function collector() {
  const c = { recvs: [], sent: 0, broken: null, waiters: [] };
  c.handler = {
    onRecv: (data, imm) => { c.recvs.push({ data, imm }); c.poke(); },
    onSendComplete: () => { c.sent++; c.poke(); },
    onBroken: (err) => { c.broken = err; c.poke(); },
  };
  c.poke = () => { c.waiters = c.waiters.filter((w) => !(w.test() && (w.resolve(), true))); };
  c.until = (test, ms = 10000) =>
    new Promise((resolve, reject) => {
      if (test()) return resolve();
      const timer = setTimeout(() => reject(new Error('timed out waiting for completions')), ms);
      c.waiters.push({ test, resolve: () => (clearTimeout(timer), resolve()) });
    });
  return c;
}

describe('verbs provider on an RDMA device', function () {
  this.timeout(30000);
  let provider;
  const cleanup = [];

  before(function () {
    const status = verbsStatus();
    if (status.reason) {
      console.log(`      skipped: needs an RDMA device (${status.reason})`);
      this.skip();
    }
    provider = verbsProvider();
  });

  afterEach(() => {
    for (const c of cleanup.splice(0)) c.close();
  });

  async function pair(depth = 8) {
    const port = await freePort();
    const server = collector();
    let serverVi;
    const listener = provider.listen(`tcp:${port}`, {}, (incoming) => {
      expect(incoming.payload.toString()).to.equal('hello');
      serverVi = incoming.accept({ recvDepth: depth, payload: Buffer.from('welcome') });
      serverVi.setHandler(server.handler);
      serverVi.postRecv(depth);
    });
    cleanup.push(listener);
    const { vi, payload } = await new Promise((resolve, reject) =>
      provider.connect(verbsRendezvous(HOST, port), { recvDepth: depth, payload: Buffer.from('hello') }, (err, v, p) =>
        err ? reject(err) : resolve({ vi: v, payload: p }),
      ),
    );
    expect(payload.toString()).to.equal('welcome');
    const client = collector();
    vi.setHandler(client.handler);
    vi.postRecv(depth);
    cleanup.push(vi);
    await new Promise((r) => setImmediate(r));
    cleanup.push(serverVi);
    return { vi, serverVi, client, server };
  }

  it('carries every size up to MaxTransferSize with its immediate, bytes identical', async () => {
    const { vi, server, serverVi } = await pair(8);
    const sizes = [0, 1, 3, 64, 1000, 4096, 16381, 32768];
    const sent = sizes.map((n) => crypto.randomBytes(n));
    for (let i = 0; i < sent.length; i++) {
      if (i >= 8) break;
      const async = !vi.postSend(sent[i], 0, sent[i].length, packet.encodeImmediate(packet.PacketType.DATA, i));
      expect(async).to.equal(false);
    }
    await server.until(() => server.recvs.length === sizes.length);
    expect(server.recvs.map((r) => sha(r.data))).to.deep.equal(sent.map(sha));
    expect(server.recvs.map((r) => packet.decodeImmediate(r.imm).value)).to.deep.equal(sizes.map((_, i) => i));
    expect(serverVi.recvDepth).to.equal(8);
  });

  it('sends from a large registered user buffer without copying, completing later', async () => {
    const { vi, server } = await pair(8);
    const big = crypto.randomBytes(1 << 20);
    const chunks = [];
    for (let off = 0; off < 8 * 32768; off += 32768) chunks.push([off, 32768]);
    let pendingAsync = 0;
    for (const [off, len] of chunks) if (!vi.postSend(big, off, len, 0)) pendingAsync++;
    expect(pendingAsync).to.be.above(0);
    await server.until(() => server.recvs.length === chunks.length);
    expect(sha(Buffer.concat(server.recvs.map((r) => r.data)))).to.equal(sha(big.subarray(0, 8 * 32768)));
  });

  it('breaks the VI on both sides when a send finds no receive posted', async () => {
    const { vi, client, server } = await pair(2);
    for (let i = 0; i < 3; i++) vi.postSend(Buffer.alloc(8), 0, 8, 0); // the third has no descriptor
    await client.until(() => client.broken !== null);
    expect(client.broken.code).to.equal('EPROTO');
    await server.until(() => server.broken !== null);
  });

  it('reports ECONNRESET to the peer when a VI is closed', async () => {
    const { vi, server } = await pair(2);
    vi.close();
    await server.until(() => server.broken !== null);
    expect(server.broken.code).to.equal('ECONNRESET');
  });
});
