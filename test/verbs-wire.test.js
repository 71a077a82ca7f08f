'use strict';
// The verbs provider's pure conversions (native/verbs/wire.cc, through the `testing` object of the
// addon's test build: test/support/verbs-testing-addon.js): work requests, work completions,
// rdma_cm private data, the handshake, and the immediate, which must be lib/sovia/packet.ts's
// encoding on the wire. No RDMA device is needed.
const { expect } = require('chai');
const fc = require('fast-check');
const { loadVerbsTesting } = require('./support/verbs-testing-addon');
const { breakError } = require('../dist/providers/verbs');
const packet = require('../dist/sovia/packet');

describe('verbs wire conversions (no device needed)', function () {
  this.timeout(20000);
  let t;

  before(function () {
    const { testing, error } = loadVerbsTesting();
    if (!testing) {
      console.log(`      skipped: the verbs test addon is not built (${error})`);
      this.skip();
    }
    t = testing;
  });

  const beImm = (imm) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(imm >>> 0);
    return b;
  };
  const recvWc = (over = {}) => ({
    status: t.wcStatus.SUCCESS, opcode: 'RECV', withImm: true, byteLen: 100, immWire: beImm(0), viId: 7, isSend: false, slot: 0, ...over,
  });

  describe('send work requests', () => {
    it('builds one signaled SEND_WITH_IMM whose id carries the VI, the send bit and the slot', () => {
      const wr = t.sendWr(7, 5, 0x1000, 300, 0xabc, 42, false);
      expect(wr.opcode).to.equal('SEND_WITH_IMM');
      expect(wr.signaled).to.equal(true);
      expect(wr.inline).to.equal(false);
      expect(wr.numSge).to.equal(1);
      expect(wr.sgeAddr).to.equal(0x1000);
      expect(wr.sgeLength).to.equal(300);
      expect(wr.lkey).to.equal(0xabc);
      expect(wr.wrId).to.equal((7n << 32n) | 0x80000000n | 5n);
    });

    it('sends a zero-length packet with no scatter/gather element (the immediate alone)', () => {
      const wr = t.sendWr(1, 0, 0x2000, 0, 1, packet.encodeImmediate(packet.PacketType.ACK, 16), true);
      expect(wr.numSge).to.equal(0);
      expect(wr.inline).to.equal(true);
    });
  });

  describe('the immediate is lib/sovia/packet.ts encoding, in network byte order', () => {
    it('every (type, value) leaves the NIC as the big-endian encodeImmediate and comes back unchanged', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: packet.MAX_VALUE }), (type, value) => {
          const imm = packet.encodeImmediate(type, value);
          const wr = t.sendWr(3, 1, 0x1000, 8, 1, imm, false);
          expect(wr.immWire.equals(beImm(imm))).to.equal(true);
          // The receiving NIC hands the same four bytes to the peer's completion.
          const c = t.classify(recvWc({ immWire: wr.immWire, viId: 3, slot: 2 }), 2, 4, 1024);
          expect(c.kind).to.equal('recv');
          expect(c.imm).to.equal(imm);
          expect(packet.decodeImmediate(c.imm)).to.deep.equal({ type, value });
        }),
        { numRuns: 300 },
      );
    });

    it('the handshake immediate is type 7, which no SOVIA packet uses', () => {
      expect(t.handshakeImm).to.equal(0xffffffff);
      expect(packet.isKnownType(packet.immediateType(t.handshakeImm))).to.equal(false);
    });
  });

  describe('work completions are validated before a slot is touched', () => {
    it('accepts the expected receive and reports its length, slot and VI', () => {
      const c = t.classify(recvWc({ byteLen: 1024, slot: 3 }), 3, 8, 1024);
      expect(c).to.include({ kind: 'recv', viId: 7, slot: 3, length: 1024, reason: 0 });
    });

    it('rejects receives out of posting order, beyond the ring, too long, or without an immediate', () => {
      const bad = [
        [recvWc({ slot: 4 }), 3, 8, 1024],                 // not the next slot
        [recvWc({ slot: 9 }), 9, 8, 1024],                 // beyond the ring
        [recvWc({ byteLen: 1025, slot: 3 }), 3, 8, 1024],  // longer than a slot
        [recvWc({ withImm: false, slot: 3 }), 3, 8, 1024], // no immediate: not a SOVIA packet
        [recvWc({ opcode: 'RDMA_WRITE', slot: 3 }), 3, 8, 1024],
      ];
      for (const [wc, expected, slots, size] of bad) {
        const c = t.classify(wc, expected, slots, size);
        expect(c.kind, JSON.stringify(wc)).to.equal('error');
        expect(breakError(c.reason).code).to.equal('EBADMSG');
      }
    });

    it('maps receiver-not-ready to the pre-posting violation, and a flush to a reset', () => {
      const rnr = t.classify({ ...recvWc(), status: t.wcStatus.RNR_RETRY_EXC_ERR, isSend: true }, 0, 8, 1024);
      expect(rnr.kind).to.equal('error');
      expect(breakError(rnr.reason).code).to.equal('EPROTO');
      const flush = t.classify({ ...recvWc(), status: t.wcStatus.WR_FLUSH_ERR }, 0, 8, 1024);
      expect(breakError(flush.reason).code).to.equal('ECONNRESET');
      const retry = t.classify({ ...recvWc(), status: t.wcStatus.RETRY_EXC_ERR }, 0, 8, 1024);
      expect(breakError(retry.reason).code).to.equal('ECONNRESET');
    });

    it('accepts a send completion only with the SEND opcode', () => {
      expect(t.classify(recvWc({ opcode: 'SEND', isSend: true, slot: 9 }), 0, 8, 1024).kind).to.equal('send');
      expect(t.classify(recvWc({ opcode: 'RECV', isSend: true }), 0, 8, 1024).kind).to.equal('error');
    });

    it('the handshake receive is the one slot outside the ring, and only when expected', () => {
      const hs = 0x7fffffff;
      const wc = recvWc({ slot: hs, byteLen: 1028, immWire: beImm(t.handshakeImm) });
      expect(t.classify(wc, hs, 0, 1088).kind).to.equal('recv');
      expect(t.classify(wc, 0, 8, 1088).kind).to.equal('error');
      expect(t.classify({ ...wc, byteLen: 1089 }, hs, 0, 1088).kind).to.equal('error');
    });

    it('never accepts anything but the expected slot, for arbitrary completions', () => {
      fc.assert(
        fc.property(
          fc.record({ slot: fc.integer({ min: 0, max: 0x7fffffff }), byteLen: fc.nat(), withImm: fc.boolean() }),
          fc.integer({ min: 0, max: 64 }), fc.integer({ min: 1, max: 64 }),
          (w, expected, slots) => {
            const c = t.classify(recvWc(w), expected, slots, 4096);
            if (c.kind === 'recv') {
              expect(c.slot).to.equal(expected);
              expect(c.slot).to.be.below(slots);
              expect(c.length).to.be.at.most(4096);
            }
          },
        ),
        { numRuns: 500 },
      );
    });
  });

  it('the test binding throws coded errors on misuse instead of aborting', () => {
    expect(() => t.sendWr('x')).to.throw().with.property('code', 'ERR_INVALID_ARG_TYPE');
    expect(() => t.classify({ status: 0 }, 0, 1, 64)).to.throw().with.property('code', 'ERR_INVALID_ARG_TYPE');
    expect(() => t.decodeHeader(42)).to.throw().with.property('code', 'ERR_INVALID_ARG_TYPE');
  });

  describe('rdma_cm private data and the handshake message', () => {
    it('round-trips a layout header, padded or not', () => {
      const h = t.encodeHeader(34, 32768);
      expect(h.length).to.equal(16);
      expect(t.decodeHeader(h)).to.deep.equal({ recvDepth: 34, slotSize: 32768 });
      expect(t.decodeHeader(Buffer.concat([h, Buffer.alloc(40)]))).to.deep.equal({ recvDepth: 34, slotSize: 32768 });
    });

    it('rejects short data, a wrong magic or version, and invalid layouts', () => {
      const h = t.encodeHeader(34, 32768);
      expect(t.decodeHeader(h.subarray(0, 15))).to.equal(null);
      const magic = Buffer.from(h);
      magic[0] ^= 1;
      expect(t.decodeHeader(magic)).to.equal(null);
      const version = Buffer.from(h);
      version[5] = 9;
      expect(t.decodeHeader(version)).to.equal(null);
      expect(t.decodeHeader(t.encodeHeader(0, 32768))).to.equal(null);
      expect(t.decodeHeader(t.encodeHeader(5000, 32768))).to.equal(null);
      expect(t.decodeHeader(t.encodeHeader(8, 100))).to.equal(null); // not a multiple of 64
      expect(t.decodeHeader(t.encodeHeader(8, 2 << 20))).to.equal(null);
    });

    it('decodes arbitrary bytes only into valid layouts', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
          const h = t.decodeHeader(Buffer.from(bytes));
          if (h) {
            expect(h.recvDepth).to.be.within(1, 4096);
            expect(h.slotSize % 64).to.equal(0);
          }
        }),
        { numRuns: 500 },
      );
    });

    it('decodes a handshake status and payload, and refuses oversize or malformed ones', () => {
      const payload = Buffer.from('{"v":1}');
      const ok = t.decodeHandshake(Buffer.concat([Buffer.from([0, 0, 0, 0]), payload]));
      expect(ok.status).to.equal(0);
      expect(ok.payload.equals(payload)).to.equal(true);
      expect(t.decodeHandshake(Buffer.from([0, 0, 0, 111])).status).to.equal(111);
      expect(t.decodeHandshake(Buffer.from([0, 1, 0, 0]))).to.equal(null); // not an errno
      expect(t.decodeHandshake(Buffer.alloc(3))).to.equal(null);
      expect(t.decodeHandshake(Buffer.alloc(4 + 1025))).to.equal(null);
      expect(t.decodeHandshake(Buffer.alloc(4 + 1024)).payload.length).to.equal(1024);
    });
  });
});
