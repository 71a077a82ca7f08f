'use strict';
/**
 * The processes of the app benchmarks (run.js, h2-register.js): an unmodified app script run by
 * node in one of two modes, via-net (`-r dist/register.js`) or node:net (no preload), with the
 * environment cleaned of NODE_OPTIONS and VIA_NET_TRANSPORT. With `probe`, the process also gets
 * probe.js (`-r probe.js`, VIA_BENCH_PROBE=1) and speaks its protocol over stdin/stdout. Every
 * process started here is killed if the benchmark exits first, also on SIGINT, SIGTERM and SIGHUP;
 * a probed one also exits by itself when its stdin ends (the benchmark was killed outright).
 */
const { spawn } = require('child_process');
const os = require('os');
const path = require('path');
const { REGISTER } = require('../lib/cli');

const PROBE = path.join(__dirname, 'probe.js');
const MODES = [
  { name: 'via-net', preload: ['-r', REGISTER] },
  { name: 'node:net', preload: [] },
];

const live = new Set();
process.on('exit', () => { for (const child of live) child.kill('SIGKILL'); });
// Interrupted, the benchmark still takes its apps down (through 'exit').
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(sig, () => process.exit(128 + os.constants.signals[sig]));

function childEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  delete env.VIA_NET_TRANSPORT;
  return env;
}

class App {
  /**
   * @param {string} script  the app script
   * @param {(string|number)[]} args  its arguments
   * @param {object} opts  mode (one of MODES), probe (default false), env (extra variables),
   *   onCheckpoint(name) (with probe: called at each of the client's checkpoints; once it
   *   resolves the client is told to go on)
   */
  constructor(script, args, { mode, probe = false, env = {}, onCheckpoint = null }) {
    this.name = `${path.basename(script)} (${mode.name})`;
    const pre = [...mode.preload, ...(probe ? ['-r', PROBE] : [])];
    this.child = spawn(process.execPath, [...pre, script, ...args.map(String)],
      { env: childEnv(probe ? { ...env, VIA_BENCH_PROBE: '1' } : env), stdio: [probe ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    live.add(this.child);
    this.lines = []; // stdout lines that are not the probe's
    this.watchers = [];
    this.reports = []; // resolvers of outstanding probe reports, in order
    this.stderr = '';
    this.onCheckpoint = onCheckpoint;
    this.failure = null;
    if (this.child.stdin) this.child.stdin.on('error', () => {});
    this.child.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-4000); });
    let buffered = '';
    this.child.stdout.on('data', (d) => {
      buffered += d;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        this.onLine(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => {
      live.delete(this.child);
      const err = new Error(`${this.name} exited (${code ?? signal}): ${this.stderr.trim().slice(-1500)}`);
      for (const r of this.reports.splice(0)) r.reject(err);
      for (const w of this.watchers.splice(0)) w.reject(err);
      resolve({ code, signal });
    }));
  }

  onLine(line) {
    if (line.startsWith('{"probe":')) {
      const r = this.reports.shift();
      if (r) r.resolve(JSON.parse(line).probe);
      return;
    }
    if (line.startsWith('{"checkpoint":') && this.onCheckpoint) {
      const { checkpoint } = JSON.parse(line);
      Promise.resolve(this.onCheckpoint(checkpoint)).then(() => this.child.stdin.write('go\n'), (err) => {
        this.failure = err;
        this.child.kill('SIGKILL');
      });
      return;
    }
    this.lines.push(line);
    for (const w of [...this.watchers]) {
      const m = w.regex.exec(line);
      if (m) {
        this.watchers.splice(this.watchers.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(m);
      }
    }
  }

  /** Resolves with the match of the first stdout line from index `from` on that matches `regex`. */
  waitFor(regex, timeoutMs = 20_000, from = 0) {
    for (const line of this.lines.slice(from)) {
      const m = regex.exec(line);
      if (m) return Promise.resolve(m);
    }
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return Promise.reject(new Error(`${this.name} exited before printing ${regex}: ${this.stderr.trim().slice(-1500)}`));
    }
    return new Promise((resolve, reject) => {
      const w = { regex, resolve, reject };
      w.timer = setTimeout(() => {
        this.watchers.splice(this.watchers.indexOf(w), 1);
        reject(new Error(`${this.name} printed no ${regex} within ${timeoutMs} ms: ${this.stderr.trim().slice(-1500)}`));
      }, timeoutMs);
      this.watchers.push(w);
    });
  }

  /** The probe's report: { pid, register, cpu: { user, system } (µs), connections: { client, server } }. */
  report() {
    return new Promise((resolve, reject) => {
      this.reports.push({ resolve, reject });
      this.child.stdin.write('report\n');
    });
  }

  /**
   * Waits for the app to exit (killing it after `timeoutMs`); resolves with its last stdout line
   * parsed as JSON, or rejects with why not.
   */
  async result(timeoutMs) {
    const timer = setTimeout(() => {
      this.failure = this.failure || new Error(`${this.name} timed out after ${timeoutMs} ms`);
      this.child.kill('SIGKILL');
    }, timeoutMs);
    const { code, signal } = await this.exited;
    clearTimeout(timer);
    if (this.failure) throw this.failure;
    if (code !== 0) throw new Error(`${this.name} exited (${code ?? signal}): ${this.stderr.trim().slice(-1500)}`);
    const last = this.lines[this.lines.length - 1];
    try {
      return JSON.parse(last);
    } catch {
      throw new Error(`${this.name} printed no JSON result: ${this.lines.slice(-3).join('\n')}`);
    }
  }

  /** SIGTERM, then SIGKILL if it is still running after `graceMs`. */
  async stop(graceMs = 3000) {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

module.exports = { App, MODES, childEnv };
