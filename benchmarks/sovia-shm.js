#!/usr/bin/env node
'use strict';
/**
 * The SOVIA engine (dist/sovia) directly over the shm provider, against the raw shm VI and
 * node:net TCP, all in one run: `node benchmarks/sovia-shm.js [--quick] [--trials N]`.
 *
 * Two worker processes (this file with --worker) host every transport; the parent drives them
 * over IPC. Trials are interleaved (the transport order rotates each trial) and each transport
 * holds its connection only during its own block, so a busy-polling configuration cannot slow
 * its neighbours. Every figure is the median over trials.
 *
 * - latency: ping-pong of m bytes, half the round trip (SOVIA paper figure 2);
 * - bandwidth: m-byte writes back to back (a writer that respects backpressure), then a 1-byte
 *   acknowledgement from the receiver.
 * The timed loops read no clock per message, log nothing and make no IPC.
 *
 * Needs dist/ (npm run build:ts) and the native addon.
 */
const path = require('node:path');
const net = require('node:net');
const { fork } = require('node:child_process');

const DIST = path.join(__dirname, '..', 'dist');
const LATENCY_SIZES = [4, 64, 1024, 32768];
const BANDWIDTH_SIZES = [1024, 32768, 65536, 1048576];
const SPIN_MICROS = 50;

/** The configurations measured; `base` names the raw VI an engine row is compared with. */
const TRANSPORTS = [
  { name: 'sovia BASE', kind: 'sovia', options: { preset: 'BASE' }, base: 'raw adaptive' },
  { name: 'sovia FLOWCNTL', kind: 'sovia', options: { preset: 'FLOWCNTL' }, base: 'raw adaptive' },
  { name: 'sovia DACKS', kind: 'sovia', options: { preset: 'DACKS' }, base: 'raw adaptive' },
  { name: 'sovia COMBINE', kind: 'sovia', options: { preset: 'COMBINE' }, base: 'raw adaptive' },
  { name: 'sovia COMBINE busy', kind: 'sovia', options: { preset: 'COMBINE', pollMode: 'busy' }, base: 'raw busy' },
  { name: 'sovia COMBINE event', kind: 'sovia', options: { preset: 'COMBINE', pollMode: 'event' }, base: 'raw event' },
  { name: 'raw adaptive', kind: 'raw', options: { pollMode: 'adaptive' } },
  { name: 'raw busy', kind: 'raw', options: { pollMode: 'busy' } },
  { name: 'raw event', kind: 'raw', options: { pollMode: 'event' } },
  { name: 'net TCP', kind: 'tcp', options: {} },
];

// ================================================================== worker side

/** Raw VI flow control, as test/support/peers/raw-vi-peer.js: imm bit 31 = credits returned, else data. */
const RAW_DEPTH = 32;
const RAW_SPARE = 4;
const CREDIT_FLAG = 0x80000000;
/** Engine writes may leave this many bytes un-called-back (a Writable's highWaterMark). */
const WRITE_HWM = 65536;

/**
 * Every transport is wrapped as a byte stream with `sendMany(buf, count)` (writes `count`
 * copies of `buf`, respecting the transport's backpressure), an `onData` hook and `close()`.
 */
class SoviaStream {
  constructor(vi, params) {
    const { SoviaConnection } = require(path.join(DIST, 'sovia'));
    this.onData = () => {};
    this.established = new Promise((resolve) => (this.resolveEstablished = resolve));
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.queue = []; // [buf, remaining] jobs
    this.outstanding = 0;
    this.filling = false;
    this.again = false;
    this.written = (err) => this.onWritten(err);
    this.conn = new SoviaConnection(vi, params, {
      onEstablished: () => this.resolveEstablished(),
      onData: (chunk) => {
        this.onData(chunk);
        return true;
      },
      onEnd: () => this.conn.end(),
      onError: (err) => {
        this.error = err;
      },
      onClose: () => this.resolveClosed(),
    });
  }

