'use strict';
// The SOVIA engine over the in-memory provider: close state machine, errors, protocol
// violations, backpressure, combining, chunking and the credit invariant.

const { expect } = require('chai');
const crypto = require('crypto');
const { connectedPair, params, patternBuffer, sha256, settle, produce, Endpoint, MemoryProvider } = require('./support/sovia-memory-pair');
const { SoviaConnection, recvDepthFor, encodeImmediate, PacketType, PRESET_NAMES } = require('../dist/sovia');
const prng = require('./support/prng');

const tick = () => new Promise((resolve) => process.nextTick(resolve));

describe('sovia close state machine (SOVIA paper figure 11)', () => {
  it('active close, then passive close: FIN_WAIT_1 -> FIN_WAIT_2 ... CLOSE_WAIT -> LAST_ACK -> CLOSED', async () => {
    const { provider, a, b } = connectedPair({ providerOptions: { schedule: 'manual' } });
    expect(a.conn.state).to.equal('WAKEUP_SENT');
    await settle(provider);
    expect([a.conn.state, b.conn.state]).to.deep.equal(['ESTABLISHED', 'ESTABLISHED']);
    const data = patternBuffer(100000, 1);
    a.write(data);
    const ended = a.end();
    await tick();
    expect(a.conn.state).to.equal('FIN_WAIT_1');
    await settle(provider);
    expect(await ended).to.equal(null);
    expect(a.conn.state).to.equal('FIN_WAIT_2');
    expect(b.conn.state).to.equal('CLOSE_WAIT');
    expect(b.ended).to.equal(true);
    expect(sha256(b.received())).to.equal(sha256(data));
    // half-closed: B may still write
    const back = patternBuffer(5000, 2);
    b.write(back);
    b.end();
    await tick();
    expect(b.conn.state).to.equal('LAST_ACK');
    await settle(provider);
    expect([a.conn.state, b.conn.state]).to.deep.equal(['CLOSED', 'CLOSED']);
    expect(sha256(a.received())).to.equal(sha256(back));
    expect(a.log.filter((e) => e !== 'data')).to.deep.equal(['end', 'close']);
    expect(b.log.filter((e) => e !== 'data')).to.deep.equal(['end', 'close']);
    expect(provider.stats.creditViolations).to.equal(0);
    expect(provider.busyVis).to.equal(0);
  });

  it('reports onEstablished once the peer WAKEUP arrives; writes made before it wait for it', async () => {
    const { provider, a, b } = connectedPair({ providerOptions: { schedule: 'manual' } });
    let called = false;
    a.conn.write(patternBuffer(100000, 1), () => { called = true; });
    await tick();
    expect(a.established).to.equal(false);
    expect(called).to.equal(false);
    // one completion at a time: the step that brings B's WAKEUP to A also sends A's data
    let steps = 0;
    while (!a.established && steps < 10) {
      expect(called).to.equal(false);
      steps += provider.runPending(1);
    }
    expect(a.established).to.equal(true);
    expect(called).to.equal(true);
    await settle(provider);
    expect(b.bytes).to.equal(100000);
  });

  it('with the WAKEUPs in the connect handshake: established at once, no WAKEUP packet, same bytes and close', async () => {
    const { provider, a, b } = connectedPair({ handshake: true, providerOptions: { schedule: 'manual' } });
    expect([a.conn.state, b.conn.state]).to.deep.equal(['ESTABLISHED', 'ESTABLISHED']);
    let called = false;
    const data = patternBuffer(100000, 3);
    a.write(data).then(() => { called = true; });
    const back = patternBuffer(7000, 4);
    b.write(back);
    await tick();
    // Nothing to wait for: the first packets are DATA, and the copies' callbacks have run.
    expect(called).to.equal(true);
    a.end();
    b.end();
    await settle(provider);
    expect([a.conn.state, b.conn.state]).to.deep.equal(['CLOSED', 'CLOSED']);
    expect(sha256(b.received())).to.equal(sha256(data));
    expect(sha256(a.received())).to.equal(sha256(back));
    expect(a.established || b.established, 'onEstablished is for a WAKEUP packet only').to.equal(false);
    // Each side's FIN and its FINACK of the other's, and no WAKEUP.
    expect(a.conn.stats.controlPacketsSent).to.equal(2);
    expect(b.conn.stats.controlPacketsSent).to.equal(2);
    expect(provider.stats.creditViolations).to.equal(0);
  });

  it('a WAKEUP packet after a handshake that carried one is a protocol violation', async () => {
    const { provider, a, b, viA, pa } = connectedPair({ handshake: true, providerOptions: { schedule: 'manual' } });
    const control = viA.allocSendBuffer(8);
    control.writeUInt32LE(pa.chunkSize, 0);
    control.writeUInt32LE(2, 4);
    viA.postSend(control, 0, 8, encodeImmediate(PacketType.WAKEUP, pa.window));
    await settle(provider);
    expect(b.error && b.error.code).to.equal('EPROTO');
    expect(b.error.message).to.match(/second WAKEUP/);
    await a.until(() => a.closed, 'A closed');
  });

  it('an empty window from the handshake is a protocol violation, not a throw', async () => {
    const provider = new MemoryProvider({});
    const p = params({});
    const [viA] = provider.createPair(recvDepthFor(p), recvDepthFor(p));
    const a = new Endpoint('A');
    a.conn = new SoviaConnection(viA, p, a.events(), { window: 0, chunkSize: 100, ackSlots: 1 });
    await a.until(() => a.closed, 'A closed');
    expect(a.error && a.error.code).to.equal('EPROTO');
    expect(a.error.message).to.match(/empty window/);
  });

  it('simultaneous close goes through CLOSING on both sides', async () => {
    const { provider, a, b } = connectedPair({ providerOptions: { schedule: 'manual' } });
    await settle(provider);
    a.conn.end();
    b.conn.end();
    expect([a.conn.state, b.conn.state]).to.deep.equal(['FIN_WAIT_1', 'FIN_WAIT_1']);
    // deliver exactly the two FINs: each side answers FINACK at once and is CLOSING
    expect(provider.runPending(2)).to.equal(2);
    expect([a.conn.state, b.conn.state]).to.deep.equal(['CLOSING', 'CLOSING']);
    await settle(provider);
    expect([a.conn.state, b.conn.state]).to.deep.equal(['CLOSED', 'CLOSED']);
    expect(a.log).to.deep.equal(['end', 'close']);
    expect(b.log).to.deep.equal(['end', 'close']);
  });

  it('end() before the peer WAKEUP queues data and FIN until the window opens', async () => {
    const { provider, a, b } = connectedPair({ providerOptions: { schedule: 'manual' } });
    const data = patternBuffer(70000, 3);
    const w = a.write(data);
    const e = a.end();
    expect(a.conn.pendingBytes).to.equal(70000);
    await settle(provider);
    expect(await w).to.equal(null);
    expect(await e).to.equal(null);
    expect(b.ended).to.equal(true);
    expect(sha256(b.received())).to.equal(sha256(data));
    b.conn.end();
    await settle(provider);
    expect(a.closed && b.closed).to.equal(true);
  });

  it('onEnd waits for every byte when the reader is paused, and CLOSED waits for onEnd', async () => {
    const { provider, a, b } = connectedPair({ providerOptions: { schedule: 'manual' } });
    b.accept = () => false;
    const data = patternBuffer(200000, 4);
    a.write(data);
    a.conn.end();
    b.conn.end();
    await settle(provider);
    expect(b.ended).to.equal(false);
    expect(b.closed).to.equal(false);
    expect(b.chunks.length).to.equal(1);
    b.accept = () => true;
    b.conn.resumeReading();
    await settle(provider);
    expect(b.ended).to.equal(true);
    expect(a.closed && b.closed).to.equal(true);
    expect(sha256(b.received())).to.equal(sha256(data));
  });

  it('onEnd comes after the setImmediate callbacks the last data scheduled, as EOF from a kernel socket does', async () => {
    const { provider, a, b } = connectedPair({ providerOptions: { schedule: 'manual' } });
    await settle(provider);
    b.accept = () => {
      setImmediate(() => b.log.push('immediate'));
      return true;
    };
    a.write(Buffer.from('QUIT\r\n'));
    a.conn.end();
    await tick();
    // DATA and FIN are delivered in one synchronous run of the provider.
    provider.runPending();
    expect(b.log).to.deep.equal(['data']);
    await settle(provider);
    expect(b.log.slice(0, 3)).to.deep.equal(['data', 'immediate', 'end']);
    expect(sha256(b.received())).to.equal(sha256(Buffer.from('QUIT\r\n')));
  });

  it('fails writes after end() with EPIPE', async () => {
    const { a, b } = connectedPair();
    a.conn.end();
    const err = await a.write(Buffer.from('late'));
    expect(err).to.have.property('code', 'EPIPE');
    b.conn.end();
    await a.until(() => a.closed);
    await b.until(() => b.closed);
    expect(a.error).to.equal(null);
  });

  it('destroy() sends RST: the peer gets ECONNRESET, the local side closes without error', async () => {
    const { provider, a, b } = connectedPair({ providerOptions: { schedule: 'manual' } });
    await settle(provider);
    b.accept = () => false; // keep A's writes pending
    const pending = a.write(patternBuffer(3 * 1024 * 1024, 5));
    await settle(provider);
    a.conn.destroy();
    expect(a.conn.state).to.equal('CLOSED');
    a.conn.destroy(); // idempotent
    await settle(provider);
    expect((await pending).code).to.equal('ERR_STREAM_DESTROYED');
    expect(a.log.filter((e) => e !== 'data')).to.deep.equal(['close']);
    expect(b.error).to.have.property('code', 'ECONNRESET');
    expect(b.log.filter((e) => e !== 'data')).to.deep.equal(['error:ECONNRESET', 'close']);
    expect(b.ended).to.equal(false);
    expect((await a.write(Buffer.from('x'))).code).to.equal('EPIPE');
    expect(provider.busyVis).to.equal(0);
  });

  it('a broken VI before the peer FIN is ECONNRESET on both sides', async () => {
    const { provider, a, b, viA } = connectedPair({ providerOptions: { schedule: 'manual' } });
    await settle(provider);
    const w = a.write(patternBuffer(100000, 6));
    provider.killLink(viA);
    await settle(provider);
    expect(a.log.slice(-2)).to.deep.equal(['error:ECONNRESET', 'close']);
    expect(b.log.slice(-2)).to.deep.equal(['error:ECONNRESET', 'close']);
    const err = await w;
    expect(err === null || err.code === 'ECONNRESET').to.equal(true);
  });

  it('a broken VI after the peer FIN was delivered is not an error: the first write is dropped as over TCP, later ones get EPIPE', async () => {
    const { provider, a, b, viA } = connectedPair({ providerOptions: { schedule: 'manual' } });
    await settle(provider);
    const data = patternBuffer(50000, 7);
    a.write(data);
    a.conn.end();
    await settle(provider);
    expect(b.ended).to.equal(true);
    // the peer process "exits" after end(): its side of the link goes away
    viA.close();
    await settle(provider);
    expect(b.error).to.equal(null);
    expect(b.closed).to.equal(false);
    // Over TCP the first write after the peer's close is accepted and draws the reset.
    expect(await b.write(Buffer.from('anyone?'))).to.equal(null);
    expect((await b.write(Buffer.from('still there?'))).code).to.equal('EPIPE');
    expect(await b.end()).to.equal(null);
    await settle(provider);
    expect(b.closed).to.equal(true);
    expect(b.error).to.equal(null);
    expect(sha256(b.received())).to.equal(sha256(data));
  });

  it('a peer that vanishes after its FIN fails our unacknowledged writes with EPIPE, without onError', async () => {
    const { provider, a, b, viA } = connectedPair({ providerOptions: { schedule: 'manual' } });
    a.accept = () => false; // A never reads: B's data stalls in flight
    a.conn.end();
    await settle(provider);
    expect(b.ended).to.equal(true);
    const pending = b.write(patternBuffer(4 * 1024 * 1024, 9));
    await settle(provider);
    viA.close();
    await settle(provider);
    expect((await pending).code).to.equal('EPIPE');
    expect(b.error).to.equal(null);
    expect(await b.end()).to.equal(null);
    await settle(provider);
    expect(b.log.filter((e) => e !== 'data')).to.deep.equal(['end', 'close']);
  });

  it('a reset while the reader is paused drops held data and reports ECONNRESET, never onEnd', async () => {
    const { provider, a, b } = connectedPair({ providerOptions: { schedule: 'manual' } });
    b.accept = () => false;
    a.write(patternBuffer(500000, 8));
    a.conn.end();
    await settle(provider);
    a.conn.destroy();
    await settle(provider);
    expect(b.log.filter((e) => e !== 'data')).to.deep.equal(['error:ECONNRESET', 'close']);
  });
});

