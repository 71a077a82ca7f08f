'use strict';
/** The benchmark's pure parts: statistics, model fit, size lists, options, planning, SVG, schema check. */
const { expect } = require('chai');
const { median, fitThroughputModel, modelBandwidth } = require('../benchmarks/lib/stats');
const { netpipeSizes, quickSizes, parseSizes, formatSize } = require('../benchmarks/lib/sizes');
const { parseArgs } = require('../benchmarks/lib/args');
const { planCounts } = require('../benchmarks/lib/runner');
const { logLogChart } = require('../benchmarks/lib/svg-plot');
const { parseXml, findAll } = require('../benchmarks/lib/xml-wellformed');
const { validate } = require('../benchmarks/lib/json-schema-lite');
const { keyFigures } = require('../benchmarks/lib/report');

describe('bench: statistics', () => {
  it('takes the median of odd and even counts and ignores non-finite values', () => {
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(median([5, NaN, Infinity, 1, 3])).to.equal(3);
    expect(median([])).to.equal(null);
  });

  it('recovers alpha and beta of BW(L) = L/(alpha L + beta) from exact points', () => {
    const alpha = 0.4e-9; // s/byte: 2.5 GB/s asymptote
    const beta = 3e-6; // s/message
    const points = netpipeSizes(1 << 22).map((size) => ({ size, bytesPerSec: size / (alpha * size + beta) }));
    const fit = fitThroughputModel(points);
    expect(fit.alphaNsPerByte).to.be.closeTo(0.4, 1e-9);
    expect(fit.betaUsPerMessage).to.be.closeTo(3, 1e-9);
    expect(fit.rmsRelativeError).to.be.below(1e-9);
    expect(modelBandwidth(fit, 65536)).to.be.closeTo(65536 / (alpha * 65536 + beta), 1);
  });

  it('fits by relative error, so the plateau is not sacrificed to the 1-byte points', () => {
    const alpha = 0.5e-9; const beta = 2e-6;
    // 20 % noise, alternating sign: an unweighted fit on 1/BW would let the small sizes decide alpha.
    const points = [1, 16, 256, 4096, 65536, 1 << 20, 1 << 23].map((size, i) => ({
      size, bytesPerSec: (size / (alpha * size + beta)) * (i % 2 ? 1.2 : 0.8),
    }));
    const fit = fitThroughputModel(points);
    expect(1 / fit.alphaNsPerByte).to.be.within(1.5, 2.6); // GB/s; true 2
    expect(fit.rmsRelativeError).to.be.within(0.1, 0.3);
  });

  it('declines to fit fewer than two usable points', () => {
    expect(fitThroughputModel([{ size: 64, bytesPerSec: 1e6 }])).to.equal(null);
    expect(fitThroughputModel([{ size: 64, bytesPerSec: 0 }, { size: 128, bytesPerSec: 0 }])).to.equal(null);
  });
});

describe('bench: sizes and options', () => {
  it('lists NetPIPE sizes: powers of two 1 B..8 MB, each ±3, unique and sorted', () => {
    const s = netpipeSizes();
    expect(s[0]).to.equal(1);
    expect(s[s.length - 1]).to.equal(8 * 1024 * 1024 + 3);
    expect(s).to.include.members([4, 7, 61, 64, 67, 65533, 65536, 65539]);
    expect(s).to.not.include(0);
    expect([...s].sort((a, b) => a - b)).to.deep.equal(s);
    expect(new Set(s).size).to.equal(s.length);
    expect(quickSizes()).to.deep.equal([1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304]);
  });

  it('parses --sizes with binary suffixes and rejects garbage with a code', () => {
    expect(parseSizes('64K,1,1M,64')).to.deep.equal([1, 64, 65536, 1048576]);
    expect(() => parseSizes('1,abc')).to.throw().with.property('code', 'ERR_INVALID_ARG_VALUE');
    expect(() => parseSizes('0')).to.throw().with.property('code', 'ERR_OUT_OF_RANGE');
    expect(formatSize(65539)).to.equal('64 KB+3');
    expect(formatSize(1048573)).to.equal('1 MB-3');
  });

  const known = ['net-tcp', 'net-unix', 'via-shm-busy'];
  it('always runs the baseline first and adds the key-figure sizes', () => {
    const o = parseArgs(['--transports', 'net-unix', '--sizes', '1,1024', '--trials', '2', '--out', '/tmp/x'], known, '/r');
    expect(o.transports).to.deep.equal(['net-tcp', 'net-unix']);
    expect(o.sizes).to.deep.equal([1, 4, 1024, 65536]);
    expect(o.requestedSizes).to.deep.equal([1, 1024]);
    expect(o.trials).to.equal(2);
    expect(o.out).to.equal('/tmp/x');
    const q = parseArgs(['--quick'], known, '/r');
    expect([q.trials, q.budgetSeconds, q.out]).to.deep.equal([3, 27, '/r/bench-results']);
    const full = parseArgs([], known, '/r');
    expect(full.transports).to.deep.equal(known);
    expect(full.sizes).to.deep.equal(netpipeSizes());
  });

  it('rejects unknown options and transports as usage errors', () => {
    expect(() => parseArgs(['--fast'], known, '/r')).to.throw(/unknown option/).with.property('usage', true);
    expect(() => parseArgs(['--transports', 'carrier-pigeon'], known, '/r')).to.throw(/unknown transport carrier-pigeon/);
    expect(() => parseArgs(['--trials', '0'], known, '/r')).to.throw(/--trials/);
    expect(() => parseArgs(['--sizes'], known, '/r')).to.throw(/needs a value/);
  });
});

