'use strict';
/**
 * End-to-end: `node benchmarks/run.js --quick --transports net-tcp,net-unix --sizes 1,1024,65536
 * --idle-conns 40` completes, its JSON validates against benchmarks/SCHEMA.md, the derived figures
 * and ratios follow from the raw samples, the cold/warm streams moved exactly --quick's bytes and
 * the think-time test took at least its think time per call, the idle-connection test yields sane
 * per-connection figures and a return to baseline, and the SVG plots are well-formed with one
 * path per transport.
 * The idle test is also run directly over via-net's shm (when built) and into EMFILE.
 * No speed is asserted: the machine is shared.
 */
const { expect } = require('chai');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { validate, schemaFromMarkdown } = require('../benchmarks/lib/json-schema-lite');
const { parseXml, findAll } = require('../benchmarks/lib/xml-wellformed');
const { median } = require('../benchmarks/lib/stats');
const { formatSummary } = require('../benchmarks/lib/report');
const { WorkerPair } = require('../benchmarks/lib/worker-pair');
const { idleTest, idleResults } = require('../benchmarks/lib/idle');
const { allTransports } = require('../benchmarks/transports');

const ROOT = path.resolve(__dirname, '..');
const RUN = path.join(ROOT, 'benchmarks', 'run.js');
const TRANSPORTS = ['net-tcp', 'net-unix'];
const RUN_LIMIT_MS = 120000;
const IDLE_CONNS = 40;

