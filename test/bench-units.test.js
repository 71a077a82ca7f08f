'use strict';
/** The benchmark's pure parts: statistics, model fit, size lists, options, planning, idle-test figures, SVG, schema check. */
const { expect } = require('chai');
const { median, fitThroughputModel, modelBandwidth } = require('../benchmarks/lib/stats');
const { netpipeSizes, quickSizes, parseSizes, formatSize } = require('../benchmarks/lib/sizes');
const { parseArgs } = require('../benchmarks/lib/args');
const { planCounts, pointsFor } = require('../benchmarks/lib/runner');
const { logLogChart } = require('../benchmarks/lib/svg-plot');
const { parseXml, findAll } = require('../benchmarks/lib/xml-wellformed');
const { validate } = require('../benchmarks/lib/json-schema-lite');
const { keyFigures, formatSummary, resultsFor } = require('../benchmarks/lib/report');
const { idleResults } = require('../benchmarks/lib/idle');
const { readStatus } = require('../benchmarks/transports/worker-core');

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
    expect(formatSize(1024 ** 3)).to.equal('1 GB');
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

  it('streams 256 MB cold and 1 GB warm, 64 MB and 256 MB with --quick, and thinks 50, 200 and 1000 µs', () => {
    const full = parseArgs([], known, '/r');
    expect([full.coldBytes, full.warmBytes, full.thinkUs]).to.deep.equal([256 * 1024 ** 2, 1024 ** 3, [50, 200, 1000]]);
    const q = parseArgs(['--quick'], known, '/r');
    expect([q.coldBytes, q.warmBytes]).to.deep.equal([64 * 1024 ** 2, 256 * 1024 ** 2]);
    // In 64 KB writes; the think-time test's requests are 64 B.
    const points = pointsFor([4, 65536], { coldBytes: q.coldBytes, warmBytes: q.warmBytes }, q.thinkUs);
    expect(points.stream).to.deep.equal([{ test: 'stream', size: 65536, phases: [1024, 4096] }]);
    expect(points.think.map((p) => [p.size, p.workUs])).to.deep.equal([[64, 50], [64, 200], [64, 1000]]);
  });

  it('opens 2000 idle connections per transport by default, 500 with --quick, N with --idle-conns N (0: none)', () => {
    expect(parseArgs([], known, '/r').idleConnections).to.equal(2000);
    expect(parseArgs(['--quick'], known, '/r').idleConnections).to.equal(500);
    expect(parseArgs(['--quick', '--idle-conns', '3000'], known, '/r').idleConnections).to.equal(3000);
    expect(parseArgs(['--idle-conns=0'], known, '/r').idleConnections).to.equal(0);
    for (const bad of ['-1', '1.5', 'many', '100001']) {
      expect(() => parseArgs(['--idle-conns', bad], known, '/r'), bad).to.throw(/--idle-conns/).with.property('usage', true);
    }
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

describe('bench: cold/warm streams and think time', () => {
  const cpu = (c, s) => ({ client: { user: c, system: 0 }, server: { user: s, system: 0 } });
  const sample = (trial, count, elapsedNs, c = 1000, s = 1000) => ({ trial, count, elapsedNs, cpu: cpu(c, s) });
  const measurements = (transport, coldNs, warmNs, callUs) => [
    { transport, test: 'coldStream', size: 65536, samples: [1, 2, 3].map((k) => sample(k - 1, 4096, coldNs * k)) },
    { transport, test: 'warmStream', size: 65536, samples: [sample(0, 16384, warmNs)] },
    // Out of order on purpose: results come sorted by W.
    ...[1000, 50, 200].map((workUs) => ({
      transport, test: 'think', size: 64, workUs, samples: [sample(0, 100, 100 * (workUs + callUs) * 1000, 100 * callUs, 100 * workUs)],
    })),
  ];

  it('derives bytes/s and CPU per GB for each phase, µs and CPU µs per call for each W', () => {
    const r = resultsFor('x', measurements('x', 0.25e9, 0.5e9, 20));
    expect(r.coldStream).to.deep.include({ size: 65536, bytes: 256 * 1024 ** 2 });
    expect(r.coldStream.bytesPerSec).to.be.closeTo(256 * 1024 ** 2 / 0.5, 1); // median of 0.25, 0.5, 0.75 s
    expect(r.warmStream.bytesPerSec).to.be.closeTo(1024 ** 3 / 0.5, 1);
    expect(r.warmStream.cpuSecondsPerGB.total).to.be.closeTo(0.002 / (1024 ** 3 / 1e9), 1e-12);
    expect(r.think.map((t) => [t.workUs, t.size])).to.deep.equal([[50, 64], [200, 64], [1000, 64]]);
    const t200 = r.think[1];
    expect(t200.us).to.be.closeTo(220, 1e-9);
    expect(t200.cpuUsPerCall).to.deep.equal({ client: 20, server: 200, total: 220 });
    expect(resultsFor('y', []).coldStream).to.equal(null);
    expect(resultsFor('y', []).think).to.deep.equal([]);
  });

  it('gives each a key figure with its ratio to the baseline, and prints them with a note of the sizes', () => {
    const results = [resultsFor('net-tcp', measurements('net-tcp', 0.5e9, 1e9, 40)), resultsFor('via', measurements('via', 0.25e9, 0.25e9, 10))];
    const figs = keyFigures(results, 'net-tcp');
    const fig = (id) => figs.find((f) => f.id === id);
    expect(fig('coldStream')).to.deep.include({ unit: 'bytes/s', lowerIsBetter: false });
    expect(fig('coldStream').values[1].ratio).to.be.closeTo(2, 1e-12);
    expect(fig('warmStream').values[1].ratio).to.be.closeTo(4, 1e-12);
    expect(fig('think1000')).to.deep.include({ unit: 'us', lowerIsBetter: true });
    expect(fig('think1000').values[1].ratio).to.be.closeTo(1010 / 1040, 1e-12);
    expect(fig('thinkCpu50').values[1].ratio).to.be.closeTo(60 / 90, 1e-12);
    const text = formatSummary({
      startedAt: 't', host: { node: 'v20', cpus: 2 }, baseline: 'net-tcp', results, keyFigures: figs, transports: [], files: null,
      options: { quick: true, trials: 1, idleConnections: 0, coldStreamBytes: 64 * 1024 ** 2, warmStreamBytes: 256 * 1024 ** 2, thinkUs: [50, 200, 1000] },
    });
    expect(text).to.include("cold stream: a new connection's first 64 MB (64 KB writes), from connect()");
    expect(text).to.include('warm stream: the next 256 MB on that connection, timed the same way (--quick sizes; the full run streams 256 MB and 1 GB).');
    expect(text).to.match(/^transport .*CPU per GB \(64 KB\)\s+cold stream\s+warm stream$/m);
    expect(text).to.match(/^via .*537 MB\/s ×2\.00\s+4\.29 GB\/s ×4\.00$/m);
    expect(text).to.match(/^transport\s+W=50 µs: call\s+W=50 µs: CPU\/call\s+W=200 µs: call\s+W=200 µs: CPU\/call\s+W=1000 µs: call\s+W=1000 µs: CPU\/call$/m);
    expect(text).to.match(/^via\s+60\.0 µs ×0\.67\s+60\.0 µs ×0\.67\s+210 µs ×0\.88\s+210 µs ×0\.88\s+1\.01 ms ×0\.97\s+1\.01 ms ×0\.97$/m);
    // Neither transport polls: no spin figures, no spin table.
    expect(results.every((r) => r.think.every((t) => t.spinUsPerCall === null))).to.equal(true);
    expect(text).to.not.include('spin/call');
  });

  it('reports what a polling transport spent spinning per call, each side and both, and prints it', () => {
    const polling = measurements('via-shm-adaptive', 0.25e9, 0.25e9, 10).map((m) => m.test !== 'think' ? m : {
      ...m, samples: m.samples.map((s) => ({ ...s, spin: { client: 3 * s.count, server: (m.workUs === 1000 ? 0 : 1) * s.count } })),
    });
    const results = [resultsFor('net-tcp', measurements('net-tcp', 0.5e9, 1e9, 40)), resultsFor('via-shm-adaptive', polling)];
    expect(results[1].think.map((t) => t.spinUsPerCall)).to.deep.equal([
      { client: 3, server: 1, total: 4 }, { client: 3, server: 1, total: 4 }, { client: 3, server: 0, total: 3 },
    ]);
    // One sample without spin (a transport that does not poll) makes the figure null, not partial.
    const mixed = polling.map((m) => (m.test === 'think' && m.workUs === 50 ? { ...m, samples: [...m.samples, sample(1, 100, 1e6)] } : m));
    expect(resultsFor('via-shm-adaptive', mixed).think[0].spinUsPerCall).to.equal(null);
    const text = formatSummary({
      startedAt: 't', host: { node: 'v20', cpus: 2 }, baseline: 'net-tcp', results, keyFigures: keyFigures(results, 'net-tcp'), transports: [], files: null,
      options: { quick: true, trials: 1, idleConnections: 0, coldStreamBytes: 64 * 1024 ** 2, warmStreamBytes: 256 * 1024 ** 2, thinkUs: [50, 200, 1000] },
    });
    expect(text).to.match(/^transport\s+W=50 µs: spin\/call\s+W=200 µs: spin\/call\s+W=1000 µs: spin\/call$/m);
    expect(text).to.match(/^via-shm-adaptive\s+4\.0 µs\s+4\.0 µs\s+3\.0 µs$/m);
    expect(text).to.not.match(/^net-tcp\s+.*spin/m);
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

describe('bench: idle-connection figures', () => {
  const KB = 1024;
  const snap = (o) => ({
    vmRssBytes: o.anon + o.file + o.shm, rssAnonBytes: o.anon, rssFileBytes: o.file, rssShmemBytes: o.shm,
    heapUsedBytes: o.heap, externalBytes: 0, fds: o.fds, gc: true, connections: o.conns, settleMs: 0,
  });
  const side = (perConnShm, left = {}) => ({
    baseline: snap({ anon: 10000 * KB, file: 40000 * KB, shm: 0, heap: 5000 * KB, fds: 20, conns: 0 }),
    open: snap({ anon: 30000 * KB, file: 40000 * KB, shm: 1000 * perConnShm * KB, heap: 9000 * KB, fds: 2020, conns: 1000 }),
    closed: snap({ anon: 20000 * KB, file: 40000 * KB, shm: left.shm || 0, heap: 5000 * KB + (left.heap || 0), fds: 20 + (left.fds || 0), conns: 0 }),
  });
  const record = (client, server) => ({ transport: 'x', requested: 1000, warmup: 20, opened: 1000, openElapsedNs: 1e9, error: null, client, server });

  it('divides each side\'s growth by the connections, VmRSS with its anonymous and shared parts', () => {
    const r = idleResults(record(side(32), side(24)));
    expect(r.client).to.deep.include({ rssKBPerConnection: 52, rssAnonKBPerConnection: 20, rssShmemKBPerConnection: 32, heapKBPerConnection: 4, fdsPerConnection: 2 });
    expect(r.server.rssKBPerConnection).to.equal(44);
    expect(r.client.afterClose).to.deep.equal({ rssKB: 10000, rssAnonKB: 10000, rssShmemKB: 0, heapKB: 0, fds: 0, backToBaseline: true });
    expect([r.connections, r.requested, r.error, r.leak]).to.deep.equal([1000, 1000, null, false]);
  });

  it('calls it a leak when descriptors, shared memory or the heap do not come back, but not retained anonymous RSS', () => {
    expect(idleResults(record(side(32, { fds: 1 }), side(32))).leak).to.equal(true);
    expect(idleResults(record(side(32), side(32, { shm: 32 * 200 * KB }))).leak).to.equal(true);
    expect(idleResults(record(side(32, { heap: 2000 * KB }), side(32))).leak).to.equal(true);
    // Within 10 % of the growth (or 256 KB of shared memory, 1 MB of heap): what GC, page
    // granularity, optimised code and grown tables leave.
    expect(idleResults(record(side(32, { heap: 900 * KB, shm: 200 * KB }), side(32))).leak).to.equal(false);
  });

  it('keeps the figures of the connections that opened when the test stopped early, and has none without snapshots', () => {
    const early = { ...record(side(32), side(32)), opened: 500, error: 'client: EMFILE: connect EMFILE (500 connections open)' };
    const r = idleResults(early);
    expect(r.client.fdsPerConnection).to.equal(4);
    expect(r.error).to.match(/EMFILE/);
    const none = idleResults({ ...record({}, {}), opened: 0, error: 'workers: EBENCH_TIMEOUT: ...' });
    expect([none.client, none.server, none.leak]).to.deep.equal([null, null, null]);
    expect(idleResults(null)).to.equal(null);
  });

  it('reads VmRSS and its parts from /proc/self/status in bytes', () => {
    const text = 'Name:\tnode\nVmRSS:\t   56288 kB\nRssAnon:\t   12112 kB\nRssFile:\t   44176 kB\nRssShmem:\t       0 kB\nThreads:\t7\n';
    expect(readStatus(text)).to.deep.equal({ vmRssBytes: 56288 * KB, rssAnonBytes: 12112 * KB, rssFileBytes: 44176 * KB, rssShmemBytes: 0 });
    expect(readStatus('VmRSS:\t 4 kB\n').rssShmemBytes).to.equal(null);
  });

  it('gives no ratio to a baseline that is not above 0, and prints what was not given back', () => {
    const res = (transport, rec) => ({ transport, latency: [], bandwidth: [], rate: null, connect: { us: 100 }, idle: idleResults(rec), fit: null });
    const results = [
      res('net-tcp', { ...record(side(0), side(0)), client: { ...side(0), open: { ...side(0).open, vmRssBytes: side(0).baseline.vmRssBytes - 4096 } } }),
      res('via', record(side(32, { fds: 3 }), side(32))),
    ];
    const figs = keyFigures(results, 'net-tcp');
    const rssC = figs.find((f) => f.id === 'rssPerConnClient').values;
    expect(rssC[0].value).to.be.below(0);
    expect(rssC[1]).to.deep.equal({ transport: 'via', value: 52, ratio: null });
    expect(figs.find((f) => f.id === 'fdsPerConnServer').values[1]).to.deep.equal({ transport: 'via', value: 2, ratio: 1 });
    const text = formatSummary({
      startedAt: 't', options: { trials: 1, idleConnections: 1000 }, host: { node: 'v20', cpus: 2 }, baseline: 'net-tcp',
      results, keyFigures: figs, transports: [], files: null,
    });
    expect(text).to.match(/^via .*52\.0 KB \(shm 32\.0\) ×\?.*2\.00 ×1\.00\s+NOT back: client \+3 fds/m);
    expect(text).to.match(/^net-tcp .*back to baseline$/m);
  });
});
