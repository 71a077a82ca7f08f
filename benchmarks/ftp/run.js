#!/usr/bin/env node
'use strict';
/**
 * FTP transfer benchmark: an unmodified ftp-srv server and basic-ftp client, once over via-net
 * (both processes preloaded with dist/register.js, so control and data go over shm) and once over
 * plain node:net TCP, in the same run. Files of 13 MB and 168 MB on tmpfs are uploaded and then
 * downloaded; every transfer is checked by sha256 (outside the timing). Trials of the two modes are
 * interleaved; the table shows the median time, throughput and the ratio net/via (>1: via-net faster).
 * Each trial also times the same file copy with no network at all (fs-only.js): the ceiling no
 * transport can beat, shown as the best possible net/via ratio.
 *
 *   node benchmarks/ftp/run.js [--trials 5] [--sizes 13,168] [--json]
 */
const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const { ROOT, REGISTER, arg } = require('../lib/cli');
const MB = 1 << 20;

const TRIALS = Number(arg('trials', 5));
const SIZES_MB = String(arg('sizes', '13,168')).split(',').map(Number);
const JSON_OUT = process.argv.includes('--json');

const MODES = [
  { name: 'via-net', preload: ['-r', REGISTER], env: {} },
  { name: 'node:net', preload: [], env: {} },
];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function childEnv(extra) {
  const env = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  delete env.VIA_NET_TRANSPORT;
  return env;
}

function startServer(mode, port, root, pasvMin) {
  const child = spawn(process.execPath, [...mode.preload, path.join(__dirname, 'server.js'), port, root, pasvMin, pasvMin + 30],
    { env: childEnv(mode.env), stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${mode.name} server not ready`)), 20_000);
    child.stdout.on('data', (d) => { if (String(d).includes('READY')) { clearTimeout(timer); resolve(child); } });
    child.once('exit', (code) => reject(new Error(`${mode.name} server exited ${code}`)));
  });
}

function runClient(mode, port, downloadDir, files) {
  const child = spawn(process.execPath, [...mode.preload, path.join(__dirname, 'client.js'), port, downloadDir, ...files],
    { env: childEnv(mode.env), stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${mode.name} client timed out`)); }, 300_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${mode.name} client exited ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

function runFsOnly(dir, files) {
  const child = spawn(process.execPath, [path.join(__dirname, 'fs-only.js'), dir, ...files], { env: childEnv({}), stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`fs-only exited ${code}`))));
  });
}

function makeRandomFile(file, size) {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'w');
  const block = Buffer.allocUnsafe(MB);
  for (let done = 0; done < size; done += MB) {
    const n = Math.min(MB, size - done);
    crypto.randomFillSync(block, 0, n);
    fs.writeSync(fd, block, 0, n);
    h.update(block.subarray(0, n));
  }
  fs.closeSync(fd);
  return h.digest('hex');
}

function sha256File(file) {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(4 * MB);
  let n;
  while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  fs.closeSync(fd);
  return h.digest('hex');
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

async function main() {
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, 'via-net-ftp-bench-'));
  const servers = [];
  try {
    const files = SIZES_MB.map((mb) => {
      const file = path.join(dir, `src-${mb}MB.bin`);
      return { mb, file, sha: makeRandomFile(file, mb * MB) };
    });
    const setups = [];
    for (const [i, mode] of MODES.entries()) {
      const root = path.join(dir, `root-${i}`);
      const down = path.join(dir, `down-${i}`);
      fs.mkdirSync(root);
      fs.mkdirSync(down);
      const port = await freePort();
      const pasvMin = 42000 + i * 1000 + Math.floor(Math.random() * 500);
      servers.push(await startServer(mode, port, root, pasvMin));
      setups.push({ mode, port, root, down });
    }

    const samples = {}; // mode -> mb -> { upload: [], download: [] }
    const fsOnly = {}; // mb -> [copyMs]
    const transports = {};
    for (let trial = 0; trial < TRIALS; trial++) {
      const copy = await runFsOnly(dir, files.map((f) => f.file));
      for (const [k, r] of copy.results.entries()) (fsOnly[files[k].mb] ??= []).push(r.copyMs);
      const order = trial % 2 === 0 ? setups : [...setups].reverse();
      for (const s of order) {
        const result = await runClient(s.mode, s.port, s.down, files.map((f) => f.file));
        (transports[s.mode.name] ??= new Set()).add(result.transport ?? 'tcp (node:net)');
        if (s.mode.name === 'via-net' && result.transport !== 'shm') {
          throw new Error(`via-net trial ran over ${result.transport}, not shm (is the native addon built? DEBUG=via-net:* says why)`);
        }
        for (const [k, r] of result.results.entries()) {
          const f = files[k];
          for (const got of [path.join(s.root, r.name), path.join(s.down, r.name)]) {
            if (sha256File(got) !== f.sha) throw new Error(`${s.mode.name}: ${got} differs from what was sent`);
            fs.unlinkSync(got);
          }
          const slot = ((samples[s.mode.name] ??= {})[f.mb] ??= { upload: [], download: [] });
          slot.upload.push(r.uploadMs);
          slot.download.push(r.downloadMs);
        }
        if (!JSON_OUT) process.stderr.write(`trial ${trial + 1}/${TRIALS} ${s.mode.name} done\n`);
      }
    }

    const rows = [];
    for (const f of files) {
      for (const dirn of ['upload', 'download']) {
        const via = median(samples['via-net'][f.mb][dirn]);
        const tcp = median(samples['node:net'][f.mb][dirn]);
        const bound = median(fsOnly[f.mb]);
        rows.push({ size: `${f.mb} MB`, direction: dirn, viaMs: via, netMs: tcp, fsOnlyMs: bound,
          viaMBs: f.mb / (via / 1000), netMBs: f.mb / (tcp / 1000), ratio: tcp / via, bestRatio: tcp / bound });
      }
    }
    if (JSON_OUT) {
      console.log(JSON.stringify({ trials: TRIALS, transports: Object.fromEntries(Object.entries(transports).map(([k, v]) => [k, [...v]])), rows, samples, fsOnly }, null, 2));
    } else {
      console.log(`FTP transfer (ftp-srv + basic-ftp, passive), tmpfs, median of ${TRIALS} trials; control connection: via-net=${[...transports['via-net']]}, node:net=${[...transports['node:net']]}`);
      console.log('size     direction   via-net ms   node:net ms   via-net MB/s   node:net MB/s   net/via   fs-only ms   best net/via');
      for (const r of rows) {
        console.log(`${r.size.padEnd(8)} ${r.direction.padEnd(11)} ${r.viaMs.toFixed(1).padStart(10)} ${r.netMs.toFixed(1).padStart(13)} ${r.viaMBs.toFixed(0).padStart(14)} ${r.netMBs.toFixed(0).padStart(15)} ${r.ratio.toFixed(2).padStart(9)} ${r.fsOnlyMs.toFixed(1).padStart(12)} ${r.bestRatio.toFixed(2).padStart(14)}`);
      }
      console.log('fs-only: the same copy (fs.createReadStream -> fs.createWriteStream) with no network; best net/via = node:net time / fs-only time, the most any transport could reach.');
    }
  } finally {
    for (const s of servers) s.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
