'use strict';
// The in-memory VI provider: the VIA semantics the SOVIA engine is tested against.

const { expect } = require('chai');
const { MemoryProvider } = require('../dist/providers/memory');
const { SoviaConnection, recvDepthFor, resolveParams } = require('../dist/sovia');
const { Endpoint, patternBuffer, sha256, settle } = require('./support/sovia-memory-pair');
const prng = require('./support/prng');

/** A VI handler that records everything, and flags calls made while we are inside the provider. */
function recorder(vi, state = { inProvider: false }) {
  const r = { recvs: [], completions: 0, broken: null, reentrant: 0, state };
  vi.setHandler({
    onRecv: (data, imm) => { if (state.inProvider) r.reentrant++; r.recvs.push({ data, imm }); },
    onSendComplete: () => { if (state.inProvider) r.reentrant++; r.completions++; },
    onBroken: (err) => { if (state.inProvider) r.reentrant++; if (r.broken) throw new Error('onBroken twice'); r.broken = err; },
  });
  return r;
}

/** A pair of depth-4 VIs of a manual-schedule provider, each recorded, with every receive posted. */
function postedPair() {
  const provider = new MemoryProvider({ schedule: 'manual' });
  const [a, b] = provider.createPair(4, 4);
  const ra = recorder(a);
  const rb = recorder(b);
  a.postRecv(4);
  b.postRecv(4);
  return { provider, a, b, ra, rb };
}

function connectOnce(provider, name, payload = Buffer.from('hello')) {
  return new Promise((resolve) => provider.connect(name, { recvDepth: 8, payload }, (err, vi, p) => resolve({ err, vi, payload: p })));
}

