#!/usr/bin/env node
'use strict';
// Runs the close-contract table (scenarios.js) across real processes: for each scenario, the
// listening side is forked first (victim.js), then the other side, then the scenario's steps.
// The outcome is what the survivor observed plus what is observable of the victim (its exit code
// or signal, or what it reported before it died); transports are recorded beside it, not in it.
//
//   node test/close-contract/run.js [--only a,b] [--lib net|via|both] [--repeat N] [--timeout ms]
// prints | scenario | node:net | via-net | same | and exits 1 if any row differs (or, with
// --repeat, if any library's outcome varied between runs).
const path = require('node:path');
const { isDeepStrictEqual } = require('node:util');
const { PeerProcess } = require('../support/peer-process');
const { within, row } = require('../support/scenario-tools');
const { scenarios, find } = require('./scenarios');

const CHILD = path.join(__dirname, 'victim.js');
const TIMEOUT_MS = 10000;

/** Forks victim.js in `role`; stdout/stderr are kept (the tail goes into `notes` on trouble). */
function spawn(scenario, libName, role, port) {
  const env = { ...process.env };
  delete env.VIA_NET_TRANSPORT; // via-net must run with its default transport (shm between processes)
  const options = { args: [JSON.stringify({ scenario: scenario.id, lib: libName, role, port })], env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] };
  if (role === 'victim' && scenario.nofile) {
    // fork() cannot set a limit: run node through prlimit (the IPC channel still arrives as fd 3).
    Object.assign(options, { execPath: 'prlimit', execArgv: [`--nofile=${scenario.nofile}:${scenario.nofile}`, process.execPath] });
  }
  const p = new PeerProcess(CHILD, options);
  p.role = role;
  p.output = '';
  const keep = (d) => (p.output = (p.output + d).slice(-2000));
  p.child.stdout.on('data', keep);
  p.child.stderr.on('data', keep);
  p.child.on('error', () => {}); // a send() to a child that already died must not crash us
  p.ready.catch(() => {}); // nobody else awaits it; a child that dies early is seen at its outcome
  return p;
}

const how = ({ code, signal }) => (signal ? `signal ${signal}` : `exit code ${code}`);

/** The child's 'outcome' message, or how it died before sending one. */
function outcomeOf(p) {
  return p.waitFor((m) => m.type === 'outcome', 3600e3).then(
    (m) => m.outcome,
    () => p.exit.then((e) => ({ crashed: how(e) })),
  );
}

/**
 * Runs scenario `id` over `libName` ('net' or 'via'). Resolves with { outcome, transports, notes }:
 * `outcome` is what must match between the libraries; `transports` lists every sock.transport the
 * children reported (null for node:net); on a timeout, outcome is { timeout: <the step waited on> }.
 */
async function runScenario(id, libName, { timeoutMs = TIMEOUT_MS } = {}) {
  const sc = find(id);
  const kids = [];
  let step = 'start';
  const o = {
    wait(p, type) {
      step = `${p.role} '${type}'`;
      return p.waitFor((m) => m.type === type, 3600e3);
    },
    tell: (p, type) => p.child.connected && p.child.send({ type }),
    kill: () => o.victim.kill('SIGKILL'),
  };
  const body = async () => {
    const first = spawn(sc, libName, sc.listener, undefined);
    kids.push(first);
    const listening = await Promise.race([o.wait(first, 'listening'), outcomeOf(first).then((out) => ({ died: out }))]);
    if (listening.died) return { [sc.listener]: listening.died, at: 'before listening' };
    const second = spawn(sc, libName, sc.listener === 'victim' ? 'survivor' : 'victim', listening.port);
    kids.push(second);
    [o.victim, o.survivor] = sc.listener === 'victim' ? [first, second] : [second, first];
    const seen = (sc.drive && (await sc.drive(o))) || {};
    step = "survivor's outcome";
    const survivor = await outcomeOf(o.survivor);
    step = sc.victimStays ? "victim's outcome" : "victim's exit";
    const victim = sc.victimStays ? await outcomeOf(o.victim) : { exit: how(await o.victim.exit) };
    return { survivor, victim: { ...victim, ...seen } };
  };
  try {
    // A side that dies while the test waits for its message is an outcome too (never a throw).
    const outcome = await within(body().catch(() => ({ diedWhileWaitingFor: step })), timeoutMs, null);
    const transports = kids.flatMap((p) => p.events.filter((m) => m.type === 'transport').map((m) => `${p.role}:${m.transport}`));
    const notes = outcome && !outcome.diedWhileWaitingFor && !outcome.at ? '' : kids.map((p) => `${p.role} output: ${p.output.trim().slice(-300)}`).join(' | ');
    return { outcome: outcome || { timeout: step }, transports, notes };
  } finally {
    await Promise.all(kids.map((p) => p.kill('SIGKILL')));
  }
}