  sendMany(buf, count) {
    this.queue.push([buf, count]);
    this.fill();
  }

  onWritten(err) {
    if (err) this.error = err;
    this.outstanding -= this.lastSizes.shift();
    this.fill();
  }

  fill() {
    if (this.filling) {
      this.again = true;
      return;
    }
    this.filling = true;
    this.lastSizes ??= [];
    do {
      this.again = false;
      while (this.queue.length > 0 && (this.outstanding === 0 || this.outstanding < WRITE_HWM)) {
        const job = this.queue[0];
        if (--job[1] === 0) this.queue.shift();
        this.outstanding += job[0].length;
        this.lastSizes.push(job[0].length);
        this.conn.write(job[0], this.written);
      }
    } while (this.again);
    this.filling = false;
  }

  close() {
    this.conn.end();
    const timer = setTimeout(() => this.conn.destroy(), 2000);
    return this.closed.then(() => clearTimeout(timer));
  }
}

class RawStream {
  constructor(vi, maxTransfer) {
    this.vi = vi;
    this.max = maxTransfer;
    this.credits = RAW_DEPTH;
    this.toReturn = 0;
    this.queue = [];
    this.pos = 0;
    this.onData = () => {};
    this.creditBuf = Buffer.alloc(0);
    this.established = Promise.resolve();
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    vi.setHandler({
      onRecv: (data, imm) => this.recv(data, imm),
      onSendComplete: () => {},
      onBroken: () => this.resolveClosed(),
    });
    vi.postRecv(RAW_DEPTH + RAW_SPARE);
  }

  recv(data, imm) {
    this.vi.postRecv(1);
    if (imm & CREDIT_FLAG) {
      this.credits += imm & 0x7fffffff;
      this.pump();
      return;
    }
    if (++this.toReturn >= RAW_DEPTH / 2) {
      this.vi.postSend(this.creditBuf, 0, 0, (CREDIT_FLAG | this.toReturn) >>> 0);
      this.toReturn = 0;
    }
    this.onData(data);
  }

  sendMany(buf, count) {
    this.queue.push([buf, count]);
    this.pump();
  }

  /** Post pieces of at most MaxTransferSize while credits last (the emulator copies synchronously). */
  pump() {
    while (this.queue.length > 0 && this.credits > 0) {
      const job = this.queue[0];
      const buf = job[0];
      const len = Math.min(this.max, buf.length - this.pos);
      this.credits--;
      if (!this.vi.postSend(buf, this.pos, len, 0)) throw new Error('raw benchmark assumes synchronous sends');
      this.pos += len;
      if (this.pos >= buf.length) {
        this.pos = 0;
        if (--job[1] === 0) this.queue.shift();
      }
    }
  }

  close() {
    this.vi.close();
    this.resolveClosed();
    return this.closed;
  }
}

class TcpStream {
  constructor(socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    this.onData = () => {};
    socket.on('data', (chunk) => this.onData(chunk));
    this.queue = [];
    this.blocked = false;
    socket.on('drain', () => {
      this.blocked = false;
      this.pump();
    });
    this.closed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => {});
    socket.on('end', () => socket.end());
  }

  sendMany(buf, count) {
    this.queue.push([buf, count]);
    this.pump();
  }

  pump() {
    while (this.queue.length > 0 && !this.blocked) {
      const job = this.queue[0];
      if (--job[1] === 0) this.queue.shift();
      if (!this.socket.write(job[0])) this.blocked = true;
    }
  }

  close() {
    this.socket.end();
    return this.closed;
  }
}

