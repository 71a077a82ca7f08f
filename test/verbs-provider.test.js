'use strict';
// The verbs provider's ViProvider semantics (lib/providers/verbs.ts), driven through a scripted
// native context, so they are checked on machines without an RDMA device: pre-posted receives,
// immediates delivered, send statuses, the send backlog, onBroken once, listener requests.
const { expect } = require('chai');
const crypto = require('node:crypto');
const os = require('node:os');
const { VerbsProvider } = require('../dist/providers/verbs');
const { VerbsEvent, VerbsSend } = require('../dist/providers/verbs-native');
const packet = require('../dist/sovia/packet');

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

/** A native Context stand-in: records calls, answers postSend from a script. */
class FakeContext {
  constructor() {
    this.calls = [];
    this.sendStatus = [];
    this.sent = [];
    this.nextId = 100;
  }
  record(name, ...args) {
    this.calls.push([name, ...args]);
  }
  listen(port, slotSize) { this.record('listen', port, slotSize); return this.nextId++; }
  connect(host, port, depth, slotSize, payload) { this.record('connect', host, port, depth, slotSize, payload); return this.nextId++; }
  accept(id, depth, payload) { this.record('accept', id, depth, payload); }
  reject(id) { this.record('reject', id); }
  postRecv(id, n) { this.record('postRecv', id, n); }
  postSend(id, buf, off, len, imm) {
    const status = this.sendStatus.length ? this.sendStatus.shift() : VerbsSend.OK;
    if (status === VerbsSend.OK || status === VerbsSend.ASYNC) this.sent.push({ data: Buffer.from(buf.subarray(off, off + len)), imm });
    return status;
  }
  closeVi(id) { this.record('closeVi', id); }
  closeListener(id) { this.record('closeListener', id); }
  setRef(id, ref) { this.record('setRef', id, ref); }
  close() {}
  stats() { return {}; }
  called(name) { return this.calls.filter((c) => c[0] === name); }
}

const ATTRS = { maxTransferSize: 32768, maxRecvDepth: 256, maxSendDepth: 64 };

function recorder() {
  const events = [];
  return {
    events,
    handler: {
      onRecv: (data, imm) => events.push({ type: 'recv', data, imm }),
      onSendComplete: () => events.push({ type: 'sent' }),
      onBroken: (err) => events.push({ type: 'broken', err }),
    },
  };
}

