#!/usr/bin/env node
'use strict';
/**
 * `npm run bench:host`: what this machine allows a polling transport, measured without via-net
 * and then with it, in the same shape (two processes, bursts of ping-pongs with idle gaps):
 *
 *   1. CPU stalls (host-limits/stalls.c): a thread per CPU that never sleeps, and the gaps of
 *      >= 20 µs the host and kernel put between two of its clock reads.
 *   2. Spin-then-sleep ping-pong in C (host-limits/spin-sleep.c): adaptive polling with nothing
 *      of via-net in it, for a 50 µs spin (via-net's default budget) and a 1 ms one.
 *   3. The same bursts through via-net's public net API in adaptive mode (shm), for comparison.
 *
 * A burst "collapses" when more than 1 message in 10 found the other end asleep: each of those
 * pays a cross-process wake-up instead of a few hundred ns of polling. If C collapses as often as
 * via-net, the collapses are the host's, not the protocol's.
 *
 *   node benchmarks/host-limits.js [--bursts 40] [--messages 1000] [--gap 20] [--stall-seconds 2] [--json]
 *
 * Needs a C compiler (cc, or $CC) for 1 and 2, and a build (npm install) for 3.
 */
const { execFileSync, fork } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ROOT, arg } = require('./lib/cli');

const SOURCES = path.join(__dirname, 'host-limits');
const ECHO = '--echo-server';
/** Both ends poll the way the default does, whatever VIA_NET_POLL says. */
const SOVIA = { pollMode: 'adaptive' };

/** `--name N`, a positive number, or `fallback` when absent. */
function option(name, fallback) {
  const raw = arg(name, undefined);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

if (process.argv[2] === ECHO) {
  // The via-net end of part 3: an echo server in its own process.
  const net = require(path.join(ROOT, 'dist'));
  const server = net.createServer({ sovia: SOVIA }, (s) => {
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => process.exit(0));
  return;
}

const BURSTS = option('bursts', 40);
const MESSAGES = option('messages', 1000);
const GAP_MS = option('gap', 20);
const STALL_SECONDS = option('stall-seconds', 2);
const JSON_OUT = process.argv.includes('--json');
/** More sleeps than this share of a burst's messages: the burst ran on wake-ups, not polling. */
const COLLAPSE_SHARE = 0.1;

/** Compiles the two probes: { dir, bin }, or { reason } when there is no C compiler. */
function compile() {
  const cc = process.env.CC || 'cc';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'via-net-host-limits-'));
  try {
    const out = {};
    for (const name of ['stalls', 'spin-sleep']) {
      out[name] = path.join(dir, name);
      execFileSync(cc, ['-O2', '-pthread', '-o', out[name], path.join(SOURCES, `${name}.c`)], { stdio: 'pipe' });
    }
    return { dir, bin: out };
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { reason: `no C compiler (${cc}): ${err.message.split('\n')[0]}` };
  }
}

function runJson(bin, args) {
  return JSON.parse(execFileSync(bin, args.map(String), { encoding: 'utf8', timeout: 120000 }));
}

/** Bursts summary: how many collapsed, and the mean one-way time of the others and of those. */
function summarize(bursts) {
  const collapsed = bursts.filter((b) => b.sleeps > COLLAPSE_SHARE * MESSAGES);
  const calm = bursts.filter((b) => !collapsed.includes(b));
  const mean = (xs) => (xs.length ? xs.reduce((s, b) => s + b.oneWayMicros, 0) / xs.length : null);
  return { bursts: bursts.length, collapsed: collapsed.length, calmOneWayMicros: mean(calm), collapsedOneWayMicros: mean(collapsed), all: bursts };
}

function cSpinSleep(bin, spinMicros) {
  const r = runJson(bin, [spinMicros, GAP_MS, BURSTS, MESSAGES]);
  return summarize(r.bursts.map((b) => ({ oneWayMicros: b.oneWayMicros, sleeps: b.clientSleeps })));
}

