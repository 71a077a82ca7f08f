'use strict';
/**
 * `node benchmarks/host-limits.js` runs end to end with small counts and reports sane figures:
 * the C probes (when a C compiler is present) and the same bursts through via-net over shm (when
 * the addon is built). Nothing about speed is asserted: the figures describe the machine.
 */
const { expect } = require('chai');
const { execFile } = require('node:child_process');
const path = require('node:path');

const SCRIPT = path.resolve(__dirname, '..', 'benchmarks', 'host-limits.js');
const BURSTS = 3;
const MESSAGES = 200;

function run(args) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [SCRIPT, ...args], { timeout: 60000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

function expectBursts(s, label) {
  if (s.reason) {
    console.log(`      (${label} not run: ${s.reason})`);
    return;
  }
  expect(s.bursts, label).to.equal(BURSTS);
  expect(s.all, label).to.have.length(BURSTS);
  expect(s.collapsed, label).to.be.within(0, BURSTS);
  for (const b of s.all) {
    expect(b.oneWayMicros, label).to.be.a('number').that.is.above(0);
    expect(b.sleeps, label).to.be.a('number').that.is.within(0, 2 * MESSAGES); // each message sleeps at most once per end
  }
}

describe('benchmarks/host-limits.js', function () {
  this.timeout(90000);

  it('measures CPU stalls and bursts of ping-pongs in C and through via-net, as JSON', async () => {
    const out = await run(['--bursts', BURSTS, '--messages', MESSAGES, '--gap', 5, '--stall-seconds', 0.2, '--json'].map(String));
    const report = JSON.parse(out);
    expect(report).to.include({ bursts: BURSTS, messagesPerBurst: MESSAGES, gapMs: 5 });
    if (report.stalls.reason) console.log(`      (C probes not run: ${report.stalls.reason})`);
    else {
      expect(report.stalls.cpus.length).to.be.at.least(1);
      for (const c of report.stalls.cpus) {
        expect(c.gaps100us).to.be.within(0, c.gaps20us);
        expect(c.lostPercent).to.be.within(0, 100);
      }
    }
    expectBursts(report.cSpin50, 'C, spin 50 µs');
    expectBursts(report.cSpin1000, 'C, spin 1 ms');
    expectBursts(report.viaNetAdaptive, 'via-net adaptive');
  });

  it('rejects a bad count with a message', async () => {
    const err = await run(['--bursts', '0']).then(() => null, (e) => e);
    expect(err).to.be.an('error');
    expect(err.message).to.match(/--bursts needs a positive number/);
  });
});