describe('verbs provider semantics (scripted native context)', function () {
  this.timeout(10000);
  let ctx;
  let provider;

  beforeEach(() => {
    ctx = new FakeContext();
    provider = new VerbsProvider(ctx, ATTRS);
  });

  function connected(name = 'tcp:4000@10.0.0.2', recvDepth = 34) {
    return new Promise((resolve, reject) => {
      provider.connect(name, { recvDepth, payload: Buffer.from('hello') }, (err, vi, payload) => (err ? reject(err) : resolve({ vi, payload })));
      const id = ctx.nextId - 1;
      setImmediate(() => provider.dispatch(VerbsEvent.CONNECTED, id, 32768, 0, Buffer.from('welcome')));
    });
  }

  it('connects to the host and port named by the rendezvous, with the slot size and payload', async () => {
    const { vi, payload } = await connected('tcp:4000@10.0.0.2', 34);
    const [, host, port, depth, slotSize, hello] = ctx.called('connect')[0];
    expect({ host, port, depth, slotSize }).to.deep.equal({ host: '10.0.0.2', port: 4000, depth: 34, slotSize: 32768 });
    expect(hello.toString()).to.equal('hello');
    expect(payload.toString()).to.equal('welcome');
    expect(vi.recvDepth).to.equal(34);
  });

  it('a name without a host means loopback; unix names have no verbs path (ENOENT)', async () => {
    await connected('tcp:4001');
    expect(ctx.called('connect')[0][1]).to.equal('127.0.0.1');
    const err = await new Promise((resolve) => provider.connect('unix:/tmp/x.sock', { recvDepth: 2, payload: Buffer.alloc(0) }, resolve));
    expect(err.code).to.equal('ENOENT');
    expect(() => provider.listen('unix:/tmp/x.sock', {}, () => {})).to.throw().with.property('code', 'EAFNOSUPPORT');
  });

  it('reports a refused rdma_cm connect as ECONNREFUSED', async () => {
    const err = await new Promise((resolve) => {
      provider.connect('tcp:4002@10.0.0.2', { recvDepth: 2, payload: Buffer.alloc(0) }, resolve);
      provider.dispatch(VerbsEvent.CONNECT_FAILED, ctx.nextId - 1, os.constants.errno.ECONNREFUSED, 0);
    });
    expect(err.code).to.equal('ECONNREFUSED');
  });

  it('gives up after the connect timeout and closes the half-made VI', async () => {
    const saved = process.env.VIA_NET_CONNECT_TIMEOUT_MS;
    process.env.VIA_NET_CONNECT_TIMEOUT_MS = '50';
    try {
      const started = Date.now();
      const err = await new Promise((resolve) => provider.connect('tcp:4003@10.0.0.2', { recvDepth: 2, payload: Buffer.alloc(0) }, resolve));
      expect(err.code).to.equal('ETIMEDOUT');
      expect(Date.now() - started).to.be.within(40, 2000);
      expect(ctx.called('closeVi').map((c) => c[1])).to.deep.equal([ctx.nextId - 1]);
    } finally {
      if (saved === undefined) delete process.env.VIA_NET_CONNECT_TIMEOUT_MS;
      else process.env.VIA_NET_CONNECT_TIMEOUT_MS = saved;
    }
  });

  it('the first recvDepth posts claim the receives posted at creation; more reach the NIC', async () => {
    const { vi } = await connected('tcp:4004@10.0.0.2', 4);
    vi.postRecv(3);
    vi.postRecv(1);
    expect(ctx.called('postRecv')).to.deep.equal([]);
    vi.postRecv(2);
    expect(ctx.called('postRecv')).to.deep.equal([['postRecv', vi.id, 2]]);
  });

  it('delivers received data with its immediate (the packet.ts encoding) to the handler', async () => {
    const { vi } = await connected();
    const r = recorder();
    vi.setHandler(r.handler);
    const imm = packet.encodeImmediate(packet.PacketType.FIN, 12345);
    provider.dispatch(VerbsEvent.RECV, vi.id, 5, imm, Buffer.from('bytes'));
    expect(r.events).to.have.length(1);
    expect(r.events[0].data.toString()).to.equal('bytes');
    expect(packet.decodeImmediate(r.events[0].imm)).to.deep.equal({ type: packet.PacketType.FIN, value: 12345 });
  });

  it('copied sends complete at once; zero-copy sends complete later, in order', async () => {
    const { vi } = await connected();
    const r = recorder();
    vi.setHandler(r.handler);
    ctx.sendStatus.push(VerbsSend.OK, VerbsSend.ASYNC);
    expect(vi.postSend(Buffer.from('small'), 0, 5, 1)).to.equal(true);
    expect(vi.postSend(Buffer.alloc(20000, 1), 0, 20000, 2)).to.equal(false);
    provider.dispatch(VerbsEvent.SEND, vi.id, 0, 0); // the copy's completion: nothing to report
    expect(r.events).to.deep.equal([]);
    provider.dispatch(VerbsEvent.SEND, vi.id, 1, 0);
    expect(r.events).to.deep.equal([{ type: 'sent' }]);
  });

  it('queues copies while every send slot is busy, keeps the order, and flushes as slots free', async () => {
    const { vi } = await connected();
    vi.setHandler(recorder().handler);
    const chunks = [0, 1, 2, 3].map((i) => crypto.randomBytes(1000 + i));
    ctx.sendStatus.push(VerbsSend.OK, VerbsSend.BUSY);
    const expected = chunks.map(sha);
    expect(vi.postSend(chunks[0], 0, chunks[0].length, 10)).to.equal(true);
    expect(vi.postSend(chunks[1], 0, chunks[1].length, 11)).to.equal(true); // BUSY: copied
    expect(vi.postSend(chunks[2], 0, chunks[2].length, 12)).to.equal(true); // behind the backlog
    for (const c of chunks.slice(1, 3)) c.fill(0); // the caller may reuse its buffers at once
    ctx.sendStatus.push(VerbsSend.OK, VerbsSend.BUSY);
    provider.dispatch(VerbsEvent.SEND, vi.id, 0, 0); // one slot free: chunk 1 goes, chunk 2 waits
    expect(vi.postSend(chunks[3], 0, chunks[3].length, 13)).to.equal(true);
    provider.dispatch(VerbsEvent.SEND, vi.id, 0, 0);
    expect(ctx.sent.map((s) => s.imm)).to.deep.equal([10, 11, 12, 13]);
    expect(ctx.sent.map((s) => sha(s.data))).to.deep.equal(expected);
  });

  it('maps send failures to coded errors', async () => {
    const { vi } = await connected();
    ctx.sendStatus.push(VerbsSend.TOO_LONG, VerbsSend.BROKEN);
    expect(() => vi.postSend(Buffer.alloc(10), 0, 10, 0)).to.throw().with.property('code', 'ERR_OUT_OF_RANGE');
    expect(() => vi.postSend(Buffer.alloc(10), 0, 10, 0)).to.throw().with.property('code', 'EPIPE');
  });

  it('reports a break once, with a node-style code, and nothing after it', async () => {
    const { vi } = await connected();
    const r = recorder();
    vi.setHandler(r.handler);
    provider.dispatch(VerbsEvent.BROKEN, vi.id, 2, 0); // receiver not ready
    provider.dispatch(VerbsEvent.BROKEN, vi.id, 1, 0);
    provider.dispatch(VerbsEvent.RECV, vi.id, 1, 0, Buffer.from('x'));
    expect(r.events.map((e) => e.type)).to.deep.equal(['broken']);
    expect(r.events[0].err.code).to.equal('EPROTO');
  });

  it('close() releases the native VI once and silences the handler', async () => {
    const { vi } = await connected();
    const r = recorder();
    vi.setHandler(r.handler);
    vi.close();
    vi.close();
    provider.dispatch(VerbsEvent.RECV, vi.id, 1, 0, Buffer.from('x'));
    expect(ctx.called('closeVi').map((c) => c[1])).to.deep.equal([vi.id]);
    expect(r.events).to.deep.equal([]);
    expect(() => vi.postSend(Buffer.alloc(1), 0, 1, 0)).to.throw().with.property('code', 'EPIPE');
  });

  it('listens on the TCP port number and hands requests to the listener to accept or reject', () => {
    const seen = [];
    const listener = provider.listen('tcp:5000', {}, (incoming) => seen.push(incoming));
    const [, port, slotSize] = ctx.called('listen')[0];
    expect({ port, slotSize }).to.deep.equal({ port: 5000, slotSize: 32768 });
    const lid = ctx.nextId - 1;
    provider.dispatch(VerbsEvent.REQUEST, lid, 201, 32768, Buffer.from('req-a'));
    provider.dispatch(VerbsEvent.REQUEST, lid, 202, 32768, Buffer.from('req-b'));
    expect(seen.map((s) => s.payload.toString())).to.deep.equal(['req-a', 'req-b']);
    const vi = seen[0].accept({ recvDepth: 34, payload: Buffer.from('ok') });
    expect(vi.id).to.equal(201);
    expect(vi.recvDepth).to.equal(34);
    expect(() => seen[0].accept({ recvDepth: 34, payload: Buffer.alloc(0) })).to.throw().with.property('code', 'ERR_INVALID_STATE');
    seen[1].reject();
    expect(ctx.called('accept')[0].slice(1, 3)).to.deep.equal([201, 34]);
    expect(ctx.called('reject')).to.deep.equal([['reject', 202]]);
    listener.unref();
    listener.ref();
    expect(ctx.called('setRef')).to.deep.equal([['setRef', lid, false], ['setRef', lid, true]]);
    listener.close();
    listener.unref(); // after close: nothing reaches the native side
    expect(ctx.called('setRef')).to.have.length(2);
    provider.dispatch(VerbsEvent.REQUEST, lid, 203, 32768, Buffer.from('late'));
    expect(ctx.called('reject')).to.deep.equal([['reject', 202], ['reject', 203]]);
    expect(ctx.called('closeListener')).to.deep.equal([['closeListener', lid]]);
  });
});
