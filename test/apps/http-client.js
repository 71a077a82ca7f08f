'use strict';
// An ordinary HTTP client app (nothing via-net specific): a keep-alive http.Agent and the global fetch.
// Usage: node http-client.js <port> <requests> <agentBigBytes> <fetchBigBytes>
// Prints one JSON line: per client, the sha256 over the small bodies in request order, and the
// sha256 of each big body.
const crypto = require('crypto');
const http = require('http');

const [port, requests, agentBig, fetchBig] = process.argv.slice(2).map(Number);
const CONCURRENCY = 32;
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function agentGet(path, onData) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      res.on('data', onData);
      res.on('end', resolve);
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** Runs `requests` small requests, CONCURRENCY at a time; returns the sha256 of the bodies in order. */
async function smallRequests(get) {
  const bodies = new Array(requests);
  let next = 0;
  const worker = async () => {
    while (next < requests) {
      const i = next++;
      bodies[i] = await get(i);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const h = crypto.createHash('sha256');
  for (const b of bodies) h.update(b);
  return h.digest('hex');
}

async function main() {
  const t0 = Date.now();
  const agentSmall = await smallRequests(async (i) => {
    const parts = [];
    await agentGet(`/small?i=${i}`, (d) => parts.push(d));
    return Buffer.concat(parts);
  });
  const t1 = Date.now();
  const fetchSmall = await smallRequests(async (i) => {
    const res = await fetch(`http://127.0.0.1:${port}/small?i=${i}`);
    return Buffer.from(await res.arrayBuffer());
  });
  const t2 = Date.now();

  const agentHash = crypto.createHash('sha256');
  let agentBytes = 0;
  await agentGet(`/big?size=${agentBig}&id=agent`, (d) => { agentHash.update(d); agentBytes += d.length; });
  const t3 = Date.now();

  const fetchHash = crypto.createHash('sha256');
  let fetchBytes = 0;
  const res = await fetch(`http://127.0.0.1:${port}/big?size=${fetchBig}&id=fetch`);
  for await (const chunk of res.body) { fetchHash.update(chunk); fetchBytes += chunk.length; }
  agent.destroy();
  console.log(JSON.stringify({
    agentSmall, fetchSmall,
    agentBig: { bytes: agentBytes, sha256: agentHash.digest('hex'), ms: t3 - t2 },
    fetchBig: { bytes: fetchBytes, sha256: fetchHash.digest('hex') },
    ms: { agentSmall: t1 - t0, fetchSmall: t2 - t1 },
  }));
}
main().catch((err) => { console.error(err); process.exit(1); });
