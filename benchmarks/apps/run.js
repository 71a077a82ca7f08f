#!/usr/bin/env node
'use strict';
/**
 * `npm run bench:apps`: unmodified apps with both ends under `-r dist/register.js` (via-net: shm
 * between the two processes) against both ends on plain node:net, in the same run. One table, a
 * row per app case; see benchmarks/README.md and, for --json, benchmarks/SCHEMA.md.
 *
 *   node benchmarks/apps/run.js [--trials 3] [--quick] [--only name,...] [--json]
 *                               [--seconds 3] [--warmup 0.5] [--list]
 *
 * Every case is a server app and a client app (one script each, the client printing one JSON
 * line); each server runs for the whole run, one per mode, and each trial of a case starts a new
 * client process, the two modes in alternating order. Every process is preloaded with probe.js,
 * which reports its CPU (process.cpuUsage()) at the client's checkpoints and the transport of each
 * connection it opened or accepted. Every transfer is checked (deterministic bodies compared, or
 * sha256): a mismatch fails the run. A via-net row that did not run over shm at both ends is
 * flagged in the table and in a warning under it.
 */
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { ROOT, arg } = require('../lib/cli');
const { App, MODES } = require('./procs');
const { forPath, pathOf } = require('./body');
const { summarize, formatTable, allOn } = require('./summary');
const { reportHeader } = require('../lib/host');
const { scratchDir, freePort, makeRandomFile, sha256File, selfSignedCert } = require('../../test/support/app-harness');

const SCHEMA_ID = 'via-net-apps/1';
const MB = 1 << 20;
const flag = (name) => process.argv.includes(`--${name}`);

const USAGE = `usage: node benchmarks/apps/run.js [--trials 3] [--quick] [--only name,...] [--json]
                                 [--seconds 3] [--warmup 0.5] [--list]`;
