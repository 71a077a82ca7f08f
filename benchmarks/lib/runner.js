'use strict';
/**
 * Runs the measurements: probes every transport, calibrates, plans how many iterations each trial
 * gets so the whole run fits its time budget, then runs the trials with transports interleaved.
 *
 * Interleaving: a "block" is one transport running one trial of every point of one test over one
 * connection. For each trial and each test, every transport runs its block, in an order rotated
 * from trial to trial, so machine drift (other users on the 2 cores) hits every transport alike.
 * Connections and listeners exist only during their block: a busy-polling transport must not
 * steal CPU while another one is measured.
 *
 * The stream test (cold and warm streams) has fixed sizes: the planner cannot shrink it, so it is
 * neither calibrated nor planned, and its time comes on top of the budget (as the idle test's does).
 */
const debug = require('debug')('via-net:bench');
const { WorkerPair } = require('./worker-pair');
const { idleTest } = require('./idle');
const { median } = require('./stats');
const { formatSize } = require('./sizes');
const { STREAM_BYTES, THINK_US } = require('./args');

const TESTS = ['latency', 'bandwidth', 'rate', 'connect', 'stream', 'think'];
/** Tests that run over the block's persistent connection; the others open their own. */
const ON_BLOCK_CONNECTION = new Set(['latency', 'bandwidth', 'rate', 'think']);
/** Fixed-size tests: not calibrated, not planned, on top of the budget. */
const FIXED = new Set(['stream']);
/**
 * Tests warmed up before their timed trials. The stream test alone is measured cold on purpose
 * (its cold phase is a new connection's first bytes). The connect test opens its own connections
 * and was once left out, so its trials of 5-40 cycles ran the connect path in V8's slower tiers:
 * via-net's, mostly JavaScript, measured 0.98-1.2 ms per cycle there against 0.25-0.3 ms warm.
 */
const WARMED = new Set([...ON_BLOCK_CONNECTION, 'connect']);
const RATE_SIZE = 64;
const THINK_SIZE = 64;
const STREAM_WRITE = 65536;
/** The stream test's phases, in order, as recorded in the measurements. */
const STREAM_PHASES = ['coldStream', 'warmStream'];
const VERIFY_BYTES = 256 * 1024 + 7;
/**
 * A worker pair's warm-up per test (see Runner.warmUp): this much looping (o.warmupSeconds), in at
 * most this many chunks. A fresh worker's first messages run in V8's interpreter, and over shm
 * its first 1,000 round trips or so were slower than the warm path by 10-50x: 200 ms of them left
 * the first trials on the warm-up (4 B: 26-70 µs one-way in trial 1 after 200 ms, 9 µs after 1 s).
 */
const WARMUP_SECONDS = 1;
const WARMUP_CHUNKS = 1000;

/** Iterations for the calibration pass (also the warm-up): cheap, but enough to time. */
function calibrationCount(test, size) {
  switch (test) {
    case 'latency': return size <= 4096 ? 50 : Math.max(2, Math.ceil((1 << 20) / size));
    case 'bandwidth': return Math.min(5000, Math.max(8, Math.ceil((2 << 20) / size)));
    case 'rate': return 5000;
    case 'think': return 20;
    default: return 10;
  }
}

/** Bounds on a trial's iterations: at least enough to mean something, at most a bounded run. */
function countBounds(test, size) {
  switch (test) {
    // The key figures' ping-pongs (4 B and 64 KB) get enough round trips that a trial's first
    // few (a peer woken from sleep after the pause between trials) do not set its figure: with
    // the budget shared by every point, a 4 B trial was given 55-1,028 round trips.
    case 'latency': return [size === 4 ? 1000 : size === 65536 ? 200 : 3, 200000];
    case 'bandwidth': return [4, Math.max(4, Math.min(2000000, Math.floor((2 * 1024 ** 3) / size)))];
    case 'rate': return [1000, 2000000];
    case 'think': return [20, 200000];
    default: return [5, 1000];
  }
}

/**
 * A point is one test at one size, and for the tests that have them its own parameters: `workUs`
 * (think) and `phases` (stream: the writes of each phase, cold then warm).
 */