/** Run the CLI, bounded in time; resolves with its exit code and output. */
function runBench(args, limitMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bench did not finish within ${limitMs} ms; stderr:\n${stderr}`));
    }, limitMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('bench: npm run bench --quick, end to end', function () {
  this.timeout(RUN_LIMIT_MS + 10000);
  let outDir;
  let run;
  let report;

  before(async () => {
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'via-net-bench-test-'));
    run = await runBench(['--quick', '--transports', TRANSPORTS.join(','), '--sizes', '1,1024,65536', '--idle-conns', String(IDLE_CONNS), '--json', '--out', outDir], RUN_LIMIT_MS);
    if (run.code === 0) report = JSON.parse(run.stdout);
  });

  after(() => {
    if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
  });

  it('exits 0 and prints the JSON report, identical to the file it wrote', () => {
    expect(run.code, run.stderr).to.equal(0);
    const written = fs.readFileSync(path.join(outDir, report.files.json), 'utf8');
    expect(JSON.parse(written)).to.deep.equal(report);
  });

  it('validates against the schema in benchmarks/SCHEMA.md', () => {
    const schema = schemaFromMarkdown(fs.readFileSync(path.join(ROOT, 'benchmarks', 'SCHEMA.md'), 'utf8'));
    expect(validate(schema, report)).to.deep.equal([]);
  });

  it('measured both transports at the requested sizes plus the key-figure sizes, every trial', () => {
    expect(report.transports.map((t) => [t.name, t.status])).to.deep.equal(TRANSPORTS.map((n) => [n, 'ok']));
    expect(report.options.requestedSizes).to.deep.equal([1, 1024, 65536]);
    expect(report.options.sizes).to.deep.equal([1, 4, 1024, 65536]);
    for (const transport of TRANSPORTS) {
      const want = [
        ...report.options.sizes.map((size) => ['latency', size]),
        ...report.options.sizes.map((size) => ['bandwidth', size]),
        ['rate', 64],
        ['connect', 1],
        ['coldStream', 65536],
        ['warmStream', 65536],
        ...[50, 200, 1000].map((w) => ['think', 64, w]),
      ];
      const got = report.measurements.filter((m) => m.transport === transport)
        .map((m) => (m.workUs === undefined ? [m.test, m.size] : [m.test, m.size, m.workUs]));
      expect(got).to.have.deep.members(want);
      for (const m of report.measurements.filter((x) => x.transport === transport)) {
        expect(m.samples.map((s) => s.trial), `${transport} ${m.test} ${m.size}`).to.deep.equal([0, 1, 2]);
      }
    }
  });

  it('derives each result as the median over trials of the raw samples', () => {
    for (const r of report.results) {
      const samples = (test, size) => report.measurements.find((m) => m.transport === r.transport && m.test === test && m.size === size).samples;
      for (const p of r.latency) {
        expect(p.us).to.be.closeTo(median(samples('latency', p.size).map((s) => s.elapsedNs / s.count / 2000)), 1e-9 * p.us);
      }
      for (const p of r.bandwidth) {
        expect(p.bytesPerSec).to.be.closeTo(median(samples('bandwidth', p.size).map((s) => (p.size * s.count * 1e9) / s.elapsedNs)), 1e-9 * p.bytesPerSec);
      }
      expect(r.rate.messagesPerSec).to.be.closeTo(median(samples('rate', 64).map((s) => (s.count * 1e9) / s.elapsedNs)), 1e-9 * r.rate.messagesPerSec);
      expect(r.connect.us).to.be.closeTo(median(samples('connect', 1).map((s) => s.elapsedNs / s.count / 1000)), 1e-9 * r.connect.us);
      for (const phase of ['coldStream', 'warmStream']) {
        const bps = median(samples(phase, 65536).map((s) => (65536 * s.count * 1e9) / s.elapsedNs));
        expect(r[phase].bytesPerSec, `${r.transport} ${phase}`).to.be.closeTo(bps, 1e-9 * bps);
      }
      for (const t of r.think) {
        const think = report.measurements.find((m) => m.transport === r.transport && m.test === 'think' && m.workUs === t.workUs).samples;
        expect(t.us).to.be.closeTo(median(think.map((s) => s.elapsedNs / s.count / 1000)), 1e-9 * t.us);
      }
      expect(r.fit, `${r.transport} fit`).to.not.equal(null);
      expect(r.fit.points).to.equal(report.options.sizes.length);
    }
  });

  it('streams exactly the --quick sizes, cold on a new connection then warm, and thinks at least W per call', () => {
    expect([report.options.coldStreamBytes, report.options.warmStreamBytes]).to.deep.equal([64 * 1024 ** 2, 256 * 1024 ** 2]);
    expect(report.options.thinkUs).to.deep.equal([50, 200, 1000]);
    for (const r of report.results) {
      const t = r.transport;
      expect([r.coldStream.bytes, r.warmStream.bytes], t).to.deep.equal([64 * 1024 ** 2, 256 * 1024 ** 2]);
      for (const phase of ['coldStream', 'warmStream']) {
        const m = report.measurements.find((x) => x.transport === t && x.test === phase);
        for (const s of m.samples) {
          expect(65536 * s.count, `${t} ${phase}`).to.equal(r[phase].bytes);
          expect(s.elapsedNs, `${t} ${phase}`).to.be.above(0);
        }
        expect(r[phase].bytesPerSec, `${t} ${phase}`).to.be.above(0);
        expect(r[phase].cpuSecondsPerGB.total, `${t} ${phase}`).to.be.above(0);
      }
      expect(r.think.map((x) => x.workUs), t).to.deep.equal([50, 200, 1000]);
      for (const x of r.think) {
        // The server's busy work is in every call, and it is CPU: both bound the figures from below.
        expect(x.us, `${t} W=${x.workUs}`).to.be.at.least(x.workUs);
        expect(x.cpuUsPerCall.server, `${t} W=${x.workUs}`).to.be.at.least(0.9 * x.workUs);
        expect(x.cpuUsPerCall.client, `${t} W=${x.workUs}`).to.be.above(0);
        expect(x.cpuUsPerCall.total, `${t} W=${x.workUs}`).to.be.at.least(x.cpuUsPerCall.server);
      }
    }
  });

  it('gives every ratio as the value divided by the net-tcp value of the same run', () => {
    expect(report.keyFigures.map((f) => f.id)).to.deep.equal(['latency4', 'latency64K', 'bandwidth64K', 'rate64', 'connect', 'cpuPerGB',
      'coldStream', 'warmStream', 'rssPerConnClient', 'rssPerConnServer', 'fdsPerConnClient', 'fdsPerConnServer',
      'think50', 'thinkCpu50', 'think200', 'thinkCpu200', 'think1000', 'thinkCpu1000']);
    for (const f of report.keyFigures) {
      const base = f.values.find((v) => v.transport === 'net-tcp');
      expect(f.values.map((v) => v.transport)).to.deep.equal(TRANSPORTS);
      // RSS growth of 40 connections can drown in page-sized noise: finite, but maybe not above 0.
      const rss = f.unit === 'KB';
      if (!rss) expect(base.value, f.id).to.be.a('number').above(0);
      for (const v of f.values) {
        expect(v.value, `${f.id} ${v.transport}`).to.be.a('number');
        expect(Number.isFinite(v.value), `${f.id} ${v.transport}`).to.equal(true);
        if (base.value > 0) expect(v.ratio, `${f.id} ${v.transport}`).to.be.closeTo(v.value / base.value, 1e-12);
        else expect(v.ratio, `${f.id} ${v.transport}`).to.equal(null);
      }
    }
    // And the values are the ones in the results, not numbers of their own.
    const tcp = report.results.find((r) => r.transport === 'net-tcp');
    const fig = (id) => report.keyFigures.find((f) => f.id === id).values.find((v) => v.transport === 'net-tcp').value;
    expect(fig('latency4')).to.equal(tcp.latency.find((p) => p.size === 4).us);
    expect(fig('bandwidth64K')).to.equal(tcp.bandwidth.find((p) => p.size === 65536).bytesPerSec);
    expect(fig('cpuPerGB')).to.equal(tcp.bandwidth.find((p) => p.size === 65536).cpuSecondsPerGB.total);
    expect(fig('coldStream')).to.equal(tcp.coldStream.bytesPerSec);
    expect(fig('warmStream')).to.equal(tcp.warmStream.bytesPerSec);
    expect(fig('think200')).to.equal(tcp.think.find((t) => t.workUs === 200).us);
    expect(fig('thinkCpu200')).to.equal(tcp.think.find((t) => t.workUs === 200).cpuUsPerCall.total);
  });

  it('prints the cold and warm stream columns, their sizes, and the think-time table', () => {
    const text = formatSummary(report);
    expect(text).to.include("cold stream: a new connection's first 64 MB (64 KB writes)");
    expect(text).to.include('warm stream: the next 256 MB on that connection');
    expect(text).to.match(/^transport .*cold stream\s+warm stream$/m);
    const all = text.split('\n');
    const at = all.findIndex((l) => /^transport\s+W=50 µs: call/.test(l));
    expect(at, text).to.be.above(0);
    for (const t of TRANSPORTS) {
      expect(text, t).to.match(new RegExp(`^${t} .*[MG]B/s ×[\\d.]+\\s+[\\d.]+ [MG]B/s ×[\\d.]+$`, 'm'));
      const row = all.slice(at + 2, at + 2 + TRANSPORTS.length).find((l) => l.startsWith(`${t} `));
      expect(row, t).to.match(/^\S+(\s+[\d.]+ (µs|ms) ×[\d.]+){6}$/);
    }
  });

  it('opened every idle connection on both transports, one fd or more each, and came back to baseline', () => {
    expect(report.options.idleConnections).to.equal(IDLE_CONNS);
    expect(report.options.execArgv).to.include('--expose-gc');
    expect(report.idleConnections.map((r) => r.transport)).to.deep.equal(TRANSPORTS);
    for (const raw of report.idleConnections) {
      const t = raw.transport;
      expect([raw.requested, raw.opened, raw.error], t).to.deep.equal([IDLE_CONNS, IDLE_CONNS, null]);
      expect(raw.openElapsedNs, t).to.be.above(0);
      for (const side of ['client', 'server']) {
        const snaps = raw[side];
        expect(Object.keys(snaps), `${t} ${side}`).to.deep.equal(['baseline', 'open', 'closed']);
        for (const [label, snap] of Object.entries(snaps)) {
          expect(snap.gc, `${t} ${side} ${label} gc`).to.equal(true);
          expect(snap.vmRssBytes, `${t} ${side} ${label}`).to.be.above(0);
          expect(snap.vmRssBytes).to.equal(snap.rssAnonBytes + snap.rssFileBytes + snap.rssShmemBytes);
        }
        expect(snaps.open.connections, `${t} ${side}`).to.equal(IDLE_CONNS);
        expect(snaps.closed.connections, `${t} ${side}`).to.equal(0);
      }
      const r = report.results.find((x) => x.transport === t).idle;
      expect([r.connections, r.requested, r.error, r.leak], t).to.deep.equal([IDLE_CONNS, IDLE_CONNS, null, false]);
      for (const side of ['client', 'server']) {
        const d = r[side];
        const b = raw[side].baseline;
        const o = raw[side].open;
        // A kernel socket per connection and per side, nothing else.
        expect(d.fdsPerConnection, `${t} ${side}`).to.equal((o.fds - b.fds) / IDLE_CONNS).and.to.be.at.least(1);
        expect(d.rssKBPerConnection).to.be.closeTo((o.vmRssBytes - b.vmRssBytes) / IDLE_CONNS / 1024, 1e-9);
        expect(d.rssShmemKBPerConnection).to.be.closeTo((o.rssShmemBytes - b.rssShmemBytes) / IDLE_CONNS / 1024, 1e-9);
        for (const k of ['rssKBPerConnection', 'rssAnonKBPerConnection', 'rssShmemKBPerConnection', 'heapKBPerConnection']) {
          expect(Number.isFinite(d[k]), `${t} ${side} ${k}`).to.equal(true);
        }
        expect(d.afterClose.fds, `${t} ${side}`).to.equal(0);
        expect(d.afterClose.backToBaseline, `${t} ${side}`).to.equal(true);
      }
    }
  });

  it('prints the per-connection table with each transport and its ratio to net-tcp', () => {
    const text = formatSummary(report);
    const all = text.split('\n');
    const at = all.findIndex((l) => l.includes('fds/conn client'));
    expect(at, text).to.be.above(0);
    const lines = all.slice(at, at + 2 + TRANSPORTS.length);
    expect(lines[0]).to.match(/connect\s+RSS\/conn client\s+RSS\/conn server\s+fds\/conn client\s+fds\/conn server\s+after close/);
    for (const t of TRANSPORTS) {
      const row = lines.find((l) => l.startsWith(`${t} `));
      // A few idle connections move RSS less than the heap's own housekeeping: it may read negative.
      expect(row, t).to.match(/(µs|ms) ×[\d.]+ .*-?[\d.]+ KB ×-?[\d.?]+ .*-?[\d.]+ KB ×-?[\d.?]+ .*1\.00 ×[\d.]+ .*1\.00 ×[\d.]+\s+back to baseline$/);
    }
    expect(text).to.include(`with ${IDLE_CONNS} idle connections open`);
  });

  for (const plot of ['latencyPlot', 'bandwidthPlot']) {
    it(`writes ${plot} as well-formed SVG with one path per transport`, () => {
      const file = path.join(outDir, report.files[plot]);
      const svg = parseXml(fs.readFileSync(file, 'utf8'));
      expect(svg.name).to.equal('svg');
      const paths = findAll(svg, 'path');
      expect(paths.map((p) => p.attrs['data-transport'])).to.deep.equal(TRANSPORTS);
      for (const p of paths) {
        // One vertex per measured size: "M x y L x y ...".
        expect(p.attrs.d.match(/[ML]/g)).to.have.length(report.options.sizes.length);
      }
      const texts = findAll(svg, 'text').map((t) => t.text);
      expect(texts).to.include.members(TRANSPORTS); // legend
      expect(texts).to.include('message size (bytes)');
    });
  }
});

describe('bench: the idle-connection test on its own', function () {
  this.timeout(60000);

  const run = async (name, n, beforeTest) => {
    const pair = new WorkerPair(allTransports().find((d) => d.name === name));
    try {
      await pair.start();
      if (beforeTest) beforeTest(pair);
      const raw = await idleTest(pair, n);
      // The pair still works afterwards, whatever happened.
      await pair.open(true);
      await pair.verify(4096);
      await pair.close();
      return raw;
    } finally {
      await pair.stop();
    }
  };

  it('over via-net shm: two sides, shared memory and descriptors per connection, all given back', async function () {
    const def = allTransports().find((d) => d.name === 'via-shm-adaptive');
    const why = def.unavailableReason() || require('../dist/providers/shm.js').shmUnavailableReason();
    if (why) this.skip();
    const raw = await run('via-shm-adaptive', 100);
    expect([raw.opened, raw.error]).to.deep.equal([100, null]);
    const r = idleResults(raw);
    for (const side of ['client', 'server']) {
      // One link per pair of processes: its two fds spread over all 100 connections.
      expect(r[side].fdsPerConnection, side).to.be.below(0.1);
      expect(r[side].rssShmemKBPerConnection, `${side}: the rings are shared memory`).to.be.above(0);
      // The whole RSS moves with the heap's own housekeeping too: only its sanity is checked here.
      expect(r[side].rssKBPerConnection, side).to.be.a('number').and.satisfy(Number.isFinite);
      expect(r[side].afterClose.fds, side).to.equal(0);
      expect(r[side].afterClose.rssShmemKB, side).to.be.at.most(0);
    }
    expect(r.leak).to.equal(false);
  });

  it('reports running out of descriptors (EMFILE) with the figures so far, and the workers live on', async function () {
    let prlimit;
    try {
      prlimit = require('node:child_process').execFileSync('prlimit', ['--version'], { stdio: 'ignore' }) !== undefined;
    } catch {
      prlimit = false;
    }
    if (!prlimit) this.skip();
    const raw = await run('net-tcp', 200, (pair) => {
      require('node:child_process').execFileSync('prlimit', ['--pid', String(pair.client.child.pid), '--nofile=80:80']);
    });
    expect(raw.error).to.match(/EMFILE/);
    expect(raw.opened).to.be.above(0).and.below(200);
    const r = idleResults(raw);
    expect(r.connections).to.equal(raw.opened);
    expect(r.client.fdsPerConnection).to.equal(1);
    expect(r.client.afterClose.fds).to.equal(0);
  });
});
