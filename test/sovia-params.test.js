'use strict';
// SOVIA immediate encoding and parameter resolution (defaults, presets, environment, validation).

const { expect } = require('chai');
const sovia = require('../dist/sovia');

const {
  PacketType, MAX_VALUE, encodeImmediate, decodeImmediate, immediateType, immediateValue, packetTypeName,
  DEFAULT_PARAMS, PRESETS, resolveParams, recvDepthFor, validateParams,
} = sovia;

describe('sovia packet immediates', () => {
  it('puts the type in the top 3 bits and the value in the low 29', () => {
    expect(encodeImmediate(PacketType.DATA, 0)).to.equal(0);
    expect(encodeImmediate(PacketType.ACK, 16)).to.equal((1 << 29) + 16);
    expect(encodeImmediate(PacketType.RST, 0)).to.equal(5 * 2 ** 29);
    expect(encodeImmediate(PacketType.WAKEUP, MAX_VALUE)).to.equal(2 * 2 ** 29 + MAX_VALUE);
    expect(MAX_VALUE).to.equal(2 ** 29 - 1);
  });

  it('round-trips every type with boundary values as unsigned 32-bit numbers', () => {
    for (const type of [0, 1, 2, 3, 4, 5, 6, 7]) {
      for (const value of [0, 1, 31, 65535, MAX_VALUE]) {
        const imm = encodeImmediate(type, value);
        expect(imm).to.be.at.least(0).and.at.most(0xffffffff);
        expect(decodeImmediate(imm)).to.deep.equal({ type, value });
        expect(immediateType(imm)).to.equal(type);
        expect(immediateValue(imm)).to.equal(value);
      }
    }
  });

  it('decodes values arriving as signed 32-bit integers', () => {
    const imm = encodeImmediate(PacketType.RST, 7) | 0; // negative as int32
    expect(imm).to.be.below(0);
    expect(decodeImmediate(imm)).to.deep.equal({ type: PacketType.RST, value: 7 });
  });

  it('rejects values that do not fit', () => {
    expect(() => encodeImmediate(PacketType.DATA, MAX_VALUE + 1)).to.throw(RangeError).with.property('code', 'ERR_OUT_OF_RANGE');
    expect(() => encodeImmediate(PacketType.DATA, -1)).to.throw(RangeError);
    expect(() => encodeImmediate(8, 0)).to.throw(RangeError);
    expect(() => encodeImmediate(PacketType.ACK, 1.5)).to.throw(RangeError);
  });

  it('names the packet types of figure 11 plus RST', () => {
    expect([0, 1, 2, 3, 4, 5].map(packetTypeName)).to.deep.equal(['DATA', 'ACK', 'WAKEUP', 'FIN', 'FINACK', 'RST']);
  });
});

