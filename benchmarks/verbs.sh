#!/usr/bin/env bash
# NetPIPE-style latency and bandwidth between two hosts with RDMA NICs: via-net's SOVIA over the
# verbs provider, next to node:net TCP between the same two hosts, in the same run.
# See docs/VERBS.md for the set-up (devices, soft-RoCE, firewall).
#
#   host A:  benchmarks/verbs.sh server [--port P]
#   host B:  benchmarks/verbs.sh client --host A_ADDRESS [--port P] [--sizes LIST] [--trials N] [--json]
#   either:  benchmarks/verbs.sh local [run.js options]     one host: benchmarks/run.js as is
#
#   --port P       TCP port of the server; its rdma_cm listener takes the same number (default 18515)
#   --host ADDR    the server's address on the RDMA network (an IP: rdma_cm resolves it to the NIC)
#   --sizes LIST   message sizes, e.g. 1,64,4K,64K,1M (default: NetPIPE's powers of two 1 B..8 MB, ±3)
#   --trials N     trials per size; the median is reported (default 5)
#   --json         print the results as JSON instead of a table
#   --tcp-only     (both ends) measure node:net TCP alone: checks the script and the network path
#                  on hosts without RDMA
#
# benchmarks/run.js forks both ends on one host, so across hosts this script runs the same
# measurements itself, with the same definitions: latency is half the round trip of a ping-pong,
# bandwidth a run of writes followed by one 1-byte acknowledgement, and every via-net figure is
# quoted as a ratio to node:net TCP measured in the same run. The server echoes on both
# transports; the client checks a 256 KB sha256-verified echo on each before measuring.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-}"
[ $# -gt 0 ] && shift
case "$mode" in
  local) exec node benchmarks/run.js "$@" ;;
  server|client) ;;
  *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

[ -f dist/index.js ] || npm run build:ts >/dev/null
node dist/cli.js doctor >&2
exec node - "$mode" "$@" <<'JS'
'use strict';
const crypto = require('node:crypto');
const net = require('node:net');
const path = require('node:path');
const root = process.cwd();
const { netpipeSizes, parseSizes } = require(path.join(root, 'benchmarks/lib/sizes'));
const { verbsProvider, verbsUnavailableReason } = require(path.join(root, 'dist/providers/verbs'));
const { remoteTcpRendezvous: verbsRendezvous } = require(path.join(root, 'dist/transport/rendezvous'));
const sovia = require(path.join(root, 'dist/sovia'));

const [mode, ...argv] = process.argv.slice(2);
const opt = { port: 18515, host: null, sizes: null, trials: 5, json: false, tcpOnly: false };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--port') opt.port = Number(argv[++i]);
  else if (a === '--host') opt.host = argv[++i];
  else if (a === '--sizes') opt.sizes = parseSizes(argv[++i]);
  else if (a === '--trials') opt.trials = Number(argv[++i]);
  else if (a === '--json') opt.json = true;
  else if (a === '--tcp-only') opt.tcpOnly = true;
  else { console.error(`unknown option ${a}`); process.exit(2); }
}
if (!(opt.port > 0 && opt.port < 65536) || !(opt.trials >= 1 && opt.trials <= 1000)) { console.error('bad --port or --trials'); process.exit(2); }
const sizes = opt.sizes || netpipeSizes();

const provider = opt.tcpOnly ? null : verbsProvider();
if (!provider && !opt.tcpOnly) { console.error(`verbs unavailable: ${verbsUnavailableReason()}`); process.exit(1); }
const params = sovia.resolveParams({}, process.env, provider ? provider.attrs.maxTransferSize : undefined);
params.pollMode = 'busy';
const depth = sovia.recvDepthFor(params);

/** A SOVIA stream over a verbs VI, with the small surface the measurements need. */
function soviaStream(vi) {
  const s = { onData: () => {}, onClose: () => {} };
  const conn = new sovia.SoviaConnection(vi, params, {
    onData: (chunk) => (s.onData(chunk), true),
    onEnd: () => conn.end(),
    onClose: () => s.onClose(),
    onError: (err) => console.error(`verbs connection: ${err.code}`),
  });
  conn.setNoDelay(true);
  s.write = (buf) => conn.write(buf, () => {});
  s.close = () => conn.end();
  return s;
}

function tcpStream(sock) {
  sock.setNoDelay(true);
  const s = { onData: () => {}, onClose: () => {} };
  sock.on('data', (d) => s.onData(d)).on('close', () => s.onClose()).on('error', () => {});
  s.write = (buf) => sock.write(buf);
  s.close = () => sock.end();
  return s;
}

// Server: every stream runs one protocol. A command header (16 bytes: op, size, count) is
// followed by the op: 'P' ping-pong echoes `count` messages of `size`; 'S' sinks size*count bytes
// and answers one byte; 'E' echoes `size` bytes (the probe).
function serve(stream) {
  let buf = Buffer.alloc(0);
  let job = null;
  stream.onData = (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    for (;;) {
      if (!job) {
        if (buf.length < 16) return;
        job = { op: String.fromCharCode(buf[0]), size: buf.readUInt32BE(4), count: buf.readUInt32BE(8), got: 0, done: 0 };
        buf = buf.subarray(16);
      }
      const want = job.op === 'S' ? job.size * job.count - job.got : job.size - job.got;
      const take = Math.min(want, buf.length);
      job.got += take;
      const chunk = buf.subarray(0, take);
      buf = buf.subarray(take);
      if (job.op !== 'S') job.parts = (job.parts || []).concat(chunk);
      if (job.got < (job.op === 'S' ? job.size * job.count : job.size)) return;
      if (job.op === 'S') { stream.write(Buffer.from([1])); job = null; continue; }
      stream.write(Buffer.concat(job.parts));
      job.parts = [];
      job.got = 0;
      if (job.op === 'E' || ++job.done === job.count) job = null;
    }
  };
}

