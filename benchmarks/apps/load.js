'use strict';
/**
 * The load of the request/response client apps (benchmarks/http/client.js, h2-client.js,
 * ws-client.js): `inflight` lanes, each sending its next request as soon as its previous one is
 * answered; first a warm-up, then the timed phase (probe.js's phase 'timed', so the app benchmark
 * runner reads both processes' CPU at its edges). Requests are numbered from 0 across both.
 */
const { performance } = require('perf_hooks');
const { phase } = require('./probe');
const { arg } = require('../lib/cli');
const { prepare } = require('./body');

/**
 * Runs `request(i)` in `inflight` lanes until `limit` ({ requests } or { seconds }) is reached;
 * `state.next` numbers the requests. Pushes each request's latency (ms) into `latencies` if given.
 */
function lanes(state, inflight, limit, request, latencies) {
  const end = limit.requests === undefined ? Infinity : state.next + limit.requests;
  const stopAt = limit.seconds === undefined ? Infinity : performance.now() + limit.seconds * 1000;
  const lane = async () => {
    while (state.next < end && performance.now() < stopAt) {
      const i = state.next++;
      const t0 = performance.now();
      await request(i);
      if (latencies) latencies.push(performance.now() - t0);
    }
  };
  return Promise.all(Array.from({ length: inflight }, lane));
}

/** The `p` quantile (0..1) of sorted latencies in ms, in µs; null if there are none. */
function quantileUs(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] * 1000 : null;
}

/**
 * Warm-up (`warmup`), then the timed phase (`timed`), each { requests: n } or { seconds: s }.
 * Resolves with { warmup: requests in the warm-up, requests: timed requests, ms: the timed
 * phase's time, p50, p99: its latency quantiles in µs }.
 */
async function measure({ inflight, warmup, timed, request }) {
  const state = { next: 0 };
  await lanes(state, inflight, warmup, request, null);
  const warmupCount = state.next;
  const latencies = [];
  const { ms } = await phase('timed', () => lanes(state, inflight, timed, request, latencies));
  const sorted = Float64Array.from(latencies).sort();
  return {
    warmup: warmupCount,
    requests: state.next - warmupCount,
    ms,
    p50: quantileUs(sorted, 0.5),
    p99: quantileUs(sorted, 0.99),
  };
}

/** A limit for measure() from the command line: `--<countName> N` requests, else `--<secondsName> S` seconds, else `dflt`. */
function limitOption(countName, secondsName, dflt) {
  if (arg(countName) !== undefined) return { requests: Number(arg(countName)) };
  if (arg(secondsName) !== undefined) return { seconds: Number(arg(secondsName)) };
  return dflt;
}

/**
 * The load options every client takes: --port, --inflight (1), --sizes (`sizes`), the warm-up
 * (--warmup N requests or --warmup-seconds S) and the timed phase (--requests N or --seconds S),
 * with the defaults given. Makes the bodies of body.js the run will use, before anything is timed.
 */
function loadOptions({ sizes, warmup, timed }) {
  const options = {
    port: Number(arg('port')),
    inflight: Math.max(1, Number(arg('inflight', 1))),
    sizes: String(arg('sizes', sizes)).split(',').map(Number),
    warmup: limitOption('warmup', 'warmup-seconds', warmup),
    timed: limitOption('requests', 'seconds', timed),
  };
  const { warmup: w, timed: t } = options;
  prepare(options.sizes, w.requests !== undefined && t.requests !== undefined ? w.requests + t.requests : Infinity);
  return options;
}

/** Prints the client's one JSON line and exits (keep-alive pools would otherwise hold the process a while). */
function finish(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

/** Ends the client on an error: the stack on stderr, exit code 1. */
function fail(err) {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
}

module.exports = { measure, loadOptions, finish, fail };
