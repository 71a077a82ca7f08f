'use strict';
/**
 * Runs the unmodified app scripts of test/apps as child processes, each preloaded with
 * via-net/register (dist/register.js) and the app-observer.js preload, and collects what they report.
 */
const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const REGISTER = path.join(__dirname, '..', '..', 'dist', 'register.js');
const OBSERVE = path.join(__dirname, 'app-observer.js');
/** App scripts are named relative to test/apps (a relative path may reach elsewhere, e.g. benchmarks/apps). */
const APPS = path.join(__dirname, '..', 'apps');

/** A scratch directory on tmpfs when there is one. */
function scratchDir(prefix) {
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  return fs.mkdtempSync(path.join(base, prefix));
}

/**
 * node arguments for an app: `-r register.js` unless `register` is false or `preload` gives other
 * node arguments instead (e.g. ['--import', 'dist/register.mjs']); always observed.
 */
function nodeArgs(script, args, { register = true, preload } = {}) {
  const pre = preload || (register ? ['-r', REGISTER] : []);
  return [...pre, '-r', OBSERVE, path.join(APPS, script), ...args.map(String)];
}

function childEnv({ env = {}, observeFile } = {}) {
  const out = { ...process.env };
  delete out.NODE_OPTIONS;
  delete out.VIA_NET_TRANSPORT;
  return { ...out, ...env, VIA_OBSERVE_FILE: observeFile || '' };
}

/**
 * Start a server app and wait until it prints a line matching `ready` (resolves with the match).
 * `waitFor(re, { from })` resolves with the first line at or after index `from` (default: the
 * next one) matching `re`; `stdin: true` gives the app a pipe on stdin (child.stdin).
 */
function startServer(script, args, opts = {}) {
  const { ready = /READY/, timeoutMs = 20_000 } = opts;
  const child = spawn(process.execPath, nodeArgs(script, args, opts), { env: childEnv(opts), stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  const lines = [];
  const waiters = new Set();
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let buffered = '';
  const started = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready after ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    child.stdout.on('data', (d) => {
      buffered += d;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        for (const w of waiters) w(line);
        const m = ready.exec(line);
        if (m) { clearTimeout(timer); resolve(m); }
      }
    });
    exited.then(({ code, signal }) => { clearTimeout(timer); reject(new Error(`${script} exited (${code ?? signal}) before ready: ${stderr}`)); });
  });
  started.catch(() => {});
  const waitFor = (re, { from = lines.length, ms = timeoutMs } = {}) => new Promise((resolve, reject) => {
    for (const line of lines.slice(from)) {
      const m = re.exec(line);
      if (m) return resolve(m);
    }
    const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`${script} printed no line matching ${re} in ${ms} ms: ${stderr}`)); }, ms);
    const check = (line) => {
      const m = re.exec(line);
      if (m) { clearTimeout(timer); waiters.delete(check); resolve(m); }
    };
    waiters.add(check);
  });
  return {
    child, lines, started, exited, waitFor,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Run a client app to completion; resolves with its last stdout line parsed as JSON. */
function runClient(script, args, opts = {}) {
  const { timeoutMs = 120_000 } = opts;
  const child = spawn(process.execPath, nodeArgs(script, args, opts), { env: childEnv(opts), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${script} timed out after ${timeoutMs} ms: ${stderr}`)); }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${script} exited (${code ?? signal}): ${stderr}`));
      const last = stdout.trim().split('\n').pop();
      try { resolve(JSON.parse(last)); } catch (err) { reject(new Error(`${script} printed no JSON: ${stdout} ${stderr}`)); }
    });
  });
}

/** A TCP port that was free a moment ago. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function sha256File(file) {
  return new Promise((resolve, reject) => {
    const h = crypto.createHash('sha256');
    fs.createReadStream(file, { highWaterMark: 1 << 20 }).on('data', (d) => h.update(d)).on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** A file of `size` random bytes (written 1 MB at a time); resolves with its sha256. */
function makeRandomFile(file, size) {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'w');
  const block = Buffer.allocUnsafe(1 << 20);
  try {
    for (let done = 0; done < size;) {
      const n = Math.min(block.length, size - done);
      crypto.randomFillSync(block, 0, n);
      fs.writeSync(fd, block, 0, n);
      h.update(block.subarray(0, n));
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** The connections recorded by app-observer.js, one object per line. */
/**
 * A self-signed certificate for localhost and 127.0.0.1 in `dir` (key.pem, cert.pem), made with
 * openssl. Returns { key, cert } (their paths), or null when openssl is not installed.
 */
function selfSignedCert(dir) {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  const gen = require('child_process').spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { encoding: 'utf8' });
  if (gen.error) return null;
  if (gen.status !== 0) throw new Error(`openssl failed: ${gen.stderr}`);
  return { key, cert };
}

function readObservations(file) {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

module.exports = { REGISTER, scratchDir, startServer, runClient, freePort, sha256File, makeRandomFile, readObservations, selfSignedCert };