function worker() {
  const { shmProvider } = require(path.join(DIST, 'providers', 'shm'));
  const { resolveParams, recvDepthFor } = require(path.join(DIST, 'sovia'));
  const provider = shmProvider();
  if (!provider) throw new Error('the shm provider is unavailable (native addon not built?)');
  const maxTransfer = provider.attrs.maxTransferSize;
  const shmName = `bench-sovia-${process.pid}`;
  let listener = null;
  let tcpServer = null;
  let stream = null;
  let accepted = null;

  const paramsFor = (options) => resolveParams(options, {}, maxTransfer);
  function wrap(kind, vi, options) {
    if (kind === 'sovia') return new SoviaStream(vi, paramsFor(options));
    vi.setPollMode(options.pollMode, SPIN_MICROS);
    return new RawStream(vi, maxTransfer);
  }
  function adopt(s) {
    stream = s;
    if (accepted) accepted(s);
  }
  const depthFor = (kind, options) => (kind === 'sovia' ? recvDepthFor(paramsFor(options)) : RAW_DEPTH + RAW_SPARE);

  const commands = {
    async listen() {
      listener = provider.listen(shmName, {}, (incoming) => {
        const { kind, options } = JSON.parse(incoming.payload.toString());
        adopt(wrap(kind, incoming.accept({ recvDepth: depthFor(kind, options), payload: Buffer.alloc(0) }), options));
      });
      tcpServer = net.createServer((socket) => adopt(new TcpStream(socket)));
      await new Promise((resolve) => tcpServer.listen(0, '127.0.0.1', resolve));
      return { shmName, port: tcpServer.address().port };
    },
    /** Server: resolves once the next connection has arrived and is established. */
    async accept() {
      const s = await new Promise((resolve) => (accepted = resolve));
      accepted = null;
      await s.established;
      return {};
    },
    async connect({ kind, options, shmName: name, port }) {
      if (kind === 'tcp') {
        const socket = net.connect(port, '127.0.0.1');
        await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
        stream = new TcpStream(socket);
      } else {
        const payload = Buffer.from(JSON.stringify({ kind, options }));
        // Wrap inside the callback: a VI without a handler would drop the peer's first packets.
        stream = await new Promise((resolve, reject) =>
          provider.connect(name, { recvDepth: depthFor(kind, options), payload }, (err, vi) => (err ? reject(err) : resolve(wrap(kind, vi, options)))),
        );
      }
      await stream.established;
      return {};
    },
    /** Server: echo every `size` bytes (ping-pong), or answer 1 byte after `total` bytes (sink). */
    serve({ mode, size, total }) {
      const reply = Buffer.alloc(mode === 'echo' ? size : 1, 0x5a);
      const unit = mode === 'echo' ? size : total;
      let have = 0;
      stream.onData = (chunk) => {
        have += chunk.length;
        while (have >= unit) {
          have -= unit;
          stream.sendMany(reply, 1);
        }
      };
      return {};
    },
    /** Client: `count` ping-pongs of `size` bytes; returns the elapsed nanoseconds. */
    latency({ size, count }) {
      const buf = Buffer.alloc(size, 0xa5);
      return new Promise((resolve) => {
        let have = 0;
        let rounds = 0;
        let start = 0n;
        stream.onData = (chunk) => {
          have += chunk.length;
          if (have < size) return;
          have -= size;
          if (++rounds === count) return resolve({ ns: Number(process.hrtime.bigint() - start) });
          stream.sendMany(buf, 1);
        };
        start = process.hrtime.bigint();
        stream.sendMany(buf, 1);
      });
    },
    /** Client: `count` writes of `size` bytes, then wait for the 1-byte acknowledgement. */
    bandwidth({ size, count }) {
      const buf = Buffer.alloc(size, 0xa5);
      return new Promise((resolve) => {
        const start = process.hrtime.bigint();
        stream.onData = () => resolve({ ns: Number(process.hrtime.bigint() - start) });
        stream.sendMany(buf, count);
      });
    },
    async close() {
      const s = stream;
      stream = null;
      if (s) await s.close();
      return {};
    },
    exit() {
      setImmediate(() => process.exit(0));
      return {};
    },
  };

  process.on('message', async (msg) => {
    try {
      process.send({ id: msg.id, ...(await commands[msg.cmd](msg)) });
    } catch (err) {
      process.send({ id: msg.id, error: `${err.code || ''} ${err.message}` });
    }
  });
  process.send({ id: 0 });
}

