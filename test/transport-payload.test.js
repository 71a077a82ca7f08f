'use strict';
// The connect and accept payloads two via-net processes exchange (lib/transport/payload.ts): what
// one side encodes the other decodes to the same thing, and anything else from the peer process
// is refused with its reason, never half-read.
const { expect } = require('chai');
const {
  encodeConnectPayload, decodeConnectPayload, encodeAcceptPayload, decodeAcceptPayload,
} = require('../dist/transport/payload');

const base = {
  targets: [{ address: '127.0.0.1', family: 'IPv4' }, { address: '::1', family: 'IPv6' }],
  port: 8080,
  localAddress: null,
  localPort: 40000,
  forced: false,
  sovia: { window: 32, ackThreshold: 16 },
  wakeup: null,
};
const wakeup = { window: 32, chunkSize: 32768, ackSlots: 2 };

describe('transport payloads', () => {
  it('a connect payload decodes to what was encoded', () => {
    for (const p of [
      base,
      { ...base, targets: [], port: 0, sovia: null, forced: true },
      { ...base, localAddress: '::ffff:127.0.0.2', localPort: 65535 },
      { ...base, targets: [{ address: 'fe80::1%lo', family: 'IPv6' }] },
      { ...base, wakeup },
      { ...base, targets: [], sovia: null, localAddress: '127.0.0.1', wakeup: { window: 1, chunkSize: 1, ackSlots: 1 } },
    ]) {
      expect(decodeConnectPayload(encodeConnectPayload(p))).to.deep.equal(p);
    }
  });

  it('refuses malformed connect payloads with a reason', () => {
    const good = encodeConnectPayload(base);
    const variants = {
      empty: Buffer.alloc(0),
      json: Buffer.from(JSON.stringify({ v: 1, ...base })),
      truncated: good.subarray(0, good.length - 1),
      trailing: Buffer.concat([good, Buffer.from([0])]),
      flags: Buffer.from(good).fill(0x80, 1, 2),
      tooManyTargets: Buffer.from(good).fill(17, 6, 7),
      notAnAddress: encodeConnectPayload({ ...base, targets: [{ address: 'localhost', family: 'IPv4' }] }),
      emptyAddress: encodeConnectPayload({ ...base, targets: [{ address: `fe80::1%${'x'.repeat(300)}`, family: 'IPv6' }] }),
      window: encodeConnectPayload({ ...base, sovia: { window: 65536, ackThreshold: 16 } }),
      threshold: encodeConnectPayload({ ...base, sovia: { window: 8, ackThreshold: 16 } }),
      truncatedWakeup: encodeConnectPayload({ ...base, targets: [], wakeup }).subarray(0, 7 + 8 + 11),
      emptyWindow: encodeConnectPayload({ ...base, wakeup: { ...wakeup, window: 0 } }),
      zeroChunk: encodeConnectPayload({ ...base, wakeup: { ...wakeup, chunkSize: 0 } }),
      hugeChunk: encodeConnectPayload({ ...base, wakeup: { ...wakeup, chunkSize: 2 ** 31 } }),
      noAckSlots: encodeConnectPayload({ ...base, wakeup: { ...wakeup, ackSlots: 0 } }),
    };
    for (const [name, buf] of Object.entries(variants)) {
      const out = decodeConnectPayload(buf);
      expect(out, name).to.be.a('string').and.not.equal('');
    }
  });

  it('an accept payload carries the target index and the server\'s WAKEUP, and nothing else is one', () => {
    for (const target of [-1, 0, 15]) {
      for (const w of [null, wakeup]) {
        const p = { target, wakeup: w };
        expect(decodeAcceptPayload(encodeAcceptPayload(p))).to.deep.equal(p);
      }
    }
    const good = encodeAcceptPayload({ target: 0, wakeup });
    expect(good.length).to.equal(15);
    expect(decodeAcceptPayload(undefined)).to.equal(null);
    expect(decodeAcceptPayload(Buffer.from('{"v":1,"target":0}'))).to.equal(null);
    expect(decodeAcceptPayload(Buffer.from([3, 0]))).to.equal(null);
    expect(decodeAcceptPayload(good.subarray(0, 14)), 'truncated').to.equal(null);
    expect(decodeAcceptPayload(Buffer.concat([good, Buffer.from([0])])), 'trailing').to.equal(null);
    expect(decodeAcceptPayload(encodeAcceptPayload({ target: 0, wakeup: { ...wakeup, window: 0 } })), 'empty window').to.equal(null);
    expect(decodeAcceptPayload(Buffer.concat([Buffer.from([3]), good.subarray(1)])), 'old format, new length').to.equal(null);
  });
});
