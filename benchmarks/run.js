#!/usr/bin/env node
'use strict';
/**
 * `npm run bench`: NetPIPE-style comparison of node:net and via-net (ETHOM paper, the SOVIA paper §3.2).
 * Latency (half ping-pong round trip), streaming bandwidth, 64 B message rate, connect cost, CPU
 * per GB, a new connection's cold and warm streams and request/response with server think time,
 * for every transport in benchmarks/transports/, each as a median over interleaved
 * trials and as a ratio to node:net TCP measured in the same run; then the memory (RSS) and file
 * descriptors an idle connection costs each side, and whether both return to their baseline. Writes
 * bench-results/<timestamp>.json (schema: benchmarks/SCHEMA.md) and two SVG plots next to it.
 */
const fs = require('node:fs');
const path = require('node:path');
const { allTransports, BASELINE } = require('./transports');
const { parseArgs, USAGE } = require('./lib/args');
const { Runner } = require('./lib/runner');
const { workerExecArgv } = require('./lib/worker-pair');
const { Progress } = require('./lib/progress');
const { resultsFor, keyFigures, formatSummary, plots } = require('./lib/report');
const { formatSize } = require('./lib/sizes');
const { reportHeader } = require('./lib/host');

const ROOT = path.resolve(__dirname, '..');
const SCHEMA_ID = 'via-net-bench/1';

/** ISO 8601 basic format (no colons, so it is a portable file name): 20261121T125318Z. */
function fileStamp(date) {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** VIA_NET_* variables reach the workers and override preset parameters: the report must say so. */
function viaNetEnvironment() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('VIA_NET_')).sort());
}

async function main(argv) {
  const defs = allTransports();
  const names = [BASELINE, ...defs.map((d) => d.name).filter((n) => n !== BASELINE)];
  const opts = parseArgs(argv, names, ROOT);
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (opts.list) {
    for (const d of defs) {
      const reason = d.unavailableReason();
      process.stdout.write(`${d.name.padEnd(20)} ${d.description}${reason ? `  [unavailable: ${reason}]` : ''}\n`);
    }
    return 0;
  }
  const chosen = opts.transports.map((n) => defs.find((d) => d.name === n));
  const progress = new Progress();
  const started = new Date();
  const env = Object.entries(viaNetEnvironment());
  if (env.length) progress.log(`note: workers inherit ${env.map(([k, v]) => `${k}=${v}`).join(' ')}, which override SOVIA presets`);
  progress.log(`via-net bench: ${chosen.length} transports, ${opts.sizes.length} sizes, ${opts.trials} trials, about ${opts.budgetSeconds} s`
    + ` plus cold/warm streams of ${formatSize(opts.coldBytes)} + ${formatSize(opts.warmBytes)} per transport and trial`
    + `${opts.idleConnections ? `, then ${opts.idleConnections} idle connections per transport` : ''}`);

  const runner = new Runner({
    transports: chosen,
    sizes: opts.sizes,
    trials: opts.trials,
    budgetSeconds: opts.budgetSeconds,
    idleConnections: opts.idleConnections,
    stream: { coldBytes: opts.coldBytes, warmBytes: opts.warmBytes },
    thinkUs: opts.thinkUs,
    // --quick is the smoke test (CI runs it): it keeps the short warm-up.
    warmupSeconds: opts.quick ? 0.2 : 1,
    progress,
  });
  const raw = await runner.run();
  const finished = new Date();

  const results = raw.transports.filter((t) => t.status !== 'unavailable').map((t) => resultsFor(t.name, raw.measurements, raw.idleConnections));
  const report = {
    ...reportHeader(SCHEMA_ID, started, finished),
    options: {
      quick: opts.quick,
      trials: opts.trials,
      budgetSeconds: opts.budgetSeconds,
      idleConnections: opts.idleConnections,
      coldStreamBytes: opts.coldBytes,
      warmStreamBytes: opts.warmBytes,
      thinkUs: opts.thinkUs,
      sizes: opts.sizes,
      requestedSizes: opts.requestedSizes,
      transports: opts.transports,
      execArgv: workerExecArgv(),
      environment: viaNetEnvironment(),
    },
    baseline: BASELINE,
    transports: raw.transports,
    measurements: raw.measurements,
    idleConnections: raw.idleConnections,
    results,
    keyFigures: keyFigures(results, BASELINE),
    files: null,
  };

  fs.mkdirSync(opts.out, { recursive: true });
  const stamp = fileStamp(started);
  // File names only: the plots sit next to the JSON wherever the directory is moved.
  const files = { dir: opts.out, json: `${stamp}.json`, latencyPlot: `${stamp}-latency.svg`, bandwidthPlot: `${stamp}-bandwidth.svg` };
  report.files = files;
  const svg = plots(report);
  fs.writeFileSync(path.join(opts.out, files.latencyPlot), svg.latency);
  fs.writeFileSync(path.join(opts.out, files.bandwidthPlot), svg.bandwidth);
  const json = `${JSON.stringify(report, null, 1)}\n`;
  fs.writeFileSync(path.join(opts.out, files.json), json);

  if (opts.json) process.stdout.write(json);
  else process.stdout.write(formatSummary(report));
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
    process.stderr.write(`\nbench: ${err.code ? `${err.code}: ` : ''}${err.message}\n${err.usage ? USAGE : ''}`);
    process.exitCode = err.usage ? 2 : 1;
  });
}

module.exports = { main, fileStamp, SCHEMA_ID };
