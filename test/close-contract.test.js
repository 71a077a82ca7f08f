'use strict';
// The close contract (issue 12): what the other end sees when a process exits, is killed,
// throws, destroys its socket or terminates its worker. Every row of the table in
// close-contract/scenarios.js runs over node:net and then over via-net, each side in its own
// process, and must end the same: bytes received (sha256), the order of 'end' / 'error' /
// 'close' with error codes, and how the victim went. via-net must have used shm.
const { expect } = require('chai');
const { scenarios } = require('./close-contract/scenarios');
const { runScenario, summarize, usedShm } = require('./close-contract/run');

describe('close contract: node:net and via-net end every exit/kill scenario the same way', function () {
  this.timeout(60000);

  before(function () {
    const { shmUnavailableReason } = require('../dist/providers/shm');
    const reason = shmUnavailableReason();
    if (reason) {
      console.log(`      skipped: the native addon is unavailable (${reason})`);
      this.skip();
    }
  });

  for (const sc of scenarios) {
    it(`${sc.id}. ${sc.name}`, async () => {
      const net = await runScenario(sc.id, 'net');
      const via = await runScenario(sc.id, 'via');
      console.log(`        node:net: ${summarize(net.outcome)}`);
      if (net.notes) console.log(`        node:net notes: ${net.notes}`);
      if (via.notes) console.log(`        via-net notes: ${via.notes}`);
      // The TCP outcome is what the scenario is about: it must be a real one, not a hang.
      expect(net.outcome, 'node:net outcome').to.not.have.any.keys('timeout', 'diedWhileWaitingFor');
      expect(via.outcome, 'via-net outcome (node:net in the message)').to.deep.equal(net.outcome);
      expect(usedShm(via, sc), `via-net transports: ${via.transports.join(',')}`).to.equal(true);
    });
  }
});
