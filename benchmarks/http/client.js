'use strict';
// HTTP benchmark client: keep-alive http.Agent, <concurrency> requests in flight, for <seconds>
// after a warm-up. Usage: node client.js <port> <concurrency> <seconds> <warmupSeconds>
// Prints one JSON line: requests, elapsed ms, p50/p99 latency in µs, transport of the sockets.
const http = require('http');

const [port, concurrency, seconds, warmup] = process.argv.slice(2).map(Number);
const MAX_SAMPLES = 2_000_000; // bounds the latency buffer (and the run) whatever the speed
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const latencies = new Float64Array(MAX_SAMPLES);
const transports = new Set();
let count = 0;
let measuring = false;
let stopAt = 0;
let checked = 0;

function once() {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      let bytes = 0;
      res.on('data', (d) => { bytes += d.length; });
      res.on('end', () => {
        if (res.statusCode !== 200 || bytes !== 13) return reject(new Error(`bad response ${res.statusCode} ${bytes}`));
        if (checked < concurrency * 4) { checked++; transports.add((req.socket && req.socket.transport) ?? 'tcp (node:net)'); }
        if (measuring && count < MAX_SAMPLES) latencies[count++] = Number(process.hrtime.bigint() - t0) / 1e3;
        resolve();
      });
    });
    req.on('error', reject);
  });
}

async function worker() {
  while (Date.now() < stopAt && count < MAX_SAMPLES) await once();
}

async function main() {
  stopAt = Date.now() + warmup * 1000;
  await Promise.all(Array.from({ length: concurrency }, worker));
  measuring = true;
  const t0 = process.hrtime.bigint();
  stopAt = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const sorted = latencies.subarray(0, count).sort();
  const pct = (p) => sorted[Math.min(count - 1, Math.floor(p * count))];
  agent.destroy();
  console.log(JSON.stringify({ requests: count, elapsedMs, p50: pct(0.5), p99: pct(0.99), transports: [...transports] }));
  // Exit at once (see benchmarks/ftp/client.js: native teardown bug).
  process.stdout.write('', () => process.exit(0));
}
main().catch((err) => { console.error(err); process.exit(1); });