describe('sovia protocol violations from an untrusted peer', () => {
  /** An engine on one side, a raw VI driven by the test on the other. */
  function rawPeer(sendMode = 'sync') {
    const provider = new MemoryProvider({ schedule: 'manual', sendMode });
    const p = params({});
    const depth = recvDepthFor(p);
    const [viA, raw] = provider.createPair(depth, depth);
    const a = new Endpoint('A');
    a.conn = new SoviaConnection(viA, p, a.events());
    const seen = [];
    raw.setHandler({
      onRecv: (data, imm) => seen.push({ type: imm >>> 29, value: imm & 0x1fffffff, len: data.length }),
      onSendComplete: () => {},
      onBroken: (err) => seen.push({ broken: err.code }),
    });
    raw.postRecv(depth);
    const send = (type, value, payload = Buffer.alloc(0)) => raw.postSend(payload, 0, payload.length, encodeImmediate(type, value));
    return { provider, a, raw, seen, send };
  }

  const cases = [
    ['DATA before WAKEUP', (s) => s(PacketType.DATA, 0, Buffer.from('hi'))],
    ['an unknown packet type', (s) => { s(PacketType.WAKEUP, 32); s(6, 0); }],
    ['credits beyond those outstanding', (s) => { s(PacketType.WAKEUP, 32); s(PacketType.ACK, 3); }],
    ['an ACK carrying no credit', (s) => { s(PacketType.WAKEUP, 32); s(PacketType.ACK, 0); }],
    ['DATA larger than the announced chunk size', (s) => {
      const wake = Buffer.alloc(4); wake.writeUInt32LE(1000, 0);
      s(PacketType.WAKEUP, 32, wake); s(PacketType.DATA, 0, Buffer.alloc(1001));
    }],
    ['a second WAKEUP', (s) => { s(PacketType.WAKEUP, 32); s(PacketType.WAKEUP, 32); }],
    ['a WAKEUP with an empty window', (s) => s(PacketType.WAKEUP, 0)],
    ['FINACK without a FIN', (s) => { s(PacketType.WAKEUP, 32); s(PacketType.FINACK, 0); }],
    ['DATA after FIN', (s) => { s(PacketType.WAKEUP, 32); s(PacketType.FIN, 0); s(PacketType.DATA, 0, Buffer.from('x')); }],
    ['a second FIN', (s) => { s(PacketType.WAKEUP, 32); s(PacketType.FIN, 0); s(PacketType.FIN, 0); }],
    ['a payload on an ACK-type packet', (s) => { s(PacketType.WAKEUP, 32); s(PacketType.FINACK, 0, Buffer.from('junk')); }],
  ];
  for (const [name, attack] of cases) {
    it(`answers ${name} with EPROTO, RST and close`, async () => {
      const { provider, a, seen, send } = rawPeer();
      attack(send);
      await settle(provider);
      expect(a.error, a.log.join(',')).to.have.property('code', 'EPROTO');
      expect(a.log.slice(-2)).to.deep.equal(['error:EPROTO', 'close']);
      expect(a.conn.state).to.equal('CLOSED');
      expect(seen.some((p) => p.type === PacketType.RST)).to.equal(true);
      expect(seen[seen.length - 1]).to.deep.equal({ broken: 'ECONNRESET' }); // A closed its VI
    });
  }

  it('answers DATA beyond the granted window with EPROTO', async () => {
    const { provider, a, send } = rawPeer();
    a.accept = () => false; // A keeps every credit
    send(PacketType.WAKEUP, 32);
    for (let i = 0; i < 33; i++) send(PacketType.DATA, 0, Buffer.from([i]));
    await settle(provider);
    expect(a.error).to.have.property('code', 'EPROTO');
  });

  it('accepts a well-behaved raw peer (control case)', async () => {
    const { provider, a, seen, send } = rawPeer();
    send(PacketType.WAKEUP, 32);
    send(PacketType.DATA, 0, Buffer.from('hello'));
    send(PacketType.FIN, 0);
    await settle(provider);
    expect(a.error).to.equal(null);
    expect(a.received().toString()).to.equal('hello');
    expect(a.ended).to.equal(true);
    expect(seen.map((p) => p.type)).to.deep.equal([PacketType.WAKEUP, PacketType.FINACK]);
  });
});

