'use strict';
// The CI subset of the fault scenarios (issue 7; `npm run test:faults` runs the full set).
// Each scenario runs across real processes over the public via-net API and checks sha256 on
// whatever arrived. A scenario's row lists its failures, so a red test says exactly what broke.
const { expect } = require('chai');
const scenario = (name) => require(`./faults/scenarios/${name}`);

function check(r) {
  console.log(`      ${r.scenario}: ${r.count}, ${r.notes}`);
  expect(r.failures, r.scenario).to.deep.equal([]);
  expect(r.result).to.equal('pass');
}

describe('faults (CI subset): via-net across processes', function () {
  this.timeout(120000);

  it('a peer SIGKILLed mid-stream 10 times: ECONNRESET then close within 100 ms, prefix intact', async () => {
    check(await scenario('kill').run({ count: 10, seed: 7 }));
  });

  it('a peer SIGSTOPped 5 s then SIGCONT: the connection survives, all data arrives', async () => {
    check(await scenario('stop').run({ stopMs: 5000 }));
  });

  it('the server closes / exits under 100 streaming connections: every client ends or errors, none hangs', async () => {
    check(await scenario('server-close').run({ conns: 100 }));
  });

  it('a stale rendezvous entry after a server SIGKILL: clean ECONNREFUSED, a restarted server reclaims it', async () => {
    check(await scenario('crashed-server').run({ rounds: 2 }));
  });

  it('fds exhausted in a child (prlimit): EMFILE as node:net, held connections intact, no leak', async () => {
    check(await scenario('emfile').run({ limit: 64 }));
  });

  it('security: other uids need allowUids for shm, private modes, no memfd path, no payload in DEBUG logs', async () => {
    check(await scenario('security').run());
  });

  it('the addon disabled or garbage: everything works over tcp with integrity', async () => {
    check(await scenario('no-native').run());
  });

  it('a hostile peer scribbling shared memory for 10 s breaks only itself', async () => {
    check(await scenario('scribble').run({ durationMs: 10000 }));
  });

  it('5,000 connect/transfer/close cycles leak nothing (rate reported against node:net)', async () => {
    check(await scenario('churn').run({ cycles: 5000 }));
  });
});
