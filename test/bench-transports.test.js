'use strict';
/**
 * The runner against transports that misbehave: one that cannot start, one that corrupts data,
 * one whose server dies mid-run. Each must be reported with its reason while the healthy
 * baseline is still measured; none may hang the run. And a stream whose byte count does not add
 * up fails its trial.
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
      for (const workUs of [50, 1000]) {
        const r = await pair.trial('think', 64, 10, 20000, { workUs });
        // Ten calls take at least ten times the server's work, which is CPU on the server.
        expect(r.elapsedNs, `think ${workUs}`).to.be.at.least(10 * workUs * 1000);
        expect(r.cpu.server.user + r.cpu.server.system, `think ${workUs} server cpu`).to.be.at.least(10 * workUs * 0.9);
        expect(r, 'TCP does not poll').to.not.have.property('spin');
      }
      await pair.close();
      await pair.open(false);
      const c = await pair.trial('connect', 1, 5, 20000);
      expect(c.elapsedNs).to.be.above(0);
      await pair.close();
      // The stream test opens its own connection, inside the timed run.
      await pair.open(false);
      const s = await pair.trial('stream', 65536, 1, 20000, { phases: [16, 48] });
      expect(s.phases.map((p) => p.count)).to.deep.equal([16, 48]);
      for (const p of s.phases) {
        expect(p.elapsedNs).to.be.above(0);
        for (const side of ['client', 'server']) expect(p.cpu[side].user + p.cpu[side].system, `stream ${side} cpu`).to.be.above(0);
      }
      expect(s.elapsedNs).to.equal(s.phases[0].elapsedNs + s.phases[1].elapsedNs);
      await pair.close();
    } finally {
      await pair.stop();
    }
  });

  it('reports what a polling transport spent spinning: busy mode polls through the server\'s think time', async function () {
    const def = allTransports().find((d) => d.name === 'via-shm-busy');
    const why = def.unavailableReason() || require('../dist/providers/shm.js').shmUnavailableReason();
    if (why) this.skip();
    const pair = new WorkerPair(def);
    try {
      await pair.start();
      await pair.open(true);
      const workUs = 1000;
      const calls = 20;
      const r = await pair.trial('think', 64, calls, 20000, { workUs });
      // The client waits out the server's work polling: most of that is spinning with nothing
      // found (a clock-timed span, like the trial: at most the trial's time and the counters'
      // reads around it).
      expect(r.spin.client, 'client spin').to.be.above(0.5 * calls * workUs);
      expect(r.spin.client, 'client spin').to.be.at.most(r.elapsedNs / 1e3 + 2000);
      expect(r.spin.server, 'server spin').to.be.at.least(0);
      await pair.close();
    } finally {
      await pair.stop();
    }
  });

  it('fails a stream trial whose bytes do not add up (EBENCH_CORRUPT), and the pair lives on', async () => {
    // One byte too many in the third write of every client connection.
    const extra = fakeTransport(dir, 'extra-byte', `
      const a = netAdapter(net, { ${tcpWhere} });
      return { ...a, connect: (address) => a.connect(address).then((sock) => {
        const write = sock.write.bind(sock);
        let n = 0;
        sock.write = (chunk) => write(++n === 3 ? Buffer.concat([chunk, Buffer.alloc(1)]) : chunk);
        return sock;
      }) };`);
    const pair = new WorkerPair(extra);
    try {
      await pair.start();
      await pair.open(false);
      let err = null;
      await pair.trial('stream', 65536, 1, 20000, { phases: [4, 4] }).catch((e) => { err = e; });
      expect(err, 'the trial must fail').to.not.equal(null);
      expect(err.code).to.equal('EBENCH_CORRUPT');
      // Where the extra byte shows depends on how the kernel splits the stream: at the end of
      // phase 0 when it arrives with phase 0's last bytes, at the end of phase 1 when a read
      // ended exactly on phase 0's boundary and it came alone.
      expect(err.message).to.match(/phase [01] ended at byte (262145|524289), not (262144|524288)/);
      await pair.close();
      await pair.open(false);
      const c = await pair.trial('connect', 1, 3, 20000);
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
      stream: { coldBytes: 1 << 20, warmBytes: 4 << 20 },
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
    expect(tests).to.have.members(['latency:4', 'latency:65536', 'bandwidth:4', 'bandwidth:65536', 'rate:64', 'connect:1',
      'coldStream:65536', 'warmStream:65536', 'think:64', 'think:64', 'think:64']);
    const think = raw.measurements.filter((m) => m.transport === 'net-tcp' && m.test === 'think').map((m) => m.workUs);
    expect(think).to.deep.equal([50, 200, 1000]);
    const phase = (test) => raw.measurements.find((m) => m.transport === 'net-tcp' && m.test === test).samples[0];
    expect([phase('coldStream').count, phase('warmStream').count]).to.deep.equal([16, 64]);
    expect(raw.measurements.filter((m) => m.transport !== 'net-tcp')).to.deep.equal([]);
  });
});