describe('sovia backpressure', () => {
  for (const sendMode of ['sync', 'async']) {
    it(`a paused reader stops the writer, holds at most w packets, and resume delivers all (${sendMode})`, async () => {
      const { provider, a, b, pb } = connectedPair({ providerOptions: { schedule: 'manual', sendMode }, a: { window: 8, ackThreshold: 4 } });
      let accepting = false;
      b.accept = () => accepting;
      const total = 4 * 1024 * 1024;
      const data = patternBuffer(total, 9);
      // A Writable-like producer: the next 64 KB write only after the previous callback.
      let offset = 0;
      let done = false;
      const pump = () => {
        if (offset >= total) { done = true; a.conn.end(); return; }
        const piece = data.subarray(offset, offset + 65536);
        offset += piece.length;
        a.conn.write(piece, (err) => { if (!err) pump(); });
      };
      pump();
      await settle(provider);
      // stalled: the reader took one chunk (and said stop), w-1 more are held, the writer waits
      expect(done).to.equal(false);
      expect(b.chunks.length).to.equal(1);
      expect(b.conn.stats.maxQueuedReceived).to.be.at.most(pb.window);
      expect(offset).to.be.at.most(pb.window * pb.chunkSize + 2 * 65536);
      expect(a.conn.stats.maxCreditsInFlight).to.equal(pb.window);
      // resume, one chunk at a time: the reader accepts everything from now on
      accepting = true;
      b.conn.resumeReading();
      await settle(provider);
      expect(done).to.equal(true);
      expect(b.ended).to.equal(true);
      expect(b.bytes).to.equal(total);
      expect(sha256(b.received())).to.equal(sha256(data));
      expect(b.conn.stats.maxQueuedReceived).to.be.at.most(pb.window);
      expect(provider.stats.creditViolations).to.equal(0);
    });
  }

  it('after a pause, hands over the packets already queued as one chunk of at most 256 KB, credits intact', async () => {
    const { provider, a, b, pb } = connectedPair({ providerOptions: { schedule: 'manual' } });
    b.accept = () => false; // a pipe into a slow file: stop after every chunk
    await settle(provider);
    const data = patternBuffer(pb.window * pb.chunkSize * 3 + 12345, 11);
    a.write(data);
    a.conn.end();
    await settle(provider);
    // paused after the first packet; the rest of the window waits in the engine
    expect(b.chunks.map((c) => c.length)).to.deep.equal([pb.chunkSize]);
    while (!b.ended) {
      b.conn.resumeReading();
      await settle(provider);
    }
    const sizes = b.chunks.map((c) => c.length);
    // each resume takes everything queued (up to 256 KB), not one 32 KB packet
    expect(Math.max(...sizes)).to.equal(256 * 1024);
    expect(sizes.length).to.be.below(data.length / pb.chunkSize / 4);
    expect(sha256(b.received())).to.equal(sha256(data));
    expect(b.conn.stats.maxQueuedReceived).to.be.at.most(pb.window);
    expect(provider.stats.creditViolations).to.equal(0);
    // every withheld credit came back: the writer finished, and both sides close
    await settle(provider);
    expect([a.conn.state, b.conn.state]).to.deep.equal(['FIN_WAIT_2', 'CLOSE_WAIT']);
  });

  it('joins payloads that lie back to back in one block without copying, others by copying', () => {
    const { joinPayloads } = require('../dist/sovia/connection');
    const block = Buffer.allocUnsafeSlow(1000); // its own memory block, not node's shared pool
    patternBuffer(1000, 12).copy(block);
    const adjacent = joinPayloads([block.subarray(0, 300), block.subarray(300, 700), block.subarray(700, 1000)]);
    expect(adjacent.equals(block)).to.equal(true);
    expect(adjacent.buffer).to.equal(block.buffer); // a view: no copy
    const gap = joinPayloads([block.subarray(0, 300), block.subarray(304, 700)]);
    expect(gap.equals(Buffer.concat([block.subarray(0, 300), block.subarray(304, 700)]))).to.equal(true);
    expect(gap.buffer).to.not.equal(block.buffer);
    const other = patternBuffer(10, 13);
    const mixed = joinPayloads([block.subarray(0, 10), other]);
    expect(mixed.equals(Buffer.concat([block.subarray(0, 10), other]))).to.equal(true);
  });

  it('a reader that asks for more while taking a chunk is not paused, even if onData returns false', async () => {
    const { provider, a, b } = connectedPair({ providerOptions: { schedule: 'manual' } });
    // like a Readable whose push() runs _read synchronously and then reports a full buffer
    b.accept = () => { b.conn.resumeReading(); return false; };
    const data = patternBuffer(300000, 10);
    a.write(data);
    a.conn.end();
    await settle(provider);
    expect(b.ended).to.equal(true);
    expect(sha256(b.received())).to.equal(sha256(data));
  });

  it('small writes behind a paused reader hold back their callbacks (bounded engine memory)', async () => {
    const { provider, a, b } = connectedPair({ providerOptions: { schedule: 'manual' }, a: { window: 2, ackThreshold: 1 } });
    b.accept = () => false;
    await settle(provider);
    const pieces = [];
    for (let i = 0; i < 20000; i++) pieces.push(patternBuffer(100, i));
    const progress = { completed: 0 };
    const finished = produce(a, pieces, progress);
    await settle(provider);
    // the window (2 packets of 32 KB) is used up, and at most one chunk of copies waits behind it
    expect(a.conn.pendingBytes).to.be.above(0).and.at.most(32768 + 100);
    expect(progress.completed * 100).to.be.at.most(3 * 32768 + 100);
    expect(a.conn.stats.sendBuffersAllocated).to.be.at.most(4);
    b.accept = () => true;
    b.conn.resumeReading();
    await settle(provider);
    expect(await finished).to.equal(null);
    a.conn.end();
    await settle(provider);
    expect(b.ended).to.equal(true);
    expect(b.receivedDigest()).to.equal(a.sentHash.digest('hex'));
  });
});

