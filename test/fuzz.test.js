'use strict';
// Fuzzing (issue 7, bad input 2):
//  - the native VI data path under libFuzzer (native/fuzz/shm_vi_fuzz.cc), bounded, when clang
//    is installed (skipped with the reason otherwise), over the corpus in test/fuzz-corpus/;
//  - the SOVIA engine under fast-check: random packet sequences (random immediates, so random
//    types and credit counts, random lengths) from a hostile peer VI, asserting the engine never
//    throws, reports only EPROTO / ECONNRESET, and keeps its event contract.
const { expect } = require('chai');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const fc = require('fast-check');
const { SoviaConnection, recvDepthFor, resolveParams } = require('../dist/sovia');

const root = path.resolve(__dirname, '..');
const FUZZ_RUNS = Number(process.env.FUZZ_RUNS || 20000);

function clangPath() {
  const r = spawnSync('clang++', ['--version']);
  return r.status === 0 ? 'clang++' : null;
}

describe('fuzz: native shm VI data path (libFuzzer)', function () {
  this.timeout(180000);
  const clang = clangPath();

  it(`survives ${FUZZ_RUNS} inputs plus the corpus under ASan/UBSan`, function () {
    if (!clang) {
      console.log('      skipped: clang++ is not installed (apt-get install -y clang)');
      this.skip();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'via-net-fuzz-'));
    try {
      const bin = path.join(dir, 'shm_vi_fuzz');
      const build = spawnSync(clang, ['-std=c++17', '-g', '-O1', '-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=undefined',
        path.join(root, 'native/fuzz/shm_vi_fuzz.cc'), path.join(root, 'native/shm_vi.cc'), '-o', bin], { encoding: 'utf8' });
      expect(build.status, build.stderr).to.equal(0);
      // New inputs go to a scratch directory: the checked-in corpus is only read.
      const scratch = path.join(dir, 'corpus');
      fs.mkdirSync(scratch);
      const run = spawnSync(bin, [`-runs=${FUZZ_RUNS}`, '-max_total_time=60', `-artifact_prefix=${dir}/`, scratch, path.join(root, 'test/fuzz-corpus/shm_vi')], {
        encoding: 'utf8',
        env: { ...process.env, LD_PRELOAD: '', ASAN_OPTIONS: 'detect_leaks=1' },
      });
      const tail = run.stderr.split('\n').slice(-15).join('\n');
      expect(run.status, tail).to.equal(0);
      expect(run.stderr).to.match(/Done \d+ runs/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A VI whose peer is the fuzzer: everything the engine sends is recorded and dropped. */
function hostileVi(recvDepth) {
  return {
    recvDepth,
    handler: null,
    closed: false,
    sent: 0,
    setHandler(h) {
      this.handler = h;
    },
    postRecv() {},
    postSend() {
      this.sent++;
      return true;
    },
    allocSendBuffer: (size) => Buffer.alloc(size),
    setPollMode() {},
    ref() {},
    unref() {},
    close() {
      this.closed = true;
    },
  };
}

const packet = fc.record({
  type: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 5 }) }, { weight: 1, arbitrary: fc.integer({ min: 6, max: 7 }) }),
  value: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 2 ** 29 - 1 })),
  length: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 64 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 40000 }) }),
  asyncGap: fc.boolean(),
});

describe('fuzz: SOVIA engine against random packet sequences (fast-check)', function () {
  this.timeout(120000);

  it('never throws, errors only with EPROTO/ECONNRESET, and keeps the event contract', async () => {
    const reached = new Set();
    await fc.assert(
      fc.asyncProperty(fc.array(packet, { maxLength: 80 }), fc.boolean(), fc.boolean(), async (packets, writeFirst, wakeFirst) => {
        const params = resolveParams({}, {});
        const vi = hostileVi(recvDepthFor(params) + 4);
        const log = [];
        const conn = new SoviaConnection(vi, params, {
          onData: (chunk) => (log.push('data'), true),
          onEstablished: () => log.push('established'),
          onEnd: () => log.push('end'),
          onError: (err) => log.push(`error:${err.code}`),
          onClose: () => log.push('close'),
        });
        if (writeFirst) conn.write(Buffer.alloc(100, 1), () => {});
        if (wakeFirst) {
          // A well-formed WAKEUP (window 32, chunk 32 KiB, 2 ACK slots) so the packets that follow
          // reach the established states (DATA, ACK, FIN, FINACK, RST) instead of the first check.
          const wake = Buffer.alloc(8);
          wake.writeUInt32LE(32768, 0);
          wake.writeUInt32LE(2, 4);
          vi.handler.onRecv(wake, ((2 << 29) | 32) >>> 0);
        }
        for (const p of packets) {
          if (vi.closed || !vi.handler) break; // a real provider delivers nothing after close
          const imm = ((p.type << 29) | p.value) >>> 0;
          vi.handler.onRecv(Buffer.alloc(p.length, 0x5a), imm); // must not throw
          if (p.asyncGap) await new Promise((r) => setImmediate(r));
        }
        await new Promise((r) => setImmediate(r));
        if (wakeFirst) reached.add(log.includes('established') ? (log.some((e) => e.startsWith('error')) ? 'established+error' : 'established') : 'not');
        const errors = log.filter((e) => e.startsWith('error:'));
        expect(errors.length).to.be.at.most(1);
        for (const e of errors) expect(['error:EPROTO', 'error:ECONNRESET']).to.include(e);
        const closes = log.filter((e) => e === 'close').length;
        expect(closes).to.be.at.most(1);
        if (closes) expect(log.indexOf('close')).to.equal(log.length - 1);
        if (errors.length) expect(log.slice(log.indexOf(errors[0]) + 1).every((e) => e === 'close')).to.equal(true);
        if (!vi.closed) conn.destroy();
      }),
      { numRuns: Number(process.env.FC_RUNS || 300), seed: 20261121 },
    );
    // The property is only worth something if the valid prefix got the engine established.
    expect([...reached]).to.include('established');
  });
});

