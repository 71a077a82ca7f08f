'use strict';
/**
 * The app benchmark runner end to end: `node benchmarks/apps/run.js --quick --trials 1 --json`
 * completes, its report validates against its schema in benchmarks/SCHEMA.md, every row is there
 * with its transfers checked, via-net ran over shm at both ends of every row (HTTPS and HTTP/2 on
 * node's own TCP handle, where register leaves them) and node:net over TCP, and the figures are positive and their ratios follow from
 * them. No speed is asserted: the machine is shared, and performance claims come from full runs.
 */
const { expect } = require('chai');
const fs = require('node:fs');
const path = require('node:path');
const { shmUnavailableReason } = require('../dist/providers/shm');
const { validate, schemaFromMarkdown } = require('../benchmarks/lib/json-schema-lite');
const { runJson, ROOT } = require('./support/bench-json');

const ROWS = [
  'http-agent-1', 'http-agent-16', 'fetch-1', 'fetch-16', 'http-new-conn', 'https-agent-1', 'https-agent-16',
  'h2-streams-16', 'h2-big', 'h2s-streams-16', 'h2s-big', 'ws-1', 'ws-16',
  'ftp-small-upload', 'ftp-small-download', 'ftp-large-upload', 'ftp-large-download',
];
const RUN_LIMIT_MS = 75_000;

const positive = (x, what) => expect(x, what).to.be.a('number').and.satisfy(Number.isFinite).and.above(0);

describe('bench:apps runner (--quick --trials 1 --json)', function () {
  this.timeout(RUN_LIMIT_MS + 10_000);
  let report;

  before(async function () {
    const reason = shmUnavailableReason();
    if (reason) {
      console.log(`      skipped: the shm provider is unavailable (${reason})`);
      this.skip();
    }
    report = await runJson('benchmarks/apps/run.js', ['--quick', '--trials', '1'], RUN_LIMIT_MS);
  });

  it('validates against its schema in benchmarks/SCHEMA.md', () => {
    const schema = schemaFromMarkdown(fs.readFileSync(path.join(ROOT, 'benchmarks', 'SCHEMA.md'), 'utf8'), 'via-net app benchmark report');
    expect(validate(schema, report)).to.deep.equal([]);
    expect(report.options).to.include({ quick: true, trials: 1 });
  });

  it('has every row, in order, each with its transfers checked in both modes', () => {
    expect(report.rows.map((r) => r.name)).to.deep.equal(ROWS);
    for (const r of report.rows) {
      expect(r.integrity.ok, r.name).to.equal(true);
      // At least one check per mode (an FTP case checks two files per mode and trial).
      expect(r.integrity.checks, r.name).to.be.at.least(2);
      for (const mode of ['via-net', 'node:net']) expect(r.modes[mode].trials, `${r.name} ${mode}`).to.have.length(1);
    }
  });

  it('no app printed to stderr under via-net what it did not print under node:net (its error log is behaviour)', () => {
    expect(report.warnings.filter((w) => w.includes('printed to stderr'))).to.deep.equal([]);
  });

  it('via-net ran over shm at both ends of every row, except HTTPS, HTTP/2 and connection-per-request HTTP on TCP; node:net over TCP', () => {
    expect(report.warnings).to.deep.equal([]);
    for (const r of report.rows) {
      const expected = /^(https|h2|h2s)-|^http-new-conn$/.test(r.name) ? 'tcp' : 'shm';
      expect(r.path, r.name).to.equal(expected);
      expect(r.onPath, r.name).to.equal(true);
      for (const side of ['client', 'server']) {
        expect(Object.keys(r.modes['via-net'].transports[side]), `${r.name} via-net ${side}`).to.deep.equal([expected]);
        expect(Object.keys(r.modes['node:net'].transports[side]), `${r.name} node:net ${side}`).to.deep.equal(['tcp']);
      }
    }
    const row = (name) => report.rows.find((r) => r.name === name);
    // Cleartext http2 runs natively (on node's own socket) in both modes: register leaves it on TCP.
    expect(row('h2-streams-16').modes['via-net'].http2Over).to.equal('Socket');
    expect(row('h2-streams-16').modes['node:net'].http2Over).to.equal('Socket');
    // Over TLS, http2 runs natively on the TLSSocket in both modes.
    expect(row('h2s-streams-16').modes['via-net'].http2Over).to.equal('TLSSocket');
    expect(row('h2s-streams-16').modes['node:net'].http2Over).to.equal('TLSSocket');
    // Without keep-alive, a connection per request at both ends (on TCP: register's agent policy).
    const fresh = row('http-new-conn').modes['via-net'];
    expect(fresh.transports.client.tcp).to.be.at.least(fresh.trials[0].requests);
    expect(fresh.transports.server.tcp).to.equal(fresh.transports.client.tcp);
  });

  it('every figure is positive, latency where it is per request, and each ratio follows from the figures', () => {
    for (const r of report.rows) {
      for (const mode of ['via-net', 'node:net']) {
        const m = r.modes[mode];
        const [s] = m.trials;
        for (const k of ['throughput', 'cpuClient', 'cpuServer', 'ms']) positive(s[k], `${r.name} ${mode} ${k}`);
        if (r.kind === 'requests') {
          positive(s.p50, `${r.name} ${mode} p50`);
          expect(s.p99, `${r.name} ${mode} p99`).to.be.at.least(s.p50);
          positive(s.requests, `${r.name} ${mode} requests`);
        } else {
          expect(s.p50).to.equal(null);
          positive(s.bytes, `${r.name} ${mode} bytes`);
        }
        // One trial: the median is that trial.
        for (const k of ['throughput', 'p50', 'p99', 'cpuClient', 'cpuServer']) expect(m.median[k]).to.equal(s[k]);
      }
      for (const k of ['throughput', 'p50', 'p99', 'cpuClient', 'cpuServer']) {
        const via = r.modes['via-net'].median[k];
        if (via === null) {
          expect(r.ratios[k], `${r.name} ${k}`).to.equal(null);
          continue;
        }
        const ratio = via / r.modes['node:net'].median[k];
        expect(r.ratios[k].median, `${r.name} ${k}`).to.be.closeTo(ratio, 1e-9);
        expect(r.ratios[k].min).to.be.closeTo(ratio, 1e-9);
        expect(r.ratios[k].max).to.be.closeTo(ratio, 1e-9);
      }
      if (r.server === 'ftp') {
        positive(r.ceiling.throughput, `${r.name} ceiling`);
        positive(r.ceiling.readMs, `${r.name} ceiling read`);
        positive(r.ceiling.writeMs, `${r.name} ceiling write`);
        // One trial: the ceiling is that trial's slower half (the two ran at once).
        expect(r.ceiling.trials).to.deep.equal([r.ceiling.ms]);
        expect(r.ceiling.ms).to.equal(Math.max(r.ceiling.readMs, r.ceiling.writeMs));
      }
    }
  });
});