describe('sovia small-write combining', () => {
  it('combines many 64 B writes made in one tick into few DATA packets', async () => {
    const { a, b } = connectedPair({ a: { preset: 'COMBINE' } });
    const pieces = [];
    for (let i = 0; i < 2000; i++) pieces.push(patternBuffer(64, i));
    for (const p of pieces) a.write(p);
    a.conn.end();
    await b.until(() => b.ended, 'end');
    expect(sha256(b.received())).to.equal(sha256(Buffer.concat(pieces)));
    // 128000 bytes: four full 32 KB buffers
    expect(a.conn.stats.dataPacketsSent).to.equal(4);
    expect(a.conn.stats.combinedFlushes).to.equal(4);
  });

  it('setNoDelay(true) sends one packet per write', async () => {
    const { a, b } = connectedPair({ a: { preset: 'COMBINE' } });
    a.conn.setNoDelay(true);
    const pieces = [];
    for (let i = 0; i < 100; i++) pieces.push(patternBuffer(64, i));
    for (const p of pieces) a.write(p);
    a.conn.end();
    await b.until(() => b.ended, 'end');
    expect(sha256(b.received())).to.equal(sha256(Buffer.concat(pieces)));
    expect(a.conn.stats.dataPacketsSent).to.equal(100);
    expect(a.conn.stats.combinedFlushes).to.equal(0);
  });

  it('setNoDelay(true) flushes what is already combined', async () => {
    const { provider, a } = connectedPair({ providerOptions: { schedule: 'manual' }, a: { preset: 'COMBINE' } });
    await settle(provider);
    a.conn.write(Buffer.from('abc'), () => {});
    a.conn.write(Buffer.from('def'), () => {});
    expect(a.conn.stats.dataPacketsSent).to.equal(0);
    a.conn.setNoDelay(true);
    expect(a.conn.stats.dataPacketsSent).to.equal(1);
    expect(a.conn.pendingBytes).to.equal(0);
  });

  it('flushes at the end of the tick, with no timer', async () => {
    const { provider, a, b } = connectedPair({ providerOptions: { schedule: 'manual' }, a: { preset: 'COMBINE' } });
    await settle(provider);
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    for (let i = 0; i < 10; i++) a.conn.write(patternBuffer(64, i), () => {});
    expect(a.conn.stats.dataPacketsSent).to.equal(0);
    expect(a.conn.pendingBytes).to.equal(640);
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).to.equal(timersBefore);
    await tick();
    expect(a.conn.stats.dataPacketsSent).to.equal(1);
    expect(a.conn.pendingBytes).to.equal(0);
    await settle(provider);
    expect(b.bytes).to.equal(640);
  });

  it('a large write flushes the combine buffer first and keeps byte order', async () => {
    const { a, b } = connectedPair({ a: { preset: 'COMBINE' } });
    const parts = [patternBuffer(10, 1), patternBuffer(20, 2), patternBuffer(100000, 3), patternBuffer(30, 4), patternBuffer(2048, 5), patternBuffer(2049, 6)];
    for (const p of parts) a.write(p);
    a.conn.end();
    await b.until(() => b.ended, 'end');
    expect(sha256(b.received())).to.equal(sha256(Buffer.concat(parts)));
    // [10+20] [32768 x3 + 1696] [30+2048] [2049]
    expect(a.conn.stats.dataPacketsSent).to.equal(1 + 4 + 1 + 1);
  });

  it('keeps combining while the window is closed and sends it all when credits return', async () => {
    const { provider, a, b } = connectedPair({ providerOptions: { schedule: 'manual' }, a: { window: 1, ackThreshold: 1, combine: true } });
    await settle(provider);
    a.conn.write(patternBuffer(100, 0), () => {}); // takes the only credit at the end of the tick
    await tick();
    for (let i = 1; i <= 50; i++) a.conn.write(patternBuffer(100, i), () => {});
    await tick();
    expect(a.conn.stats.dataPacketsSent).to.equal(1);
    await settle(provider);
    expect(a.conn.stats.dataPacketsSent).to.equal(2);
    expect(b.bytes).to.equal(5100);
  });
});