describe('bench: planning counts to the time budget', () => {
  const est = (key, perIterNs, min, max) => [key, { key, perIterNs, min, max }];

  it('gives every point an equal share of the budget per trial', () => {
    const counts = planCounts(new Map([est('a', 1000, 1, 1e9), est('b', 10000, 1, 1e9)]), 2e9, 2);
    // 1 s per trial, 0.5 s each.
    expect(counts.get('a')).to.equal(500000);
    expect(counts.get('b')).to.equal(50000);
  });

  it('keeps minimums for expensive points and shares the rest among the others', () => {
    const counts = planCounts(new Map([est('big', 400e6, 3, 100), est('a', 1000, 1, 1e9), est('b', 1000, 1, 1e9)]), 1.6e9, 1);
    expect(counts.get('big')).to.equal(3); // 1.2 s, more than the 0.53 s share
    expect(counts.get('a')).to.equal(200000); // (1.6 - 1.2) / 2 s each
    expect(counts.get('b')).to.equal(200000);
  });

  it('respects the maximum and never plans zero iterations', () => {
    const counts = planCounts(new Map([est('a', 1, 5, 1000), est('b', 1e6, 5, 1000)]), 0, 3);
    expect(counts.get('a')).to.equal(5);
    expect(counts.get('b')).to.equal(5);
    expect(planCounts(new Map([est('a', 1, 5, 1000)]), 1e9, 1).get('a')).to.equal(1000);
  });
});

describe('bench: key figures', () => {
  it('divides each value by the baseline value and leaves missing ones null', () => {
    const r = (transport, us4, bw) => ({
      transport, latency: [{ size: 4, us: us4 }], bandwidth: bw === null ? [] : [{ size: 65536, bytesPerSec: bw, cpuSecondsPerGB: { user: 1, system: 1, total: 2 } }], rate: null, connect: null,
    });
    const figs = keyFigures([r('net-tcp', 40, 2e9), r('x', 10, null)], 'net-tcp');
    const lat = figs.find((f) => f.id === 'latency4').values;
    expect(lat).to.deep.equal([{ transport: 'net-tcp', value: 40, ratio: 1 }, { transport: 'x', value: 10, ratio: 0.25 }]);
    const bw = figs.find((f) => f.id === 'bandwidth64K').values;
    expect(bw[1]).to.deep.equal({ transport: 'x', value: null, ratio: null });
    expect(figs.find((f) => f.id === 'rate64').values[0]).to.deep.equal({ transport: 'net-tcp', value: null, ratio: null });
  });
});

describe('bench: SVG plots', () => {
  const series = [
    { name: 'net-tcp', points: [[1, 30], [1024, 35], [65536, 60], [8388608, 3000]] },
    { name: 'a<b & "c"', points: [[1, 2], [65536, 20]] },
    { name: 'empty', points: [] },
  ];

  it('writes well-formed SVG with one path per series, escaped names, labelled log ticks', () => {
    const svg = parseXml(logLogChart({ title: 'T & t', xLabel: 'size', yLabel: 'µs', series }));
    const paths = findAll(svg, 'path');
    expect(paths.map((p) => p.attrs['data-transport'])).to.deep.equal(['net-tcp', 'a&lt;b &amp; &quot;c&quot;', 'empty']);
    expect(paths[0].attrs.d.match(/[ML]/g)).to.have.length(4);
    const texts = findAll(svg, 'text').map((t) => t.text);
    expect(texts).to.include.members(['1', '1K', '16M', '1', '10', '100', '1k', 'size', 'µs', 'T &amp; t']);
    const colours = paths.map((p) => p.attrs.stroke);
    expect(new Set(colours).size).to.equal(3);
  });

  it('places points monotonically on log axes', () => {
    const svg = parseXml(logLogChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [series[0]] }));
    const nums = findAll(svg, 'path')[0].attrs.d.split(/[ML ]+/).filter(Boolean).map(Number);
    const xs = nums.filter((_, i) => i % 2 === 0); const ys = nums.filter((_, i) => i % 2 === 1);
    expect([...xs].sort((a, b) => a - b)).to.deep.equal(xs);
    expect([...ys].sort((a, b) => b - a)).to.deep.equal(ys); // larger values higher up (smaller y)
    // Equal ratios, equal distances: 1 -> 1024 and 1024 -> 1M would be the same width.
    expect(xs[1] - xs[0]).to.be.closeTo((xs[2] - xs[1]) * (10 / 6), 0.05);
  });
});

describe('bench: schema validator', () => {
  const schema = {
    type: 'object',
    required: ['a', 'b'],
    additionalProperties: false,
    properties: {
      a: { type: 'integer', minimum: 1 },
      b: { type: 'array', minItems: 1, items: { $ref: '#/definitions/s' } },
      c: { type: ['string', 'null'], pattern: '^x' },
    },
    definitions: { s: { enum: ['p', 'q'] } },
  };

  it('accepts a valid document and reports each violation with its path', () => {
    expect(validate(schema, { a: 2, b: ['p'], c: null })).to.deep.equal([]);
    expect(validate(schema, { a: 0.5, b: [], c: 'y', d: 1 })).to.deep.equal([
      '$.a: expected integer, got number',
      '$.b: fewer than 1 items',
      '$.c: "y" does not match /^x/',
      '$: unexpected property "d"',
    ]);
    expect(validate(schema, { b: ['z'] })).to.deep.equal(['$: missing required property "a"', '$.b[0]: "z" not in ["p","q"]']);
  });
});
