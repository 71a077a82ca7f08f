'use strict';
/**
 * The runner against transports that misbehave: one that cannot start, one that corrupts data,
 * one whose server dies mid-run. Each must be reported with its reason while the healthy
 * baseline is still measured; none may hang the run.
 */
const { expect } = require('chai');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Runner } = require('../benchmarks/lib/runner');
const { Progress } = require('../benchmarks/lib/progress');
const { WorkerPair } = require('../benchmarks/lib/worker-pair');
const { allTransports, GENERIC_WORKER } = require('../benchmarks/transports');

const NET_ADAPTER = path.resolve(__dirname, '..', 'benchmarks', 'transports', 'net-adapter.js');

/** A transport module in a temp dir; `body` is the createAdapter source. */
function fakeTransport(dir, name, body) {
  const file = path.join(dir, `${name}.js`);
  fs.writeFileSync(file, `'use strict';
const net = require('node:net');
const { netAdapter } = require(${JSON.stringify(NET_ADAPTER)});
module.exports.createAdapter = () => { ${body} };
`);
  return { name, description: `fake ${name}`, module: file, options: {}, workerScript: GENERIC_WORKER, unavailableReason: () => null };
}

const tcpWhere = 'where: async () => ({ listen: { host: "127.0.0.1", port: 0 } })';

describe('bench: transports that fail', function () {
  this.timeout(60000);
  let dir;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'via-net-bench-fake-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a healthy pair echoes a hash-checked transfer and times every test', async () => {
    const pair = new WorkerPair(allTransports().find((d) => d.name === 'net-tcp'));
    try {
      await pair.start();
      await pair.open(true);
      const v = await pair.verify(1 << 20);
      expect(v.sha256).to.match(/^[0-9a-f]{64}$/);
      for (const [test, size, count] of [['latency', 4, 20], ['latency', 70000, 3], ['bandwidth', 65536, 50], ['rate', 64, 2000]]) {
        const r = await pair.trial(test, size, count, 20000);
        expect(r.elapsedNs, test).to.be.above(0);
        for (const side of ['client', 'server']) {
          expect(r.cpu[side].user + r.cpu[side].system, `${test} ${side} cpu`).to.be.above(0);
        }
      }
      await pair.close();
      await pair.open(false);
      const c = await pair.trial('connect', 1, 5, 20000);
      expect(c.elapsedNs).to.be.above(0);
      await pair.close();
    } finally {
      await pair.stop();
    }
  });

  it('reports unavailable, failed and corrupt transports with their reasons and still measures the baseline', async () => {
    const tcp = allTransports().find((d) => d.name === 'net-tcp');
    const noStart = fakeTransport(dir, 'no-start', 'throw Object.assign(new Error("no such provider"), { code: "ENOPROVIDER" });');
    const corrupt = fakeTransport(dir, 'corrupt', `
      const a = netAdapter(net, { ${tcpWhere} });
      return { ...a, listen: (onConn) => a.listen((sock) => {
        const write = sock.write.bind(sock);
        sock.write = (chunk) => { const c = Buffer.from(chunk); c[0] ^= 1; return write(c); };
        onConn(sock);
      }) };`);
    // Dies on its 4th connection: after the probe (1) and calibration's latency and bandwidth blocks.
    const dies = fakeTransport(dir, 'dies', `
      const a = netAdapter(net, { ${tcpWhere} });
      let n = 0;
      return { ...a, listen: (onConn) => a.listen((sock) => { if (++n === 4) process.exit(3); onConn(sock); }) };`);
    const unbuilt = { ...tcp, name: 'unbuilt', unavailableReason: () => 'dist/index.js is missing' };

    const runner = new Runner({
      transports: [tcp, noStart, corrupt, dies, unbuilt],
      sizes: [4, 65536],
      trials: 1,
      budgetSeconds: 4,
      progress: new Progress({ enabled: false }),
    });
    const t0 = Date.now();
    const raw = await runner.run();
    expect(Date.now() - t0).to.be.below(30000);

    const status = Object.fromEntries(raw.transports.map((t) => [t.name, t]));
    expect(status['net-tcp']).to.include({ status: 'ok', reason: null });
    expect(status['no-start'].status).to.equal('unavailable');
    expect(status['no-start'].reason).to.match(/ENOPROVIDER: no such provider/);
    expect(status.corrupt.status).to.equal('unavailable');
    expect(status.corrupt.reason).to.match(/EBENCH_CORRUPT: .*echo mismatch: sent/);
    expect(status.dies.status).to.equal('failed');
    expect(status.dies.reason).to.match(/exited \(code 3\)/);
    expect(status.unbuilt).to.include({ status: 'unavailable', reason: 'dist/index.js is missing' });

    const tests = raw.measurements.filter((m) => m.transport === 'net-tcp').map((m) => `${m.test}:${m.size}`);
    expect(tests).to.have.members(['latency:4', 'latency:65536', 'bandwidth:4', 'bandwidth:65536', 'rate:64', 'connect:1']);
    expect(raw.measurements.filter((m) => m.transport !== 'net-tcp')).to.deep.equal([]);
  });
});