function pointsFor(sizes, stream = STREAM_BYTES, thinkUs = THINK_US) {
  return {
    latency: sizes.map((size) => ({ test: 'latency', size })),
    bandwidth: sizes.map((size) => ({ test: 'bandwidth', size })),
    rate: [{ test: 'rate', size: RATE_SIZE }],
    connect: [{ test: 'connect', size: 1 }],
    stream: [{ test: 'stream', size: STREAM_WRITE, phases: [stream.coldBytes, stream.warmBytes].map((b) => Math.max(1, Math.round(b / STREAM_WRITE))) }],
    think: thinkUs.map((workUs) => ({ test: 'think', size: THINK_SIZE, workUs })),
  };
}

/** A point's parameters for the workers (besides test, size and count). */
function pointParams(p) {
  if (p.test === 'think') return { workUs: p.workUs };
  if (p.test === 'stream') return { phases: p.phases };
  return {};
}

const key = (transport, p) => `${transport}\0${p.test}\0${p.size}${p.workUs === undefined ? '' : `\0${p.workUs}`}`;

function pointLabel(p) {
  if (p.test === 'think') return `think ${p.workUs} µs`;
  if (p.test === 'stream') return `stream ${p.phases.map((n) => formatSize(n * p.size)).join(' + ')}`;
  return `${p.test} ${formatSize(p.size)}`;
}

/**
 * Give every (transport, point) the same wall-time share of `budgetNs` per trial, but never
 * less than its minimum count: points whose minimum already exceeds the share (8 MB ping-pongs
 * on a slow path) take what they need and the rest is shared among the others (water-filling).
 */
function planCounts(estimates, budgetNs, trials) {
  let items = [...estimates.values()];
  const counts = new Map();
  let remaining = budgetNs / trials;
  for (let pass = 0; pass < 4 && items.length; pass++) {
    const share = remaining / items.length;
    const fixed = items.filter((e) => e.min * e.perIterNs >= share);
    if (!fixed.length) break;
    for (const e of fixed) {
      counts.set(e.key, e.min);
      remaining -= e.min * e.perIterNs;
    }
    items = items.filter((e) => !fixed.includes(e));
  }
  const share = Math.max(0, remaining) / Math.max(1, items.length);
  for (const e of items) {
    counts.set(e.key, Math.max(e.min, Math.min(e.max, Math.round(share / Math.max(1, e.perIterNs)))));
  }
  return counts;
}

class Runner {
  /**
   * @param {object} o
   * @param {object[]} o.transports  registry definitions, baseline first
   * @param {number[]} o.sizes
   * @param {number} o.trials
   * @param {number} o.budgetSeconds  wall time for the timed tests, spawn to report
   * @param {number} [o.idleConnections]  connections per transport for the idle test after them (0: none)
   * @param {{coldBytes: number, warmBytes: number}} [o.stream]  the cold/warm stream test's sizes
   * @param {number[]} [o.thinkUs]  the think-time test's server work, µs per request
   * @param {number} [o.warmupSeconds]  each worker pair's warm-up per test (default 1)
   * @param {import('./progress').Progress} o.progress
   */
  constructor(o) {
    this.o = o;
    this.progress = o.progress;
    this.points = pointsFor(o.sizes, o.stream, o.thinkUs);
    this.fixedNs = 0; // wall time of the fixed-size tests, which the budget does not cover
    this.status = new Map(o.transports.map((d) => [d.name, { name: d.name, description: d.description, status: 'ok', reason: null }]));
    this.pairs = new Map();
    this.measurements = new Map();
    this.counts = new Map();
    this.idle = [];
    this.warmed = new Set(); // `${transport}/${test}` whose worker pair has run its warm-up
    this.warmupNs = 0; // wall time of warm-ups not yet taken out of a block's (takeWarmup)
  }

  active() {
    return this.o.transports.filter((d) => this.status.get(d.name).status === 'ok' && this.pairs.has(d.name));
  }