/** One line for the table: events, bytes / integrity, what the victim did. */
function summarize(outcome) {
  if (outcome.timeout) return `TIMEOUT waiting for ${outcome.timeout}`;
  if (outcome.diedWhileWaitingFor) return `a side died while waiting for ${outcome.diedWhileWaitingFor}`;
  const side = (s) => {
    if (!s) return '';
    const parts = [];
    if (s.crashed) parts.push(`crashed (${s.crashed})`);
    if (s.crashed === false) parts.push('no crash');
    if (s.threw) parts.push(`threw ${s.threw.split('\n')[0]}`);
    if (s.bytes !== undefined && s.sha256) parts.push(`${s.bytes} B ${s.intact ? 'intact' : `NOT intact (sha256 ${s.sha256.slice(0, 8)})`}`);
    else if (s.bytes !== undefined) parts.push(`${s.bytes} B`);
    if (s.prefix !== undefined) parts.push(`${s.prefix ? 'prefix ok' : 'NOT a prefix'}${s.atLeast ? ', >= 1 MiB' : ', < 1 MiB'}`);
    if (s.events) parts.push(s.events.join(',') || 'no events');
    for (const k of ['first', 'second']) if (s[k]) parts.push(`${k}: ${side(s[k])}`);
    if (s.serverErrors) parts.push(`server errors [${s.serverErrors.join(',')}], ${s.connections} conn, alive`);
    if (s.exit) parts.push(s.exit);
    if (s.read) parts.push(`had read ${s.read.bytes} B ${s.read.intact ? 'intact' : 'NOT intact'}`);
    if (s.workerExitCode !== undefined) parts.push(`worker exit ${s.workerExitCode}`);
    if (s.workerError) parts.push(`worker error ${s.workerError}`);
    return parts.join('; ');
  };
  return `${side(outcome.survivor)} / victim: ${side(outcome.victim)}`;
}

/**
 * True when every reported transport of a via-net run is 'shm' (and at least one was reported).
 * A scenario that starves the server of fds (`fallsBack`) may put a connection on TCP, as via-net
 * does when the shm accept cannot get resources; its other connections must still use shm.
 */
function usedShm(result, sc = {}) {
  const shm = result.transports.filter((t) => t.endsWith(':shm'));
  const tcp = result.transports.filter((t) => t.endsWith(':tcp'));
  if (shm.length === 0) return false;
  return sc.fallsBack ? shm.length + tcp.length === result.transports.length : shm.length === result.transports.length;
}

/**
 * Rows { scenario, net, via, same, ... }; `repeat` runs each library that many times and adds
 * stable: { net, via } (every run's outcome identical to the first).
 */
async function runAll({ only = null, libs = ['net', 'via'], repeat = 1, timeoutMs = TIMEOUT_MS, onRow = () => {} } = {}) {
  const rows = [];
  for (const sc of scenarios) {
    if (only && !only.includes(sc.id)) continue;
    const r = { scenario: `${sc.id}. ${sc.name}`, id: sc.id, results: {}, stable: {} };
    for (const lib of libs) {
      const runs = [];
      for (let i = 0; i < repeat; i++) runs.push(await runScenario(sc.id, lib, { timeoutMs }));
      r.results[lib] = runs[0];
      r[lib] = summarize(runs[0].outcome);
      r.stable[lib] = runs.every((x) => isDeepStrictEqual(x.outcome, runs[0].outcome));
      if (!r.stable[lib]) r[lib] += ` (UNSTABLE: ${[...new Set(runs.map((x) => summarize(x.outcome)))].join(' | ')})`;
    }
    r.same = libs.length === 2 ? isDeepStrictEqual(r.results.net.outcome, r.results.via.outcome) : null;
    if (r.results.via) r.shm = usedShm(r.results.via, sc);
    onRow(r);
    rows.push(r);
  }
  return rows;
}

/** For scripts/faults.js (loaded via test/faults/scenarios/close-contract.js): one result row. */
async function run({ only = null, timeoutMs = TIMEOUT_MS } = {}) {
  const rows = await runAll({ only, timeoutMs });
  const failures = [];
  for (const r of rows) {
    if (!r.same) failures.push(`${r.scenario}: node:net ${r.net} | via-net ${r.via}`);
    if (!r.shm) failures.push(`${r.scenario}: via-net transports ${r.results.via.transports.join(',') || 'none reported'}`);
  }
  const same = rows.filter((r) => r.same).length;
  return row('close contract (node:net vs via-net)', rows.length, failures, `${same}/${rows.length} scenarios end the same as node:net`);
}

module.exports = { runScenario, runAll, run, summarize, usedShm };

if (require.main === module) {
  const argv = process.argv.slice(2);
  const opt = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const only = opt('--only') ? opt('--only').split(',') : null;
  const lib = opt('--lib') || 'both';
  const libs = lib === 'both' ? ['net', 'via'] : [lib];
  const repeat = Number(opt('--repeat') || 1);
  const timeoutMs = Number(opt('--timeout') || TIMEOUT_MS);
  const cell = (s) => String(s).replace(/\|/g, '\\|');
  (async () => {
    const t0 = Date.now();
    const rows = await runAll({ only, libs, repeat, timeoutMs, onRow: (r) => process.stderr.write(`${r.id} `) });
    process.stderr.write(`(${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    const head = ['scenario', ...libs.map((l) => (l === 'net' ? 'node:net' : 'via-net'))];
    if (libs.length === 2) head.push('same');
    if (libs.includes('via')) head.push('via transports');
    console.log(`| ${head.join(' | ')} |`);
    console.log(`|${head.map(() => '---').join('|')}|`);
    for (const r of rows) {
      const cells = [r.scenario, ...libs.map((l) => r[l])];
      if (libs.length === 2) cells.push(r.same ? 'yes' : '**NO**');
      if (libs.includes('via')) cells.push([...new Set(r.results.via.transports)].join(',') || 'none');
      console.log(`| ${cells.map(cell).join(' | ')} |`);
    }
    const bad = rows.some((r) => r.same === false || Object.values(r.stable).includes(false));
    process.exit(bad ? 1 : 0);
  })();
}
