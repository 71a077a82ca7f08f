'use strict';
/**
 * HTTP/1.1 benchmark client, an ordinary app: GETs of benchmarks/apps/body.js's bodies from
 * server.js, `inflight` at a time (benchmarks/apps/load.js), a warm-up and then the timed phase.
 * Every body is compared with the bytes it must be.
 *
 *   node benchmarks/http/client.js --port N [--api agent|fetch|close] [--inflight 1]
 *        [--seconds 3 | --requests N] [--warmup-seconds 0.5 | --warmup N] [--sizes 13] [--https]
 *
 * agent: http.get through a keep-alive http.Agent of `inflight` sockets; fetch: the global fetch
 * (undici, its own keep-alive pool); close: an agent without keep-alive, so every request opens
 * and closes a connection of its own. --https: the same over TLS (trust the server's certificate
 * with NODE_EXTRA_CA_CERTS). Prints one JSON line: the timing and latency quantiles (µs), bad
 * (bodies that differ), bytes and responses (warm-up included).
 */
const http = require('http');
const https = require('https');
const { forPath, pathOf } = require('../apps/body');
const { measure, loadOptions, finish, fail } = require('../apps/load');
const { arg } = require('../lib/cli');

const { port, inflight, sizes, warmup, timed } = loadOptions({ sizes: '13', warmup: { seconds: 0.5 }, timed: { seconds: 3 } });
const api = arg('api', 'agent');
const secure = process.argv.includes('--https');
const proto = secure ? https : http;
const origin = `${secure ? 'https' : 'http'}://127.0.0.1:${port}`;
if (!['agent', 'fetch', 'close'].includes(api)) fail(new Error(`--api ${api}: agent, fetch or close`));
const agent = new proto.Agent({ keepAlive: api !== 'close', maxSockets: inflight });

let bad = 0;
let bytes = 0;
let responses = 0;

/** One GET through the agent: resolves with the body. */
function agentGet(path) {
  return new Promise((resolve, reject) => {
    const req = proto.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve(res.statusCode === 200 ? Buffer.concat(parts) : null));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function fetchGet(path) {
  const res = await fetch(origin + path);
  const data = Buffer.from(await res.arrayBuffer());
  return res.status === 200 ? data : null;
}

const get = api === 'fetch' ? fetchGet : agentGet;

async function request(i) {
  const path = pathOf(sizes, i);
  const data = await get(path);
  responses++;
  if (data) bytes += data.length;
  if (!data || !data.equals(forPath(path).data)) bad++;
}

measure({ inflight, warmup, timed, request }).then((figures) => {
  agent.destroy();
  finish({ api, inflight, secure, ...figures, bad, bytes, responses });
}, fail);
