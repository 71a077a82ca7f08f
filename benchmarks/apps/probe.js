'use strict';
/**
 * The app benchmark's probe (benchmarks/apps/run.js). The runner preloads it into every server and
 * client process, in both modes (`-r dist/register.js -r probe.js` or `-r probe.js`), with
 * VIA_BENCH_PROBE=1; without that variable it does nothing. It leaves the app alone and only:
 *
 * - counts the connections the process opens (`client`, at `'connect'`) and accepts (`server`, at
 *   the server's `'connection'`) by the transport under them: `socket.transport` of a via-net
 *   socket ('shm' | 'verbs' | 'tcp'); a node:net socket has none and counts as 'tcp'. Under
 *   HTTPS and HTTP/2 these are the sockets TLS and http2 run over, as in test/support/app-observer.js;
 * - answers the runner: a line `report` on stdin gets one line on stdout,
 *   {"probe":{"pid","register","cpu":{"user","system"},"connections":{"client":{..},"server":{..}}}}
 *   (cpu: process.cpuUsage(), µs since the process started; register: via-net/register active);
 * - gives client apps `phase(name, fn)`: it times `fn` between two checkpoints, and at each one
 *   prints {"checkpoint":"<name>:start"|"<name>:end"} and waits for the runner's `go`. The runner
 *   reads both processes' CPU there, while the client has nothing in flight, so a phase's CPU
 *   is exactly its own. Without the runner a checkpoint returns at once;
 * - ends the process when its stdin ends: the runner was killed and will not stop it.
 */
const net = require('net');

const ACTIVE = process.env.VIA_BENCH_PROBE === '1';
const connections = { client: {}, server: {} };
let waiting = null; // resolves the checkpoint the client waits at

function count(role, socket) {
  const t = socket.transport || 'tcp';
  connections[role][t] = (connections[role][t] || 0) + 1;
}

function onLine(line) {
  if (line === 'report') {
    const report = {
      pid: process.pid,
      register: Boolean(globalThis[Symbol.for('via-net.register')]?.active),
      cpu: process.cpuUsage(),
      connections,
    };
    process.stdout.write(`${JSON.stringify({ probe: report })}\n`);
  } else if (line === 'go' && waiting) {
    const resolve = waiting;
    waiting = null;
    process.stdin.unref();
    resolve();
  }
}

if (ACTIVE) {
  // Under register, net.Socket is via-net's, while a TLSSocket stays on node's own socket class
  // (whose connect via-net's also calls over TCP): probe both, and count each socket once.
  const counted = Symbol('probe.counted');
  const protos = new Set([net.Socket.prototype, Object.getPrototypeOf(require('tls').TLSSocket.prototype)]);
  for (const proto of protos) {
    const connect = proto.connect;
    proto.connect = function probedConnect(...args) {
      if (!this[counted]) {
        this[counted] = true;
        this.once('connect', () => count('client', this));
      }
      return connect.apply(this, args);
    };
  }
  const serverProto = net.Server.prototype;
  const emit = serverProto.emit;
  serverProto.emit = function probedEmit(event, ...args) {
    if (event === 'connection') count('server', args[0]);
    return emit.call(this, event, ...args);
  };

  let buffered = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => {
    buffered += d;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      onLine(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  });
  process.stdin.on('error', () => {});
  // The runner is gone (killed outright): nothing would ever stop this process.
  process.stdin.on('end', () => process.exit(1));
  // Listening to the runner must not keep a server alive after SIGTERM (nor a client at its end).
  process.stdin.unref();
}

/** Tells the runner the client reached `name` and waits for its `go` (at once without the runner). */
function checkpoint(name) {
  if (!ACTIVE) return Promise.resolve();
  return new Promise((resolve) => {
    waiting = resolve;
    process.stdin.ref(); // nothing else may keep the client alive while it waits
    process.stdout.write(`${JSON.stringify({ checkpoint: name })}\n`);
  });
}

/** Runs `fn` between the checkpoints `<name>:start` and `<name>:end`; resolves with its value and its time in ms. */
async function phase(name, fn) {
  await checkpoint(`${name}:start`);
  const t0 = process.hrtime.bigint();
  const value = await fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await checkpoint(`${name}:end`);
  return { value, ms };
}

module.exports = { checkpoint, phase };