describe('memory provider', () => {
  it('connects by name, exchanging payloads both ways', async () => {
    const provider = new MemoryProvider();
    let incomingPayload = null;
    let acceptorVi = null;
    const listener = provider.listen('svc', {}, (incoming) => {
      incomingPayload = incoming.payload.toString();
      expect(incoming.peer).to.have.property('pid', process.pid);
      acceptorVi = incoming.accept({ recvDepth: 8, payload: Buffer.from('welcome') });
    });
    const { err, vi, payload } = await connectOnce(provider, 'svc');
    expect(err).to.equal(null);
    expect(incomingPayload).to.equal('hello');
    expect(payload.toString()).to.equal('welcome');
    expect(vi.recvDepth).to.equal(8);
    expect(acceptorVi.id).to.not.equal(vi.id);
    // the pair is connected: a packet crosses
    const ra = recorder(acceptorVi);
    recorder(vi);
    acceptorVi.postRecv(1);
    vi.postRecv(1);
    expect(vi.postSend(Buffer.from('ping'), 0, 4, 42)).to.equal(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(ra.recvs.map((x) => [x.data.toString(), x.imm])).to.deep.equal([['ping', 42]]);
    listener.close();
    vi.close();
    acceptorVi.close();
  });

  it('reports EADDRINUSE, ENOENT and ECONNREFUSED with codes; cancel silences the callback', async () => {
    const provider = new MemoryProvider();
    const listener = provider.listen('a', {}, (incoming) => incoming.reject());
    expect(() => provider.listen('a', {}, () => {})).to.throw().with.property('code', 'EADDRINUSE');
    expect((await connectOnce(provider, 'nobody')).err).to.have.property('code', 'ENOENT');
    expect((await connectOnce(provider, 'a')).err).to.have.property('code', 'ECONNREFUSED');
    listener.close();
    expect((await connectOnce(provider, 'a')).err).to.have.property('code', 'ENOENT');
    const again = provider.listen('a', {}, (incoming) => incoming.accept({ recvDepth: 4, payload: Buffer.alloc(0) }));
    let called = false;
    const req = provider.connect('a', { recvDepth: 4, payload: Buffer.alloc(0) }, () => { called = true; });
    req.cancel();
    // a later successful connect proves the earlier one had its chance to complete
    const ok = await connectOnce(provider, 'a');
    expect(ok.err).to.equal(null);
    await new Promise((resolve) => setImmediate(resolve));
    expect(called).to.equal(false);
    again.close();
    ok.vi.close();
  });

  it('breaks both sides when a send finds no posted descriptor (pre-posting constraint)', async () => {
    const provider = new MemoryProvider();
    const [a, b] = provider.createPair(4, 4);
    const ra = recorder(a);
    const rb = recorder(b);
    a.postRecv(4);
    b.postRecv(1);
    expect(a.postSend(Buffer.from('one'), 0, 3, 1)).to.equal(true);
    expect(() => a.postSend(Buffer.from('two'), 0, 3, 2)).to.throw().with.property('code', 'EPROTO');
    expect(provider.stats.creditViolations).to.equal(1);
    expect(() => a.postSend(Buffer.from('three'), 0, 5, 3)).to.throw().with.property('code', 'EPROTO');
    await settle(provider);
    // the packet that had a descriptor arrives, then the break, on both sides
    expect(rb.recvs.map((x) => x.data.toString())).to.deep.equal(['one']);
    expect(rb.broken).to.have.property('code', 'EPROTO');
    expect(ra.broken).to.have.property('code', 'EPROTO');
  });

  it('throws when postRecv exceeds recvDepth or a send exceeds maxTransferSize', () => {
    const provider = new MemoryProvider({ maxTransferSize: 1024 });
    const [a, b] = provider.createPair(4, 4);
    recorder(a);
    recorder(b);
    a.postRecv(3);
    expect(() => a.postRecv(2)).to.throw().with.property('code', 'EOVERFLOW');
    a.postRecv(1);
    b.postRecv(4);
    expect(() => b.postSend(Buffer.alloc(1025), 0, 1025, 0)).to.throw().with.property('code', 'EMSGSIZE');
    expect(provider.stats.creditViolations).to.equal(0);
    a.close();
    b.close();
  });

  it('completes asynchronous sends in order, reading the source only at transfer time', async () => {
    const provider = new MemoryProvider({ sendMode: 'async', schedule: 'manual' });
    const [a, b] = provider.createPair(8, 8);
    const state = { inProvider: false };
    const ra = recorder(a, state);
    const rb = recorder(b, state);
    a.postRecv(8);
    b.postRecv(8);
    const src = Buffer.from('aaaa');
    state.inProvider = true;
    expect(a.postSend(src, 0, 4, 1)).to.equal(false);
    expect(a.postSend(Buffer.from('bbbb'), 0, 4, 2)).to.equal(false);
    state.inProvider = false;
    src.write('AAAA'); // an engine that reuses a buffer before onSendComplete corrupts its stream
    await settle(provider);
    expect(ra.completions).to.equal(2);
    expect(rb.recvs.map((x) => [x.data.toString(), x.imm])).to.deep.equal([['AAAA', 1], ['bbbb', 2]]);
    expect(ra.reentrant + rb.reentrant).to.equal(0);
  });

  it('keeps a synchronous send behind earlier asynchronous ones', async () => {
    let n = 0;
    const provider = new MemoryProvider({ sendMode: () => n++ % 2 === 1, schedule: { kind: 'random', maxBatch: 3 }, random: prng.random(3) });
    const [a, b] = provider.createPair(64, 64);
    recorder(a);
    const rb = recorder(b);
    a.postRecv(64);
    b.postRecv(64);
    for (let i = 0; i < 50; i++) a.postSend(Buffer.from([i]), 0, 1, i);
    await settle(provider);
    expect(rb.recvs.map((x) => x.imm)).to.deep.equal([...Array(50).keys()]);
    expect(rb.recvs.map((x) => x.data[0])).to.deep.equal([...Array(50).keys()]);
  });

  it('hands onRecv a copy that later sends never touch', async () => {
    const provider = new MemoryProvider();
    const [a, b] = provider.createPair(4, 4);
    recorder(a);
    const rb = recorder(b);
    a.postRecv(4);
    b.postRecv(4);
    const src = Buffer.from('xyz');
    a.postSend(src, 0, 3, 0);
    src.write('QQQ');
    a.postSend(src, 0, 3, 0);
    await settle(provider);
    expect(rb.recvs.map((x) => x.data.toString())).to.deep.equal(['xyz', 'QQQ']);
    rb.recvs[0].data.write('mmm'); // the receiver owns its copy
    expect(src.toString()).to.equal('QQQ');
    expect(rb.recvs[1].data.toString()).to.equal('QQQ');
  });

  it('killLink delivers what already arrived, then ECONNRESET on both sides; sends then throw', async () => {
    const { provider, a, b, ra, rb } = postedPair();
    a.postSend(Buffer.from('1'), 0, 1, 0);
    a.postSend(Buffer.from('2'), 0, 1, 0);
    provider.killLink(a);
    expect(() => a.postSend(Buffer.from('3'), 0, 1, 0)).to.throw().with.property('code', 'ECONNRESET');
    expect(() => b.postSend(Buffer.from('3'), 0, 1, 0)).to.throw().with.property('code', 'ECONNRESET');
    await settle(provider);
    expect(rb.recvs.map((x) => x.data.toString())).to.deep.equal(['1', '2']);
    expect(rb.broken).to.have.property('code', 'ECONNRESET');
    expect(ra.broken).to.have.property('code', 'ECONNRESET');
  });

  it('close() makes no further handler call locally and resets the peer after its pending data', async () => {
    const { provider, a, b, ra, rb } = postedPair();
    b.postSend(Buffer.from('to a'), 0, 4, 0);
    a.postSend(Buffer.from('to b'), 0, 4, 0);
    a.close();
    a.close(); // idempotent
    await settle(provider);
    expect(ra.recvs.length + ra.completions).to.equal(0);
    expect(ra.broken).to.equal(null);
    expect(rb.recvs.map((x) => x.data.toString())).to.deep.equal(['to b']);
    expect(rb.broken).to.have.property('code', 'ECONNRESET');
  });

  it('holds packets sent before the peer first posts, and checks them against that first postRecv', async () => {
    const provider = new MemoryProvider();
    const [a, b] = provider.createPair(4, 2);
    recorder(a);
    a.postRecv(4);
    a.postSend(Buffer.from('early'), 0, 5, 7); // b has not posted yet: held
    const rb = recorder(b);
    b.postRecv(2);
    await settle(provider);
    expect(rb.recvs.map((x) => [x.data.toString(), x.imm])).to.deep.equal([['early', 7]]);
    expect(provider.stats.creditViolations).to.equal(0);
    // more early packets than the first postRecv provides is a violation
    const [c, d] = provider.createPair(4, 1);
    recorder(c);
    c.postRecv(4);
    c.postSend(Buffer.alloc(1), 0, 1, 0);
    c.postSend(Buffer.alloc(1), 0, 1, 0);
    const rd = recorder(d);
    d.postRecv(1);
    await settle(provider);
    expect(provider.stats.creditViolations).to.equal(1);
    expect(rd.broken).to.have.property('code', 'EPROTO');
  });

  it('runs a SOVIA connection end to end through listen/connect with delayed completions', async () => {
    const provider = new MemoryProvider({ schedule: { kind: 'delayed', ms: 1 }, sendMode: 'random', random: prng.random(11) });
    const params = resolveParams({}, {});
    const server = new Endpoint('server');
    const client = new Endpoint('client');
    const listener = provider.listen('echo', {}, (incoming) => {
      const vi = incoming.accept({ recvDepth: recvDepthFor(params), payload: Buffer.alloc(0) });
      // the acceptor sends WAKEUP before the connector even has its VI
      server.conn = new SoviaConnection(vi, params, server.events());
    });
    const vi = await new Promise((resolve, reject) => provider.connect('echo', { recvDepth: recvDepthFor(params), payload: Buffer.alloc(0) },
      (err, v) => (err ? reject(err) : resolve(v))));
    client.conn = new SoviaConnection(vi, params, client.events());
    const data = patternBuffer(300000, 5);
    client.write(data);
    client.conn.end();
    await server.until(() => server.ended, 'server end');
    server.write(server.received());
    server.conn.end();
    await client.until(() => client.closed, 'client closed');
    await server.until(() => server.closed, 'server closed');
    expect(sha256(client.received())).to.equal(sha256(data));
    expect(provider.stats.creditViolations).to.equal(0);
    expect(client.error).to.equal(null);
    expect(server.error).to.equal(null);
    listener.close();
  });
});