describe('sovia chunking and buffer ownership', () => {
  it('splits writes larger than chunkSize', async () => {
    const { a, b } = connectedPair({ a: { chunkSize: 1000, copyThreshold: 100 } });
    const data = patternBuffer(10 * 1000 + 3, 11);
    a.write(data);
    a.conn.end();
    await b.until(() => b.ended, 'end');
    expect(a.conn.stats.dataPacketsSent).to.equal(11);
    expect(Math.max(...b.chunks.map((c) => c.length))).to.equal(1000);
    expect(sha256(b.received())).to.equal(sha256(data));
  });

  it('calls back an asynchronous large write only after its send completed; the buffer is free then', async () => {
    const { provider, a, b } = connectedPair({ providerOptions: { schedule: 'manual', sendMode: 'async' } });
    await settle(provider);
    const data = patternBuffer(100000, 12);
    const original = sha256(data);
    let called = false;
    a.conn.write(data, () => {
      called = true;
      data.fill(0); // the caller reuses its buffer: must not reach the peer
    });
    await tick();
    expect(called).to.equal(false);
    await settle(provider);
    expect(called).to.equal(true);
    expect(sha256(b.received())).to.equal(original);
  });

  it('reuses registered copy buffers when sends complete asynchronously', async () => {
    const { a, b } = connectedPair({ providerOptions: { sendMode: 'async' }, a: { combine: false } });
    const pieces = [];
    for (let i = 0; i < 3000; i++) pieces.push(patternBuffer(1 + (i % 2000), i));
    expect(await produce(a, pieces)).to.equal(null);
    a.conn.end();
    await b.until(() => b.ended, 'end');
    expect(sha256(b.received())).to.equal(sha256(Buffer.concat(pieces)));
    expect(a.conn.stats.sendBuffersAllocated).to.be.at.most(40);
  });

  it('writev sends every chunk in order and calls back once', async () => {
    const { a, b } = connectedPair();
    const parts = [patternBuffer(5, 1), patternBuffer(50000, 2), patternBuffer(7, 3)];
    let calls = 0;
    await new Promise((resolve) => a.conn.writev(parts, (err) => { calls++; expect(err).to.equal(null); resolve(); }));
    a.conn.end();
    await b.until(() => b.ended, 'end');
    expect(calls).to.equal(1);
    expect(sha256(b.received())).to.equal(sha256(Buffer.concat(parts)));
  });
});

