'use strict';
/**
 * benchmarks/apps/h2-register.js runs end to end in a tiny configuration and reports sane,
 * self-consistent figures (the app benchmark runner, benchmarks/apps/run.js, has its own test:
 * bench-apps-runner.test.js). No speed is asserted: the machine is shared, and performance claims
 * come from full runs of the benchmarks, not from tests.
 */
const { expect } = require('chai');
const { shmUnavailableReason } = require('../dist/providers/shm');
const { runJson } = require('./support/bench-json');

const positive = (x) => expect(x).to.be.a('number').and.satisfy(Number.isFinite).and.above(0);

describe('h2-register benchmark (tiny run, sane output)', function () {
  this.timeout(180000);
  before(function () {
    const reason = shmUnavailableReason();
    if (reason) {
      console.log(`      skipped: the shm provider is unavailable (${reason})`);
      this.skip();
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
