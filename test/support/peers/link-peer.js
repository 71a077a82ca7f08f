'use strict';
// A via-net process driven over IPC (test/support/peer-process.js) for the link tests: it serves
// an echo server, opens and holds connections through the public net API, streams over them with
// sha256 checks, and reports what a link costs it (fds, memory, the provider's links).
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const via = require(path.join(__dirname, '..', '..', '..', 'dist'));
const { shmProvider } = require(path.join(__dirname, '..', '..', '..', 'dist', 'providers', 'shm'));
const { serveCommands } = require('../ipc-child');

const held = [];
let server = null;
const accepted = new Set();

function status() {
  const text = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (key) => Number((new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text) || [0, 0])[1]);
  return { rssKb: kb('VmRSS'), anonKb: kb('RssAnon'), shmemKb: kb('RssShmem') };
}

function stats() {
  global.gc?.();
  const provider = shmProvider();
  return {
    pid: process.pid,
    fds: fs.readdirSync('/proc/self/fd').length,
    ...status(),
    links: provider ? provider.links() : [],
    cq: provider ? provider.stats() : null,
    accepted: accepted.size,
    held: held.length,
  };
}

/** Sends `bytes` of random data and resolves with whether the echo hashed the same. */
function echo(sock, bytes) {
  return new Promise((resolve, reject) => {
    const data = crypto.randomBytes(bytes);
    const want = crypto.createHash('sha256').update(data).digest('hex');
    const h = crypto.createHash('sha256');
    let got = 0;
    const onData = (d) => {
      h.update(d);
      got += d.length;
      if (got >= bytes) {
        sock.off('data', onData);
        sock.off('error', reject);
        resolve(h.digest('hex') === want && got === bytes);
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.write(data);
  });
}

/** Streams `bytes` in 64 KB writes and checks the echo, without holding it all in memory. */
function stream(sock, bytes, seed) {
  return new Promise((resolve, reject) => {
    const chunk = crypto.createHash('sha512').update(String(seed)).digest();
    const block = Buffer.alloc(65536);
    for (let i = 0; i < block.length; i += chunk.length) chunk.copy(block, i);
    const sent = crypto.createHash('sha256');
    const recv = crypto.createHash('sha256');
    let got = 0;
    let put = 0;
    const onData = (d) => {
      recv.update(d);
      got += d.length;
      if (got >= bytes) {
        sock.off('data', onData);
        sock.off('error', reject);
        resolve(recv.digest('hex') === sent.digest('hex') && got === bytes);
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    const pump = () => {
      while (put < bytes) {
        const piece = block.subarray(0, Math.min(block.length, bytes - put));
        sent.update(piece);
        put += piece.length;
        if (!sock.write(piece)) return sock.once('drain', pump);
      }
    };
    pump();
  });
}

const commands = {
  listen() {
    return new Promise((resolve) => {
      server = via.createServer((s) => {
        accepted.add(s);
        s.on('error', () => {});
        s.once('close', () => accepted.delete(s));
        s.pipe(s);
      });
      server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port }));
    });
  },
  /** Opens `count` connections to `port` (at most `parallel` at once), each checked by an echo. */
  async open({ port, count, parallel = 64, bytes = 16 }) {
    const transports = {};
    let bad = 0;
    let next = 0;
    const t0 = process.hrtime.bigint();
    const one = async () => {
      while (next < count) {
        next++;
        const sock = via.connect({ port, host: '127.0.0.1' });
        await new Promise((resolve, reject) => {
          sock.once('connect', resolve);
          sock.once('error', reject);
        });
        held.push(sock);
        transports[sock.transport] = (transports[sock.transport] || 0) + 1;
        if (!(await echo(sock, bytes))) bad++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, count) }, one));
    return { transports, bad, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
  },
  /** Streams `bytes` over each of the first `count` held connections at once, sha256-checked. */
  async stream({ bytes, count = held.length }) {
    const results = await Promise.all(held.slice(0, count).map((s, i) => stream(s, bytes, i)));
    return { ok: results.filter(Boolean).length };
  },
  async closeAll() {
    await Promise.all(held.splice(0).map((s) => new Promise((resolve) => (s.destroyed ? resolve() : (s.once('close', resolve), s.end())))));
    return stats();
  },
  closeServer() {
    return new Promise((resolve) => {
      if (!server) return resolve({});
      for (const s of accepted) s.destroy();
      server.close(() => resolve({}));
    });
  },
  stats,
  /** Exits at once, as an app calling process.exit() does (the reply may not make it out). */
  exit() {
    process.exit(0);
  },
};

serveCommands(commands);