if (flag('help') || flag('h') || process.argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const KNOWN = new Set(['--trials', '--quick', '--only', '--json', '--seconds', '--warmup', '--list']);
const unknown = process.argv.slice(2).filter((a, i, all) => a.startsWith('-') && !KNOWN.has(a) && !['--trials', '--only', '--seconds', '--warmup'].includes(all[i - 1]));
if (unknown.length) {
  console.error(`unknown option ${unknown.join(', ')}\n${USAGE}`);
  process.exit(2);
}

const QUICK = flag('quick');
const OPTIONS = {
  quick: QUICK,
  trials: Number(arg('trials', 3)),
  seconds: Number(arg('seconds', QUICK ? 0.3 : 3)),
  warmupSeconds: Number(arg('warmup', QUICK ? 0.1 : 0.5)),
  h2BigBytes: (QUICK ? 4 : 64) * MB,
  ftpBytes: { small: (QUICK ? 1 : 13) * MB, large: (QUICK ? 4 : 168) * MB },
  mixedSizes: [13, 4096, 65536],
  only: arg('only', null),
};

const script = (p) => path.join(ROOT, p);
const PORT_LINE = /^PORT (\d+)$/;

/** The server apps, one process per mode for the whole run. */
const SERVERS = {
  http: { script: script('benchmarks/http/server.js'), args: () => [] },
  https: { script: script('benchmarks/http/server.js'), args: (ctx) => [ctx.pem().key, ctx.pem().cert] },
  h2: { script: script('benchmarks/apps/h2-server.js'), args: () => [] },
  h2s: { script: script('benchmarks/apps/h2-server.js'), args: (ctx) => [0, ctx.pem().key, ctx.pem().cert] },
  ws: { script: script('test/apps/ws-server.js'), args: () => [] },
  ftp: {
    script: script('test/apps/ftp-server.js'),
    fixedPort: true,
    args: (ctx, mode, port) => {
      const pasvMin = 42000 + (mode.name === 'via-net' ? 0 : 1000) + Math.floor(Math.random() * 500);
      return [port, ctx.ftpRoot(mode), pasvMin, pasvMin + 30];
    },
  },
};

const mixed = OPTIONS.mixedSizes.join(',');

/** How each app's transfers are checked (every one of them; a mismatch fails the run). */
const INTEGRITY = {
  http: 'every body compared with its deterministic bytes (body.js)',
  https: 'every body compared with its deterministic bytes (body.js)',
  h2: 'every body\'s sha256 compared with the x-sha256 header and with the client\'s own computation',
  h2s: 'every body\'s sha256 compared with the x-sha256 header and with the client\'s own computation',
  ws: 'every echo compared with what was sent; the server\'s sha256 over all it received with the runner\'s',
  ftp: 'sha256 of the uploaded and of the downloaded copy compared with the source file\'s',
};
const sizeLabel = (bytes) => `${bytes / MB} MB`;

/**
 * The paths via-net/register gives node's TLS and cleartext HTTP/2 (VIA_NET_TLS_H2, lib/register.ts):
 * node's own TCP handle by default; TLS (HTTPS, HTTP/2 over TLS) on shm with VIA_NET_TLS_H2=tls
 * or auto, cleartext HTTP/2 with auto.
 */
const TLS_PATH = ['tls', 'auto'].includes(process.env.VIA_NET_TLS_H2) ? 'shm' : 'tcp';
const H2C_PATH = process.env.VIA_NET_TLS_H2 === 'auto' ? 'shm' : 'tcp';

/**
 * The cases: each one client app against one server app. path: the transport via-net's ends
 * must be on (a row on any other is flagged). kind: 'requests' (per-request
 * figures of the timed phase), 'transfer' (one timed phase moving `bytes`), 'ftp' (an upload and
 * a download phase per file: two rows).
 */
const CASES = [
  ...[1, 16].map((n) => ({
    name: `http-agent-${n}`, server: 'http', kind: 'requests', unit: 'req/s', path: 'shm',
    label: `HTTP/1.1 keep-alive, http.Agent, 13 B bodies, ${n} in flight`,
    client: 'benchmarks/http/client.js', args: ['--api', 'agent', '--inflight', n, '--sizes', 13],
  })),
  ...[1, 16].map((n) => ({
    name: `fetch-${n}`, server: 'http', kind: 'requests', unit: 'req/s', path: 'shm',
    label: `HTTP/1.1 keep-alive, global fetch (undici), 13 B bodies, ${n} in flight`,
    client: 'benchmarks/http/client.js', args: ['--api', 'fetch', '--inflight', n, '--sizes', 13],
  })),
  {
    name: 'http-new-conn', server: 'http', kind: 'requests', unit: 'req/s', path: 'tcp', // register keeps agents without keep-alive on TCP
    label: 'HTTP/1.1, a new connection per request (http.Agent without keep-alive), 13 B bodies, 1 in flight',
    client: 'benchmarks/http/client.js', args: ['--api', 'close', '--inflight', 1, '--sizes', 13],
  },
  ...[1, 16].map((n) => ({
    name: `https-agent-${n}`, server: 'https', kind: 'requests', unit: 'req/s', path: TLS_PATH,
    label: `HTTPS keep-alive (self-signed, NODE_EXTRA_CA_CERTS), https.Agent, 13 B bodies, ${n} in flight`,
    client: 'benchmarks/http/client.js', args: ['--api', 'agent', '--inflight', n, '--sizes', 13, '--https'],
  })),
  ...[['h2', 'HTTP/2', [], H2C_PATH], ['h2s', 'HTTP/2 over TLS', ['--https'], TLS_PATH]].flatMap(([server, what, extra, via]) => [
    {
      name: `${server}-streams-16`, server, kind: 'requests', unit: 'req/s', path: via,
      label: `${what}, one session, 16 streams in flight, ${mixed} B bodies in turn`,
      client: 'benchmarks/apps/h2-client.js', args: ['--inflight', 16, '--sizes', mixed, ...extra],
    },
    {
      name: `${server}-big`, server, kind: 'transfer', unit: 'MB/s', bytes: OPTIONS.h2BigBytes, path: via,
      label: `${what}, one ${sizeLabel(OPTIONS.h2BigBytes)} response on a warm session (after one of the same size)`,
      client: 'benchmarks/apps/h2-client.js', args: ['--inflight', 1, '--sizes', OPTIONS.h2BigBytes, '--requests', 1, '--warmup', 1, ...extra],
      fixedCount: true,
    },
  ]),
  ...[1, 16].map((n) => ({
    name: `ws-${n}`, server: 'ws', kind: 'requests', unit: 'msg/s', echo: true, path: 'shm',
    label: `WebSocket (ws) echo, ${mixed} B binary messages in turn, ${n} in flight`,
    client: 'benchmarks/apps/ws-client.js', args: ['--inflight', n, '--sizes', mixed],
  })),
  ...['small', 'large'].map((which) => ({
    name: `ftp-${which}`, server: 'ftp', kind: 'ftp', unit: 'MB/s', bytes: OPTIONS.ftpBytes[which], path: 'shm',
    label: `FTP (ftp-srv + basic-ftp, passive), a ${sizeLabel(OPTIONS.ftpBytes[which])} file on tmpfs`,
    client: 'benchmarks/ftp/client.js',
  })),
];

/** The table rows a case gives: one, or an upload and a download row for FTP. */
function rowsOf(c) {
  if (c.kind !== 'ftp') return [{ name: c.name, label: c.label }];
  return ['upload', 'download'].map((dir) => ({ name: `${c.name}-${dir}`, label: `${c.label}: ${dir}`, phase: dir }));
}

/** The cases --only asks for: by case name, row name or server app name (http, https, h2, h2s, ws, ftp). */
function selectCases(only) {
  if (!only) return CASES;
  const wanted = only.split(',').map((s) => s.trim()).filter(Boolean);
  const known = new Set(CASES.flatMap((c) => [c.name, c.server, ...rowsOf(c).map((r) => r.name)]));
  const unknown = wanted.filter((w) => !known.has(w));
  if (unknown.length) throw new Error(`--only: unknown ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
  return CASES.filter((c) => wanted.some((w) => w === c.name || w === c.server || rowsOf(c).some((r) => r.name === w)));
}

const cpuOf = (report) => report.cpu.user + report.cpu.system;

/** Connection counts of `after` minus those of `before` (same role), zero counts left out. */
function connectionDelta(after, before) {
  const out = {};
  for (const [t, n] of Object.entries(after)) {
    const d = n - ((before && before[t]) || 0);
    if (d > 0) out[t] = d;
  }
  return out;
}

/** sha256 of the first `count` messages ws-client.js sends with `sizes`. */
function wsSentSha(sizes, count) {
  const h = crypto.createHash('sha256');
  for (let i = 0; i < count; i++) h.update(forPath(pathOf(sizes, i)).data);
  return h.digest('hex');
}

/** The sample of a phase that moved `bytes` in `ms`: MB/s, and CPU ms per MB of each side (`cpu`: µs). */
function transferSample(ms, bytes, cpu) {
  const mb = bytes / MB;
  return { throughput: mb / (ms / 1000), p50: null, p99: null, cpuClient: cpu.client / 1000 / mb, cpuServer: cpu.server / 1000 / mb, ms, bytes };
}

function fail(c, mode, what) {
  throw new Error(`${c.name} (${mode.name}): integrity check failed: ${what}`);
}

/**
 * One trial of case `c` in `mode` against its running server: starts the client, reads both
 * processes' reports at its checkpoints, checks integrity. Resolves with { samples: { rowName:
 * sample }, transports: { client, server } (connections by transport), detail, checks (transfers checked) }.
 */
async function runTrial(c, mode, server, ctx) {
  const before = await server.app.report();
  const expectRegister = mode.name === 'via-net';
  if (before.register !== expectRegister) throw new Error(`${c.server} server (${mode.name}): register ${before.register ? 'active' : 'inactive'}`);
  const checkpoints = new Map();
  let last = null;
  let args;
  let files = null;
  if (c.kind === 'ftp') {
    files = [ctx.ftpSource(c)];
    args = [server.port, ctx.ftpDown(mode), files[0].file];
  } else {
    args = ['--port', server.port, ...c.args.map(String)];
    if (!c.fixedCount) args.push('--seconds', OPTIONS.seconds, '--warmup-seconds', OPTIONS.warmupSeconds);
  }
  const linesBefore = server.app.lines.length;
  const client = new App(script(c.client), args, {
    mode, probe: true, env: ctx.env,
    onCheckpoint: async (name) => {
      const [s, cl] = await Promise.all([server.app.report(), client.report()]);
      if (cl.register !== expectRegister) throw new Error(`${c.name} client (${mode.name}): register ${cl.register ? 'active' : 'inactive'}`);
      last = { server: s, client: cl };
      checkpoints.set(name, last);
    },
  });
  const timeoutMs = c.kind === 'requests' ? (OPTIONS.seconds + OPTIONS.warmupSeconds) * 1000 + 60_000 : 300_000;
  const result = await client.result(timeoutMs);
  if (!last) throw new Error(`${c.name} (${mode.name}): the client reached no checkpoint`);

  /** CPU µs of each side in phase `name`. */
  const cpu = (name) => {
    const a = checkpoints.get(`${name}:start`);
    const b = checkpoints.get(`${name}:end`);
    if (!a || !b) throw new Error(`${c.name} (${mode.name}): no checkpoints for phase ${name}`);
    return { client: cpuOf(b.client) - cpuOf(a.client), server: cpuOf(b.server) - cpuOf(a.server) };
  };
  const transports = {
    client: connectionDelta(last.client.connections.client, {}),
    server: connectionDelta(last.server.connections.server, before.connections.server),
  };
  const samples = {};
  const detail = {};
  let checks;
  if (c.kind === 'ftp') {
    checks = 2;
    const [r] = result.results;
    const src = files[0];
    for (const got of [path.join(ctx.ftpRoot(mode), r.name), path.join(ctx.ftpDown(mode), r.name)]) {
      const sha = await sha256File(got);
      if (sha !== src.sha256) fail(c, mode, `${got} differs from what was sent`);
      fs.unlinkSync(got);
    }
    for (const dir of ['upload', 'download']) samples[`${c.name}-${dir}`] = transferSample(r[`${dir}Ms`], r.bytes, cpu(`${dir} ${r.name}`));
  } else {
    if (result.bad !== 0) fail(c, mode, `${result.bad} bodies differ from what was sent`);
    const total = result.warmup + result.requests;
    checks = total;
    if (c.echo) {
      if (result.messages !== total) fail(c, mode, `${result.messages} messages sent, ${total} echoed`);
      const m = await server.app.waitFor(/^RECEIVED (\d+) (\d+) ([0-9a-f]{64})/, 10_000, linesBefore);
      if (Number(m[1]) !== total || Number(m[2]) !== result.bytes || m[3] !== wsSentSha(OPTIONS.mixedSizes, total)) {
        fail(c, mode, `the server received ${m[1]} messages, ${m[2]} bytes, sha256 ${m[3].slice(0, 12)}..., not what was sent`);
      }
    } else if (result.responses !== total) {
      fail(c, mode, `${result.responses} responses to ${total} requests`);
    }
    const phaseCpu = cpu('timed');
    samples[c.name] = c.kind === 'transfer' ? transferSample(result.ms, c.bytes * result.requests, phaseCpu) : {
      throughput: result.requests / (result.ms / 1000), p50: result.p50, p99: result.p99,
      cpuClient: phaseCpu.client / result.requests, cpuServer: phaseCpu.server / result.requests, ms: result.ms, requests: result.requests,
    };
    if (result.atConnect) detail.http2Over = result.atConnect.wrapper;
  }
  return { samples, transports, detail, checks, stderr: client.stderr };
}

/**
 * Lines an app printed to stderr under via-net and not under node:net (its own error log: ftp-srv
 * logs a reply it could not send there). via-net's own DEBUG output is not the app's.
 */
function onlyUnderVia(viaText, netText) {
  const lines = (text) => text.split('\n').map((l) => l.trim()).filter((l) => l && !/\bvia-net:/.test(l));
  const seen = new Set(lines(netText));
  return [...new Set(lines(viaText).filter((l) => !seen.has(l)))];
}

/** A warning per app (server, or a case's clients) that printed to stderr under via-net only. */
function stderrWarnings(servers, trials) {
  const warnings = [];
  const warn = (who, extra) => {
    if (extra.length) warnings.push(`${who} printed to stderr under via-net only: ${extra.slice(0, 3).join(' | ').slice(0, 300)}`);
  };
  for (const name of new Set(servers.map((s) => s.name))) {
    const text = (mode) => servers.filter((s) => s.name === name && s.mode === mode).map((s) => s.app.stderr).join('\n');
    warn(`the ${name} server`, onlyUnderVia(text('via-net'), text('node:net')));
  }
  for (const c of new Set(trials.map((t) => t.case))) {
    const text = (mode) => trials.filter((t) => t.case === c && t.mode === mode).map((t) => t.stderr).join('\n');
    warn(`the ${c} client`, onlyUnderVia(text('via-net'), text('node:net')));
  }
  return warnings;
}

/**
 * The no-network ceiling of an FTP case (benchmarks/ftp/ceiling.js): the file's read and its
 * write in two processes at once, as the two ends of a transfer run them; { readMs, writeMs, ceilingMs }.
 */
async function ftpCeiling(ctx, c) {
  const src = ctx.ftpSource(c);
  return new App(script('benchmarks/ftp/ceiling.js'), [ctx.dir, src.file], { mode: MODES[1] }).result(120_000);
}

function progress(text) {
  process.stderr.write(`${text}\n`);
}

async function main() {
  if (flag('list')) {
    for (const c of CASES) for (const r of rowsOf(c)) process.stdout.write(`${r.name.padEnd(20)} ${r.label}\n`);
    return;
  }
  for (const k of ['trials', 'seconds', 'warmupSeconds']) {
    if (!(OPTIONS[k] >= (k === 'trials' ? 1 : 0)) || (k === 'trials' && !Number.isInteger(OPTIONS[k]))) {
      throw new Error(`--${k === 'warmupSeconds' ? 'warmup' : k}: ${OPTIONS[k]} is not a valid value`);
    }
  }
  const cases = selectCases(OPTIONS.only);
  const started = new Date();
  const dir = scratchDir('via-net-apps-bench-');
  const removeDir = () => fs.rmSync(dir, { recursive: true, force: true });
  process.on('exit', removeDir); // also when a signal ends the run (procs.js exits on it)
  const servers = [];
  let pem = null;
  const ftpSources = new Map();
  const ctx = {
    dir,
    env: {},
    pem() {
      if (!pem) throw new Error('no certificate');
      return pem;
    },
    ftpRoot: (mode) => path.join(dir, `ftp-root-${mode.name.replace(':', '')}`),
    ftpDown: (mode) => path.join(dir, `ftp-down-${mode.name.replace(':', '')}`),
    ftpSource: (c) => ftpSources.get(c.name),
  };
  try {
    if (cases.some((c) => c.server === 'https' || c.server === 'h2s')) {
      pem = selfSignedCert(dir);
      if (!pem) throw new Error('the https and h2s rows need openssl for their self-signed certificate (leave them out with --only)');
      ctx.env.NODE_EXTRA_CA_CERTS = pem.cert;
    }
    for (const c of cases.filter((x) => x.kind === 'ftp')) {
      const file = path.join(dir, `${c.name}.bin`);
      ftpSources.set(c.name, { file, sha256: makeRandomFile(file, c.bytes) });
    }
    for (const mode of MODES) {
      fs.mkdirSync(ctx.ftpRoot(mode));
      fs.mkdirSync(ctx.ftpDown(mode));
    }
    // One server per app and mode, up before the first trial.
    const serverOf = new Map();
    for (const name of [...new Set(cases.map((c) => c.server))]) {
      for (const mode of MODES) {
        const def = SERVERS[name];
        const port = def.fixedPort ? await freePort() : null;
        const app = new App(def.script, def.args(ctx, mode, port), { mode, probe: true, env: ctx.env });
        const s = { app, port, name, mode: mode.name };
        servers.push(s);
        const m = await app.waitFor(def.fixedPort ? /READY/ : PORT_LINE);
        if (!def.fixedPort) s.port = Number(m[1]);
        serverOf.set(`${name}/${mode.name}`, s);
      }
    }

    const trials = []; // { trial, case, mode, samples, transports, detail }
    const ceilings = {}; // FTP case name -> [{ readMs, writeMs, ceilingMs }], one per trial
    for (let t = 0; t < OPTIONS.trials; t++) {
      for (const [k, c] of cases.entries()) {
        if (c.kind === 'ftp') (ceilings[c.name] ??= []).push(await ftpCeiling(ctx, c));
        const order = (t + k) % 2 === 0 ? MODES : [...MODES].reverse();
        for (const mode of order) {
          const r = await runTrial(c, mode, serverOf.get(`${c.server}/${mode.name}`), ctx);
          trials.push({ trial: t, case: c.name, mode: mode.name, ...r });
          const figures = Object.entries(r.samples).map(([row, s]) => `${row} ${s.throughput.toPrecision(4)} ${c.unit}`).join(', ');
          const loud = mode.name === 'via-net' && !allOn(r.transports, c.path) ? `  !! NOT ${c.path.toUpperCase()}: ${JSON.stringify(r.transports)}` : '';
          progress(`trial ${t + 1}/${OPTIONS.trials} ${mode.name.padEnd(8)} ${figures}${loud}`);
        }
      }
    }

    const finished = new Date();
    const report = {
      ...reportHeader(SCHEMA_ID, started, finished),
      options: { ...OPTIONS, cases: cases.map((c) => c.name) },
      ...summarize(cases.map((c) => ({ ...c, rows: rowsOf(c), integrity: INTEGRITY[c.server] })), trials, ceilings),
    };
    report.warnings.push(...stderrWarnings(servers, trials));
    if (flag('json')) process.stdout.write(`${JSON.stringify(report, null, 1)}\n`);
    else process.stdout.write(formatTable(report));
    if (report.warnings.length) process.stderr.write(`\n${report.warnings.map((w) => `WARNING: ${w}`).join('\n')}\n`);
  } finally {
    await Promise.all(servers.map((s) => s.app.stop()));
    removeDir();
  }
}

main().catch((err) => {
  process.stderr.write(`\nbench:apps: ${err.message}\n`);
  process.exitCode = 1;
});