// ================================================================== parent side

function startWorker() {
  const child = fork(__filename, ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map();
  let nextId = 1;
  const ready = new Promise((resolve, reject) => {
    pending.set(0, { resolve, reject });
    child.once('exit', (code) => {
      for (const p of pending.values()) p.reject(new Error(`worker exited with code ${code}`));
    });
  });
  child.on('message', (msg) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(msg.error));
    else p.resolve(msg);
  });
  const call = (cmd, args = {}, timeoutMs = 120000) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error(`worker ${child.pid}: ${cmd} timed out`)), timeoutMs);
      pending.set(id, { resolve: (m) => (clearTimeout(timer), resolve(m)), reject: (e) => (clearTimeout(timer), reject(e)) });
      child.send({ ...args, cmd, id });
    });
  return { child, ready, call };
}

const median = (values) => {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
};

/** Ping-pong counts: enough round trips to dwarf timer resolution, few enough for slow paths. */
function latencyCount(size, quick) {
  const n = size <= 1024 ? 4000 : 1500;
  return quick ? Math.floor(n / 4) : n;
}

/** Bandwidth: a fixed volume per test, in at most 40,000 writes (the 1 KB case). */
function bandwidthCount(size, quick) {
  const bytes = (quick ? 16 : 64) * 1048576;
  return Math.max(16, Math.min(40000, Math.floor(bytes / size)));
}

async function measureBlock(server, client, addr, t, quick, results, verbose) {
  const note = (what) => verbose && process.stderr.write(`  ${t.name}: ${what}\n`);
  const accepted = server.call('accept');
  await client.call('connect', { kind: t.kind, options: t.options, ...addr });
  await accepted;
  for (const size of LATENCY_SIZES) {
    const count = latencyCount(size, quick);
    note(`latency ${size}`);
    await server.call('serve', { mode: 'echo', size });
    // Warm-up (JIT, caches): a fresh connection's first few hundred round trips run slower.
    await client.call('latency', { size, count: Math.max(10, Math.floor(count / 2)) });
    const { ns } = await client.call('latency', { size, count });
    (results[t.name].latency[size] ??= []).push(ns / count / 2 / 1000);
  }
  for (const size of BANDWIDTH_SIZES) {
    const count = bandwidthCount(size, quick);
    note(`bandwidth ${size}`);
    const warm = Math.max(4, count >> 4);
    await server.call('serve', { mode: 'sink', total: warm * size });
    await client.call('bandwidth', { size, count: warm });
    await server.call('serve', { mode: 'sink', total: count * size });
    const { ns } = await client.call('bandwidth', { size, count });
    (results[t.name].bandwidth[size] ??= []).push((count * size) / (ns / 1e9));
  }
  await Promise.all([client.call('close'), server.call('close')]);
}

const fmtSize = (n) => (n >= 1048576 ? `${n / 1048576}M` : n >= 1024 ? `${n / 1024}K` : `${n}`);
const fmtBw = (bps) => (bps >= 1e9 ? `${(bps / 1e9).toFixed(2)} GB/s` : `${(bps / 1e6).toFixed(0)} MB/s`);

