'use strict';
/**
 * The application benchmarks (benchmarks/ftp, benchmarks/http, benchmarks/apps) run end to end in a tiny
 * configuration and report sane, self-consistent figures. No speed is asserted: the machine is
 * shared, and performance claims come from full runs of the benchmarks, not from tests.
 */
const { expect } = require('chai');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { shmUnavailableReason } = require('../dist/providers/shm');

const ROOT = path.resolve(__dirname, '..');

/** Runs a benchmark script with --json, bounded in time; resolves with its parsed output. */
function runJson(script, args, limitMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, script), ...args, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${script} exited ${code ?? signal}: ${stderr.slice(-2000)}`));
      try {
        resolve(JSON.parse(stdout.slice(stdout.indexOf('{'))));
      } catch (err) {
        reject(new Error(`${script} printed no JSON: ${err.message}\n${stdout.slice(-2000)}`));
      }
    });
  });
}

const positive = (x) => expect(x).to.be.a('number').and.satisfy(Number.isFinite).and.above(0);

describe('application benchmarks (tiny runs, sane output)', function () {
  this.timeout(180000);
  before(function () {
    const reason = shmUnavailableReason();
    if (reason) {
      console.log(`      skipped: the shm provider is unavailable (${reason})`);
      this.skip();
    }
  });

  it('benchmarks/ftp: upload and download over shm and TCP, plus the no-network ceiling, every ratio from its times', async () => {
    const out = await runJson('benchmarks/ftp/run.js', ['--trials', '1', '--sizes', '1'], 120000);
    expect(out.transports['via-net']).to.deep.equal(['shm']);
    expect(out.rows.map((r) => r.direction)).to.deep.equal(['upload', 'download']);
    for (const r of out.rows) {
      for (const k of ['viaMs', 'netMs', 'fsOnlyMs', 'viaMBs', 'netMBs']) positive(r[k]);
      expect(r.ratio).to.be.closeTo(r.netMs / r.viaMs, 1e-9);
      expect(r.bestRatio).to.be.closeTo(r.netMs / r.fsOnlyMs, 1e-9);
    }
    expect(out.fsOnly['1']).to.have.length(1);
  });

  it('benchmarks/http: requests/s and latency percentiles for both transports, every ratio from its figures', async () => {
    const out = await runJson('benchmarks/http/run.js', ['--trials', '1', '--seconds', '0.5', '--warmup', '0.1'], 120000);
    expect(out.transports).to.deep.equal({ 'via-net': ['shm'], 'node:net': ['tcp (node:net)'] });
    expect(out.rows.map((r) => r.concurrency)).to.deep.equal([1, 16]);
    for (const r of out.rows) {
      for (const k of ['rps', 'p50', 'p99']) {
        positive(r[k].via);
        positive(r[k].net);
        expect(r[k].ratio).to.be.closeTo(r[k].via / r[k].net, 1e-9);
      }
      expect(r.p99.via).to.be.at.least(r.p50.via);
      expect(r.p99.net).to.be.at.least(r.p50.net);
    }
  });

  it('benchmarks/apps/h2-register: HTTP/2 with and without register to a plain server, the ratio from its medians', async () => {
    const out = await runJson('benchmarks/apps/h2-register.js', ['--trials', '2', '--requests', '60', '--warmup', '6'], 120000);
    expect(out.samples.register).to.have.length(2);
    expect(out.samples.plain).to.have.length(2);
    positive(out.registerMs);
    positive(out.plainMs);
    expect(out.ratio).to.be.closeTo(out.registerMs / out.plainMs, 1e-9);
    expect(out.ratioRange[0]).to.be.at.most(out.ratioRange[1]);
    // The point of the benchmark: under register, http2 got the kernel handle, not a JSStreamSocket.
    expect(out.underRegister).to.deep.equal({ wrapper: 'Socket', handle: 'TCP', isStreamBase: true, transport: 'tcp' });
  });
});