  async markBroken(def, status, err) {
    const st = this.status.get(def.name);
    st.status = status;
    st.reason = `${err.code ? `${err.code}: ` : ''}${err.message}`;
    this.progress.log(`${def.name}: ${status} (${st.reason})`);
    debug('%s %s: %O', def.name, status, err);
    const pair = this.pairs.get(def.name);
    this.pairs.delete(def.name);
    if (pair) await pair.stop();
  }

  /** Spawn and probe (connect, hash-checked echo, close). A failure makes the transport unavailable. */
  async probeAll() {
    await Promise.all(this.o.transports.map(async (def) => {
      const reason = def.unavailableReason();
      if (reason) {
        const st = this.status.get(def.name);
        st.status = 'unavailable';
        st.reason = reason;
        this.progress.log(`${def.name}: unavailable (${reason})`);
        return;
      }
      const pair = new WorkerPair(def);
      this.pairs.set(def.name, pair);
      try {
        await pair.start();
        await pair.open(true);
        await pair.verify(VERIFY_BYTES);
        await pair.close();
      } catch (err) {
        await this.markBroken(def, 'unavailable', err);
      }
    }));
  }

  /** One block: `test` on one transport, one trial of every point. Returns results per point. */
  async block(def, test, countOf) {
    const pair = this.pairs.get(def.name);
    const out = [];
    const persistent = ON_BLOCK_CONNECTION.has(test);
    await pair.open(persistent);
    try {
      // NetPIPE discards warm-up: a fresh connection's first messages pay one-off costs (first
      // touch of shared pages, waking a sleeping peer) that are not the steady state measured.
      // (The stream test measures exactly those: it has none.)
      const first = this.points[test][0];
      if (first && WARMED.has(test)) {
        const warmKey = `${def.name}/${test}`;
        if (this.warmed.has(warmKey)) await pair.trial(first.test, first.size, Math.min(countOf(first), 200), 15000, pointParams(first));
        else await this.warmUp(pair, first);
        this.warmed.add(warmKey);
      }
      for (const p of this.points[test]) {
        // A fixed-size test is one run per trial; its sizes are in its parameters.
        const count = FIXED.has(test) ? 1 : countOf(p);
        // Generous deadline: a healthy trial takes a fraction of a second; a wedged one must not hang the run.
        const est = this.estimates && this.estimates.get(key(def.name, p));
        const timeoutMs = 15000 + (est ? (10 * est.perIterNs * count) / 1e6 : 0);
        const r = await pair.trial(p.test, p.size, count, timeoutMs, pointParams(p));
        out.push({ point: p, count, ...r });
        this.progress.tick(1, this.phase, `${def.name} ${pointLabel(p)}`);
      }
    } finally {
      await pair.close().catch(() => {});
    }
    return out;
  }

  /**
   * A worker pair's first block of a test: V8 compiles the hot path only after thousands of calls,
   * so a fresh process pays interpreter speed for its first messages (measured over shm: a new
   * pair's first 5,000 4 B round trips averaged 53 µs one-way, the next 8,700 3 µs). Run the first
   * point untimed, in short chunks, for o.warmupSeconds (or WARMUP_CHUNKS chunks). Later blocks reuse
   * the warm processes and only warm their new connection.
   */
  async warmUp(pair, p) {
    const chunk = Math.max(200, calibrationCount(p.test, p.size));
    const warmupNs = (this.o.warmupSeconds ?? WARMUP_SECONDS) * 1e9;
    const t0 = process.hrtime.bigint();
    let spentNs = 0;
    for (let i = 0; i < WARMUP_CHUNKS && spentNs < warmupNs; i++) {
      const r = await pair.trial(p.test, p.size, chunk, 15000, pointParams(p));
      spentNs += r.elapsedNs;
    }
    // Not the timed tests' budget: the trials keep the iterations they were planned.
    this.warmupNs += Number(process.hrtime.bigint() - t0);
  }

  /** The warm-up time of the block just run, moved out of the budget (with the fixed tests'). */
  takeWarmup() {
    const ns = this.warmupNs;
    this.warmupNs = 0;
    this.fixedNs += ns;
    return ns;
  }

  async runBlock(def, test, countOf, onResult) {
    try {
      const results = await this.block(def, test, countOf);
      results.forEach(onResult);
    } catch (err) {
      await this.markBroken(def, 'failed', err);
    }
  }