// Bad input 3: test/compat/errors.js pins node's exact errors for the known bad arguments. This
// differential property covers the combinations it does not list: random values for every
// connect / listen / Socket-method argument, and via-net must throw exactly when node:net throws,
// with the same code. Hosts are limited to loopback literals (no DNS, no traffic elsewhere).
describe('fuzz: API arguments rejected exactly as node:net rejects them (fast-check, differential)', function () {
  this.timeout(120000);
  const net = require('node:net');
  const via = require('../dist');

  const weird = fc.oneof(
    fc.constantFrom(undefined, null, true, false, 0, -1, 1, 1.5, NaN, Infinity, -Infinity, 65535, 65536, 2 ** 31, '', 'x', '80', ' 80', '0x50', '-1', [], {}, [80], () => {}),
    fc.integer({ min: -10, max: 70000 }),
    fc.string({ maxLength: 4 }),
  );
  const host = fc.constantFrom(undefined, '127.0.0.1', '::1', 1, null, {}, true);

  /** Calls fn; returns the code it threw synchronously, or 'ok'. Cleans up whatever it created. */
  function outcome(fn) {
    try {
      const made = fn();
      if (made && typeof made.destroy === 'function') {
        made.on('error', () => {});
        made.destroy();
      } else if (made && typeof made.close === 'function') {
        made.on('error', () => {});
        if (made.listening) made.close();
        else made.once('listening', () => made.close());
      }
      return 'ok';
    } catch (err) {
      return err.code || err.name;
    }
  }

  const connectOptions = fc.record(
    { port: weird, host, localAddress: fc.constantFrom(undefined, '127.0.0.1', 'x', 1, '::1'), localPort: weird, family: weird, timeout: weird,
      allowHalfOpen: weird, noDelay: weird, keepAlive: weird, keepAliveInitialDelay: weird, hints: weird, autoSelectFamily: weird },
    { requiredKeys: [] },
  );

  it('connect(options) and connect(port, host)', () => {
    fc.assert(
      fc.property(connectOptions, weird, host, (opts, port, h) => {
        const o = { ...opts, port: opts.port === undefined ? 1 : opts.port };
        expect(outcome(() => via.connect(o)), `connect(${JSON.stringify(o)})`).to.equal(outcome(() => net.connect(o)));
        expect(outcome(() => via.connect(port, h)), `connect(${String(port)}, ${String(h)})`).to.equal(outcome(() => net.connect(port, h)));
      }),
      { numRuns: Number(process.env.FC_RUNS || 300), seed: 20261121 },
    );
  });

  it('listen(options) and listen(port, host, backlog)', () => {
    const listenOptions = fc.record({ port: weird, host, backlog: weird, exclusive: weird, ipv6Only: weird, readableAll: weird }, { requiredKeys: [] });
    fc.assert(
      fc.property(listenOptions, weird, weird, (opts, port, backlog) => {
        // Port 0 or an unusable port only: never bind a real fixed port twice.
        const safe = (p) => (typeof p === 'number' && Number.isInteger(p) && p > 0 && p < 65536 ? 0 : p);
        const o = { ...opts, port: safe(opts.port) };
        expect(outcome(() => via.createServer().listen(o)), `listen(${JSON.stringify(o)})`).to.equal(outcome(() => net.createServer().listen(o)));
        const p = safe(port);
        expect(outcome(() => via.createServer().listen(p, '127.0.0.1', backlog))).to.equal(outcome(() => net.createServer().listen(p, '127.0.0.1', backlog)));
      }),
      { numRuns: Number(process.env.FC_RUNS || 200), seed: 20261121 },
    );
  });

  it('Socket methods: setTimeout, setNoDelay, setKeepAlive, write, end, setEncoding', () => {
    const methods = fc.constantFrom('setTimeout', 'setNoDelay', 'setKeepAlive', 'write', 'end', 'setEncoding', 'pause', 'resume', 'address', 'ref', 'unref');
    fc.assert(
      fc.property(methods, weird, weird, (m, a, b) => {
        const call = (impl) => () => {
          const s = new impl.Socket();
          s.on('error', () => {});
          try {
            s[m](a, b);
          } finally {
            s.destroy();
          }
        };
        expect(outcome(call(via)), `socket.${m}(${String(a)}, ${String(b)})`).to.equal(outcome(call(net)));
      }),
      { numRuns: Number(process.env.FC_RUNS || 300), seed: 20261121 },
    );
  });
});