describe('sovia params', () => {
  it('has the documented defaults', () => {
    expect(resolveParams({}, {})).to.deep.equal({
      window: 32, ackThreshold: 16, combine: true, copyThreshold: 2048, chunkSize: 32768, pollMode: 'adaptive', spinMicros: 50,
    });
    expect(resolveParams(undefined, {})).to.deep.equal({ ...DEFAULT_PARAMS });
  });

  it('implements the paper presets (SOVIA paper table 4)', () => {
    const pick = (p) => [p.window, p.ackThreshold, p.combine];
    expect(pick(resolveParams({ preset: 'BASE' }, {}))).to.deep.equal([1, 1, false]);
    expect(pick(resolveParams({ preset: 'FLOWCNTL' }, {}))).to.deep.equal([32, 1, false]);
    expect(pick(resolveParams({ preset: 'DACKS' }, {}))).to.deep.equal([32, 16, false]);
    expect(pick(resolveParams({ preset: 'COMBINE' }, {}))).to.deep.equal([32, 16, true]);
    expect(pick(resolveParams({}, { VIA_NET_PRESET: 'flowcntl' }))).to.deep.equal([32, 1, false]);
    expect(Object.keys(PRESETS)).to.deep.equal(['BASE', 'FLOWCNTL', 'DACKS', 'COMBINE']);
  });

  it('reads every VIA_NET_* environment variable', () => {
    const p = resolveParams({}, {
      VIA_NET_WINDOW: '64', VIA_NET_ACK_THRESHOLD: '8', VIA_NET_COMBINE: '0', VIA_NET_COPY_THRESHOLD: '512',
      VIA_NET_CHUNK_SIZE: '16384', VIA_NET_POLL: 'busy', VIA_NET_SPIN_US: '0',
    });
    expect(p).to.deep.equal({ window: 64, ackThreshold: 8, combine: false, copyThreshold: 512, chunkSize: 16384, pollMode: 'busy', spinMicros: 0 });
  });

  it('orders precedence defaults < preset < environment < explicit options', () => {
    const env = { VIA_NET_PRESET: 'BASE', VIA_NET_WINDOW: '8' };
    // preset over defaults, env over preset
    let p = resolveParams({}, env);
    expect([p.window, p.ackThreshold, p.combine]).to.deep.equal([8, 1, false]);
    // explicit options over env
    p = resolveParams({ window: 4, combine: true }, env);
    expect([p.window, p.ackThreshold, p.combine]).to.deep.equal([4, 1, true]);
    // an explicit preset replaces the env preset, env fields still apply on top of it
    // (DACKS' t=16 does not fit w=8 and nobody asked for it: it follows the window down)
    p = resolveParams({ preset: 'DACKS' }, env);
    expect([p.window, p.ackThreshold, p.combine]).to.deep.equal([8, 4, false]);
    p = resolveParams({ preset: 'DACKS' }, { VIA_NET_WINDOW: '64' });
    expect([p.window, p.ackThreshold, p.combine]).to.deep.equal([64, 16, false]);
    // undefined options are "not given"
    p = resolveParams({ window: undefined }, env);
    expect(p.window).to.equal(8);
  });

  it('lets a lone window shrink the default threshold instead of failing', () => {
    expect(resolveParams({ window: 8 }, {}).ackThreshold).to.equal(4);
    expect(resolveParams({ window: 1 }, {}).ackThreshold).to.equal(1);
    // but an explicit inconsistent pair is an error
    expect(() => resolveParams({ window: 8, ackThreshold: 9 }, {})).to.throw(RangeError).with.property('code', 'ERR_OUT_OF_RANGE');
  });

  it('fits the chunk size to the provider unless it was asked for explicitly', () => {
    const p = resolveParams({}, {}, 8192);
    expect(p.chunkSize).to.equal(8192);
    expect(p.copyThreshold).to.equal(2048);
    expect(() => resolveParams({ chunkSize: 65536 }, {}, 32768)).to.throw(RangeError).with.property('code', 'ERR_OUT_OF_RANGE');
    expect(() => resolveParams({}, { VIA_NET_CHUNK_SIZE: '65536' }, 32768)).to.throw(RangeError);
  });

  it('rejects bad values with node-style codes', () => {
    const code = (fn) => {
      try { fn(); } catch (e) { return e.code; }
      return 'no error';
    };
    expect(code(() => resolveParams({ window: 0 }, {}))).to.equal('ERR_OUT_OF_RANGE');
    expect(code(() => resolveParams({ window: 2.5 }, {}))).to.equal('ERR_OUT_OF_RANGE');
    expect(code(() => resolveParams({ window: '32' }, {}))).to.equal('ERR_INVALID_ARG_TYPE');
    expect(code(() => resolveParams({ window: 1e9 }, {}))).to.equal('ERR_OUT_OF_RANGE');
    expect(code(() => resolveParams({ ackThreshold: 0 }, {}))).to.equal('ERR_OUT_OF_RANGE');
    expect(code(() => resolveParams({ copyThreshold: 40000 }, {}))).to.equal('ERR_OUT_OF_RANGE');
    expect(code(() => resolveParams({ chunkSize: 0 }, {}))).to.equal('ERR_OUT_OF_RANGE');
    expect(code(() => resolveParams({ combine: 1 }, {}))).to.equal('ERR_INVALID_ARG_TYPE');
    expect(code(() => resolveParams({ pollMode: 'spin' }, {}))).to.equal('ERR_INVALID_ARG_VALUE');
    expect(code(() => resolveParams({ spinMicros: -1 }, {}))).to.equal('ERR_OUT_OF_RANGE');
    expect(code(() => resolveParams({ preset: 'FAST' }, {}))).to.equal('ERR_INVALID_ARG_VALUE');
    expect(code(() => resolveParams(null, {}))).to.equal('ERR_INVALID_ARG_TYPE');
    expect(code(() => resolveParams({}, { VIA_NET_WINDOW: 'lots' }))).to.equal('ERR_INVALID_ARG_VALUE');
    expect(code(() => resolveParams({}, { VIA_NET_WINDOW: '-3' }))).to.equal('ERR_INVALID_ARG_VALUE');
    expect(code(() => resolveParams({}, { VIA_NET_COMBINE: 'maybe' }))).to.equal('ERR_INVALID_ARG_VALUE');
    expect(code(() => resolveParams({}, { VIA_NET_POLL: 'sometimes' }))).to.equal('ERR_INVALID_ARG_VALUE');
    expect(code(() => resolveParams({}, { VIA_NET_PRESET: 'TURBO' }))).to.equal('ERR_INVALID_ARG_VALUE');
    expect(code(() => validateParams({ ...DEFAULT_PARAMS, ackThreshold: 33 }))).to.equal('ERR_OUT_OF_RANGE');
  });

  it('ignores empty environment variables', () => {
    expect(resolveParams({}, { VIA_NET_WINDOW: '', VIA_NET_COMBINE: ' ', VIA_NET_POLL: '' })).to.deep.equal({ ...DEFAULT_PARAMS });
  });

  it('sizes the receive queue as w + ceil(w/t) + 4 control slots', () => {
    expect(recvDepthFor({ window: 32, ackThreshold: 16 })).to.equal(32 + 2 + 4);
    expect(recvDepthFor({ window: 1, ackThreshold: 1 })).to.equal(1 + 1 + 4);
    expect(recvDepthFor({ window: 32, ackThreshold: 1 })).to.equal(32 + 32 + 4);
    expect(recvDepthFor({ window: 33, ackThreshold: 16 })).to.equal(33 + 3 + 4);
  });
});