  /** Points per transport and trial; `planned`: only those the budget covers (and calibration runs). */
  pointsPerTransport(planned = false) {
    return TESTS.filter((t) => !planned || !FIXED.has(t)).reduce((n, t) => n + this.points[t].length, 0);
  }

  /**
   * The fixed-size tests are not calibrated (a pass would cost their full size), but their
   * trials need a deadline: estimate a run from the 64 KB bandwidth and the connect calibrations.
   */
  estimateFixed(def) {
    const perIter = (p) => { const e = this.estimates.get(key(def.name, p)); return e ? e.perIterNs : null; };
    for (const p of this.points.stream) {
      const writes = p.phases.reduce((a, b) => a + b, 0);
      const perWrite = perIter({ test: 'bandwidth', size: p.size }) ?? p.size; // 1 ns/byte if not measured
      const k = key(def.name, p);
      this.estimates.set(k, { key: k, perIterNs: writes * perWrite + (perIter({ test: 'connect', size: 1 }) ?? 0), min: 1, max: 1 });
    }
  }

  async calibrate() {
    this.phase = 'calibrating';
    this.estimates = new Map();
    let wall = 0;
    let work = 0;
    let trials = 0;
    for (const test of TESTS.filter((t) => !FIXED.has(t))) {
      for (const def of this.active()) {
        const t0 = process.hrtime.bigint();
        await this.runBlock(def, test, (p) => calibrationCount(p.test, p.size), (r) => {
          const [min, max] = countBounds(r.point.test, r.point.size);
          const k = key(def.name, r.point);
          this.estimates.set(k, { key: k, perIterNs: r.elapsedNs / r.count, min, max });
          work += r.elapsedNs;
          trials++;
        });
        wall += Number(process.hrtime.bigint() - t0) - this.takeWarmup();
      }
    }
    for (const def of this.active()) this.estimateFixed(def);
    // What a trial costs beyond its timed loop (IPC, arming, block open/close), to budget for it.
    this.overheadPerTrialNs = trials ? Math.max(0, (wall - work) / trials) : 0;
    debug('calibration: %d trials, overhead %d µs/trial', trials, Math.round(this.overheadPerTrialNs / 1000));
  }

  /**
   * Before every trial, re-plan the counts from the remaining budget and the latest per-iteration
   * times: calibration runs cold (JIT, caches) and the machine's load changes, so a plan made
   * once would overshoot or undershoot the budget. The fixed-size tests' time is not the budget's.
   */
  replan(startedAt, trialsLeft) {
    const elapsedNs = Number(process.hrtime.bigint() - startedAt) - this.fixedNs;
    const active = this.active();
    const activeNames = new Set(active.map((d) => d.name));
    const trialCount = active.length * this.pointsPerTransport(true) * trialsLeft;
    const reserveNs = 1e9; // stopping workers, writing the report
    const budgetNs = Math.max(0, this.o.budgetSeconds * 1e9 - elapsedNs - reserveNs - trialCount * this.overheadPerTrialNs);
    const planned = ([k]) => activeNames.has(k.split('\0')[0]) && !FIXED.has(k.split('\0')[1]);
    const estimates = new Map([...this.estimates].filter(planned));
    this.counts = planCounts(estimates, budgetNs, trialsLeft);
    debug('plan: %d trials left, %d ms of loops each', trialsLeft, Math.round(budgetNs / trialsLeft / 1e6));
  }

  /** Fold a measured trial into the per-iteration estimate (median of everything seen). */
  learn(transport, r) {
    const k = key(transport, r.point);
    const e = this.estimates.get(k);
    if (!e) return;
    (e.seen || (e.seen = [e.perIterNs])).push(r.elapsedNs / r.count);
    e.perIterNs = median(e.seen);
  }

