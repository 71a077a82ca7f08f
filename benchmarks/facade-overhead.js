#!/usr/bin/env node
'use strict';
/**
 * What the net-compatible facade costs, in one process (client and server share the event loop):
 *
 *   1. connect + first byte + close: node:net over TCP vs via-net over a user-level provider
 *      (goal: at most 1x TCP's time). One connection at a time; the server writes one byte on accept,
 *      the client destroys on receipt; timed from connect() to the client's 'close'.
 *   2. 4-byte ping-pong: via-net sockets vs two raw SoviaConnections over the same provider
 *      (goal: facade latency <= raw + 1.5 us). Half the round trip, as in the SOVIA paper figure 2.
 *
 * Usage: node benchmarks/facade-overhead.js [--transport shm|memory] [--connects N] [--pings N] [--json]
 * Needs a build (npm run build:ts). Figures are medians over 5 trials; quote them as ratios.
 */
const path = require('path');
const net = require('net');
const { performance } = require('perf_hooks');

const dist = path.resolve(__dirname, '..', 'dist');
const viaNet = require(dist);
const { getProvider } = require(path.join(dist, 'transport', 'providers'));
const sovia = require(path.join(dist, 'sovia'));

function parseArgs(argv) {
  const args = { transport: null, connects: 300, pings: 5000, trials: 5, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--transport') args.transport = argv[++i];
    else if (a === '--connects') args.connects = Math.max(1, Math.min(100000, Number(argv[++i]) | 0));
    else if (a === '--pings') args.pings = Math.max(1, Math.min(10000000, Number(argv[++i]) | 0));
    else if (a === '--trials') args.trials = Math.max(1, Math.min(50, Number(argv[++i]) | 0));
    else {
      console.error(`unknown argument ${a}`);
      process.exit(2);
    }
  }
  if (!args.transport) args.transport = viaNet.providerStatus().shm.available ? 'shm' : 'memory';
  if (!['shm', 'memory', 'verbs'].includes(args.transport)) {
    console.error(`--transport must be shm, verbs or memory`);
    process.exit(2);
  }
  if (args.transport === 'memory') {
    // The in-process provider is not in the production table: a measurement of the facade's own
    // cost may add it (a client and a server in this one process meet through it).
    const { PROVIDERS } = require('../dist/providers');
    PROVIDERS.push(require('../dist/providers/memory').memoryProviderEntry);
  }
  return args;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function listen(m, options) {
  return new Promise((resolve, reject) => {
    const server = m.createServer(options, (s) => {
      s.on('error', () => {});
      s.end('!');
    });
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** Mean microseconds per connect + first byte + close, over `n` sequential connections. */
async function connectLoop(m, port, options, n) {
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    await new Promise((resolve, reject) => {
      const c = m.connect({ port, host: '127.0.0.1', ...options });
      c.once('data', () => c.destroy());
      c.once('error', reject);
      c.once('close', resolve);
    });
  }
  return ((performance.now() - start) * 1000) / n;
}

/** Half round trip, microseconds, of `n` 4-byte ping-pongs between two Duplex-like endpoints. */
function pingPong(sendA, sendB, onA, onB, n) {
  return new Promise((resolve) => {
    const msg = Buffer.from('ping');
    let left = n;
    let start = 0;
    onB(() => sendB(msg));
    onA(() => {
      if (--left === 0) resolve(((performance.now() - start) * 1000) / n / 2);
      else sendA(msg);
    });
    start = performance.now();
    sendA(msg);
  });
}

/** A 4-byte message may arrive split only in theory; count bytes so a split cannot skew the loop. */
function framed(onMessage) {
  let have = 0;
  return (chunk) => {
    have += chunk.length;
    while (have >= 4) {
      have -= 4;
      onMessage();
    }
  };
}

async function facadePingPong(transport, n) {
  const server = viaNet.createServer({ transport, noDelay: true });
  const accepted = new Promise((resolve) => server.once('connection', resolve));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = viaNet.connect({ port: server.address().port, host: '127.0.0.1', transport, noDelay: true });
  await new Promise((resolve, reject) => { client.once('connect', resolve); client.once('error', reject); });
  client.setNoDelay(true);
  const peer = await accepted;
  const us = await pingPong(
    (b) => client.write(b), (b) => peer.write(b),
    (fn) => client.on('data', framed(fn)), (fn) => peer.on('data', framed(fn)), n,
  );
  client.destroy();
  peer.destroy();
  await new Promise((resolve) => server.close(resolve));
  return us;
}

async function rawPingPong(transport, n) {
  const provider = getProvider(transport);
  const params = sovia.resolveParams({ combine: false }, process.env, provider.attrs.maxTransferSize);
  const depth = sovia.recvDepthFor(params);
  const name = `bench:facade-overhead:${process.pid}:${Date.now()}`;
  const handlers = { a: () => {}, b: () => {} };
  const events = (side) => ({
    onData: (chunk) => { handlers[side](chunk); return true; },
    onEnd() {}, onClose() {}, onError() {},
  });
  let serverConn = null;
  const listener = provider.listen(name, {}, (incoming) => {
    const vi = incoming.accept({ recvDepth: depth, payload: Buffer.alloc(0) });
    serverConn = new sovia.SoviaConnection(vi, params, events('b'));
  });
  const clientConn = await new Promise((resolve, reject) => {
    provider.connect(name, { recvDepth: depth, payload: Buffer.alloc(0) }, (err, vi) => {
      if (err) reject(err);
      else resolve(new sovia.SoviaConnection(vi, params, events('a')));
    });
  });
  while (!serverConn) await new Promise((resolve) => setImmediate(resolve));
  const noop = () => {};
  const us = await pingPong(
    (b) => clientConn.write(b, noop), (b) => serverConn.write(b, noop),
    (fn) => { handlers.a = framed(fn); }, (fn) => { handlers.b = framed(fn); }, n,
  );
  clientConn.destroy();
  serverConn.destroy();
  listener.close();
  return us;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!getProvider(args.transport)) {
    console.error(`provider ${args.transport} unavailable: ${JSON.stringify(viaNet.providerStatus())}`);
    process.exit(1);
  }
  const tcpServer = await listen(net, {});
  const viaServer = await listen(viaNet, { transport: args.transport });
  const samples = { netConnect: [], viaConnect: [], facadePing: [], rawPing: [] };
  // Warm up both paths, then interleave trials so drift hits both alike.
  await connectLoop(net, tcpServer.address().port, {}, 20);
  await connectLoop(viaNet, viaServer.address().port, { transport: args.transport }, 20);
  await rawPingPong(args.transport, Math.min(1000, args.pings));
  await facadePingPong(args.transport, Math.min(1000, args.pings));
  for (let t = 0; t < args.trials; t++) {
    samples.netConnect.push(await connectLoop(net, tcpServer.address().port, {}, args.connects));
    samples.viaConnect.push(await connectLoop(viaNet, viaServer.address().port, { transport: args.transport }, args.connects));
    samples.rawPing.push(await rawPingPong(args.transport, args.pings));
    samples.facadePing.push(await facadePingPong(args.transport, args.pings));
  }
  tcpServer.close();
  viaServer.close();
  const r = {
    transport: args.transport,
    connectMicros: { net: median(samples.netConnect), via: median(samples.viaConnect) },
    pingHalfRttMicros: { raw: median(samples.rawPing), facade: median(samples.facadePing) },
  };
  r.connectRatioToTcp = r.connectMicros.via / r.connectMicros.net;
  r.facadeOverheadMicros = r.pingHalfRttMicros.facade - r.pingHalfRttMicros.raw;
  if (args.json) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return;
  }
  const f = (x) => x.toFixed(2);
  console.log(`facade overhead, in-process, provider ${r.transport}, median of ${args.trials} trials`);
  console.log(`connect+first byte+close: node:net ${f(r.connectMicros.net)} us, via-net ${f(r.connectMicros.via)} us  (ratio ${f(r.connectRatioToTcp)} x TCP; goal <= 1)`);
  console.log(`4 B ping-pong, half RTT: raw engine ${f(r.pingHalfRttMicros.raw)} us, facade ${f(r.pingHalfRttMicros.facade)} us  (facade adds ${f(r.facadeOverheadMicros)} us; goal <= 1.5)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