function server() {
  const tcp = net.createServer((sock) => serve(tcpStream(sock)));
  tcp.listen(opt.port, () => console.error(`tcp listening on port ${opt.port}`));
  if (!provider) return;
  provider.listen(`tcp:${opt.port}`, {}, (incoming) => {
    const vi = incoming.accept({ recvDepth: depth, payload: Buffer.from('{}') });
    serve(soviaStream(vi));
  });
  console.error(`rdma_cm listening on port ${opt.port} (SOVIA w=${params.window} t=${params.ackThreshold}); Ctrl-C to stop`);
}

function header(op, size, count) {
  const h = Buffer.alloc(16);
  h[0] = op.charCodeAt(0);
  h.writeUInt32BE(size, 4);
  h.writeUInt32BE(count, 8);
  return h;
}

/** Resolves once `n` bytes have arrived on the stream; returns them. */
function readBytes(stream, n) {
  return new Promise((resolve) => {
    const parts = [];
    let got = 0;
    stream.onData = (d) => {
      parts.push(d);
      got += d.length;
      if (got >= n) resolve(Buffer.concat(parts));
    };
  });
}

async function measure(stream) {
  const probe = crypto.randomBytes(256 * 1024);
  stream.write(header('E', probe.length, 1));
  stream.write(probe);
  const back = await readBytes(stream, probe.length);
  const hash = (b) => crypto.createHash('sha256').update(b).digest('hex');
  if (hash(back) !== hash(probe)) throw new Error('probe echo differs: the transport corrupts data');
  const out = [];
  for (const size of sizes) {
    const msg = crypto.randomBytes(size);
    const rounds = Math.max(3, Math.min(1000, Math.floor(4e6 / (size + 64))));
    const lat = [];
    const bw = [];
    for (let t = 0; t < opt.trials; t++) {
      stream.write(header('P', size, rounds));
      let t0 = process.hrtime.bigint();
      for (let r = 0; r < rounds; r++) {
        stream.write(msg);
        await readBytes(stream, size);
      }
      lat.push(Number(process.hrtime.bigint() - t0) / 1e3 / rounds / 2);
      const count = Math.max(4, Math.min(10000, Math.floor(64e6 / size)));
      const done = readBytes(stream, 1);
      t0 = process.hrtime.bigint();
      stream.write(header('S', size, count));
      for (let c = 0; c < count; c++) stream.write(msg);
      await done;
      bw.push((size * count) / (Number(process.hrtime.bigint() - t0) / 1e9));
    }
    const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];
    out.push({ size, latencyMicros: median(lat), bandwidthBytesPerSecond: median(bw) });
  }
  return out;
}

async function client() {
  if (!opt.host || !net.isIP(opt.host)) { console.error('client needs --host <server IP address>'); process.exit(2); }
  const sock = net.connect(opt.port, opt.host);
  await new Promise((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  const tcp = await measure(tcpStream(sock));
  sock.end();
  let verbs = tcp.map((r) => ({ ...r, latencyMicros: NaN, bandwidthBytesPerSecond: NaN }));
  if (provider) {
    const vi = await new Promise((resolve, reject) =>
      provider.connect(verbsRendezvous(opt.host, opt.port), { recvDepth: depth, payload: Buffer.from('{}') }, (err, v) => (err ? reject(err) : resolve(v))));
    verbs = await measure(soviaStream(vi));
  }
  const rows = sizes.map((size, i) => ({
    size,
    tcpLatencyMicros: tcp[i].latencyMicros,
    verbsLatencyMicros: verbs[i].latencyMicros,
    latencyRatio: verbs[i].latencyMicros / tcp[i].latencyMicros,
    tcpBandwidth: tcp[i].bandwidthBytesPerSecond,
    verbsBandwidth: verbs[i].bandwidthBytesPerSecond,
    bandwidthRatio: verbs[i].bandwidthBytesPerSecond / tcp[i].bandwidthBytesPerSecond,
  }));
  if (opt.json) {
    console.log(JSON.stringify({ host: opt.host, port: opt.port, trials: opt.trials, params, rows }, null, 2));
  } else {
    console.log('size        tcp µs   verbs µs  ratio    tcp MB/s  verbs MB/s  ratio');
    for (const r of rows) {
      console.log(`${String(r.size).padStart(8)}  ${r.tcpLatencyMicros.toFixed(2).padStart(8)}  ${r.verbsLatencyMicros.toFixed(2).padStart(9)}  ${r.latencyRatio.toFixed(2).padStart(5)}  ${(r.tcpBandwidth / 1e6).toFixed(1).padStart(10)}  ${(r.verbsBandwidth / 1e6).toFixed(1).padStart(10)}  ${r.bandwidthRatio.toFixed(2).padStart(5)}`);
    }
  }
  process.exit(0);
}

(mode === 'server' ? Promise.resolve(server()) : client()).catch((err) => {
  console.error(`${err.code || 'error'}: ${err.message}`);
  process.exit(1);
});
JS