  async measure(startedAt) {
    const { trials } = this.o;
    this.phase = 'measuring';
    for (let trial = 0; trial < trials; trial++) {
      this.replan(startedAt, trials - trial);
      let wall = 0;
      let work = 0;
      let n = 0;
      for (const test of TESTS) {
        const defs = this.active();
        // Rotate the order each trial: with two transports this alternates which one goes first.
        const shift = defs.length ? trial % defs.length : 0;
        const order = defs.slice(shift).concat(defs.slice(0, shift));
        const fixed = FIXED.has(test);
        for (const def of order) {
          if (!this.pairs.has(def.name)) continue;
          const t0 = process.hrtime.bigint();
          await this.runBlock(def, test, (p) => this.counts.get(key(def.name, p)), (r) => {
            this.record(def.name, trial, r);
            this.learn(def.name, r);
            if (fixed) return;
            work += r.elapsedNs;
            n++;
          });
          const blockNs = Number(process.hrtime.bigint() - t0) - this.takeWarmup();
          if (fixed) this.fixedNs += blockNs;
          else wall += blockNs;
        }
      }
      if (n) this.overheadPerTrialNs = Math.max(0, (wall - work) / n);
    }
  }

  /** Keep a trial's sample; a stream trial gives one per phase, recorded as tests of their own. */
  record(transport, trial, r) {
    if (r.phases) {
      r.phases.forEach((ph, i) => this.record(transport, trial, { point: { test: STREAM_PHASES[i], size: r.point.size }, ...ph }));
      return;
    }
    const k = key(transport, r.point);
    let m = this.measurements.get(k);
    if (!m) {
      m = { transport, test: r.point.test, size: r.point.size, ...(r.point.workUs === undefined ? {} : { workUs: r.point.workUs }), samples: [] };
      this.measurements.set(k, m);
    }
    m.samples.push({ trial, count: r.count, elapsedNs: r.elapsedNs, cpu: r.cpu, ...(r.spin ? { spin: r.spin } : {}) });
  }

  /**
   * The idle-connection test (lib/idle.js), after the timed tests: one transport at a time, each
   * on a fresh worker pair, so neither the timed tests' leftovers nor another transport's
   * connections are in the figures. Its failure (EMFILE, a timeout) is reported in its record
   * and does not change the transport's status: the timed figures stand.
   */
  async idleAll() {
    const n = this.o.idleConnections;
    const defs = this.active();
    await Promise.all([...this.pairs.values()].map((p) => p.stop()));
    this.pairs.clear();
    this.phase = `idle connections (${n} per transport)`;
    for (const def of defs) {
      const pair = new WorkerPair(def);
      let raw;
      try {
        await pair.start();
        raw = await idleTest(pair, n);
      } catch (err) {
        raw = { requested: n, warmup: 0, opened: 0, openElapsedNs: null, error: `workers: ${err.code ? `${err.code}: ` : ''}${err.message}`, client: {}, server: {} };
      } finally {
        await pair.stop();
      }
      this.idle.push({ transport: def.name, ...raw });
      if (raw.error) this.progress.log(`${def.name}: idle connections: ${raw.error}`);
      this.progress.tick(1, this.phase, def.name);
    }
  }

  async run() {
    const startedAt = process.hrtime.bigint();
    const ppt = this.pointsPerTransport();
    const calibrated = this.pointsPerTransport(true);
    try {
      this.progress.update('starting workers');
      await this.probeAll();
      const baseline = this.status.get(this.o.transports[0].name);
      if (baseline.status !== 'ok') {
        throw Object.assign(new Error(`baseline ${baseline.name} is ${baseline.status}: ${baseline.reason}`), { code: 'EBENCH_BASELINE' });
      }
      const idle = this.o.idleConnections > 0;
      this.progress.setTotal(this.active().length * (ppt * this.o.trials + calibrated + (idle ? 1 : 0)));
      await this.calibrate();
      await this.measure(startedAt);
      if (idle) await this.idleAll();
    } finally {
      await Promise.all([...this.pairs.values()].map((p) => p.stop()));
      this.pairs.clear();
      this.progress.finish();
    }
    return {
      transports: [...this.status.values()],
      measurements: [...this.measurements.values()],
      idleConnections: this.idle,
    };
  }
}

module.exports = { Runner, TESTS, RATE_SIZE, THINK_SIZE, STREAM_WRITE, STREAM_PHASES, planCounts, pointsFor };