function printTables(results, trials, measured) {
  const TRANSPORTS = measured;
  const tcp = results['net TCP'];
  if (!tcp.latency[LATENCY_SIZES[0]]) throw new Error("the tables need 'net TCP' measured");
  const pad = (s, n) => String(s).padEnd(n);
  const lpad = (s, n) => String(s).padStart(n);
  const nameWidth = Math.max(...TRANSPORTS.map((t) => t.name.length)) + 2;

  console.log(`\nLatency, half round trip, µs (median of ${trials} trials; ×TCP in brackets)`);
  console.log(pad('', nameWidth) + LATENCY_SIZES.map((s) => lpad(`${fmtSize(s)} B`, 18)).join(''));
  for (const t of TRANSPORTS) {
    const cells = LATENCY_SIZES.map((s) => {
      const v = median(results[t.name].latency[s]);
      return lpad(`${v.toFixed(2)} (${(v / median(tcp.latency[s])).toFixed(2)})`, 18);
    });
    console.log(pad(t.name, nameWidth) + cells.join(''));
  }

  console.log(`\nBandwidth, writes of m bytes then one ack (median of ${trials} trials; ×TCP in brackets)`);
  console.log(pad('', nameWidth) + BANDWIDTH_SIZES.map((s) => lpad(`${fmtSize(s)} B`, 22)).join(''));
  for (const t of TRANSPORTS) {
    const cells = BANDWIDTH_SIZES.map((s) => {
      const v = median(results[t.name].bandwidth[s]);
      return lpad(`${fmtBw(v)} (${(v / median(tcp.bandwidth[s])).toFixed(2)})`, 22);
    });
    console.log(pad(t.name, nameWidth) + cells.join(''));
  }

  console.log('\nEngine over raw VI, same poll mode: latency difference (µs) and bandwidth as % of raw');
  console.log(pad('', nameWidth + 14) + LATENCY_SIZES.map((s) => lpad(`lat ${fmtSize(s)}`, 10)).join('') + BANDWIDTH_SIZES.map((s) => lpad(`bw ${fmtSize(s)}`, 10)).join(''));
  for (const t of TRANSPORTS.filter((x) => x.base && results[x.base].latency[LATENCY_SIZES[0]])) {
    const raw = results[t.base];
    const lat = LATENCY_SIZES.map((s) => lpad(`${(median(results[t.name].latency[s]) - median(raw.latency[s])) >= 0 ? '+' : ''}${(median(results[t.name].latency[s]) - median(raw.latency[s])).toFixed(2)}`, 10));
    const bw = BANDWIDTH_SIZES.map((s) => lpad(`${((median(results[t.name].bandwidth[s]) / median(raw.bandwidth[s])) * 100).toFixed(0)}%`, 10));
    console.log(pad(t.name, nameWidth) + pad(`vs ${t.base.replace('raw ', '')}`, 14) + lat.join('') + bw.join(''));
  }
}

async function main() {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const verbose = args.includes('--verbose');
  // --only 'sovia BASE,net TCP': a subset, for debugging (the ratio tables need 'net TCP').
  const onlyArg = args.indexOf('--only');
  const only = onlyArg >= 0 ? args[onlyArg + 1].split(',') : null;
  const trialsArg = args.indexOf('--trials');
  const trials = trialsArg >= 0 ? Number(args[trialsArg + 1]) : quick ? 3 : 5;
  const server = startWorker();
  const client = startWorker();
  try {
    await Promise.all([server.ready, client.ready]);
    const { shmName, port } = await server.call('listen');
    const addr = { shmName, port };
    const results = Object.fromEntries(TRANSPORTS.map((t) => [t.name, { latency: {}, bandwidth: {} }]));
    const started = Date.now();
    for (let trial = 0; trial < trials; trial++) {
      // Rotate the order so no transport always runs first (or right after a busy poller).
      const order = TRANSPORTS.map((_, i) => TRANSPORTS[(i + trial * 3) % TRANSPORTS.length]).filter((t) => !only || only.includes(t.name));
      for (const t of order) await measureBlock(server, client, addr, t, quick, results, verbose);
      process.stderr.write(`trial ${trial + 1}/${trials} done after ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    }
    printTables(results, trials, TRANSPORTS.filter((t) => !only || only.includes(t.name)));
  } finally {
    await Promise.allSettled([server.call('exit', {}, 2000), client.call('exit', {}, 2000)]);
  }
}

if (process.argv.includes('--worker')) {
  worker();
} else {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