/** Part 3: the same bursts through via-net sockets; sleeps are the client's doorbell wake-ups. */
async function viaNetBursts() {
  const dist = path.join(ROOT, 'dist');
  if (!fs.existsSync(dist)) return { reason: 'dist/ is missing (npm install builds it)' };
  const { PROVIDERS } = require(path.join(dist, 'providers', 'index.js'));
  const shm = PROVIDERS.find((p) => p.name === 'shm');
  const provider = shm && shm.provider();
  if (!provider) return { reason: `the shm provider is unavailable: ${shm ? shm.unavailableReason() : 'not built'}` };
  const net = require(dist);
  const child = fork(__filename, [ECHO], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const { port } = await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`echo server exited with ${code}`)));
    });
    const socket = net.connect({ port, host: '127.0.0.1', transport: 'shm', sovia: SOVIA });
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.setNoDelay(true);
    const message = Buffer.alloc(4, 7);
    const burst = () =>
      new Promise((resolve, reject) => {
        let sent = 1;
        let got = 0;
        const onData = (d) => {
          got += d.length;
          if (got < sent * message.length) return;
          if (sent === MESSAGES) {
            socket.off('data', onData);
            socket.off('error', reject);
            resolve();
          } else {
            sent++;
            socket.write(message);
          }
        };
        socket.on('data', onData);
        socket.once('error', reject);
        socket.write(message);
      });
    await burst(); // the first burst compiles the path; it is not counted
    const bursts = [];
    for (let b = 0; b < BURSTS; b++) {
      await new Promise((r) => setTimeout(r, GAP_MS));
      const before = provider.stats().wakeups;
      const t0 = process.hrtime.bigint();
      await burst();
      const oneWayMicros = Number(process.hrtime.bigint() - t0) / 1e3 / MESSAGES / 2;
      bursts.push({ oneWayMicros, sleeps: provider.stats().wakeups - before });
    }
    socket.destroy();
    return summarize(bursts);
  } finally {
    child.disconnect();
  }
}

function format(label, s) {
  if (s.reason) return `${label}: not run (${s.reason})`;
  const f = (v) => (v === null ? '-' : `${v.toFixed(2)} µs`);
  return `${label}: ${s.collapsed} of ${s.bursts} bursts collapsed; one-way ${f(s.calmOneWayMicros)} in the others, ${f(s.collapsedOneWayMicros)} in those`;
}

async function main() {
  const report = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, bursts: BURSTS, messagesPerBurst: MESSAGES, gapMs: GAP_MS };
  const built = compile();
  if (built.reason) {
    report.stalls = { reason: built.reason };
    report.cSpin50 = report.cSpin1000 = { reason: built.reason };
  } else {
    try {
      report.stalls = runJson(built.bin.stalls, [STALL_SECONDS]);
      report.cSpin50 = cSpinSleep(built.bin['spin-sleep'], 50);
      report.cSpin1000 = cSpinSleep(built.bin['spin-sleep'], 1000);
    } finally {
      fs.rmSync(built.dir, { recursive: true, force: true });
    }
  }
  report.viaNetAdaptive = await viaNetBursts();
  if (JSON_OUT) {
    console.log(JSON.stringify(report));
    return;
  }
  console.log(`host limits, ${report.date}, node ${report.node}, ${report.cpus} CPUs`);
  if (report.stalls.reason) console.log(`CPU stalls: not run (${report.stalls.reason})`);
  else {
    for (const c of report.stalls.cpus) {
      console.log(`CPU ${c.cpu} stalls over ${report.stalls.seconds} s: ${c.gaps20us} of >= 20 µs (${c.gaps100us} of >= 100 µs, longest ${c.longestMicros} µs), ${c.lostPercent} % of the time lost`);
    }
  }
  console.log(`ping-pong bursts of ${MESSAGES} messages, ${GAP_MS} ms apart, two processes; a burst collapsed when more than 1 message in 10 found the other end asleep:`);
  console.log(format('  C, spin 50 µs then sleep', report.cSpin50));
  console.log(format('  C, spin 1 ms then sleep', report.cSpin1000));
  console.log(format('  via-net, adaptive (shm)', report.viaNetAdaptive));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
