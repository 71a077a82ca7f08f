#!/usr/bin/env node
'use strict';
/**
 * HTTP/2 with and without via-net/register, against the same plain http2 server (node:net; not
 * preloaded), in the same run: the case of issue 15, where register must cost nothing because the
 * server is not via-net's and the connection is TCP either way. Each trial runs the unmodified
 * client app (h2-client.js) once with `-r dist/register.js` and once without, in alternating
 * order, each a fresh process doing `requests` GETs on one session after a warm-up; every body is
 * sha256-checked. Prints each trial, the medians, and register/plain (>1: register is slower),
 * with the range of the per-trial ratios. It also says what http2 ran on under register: a
 * JSStreamSocket there is the regression this benchmark exists for.
 *
 *   node benchmarks/apps/h2-register.js [--trials 3] [--requests 5000] [--inflight 1]
 *                                       [--sizes 13,4096,65536] [--warmup 200] [--json]
 */
const path = require('path');
const { median } = require('../lib/stats');
const { arg } = require('../lib/cli');
const { App, MODES: [VIA, NET] } = require('./procs');

const TRIALS = Number(arg('trials', 3));
const REQUESTS = Number(arg('requests', 5000));
const INFLIGHT = Number(arg('inflight', 1));
const SIZES = String(arg('sizes', '13,4096,65536'));
const WARMUP = Number(arg('warmup', 200));
const JSON_OUT = process.argv.includes('--json');

const MODES = [
  { ...VIA, name: 'register' },
  { ...NET, name: 'plain' },
];

async function runClient(mode, port) {
  const args = ['--port', port, '--requests', REQUESTS, '--inflight', INFLIGHT, '--sizes', SIZES, '--warmup', WARMUP];
  // Generous: a JSStreamSocket run with 64 KB bodies has been seen to take ~17 ms a request.
  const r = await new App(path.join(__dirname, 'h2-client.js'), args, { mode }).result(60_000 + REQUESTS * 40);
  if (r.bad !== 0 || r.responses !== REQUESTS + WARMUP) {
    throw new Error(`${mode.name} client: ${r.bad} bad bodies, ${r.responses} of ${REQUESTS + WARMUP} responses`);
  }
  return r;
}

const fmt = (ms) => `${ms.toFixed(0)} ms`;

async function main() {
  const server = new App(path.join(__dirname, 'h2-server.js'), [], { mode: NET });
  try {
    const port = Number((await server.waitFor(/^PORT (\d+)$/))[1]);
    const samples = { register: [], plain: [] };
    let carrier = null;
    for (let trial = 0; trial < TRIALS; trial++) {
      const order = trial % 2 === 0 ? MODES : [...MODES].reverse();
      for (const mode of order) {
        const r = await runClient(mode, port);
        samples[mode.name].push(r.ms);
        if (mode.name === 'register') carrier = { ...r.atConnect, transport: r.transport };
        if (!JSON_OUT) process.stderr.write(`trial ${trial + 1}/${TRIALS} ${mode.name}: ${fmt(r.ms)}\n`);
      }
    }
    const ratios = samples.register.map((ms, i) => ms / samples.plain[i]);
    const result = {
      requests: REQUESTS, inflight: INFLIGHT, sizes: SIZES.split(',').map(Number), warmup: WARMUP, trials: TRIALS,
      registerMs: median(samples.register), plainMs: median(samples.plain),
      ratio: median(samples.register) / median(samples.plain),
      ratioRange: [Math.min(...ratios), Math.max(...ratios)],
      underRegister: carrier, samples,
    };
    if (JSON_OUT) {
      console.log(JSON.stringify(result, null, 2));
    } else {
      console.log(`HTTP/2, ${REQUESTS} requests (${SIZES} B bodies, ${INFLIGHT} in flight) on one session to a plain http2 server, median of ${TRIALS} trials`);
      console.log(`  with -r via-net/register: ${fmt(result.registerMs)}   (trials: ${samples.register.map(fmt).join(', ')})`);
      console.log(`  without:                  ${fmt(result.plainMs)}   (trials: ${samples.plain.map(fmt).join(', ')})`);
      console.log(`  register / plain: ${result.ratio.toFixed(2)}x (per trial ${result.ratioRange.map((x) => x.toFixed(2)).join('-')}x)`);
      console.log(`  under register http2 ran on: ${carrier.wrapper} over ${carrier.handle} (transport ${carrier.transport})`);
    }
  } finally {
    await server.stop();
  }
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