describe('sovia credit invariant for every preset', () => {
  for (const preset of PRESET_NAMES) {
    for (const sendMode of ['sync', 'async', 'random']) {
      it(`${preset}, ${sendMode} sends: no credit violation, at most w in flight, both ways`, async () => {
        const { provider, a, b, pa } = connectedPair({
          providerOptions: { sendMode, random: prng.random(7), schedule: { kind: 'random', maxBatch: 6, maxDelayMs: 0 } },
          a: { preset },
        });
        const sizes = [1, 64, 2048, 2049, 40000, 100, 32768, 70000, 5, 0, 3000];
        const sendAll = async (ep, seed) => {
          for (let round = 0; round < 6; round++) {
            const writes = sizes.map((n, i) => ep.write(patternBuffer(n, seed + round * 100 + i)));
            await Promise.all(writes);
          }
          await ep.end();
        };
        await Promise.all([sendAll(a, 1), sendAll(b, 5000)]);
        await a.until(() => a.closed, 'A closed');
        await b.until(() => b.closed, 'B closed');
        expect(a.receivedDigest()).to.equal(b.sentHash.digest('hex'));
        expect(b.receivedDigest()).to.equal(a.sentHash.digest('hex'));
        expect(provider.stats.creditViolations).to.equal(0);
        expect(provider.stats.maxDescriptorsInUse).to.be.at.most(recvDepthFor(pa));
        expect(a.conn.stats.maxCreditsInFlight).to.be.at.most(pa.window);
        expect(b.conn.stats.maxCreditsInFlight).to.be.at.most(pa.window);
        expect(a.error).to.equal(null);
        expect(b.error).to.equal(null);
        if (preset === 'BASE' || preset === 'FLOWCNTL') {
          // t = 1: every DATA packet is acknowledged on its own or by piggybacking
          expect(a.conn.stats.acksSent + a.conn.stats.piggybackedAcks).to.be.at.least(1);
        }
      });
    }
  }

  it('holds with different parameters on each side (ACK slots announced in WAKEUP)', async () => {
    // B may ACK A's DATA one by one (t=1, w=34) while A reserved only ceil(4/4)=1 ACK slot:
    // B must raise its effective threshold to ceil(34/1) so its ACKs fit A's queue.
    for (const sendMode of ['sync', 'async']) {
      const { provider, a, b, pa, pb } = connectedPair({
        providerOptions: { sendMode, schedule: { kind: 'random', maxBatch: 4, maxDelayMs: 0 }, random: prng.random(5) },
        a: { window: 4, ackThreshold: 4, combine: false, chunkSize: 512, copyThreshold: 0 },
        b: { window: 34, ackThreshold: 1, combine: false },
      });
      const up = [];
      const down = [];
      for (let i = 0; i < 40; i++) { up.push(patternBuffer(600 + i, i)); down.push(patternBuffer(3000 + i, 100 + i)); }
      await Promise.all([
        produce(a, up).then(() => a.end()),
        produce(b, down).then(() => b.end()),
      ]);
      await a.until(() => a.closed, 'A closed');
      await b.until(() => b.closed, 'B closed');
      expect(provider.stats.creditViolations).to.equal(0);
      expect(b.receivedDigest()).to.equal(a.sentHash.digest('hex'));
      expect(a.receivedDigest()).to.equal(b.sentHash.digest('hex'));
      expect(a.conn.stats.maxCreditsInFlight).to.be.at.most(pb.window);
      expect(b.conn.stats.maxCreditsInFlight).to.be.at.most(pa.window);
    }
  });

  it('delayed ACKs need far fewer standalone ACKs than t = 1', async () => {
    const run = async (preset) => {
      const { a, b } = connectedPair({ a: { preset } });
      a.write(patternBuffer(2 * 1024 * 1024, 1));
      a.conn.end();
      await b.until(() => b.ended, 'end');
      b.conn.end();
      await a.until(() => a.closed, 'closed');
      return b.conn.stats.acksSent;
    };
    const flow = await run('FLOWCNTL');
    const dacks = await run('DACKS');
    expect(flow).to.be.at.least(60); // 64 DATA packets, one ACK each (the last may ride on FIN)
    expect(dacks).to.be.at.most(4);
  });
});
