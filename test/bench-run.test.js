'use strict';
/**
 * End-to-end: `node benchmarks/run.js --quick --transports net-tcp,net-unix --sizes 1,1024,65536`
 * completes, its JSON validates against benchmarks/SCHEMA.md, the derived figures and ratios
 * follow from the raw samples, and the SVG plots are well-formed with one path per transport.
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

const ROOT = path.resolve(__dirname, '..');
const RUN = path.join(ROOT, 'benchmarks', 'run.js');
const TRANSPORTS = ['net-tcp', 'net-unix'];
const RUN_LIMIT_MS = 120000;

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
    run = await runBench(['--quick', '--transports', TRANSPORTS.join(','), '--sizes', '1,1024,65536', '--json', '--out', outDir], RUN_LIMIT_MS);
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
      ];
      const got = report.measurements.filter((m) => m.transport === transport).map((m) => [m.test, m.size]);
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
      expect(r.fit, `${r.transport} fit`).to.not.equal(null);
      expect(r.fit.points).to.equal(report.options.sizes.length);
    }
  });

  it('gives every ratio as the value divided by the net-tcp value of the same run', () => {
    expect(report.keyFigures.map((f) => f.id)).to.deep.equal(['latency4', 'latency64K', 'bandwidth64K', 'rate64', 'connect', 'cpuPerGB']);
    for (const f of report.keyFigures) {
      const base = f.values.find((v) => v.transport === 'net-tcp');
      expect(base.value, f.id).to.be.a('number').above(0);
      expect(f.values.map((v) => v.transport)).to.deep.equal(TRANSPORTS);
      for (const v of f.values) {
        expect(v.value, `${f.id} ${v.transport}`).to.be.a('number');
        expect(v.ratio, `${f.id} ${v.transport}`).to.be.closeTo(v.value / base.value, 1e-12);
      }
    }
    // And the values are the ones in the results, not numbers of their own.
    const tcp = report.results.find((r) => r.transport === 'net-tcp');
    const fig = (id) => report.keyFigures.find((f) => f.id === id).values.find((v) => v.transport === 'net-tcp').value;
    expect(fig('latency4')).to.equal(tcp.latency.find((p) => p.size === 4).us);
    expect(fig('bandwidth64K')).to.equal(tcp.bandwidth.find((p) => p.size === 65536).bytesPerSec);
    expect(fig('cpuPerGB')).to.equal(tcp.bandwidth.find((p) => p.size === 65536).cpuSecondsPerGB.total);
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
