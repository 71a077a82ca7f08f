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
 */
const debug = require('debug')('via-net:bench');
const { WorkerPair } = require('./worker-pair');
const { idleTest } = require('./idle');
const { median } = require('./stats');
const { formatSize } = require('./sizes');

const TESTS = ['latency', 'bandwidth', 'rate', 'connect'];
const RATE_SIZE = 64;
const VERIFY_BYTES = 256 * 1024 + 7;

/** Iterations for the calibration pass (also the warm-up): cheap, but enough to time. */
function calibrationCount(test, size) {
  switch (test) {
    case 'latency': return size <= 4096 ? 50 : Math.max(2, Math.ceil((1 << 20) / size));
    case 'bandwidth': return Math.min(5000, Math.max(8, Math.ceil((2 << 20) / size)));
    case 'rate': return 5000;
    default: return 10;
  }
}

/** Bounds on a trial's iterations: at least enough to mean something, at most a bounded run. */
function countBounds(test, size) {
  switch (test) {
    case 'latency': return [3, 200000];
    case 'bandwidth': return [4, Math.max(4, Math.min(2000000, Math.floor((2 * 1024 ** 3) / size)))];
    case 'rate': return [1000, 2000000];
    default: return [5, 1000];
  }
}

function pointsFor(sizes) {
  return {
    latency: sizes.map((size) => ({ test: 'latency', size })),
    bandwidth: sizes.map((size) => ({ test: 'bandwidth', size })),
    rate: [{ test: 'rate', size: RATE_SIZE }],
    connect: [{ test: 'connect', size: 1 }],
  };
}

const key = (transport, test, size) => `${transport}\0${test}\0${size}`;

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
   * @param {import('./progress').Progress} o.progress
   */
  constructor(o) {
    this.o = o;
    this.progress = o.progress;
    this.points = pointsFor(o.sizes);
    this.status = new Map(o.transports.map((d) => [d.name, { name: d.name, description: d.description, status: 'ok', reason: null }]));
    this.pairs = new Map();
    this.measurements = new Map();
    this.counts = new Map();
    this.idle = [];
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
    await pair.open(test !== 'connect');
    try {
      // NetPIPE discards warm-up: a fresh connection's first messages pay one-off costs (first
      // touch of shared pages, waking a sleeping peer) that are not the steady state measured.
      const first = this.points[test][0];
      if (first && test !== 'connect') await pair.trial(first.test, first.size, Math.min(countOf(first), 200), 15000);
      for (const p of this.points[test]) {
        const count = countOf(p);
        // Generous deadline: a healthy trial takes a fraction of a second; a wedged one must not hang the run.
        const est = this.estimates && this.estimates.get(key(def.name, p.test, p.size));
        const timeoutMs = 15000 + (est ? (10 * est.perIterNs * count) / 1e6 : 0);
        const r = await pair.trial(p.test, p.size, count, timeoutMs);
        out.push({ point: p, count, ...r });
        this.progress.tick(1, this.phase, `${def.name} ${test} ${formatSize(p.size)}`);
      }
    } finally {
      await pair.close().catch(() => {});
    }
    return out;
  }

  async runBlock(def, test, countOf, onResult) {
    try {
      const results = await this.block(def, test, countOf);
      results.forEach(onResult);
    } catch (err) {
      await this.markBroken(def, 'failed', err);
    }
  }

  pointsPerTransport() {
    return TESTS.reduce((n, t) => n + this.points[t].length, 0);
  }

  async calibrate() {
    this.phase = 'calibrating';
    this.estimates = new Map();
    let wall = 0;
    let work = 0;
    let trials = 0;
    for (const test of TESTS) {
      for (const def of this.active()) {
        const t0 = process.hrtime.bigint();
        await this.runBlock(def, test, (p) => calibrationCount(p.test, p.size), (r) => {
          const [min, max] = countBounds(r.point.test, r.point.size);
          const k = key(def.name, r.point.test, r.point.size);
          this.estimates.set(k, { key: k, perIterNs: r.elapsedNs / r.count, min, max });
          work += r.elapsedNs;
          trials++;
        });
        wall += Number(process.hrtime.bigint() - t0);
      }
    }
    // What a trial costs beyond its timed loop (IPC, arming, block open/close), to budget for it.
    this.overheadPerTrialNs = trials ? Math.max(0, (wall - work) / trials) : 0;
    debug('calibration: %d trials, overhead %d µs/trial', trials, Math.round(this.overheadPerTrialNs / 1000));
  }

  /**
   * Before every trial, re-plan the counts from the remaining budget and the latest per-iteration
   * times: calibration runs cold (JIT, caches) and the machine's load changes, so a plan made
   * once would overshoot or undershoot the budget.
   */
  replan(startedAt, trialsLeft) {
    const elapsedNs = Number(process.hrtime.bigint() - startedAt);
    const active = this.active();
    const activeNames = new Set(active.map((d) => d.name));
    const trialCount = active.length * this.pointsPerTransport() * trialsLeft;
    const reserveNs = 1e9; // stopping workers, writing the report
    const budgetNs = Math.max(0, this.o.budgetSeconds * 1e9 - elapsedNs - reserveNs - trialCount * this.overheadPerTrialNs);
    const estimates = new Map([...this.estimates].filter(([k]) => activeNames.has(k.split('\0')[0])));
    this.counts = planCounts(estimates, budgetNs, trialsLeft);
    debug('plan: %d trials left, %d ms of loops each', trialsLeft, Math.round(budgetNs / trialsLeft / 1e6));
  }

  /** Fold a measured trial into the per-iteration estimate (median of everything seen). */
  learn(transport, r) {
    const k = key(transport, r.point.test, r.point.size);
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
      const t0 = process.hrtime.bigint();
      let work = 0;
      let n = 0;
      for (const test of TESTS) {
        const defs = this.active();
        // Rotate the order each trial: with two transports this alternates which one goes first.
        const shift = defs.length ? trial % defs.length : 0;
        const order = defs.slice(shift).concat(defs.slice(0, shift));
        for (const def of order) {
          if (!this.pairs.has(def.name)) continue;
          await this.runBlock(def, test, (p) => this.counts.get(key(def.name, p.test, p.size)), (r) => {
            this.record(def.name, trial, r);
            this.learn(def.name, r);
            work += r.elapsedNs;
            n++;
          });
        }
      }
      if (n) this.overheadPerTrialNs = Math.max(0, (Number(process.hrtime.bigint() - t0) - work) / n);
    }
  }

  record(transport, trial, r) {
    const k = key(transport, r.point.test, r.point.size);
    let m = this.measurements.get(k);
    if (!m) {
      m = { transport, test: r.point.test, size: r.point.size, samples: [] };
      this.measurements.set(k, m);
    }
    m.samples.push({ trial, count: r.count, elapsedNs: r.elapsedNs, cpu: r.cpu });
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
    try {
      this.progress.update('starting workers');
      await this.probeAll();
      const baseline = this.status.get(this.o.transports[0].name);
      if (baseline.status !== 'ok') {
        throw Object.assign(new Error(`baseline ${baseline.name} is ${baseline.status}: ${baseline.reason}`), { code: 'EBENCH_BASELINE' });
      }
      const idle = this.o.idleConnections > 0;
      this.progress.setTotal(this.active().length * (ppt * (this.o.trials + 1) + (idle ? 1 : 0)));
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

module.exports = { Runner, TESTS, RATE_SIZE, planCounts, pointsFor };
