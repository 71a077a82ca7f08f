'use strict';
// An ordinary HTTPS client (nothing via-net specific): https.get with a keep-alive agent and the
// global fetch; trusts the test CA through NODE_EXTRA_CA_CERTS. Usage: node https-client.js <port> <size> <requests>
const crypto = require('crypto');
const https = require('https');

const [port, size, requests] = process.argv.slice(2).map(Number);
const agent = new https.Agent({ keepAlive: true, maxSockets: 2 });

function get() {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: `/?size=${size}`, agent }, (res) => {
      const h = crypto.createHash('sha256');
      res.on('data', (d) => h.update(d));
      // What TLS encrypts over: node's own handle, or a JS stream around a handle-less socket.
      const wrap = req.socket._handle && req.socket._handle._parentWrap;
      const over = wrap ? wrap.constructor.name : 'handle';
      res.on('end', () => resolve({ ok: h.digest('hex') === res.headers['x-sha256'], server: res.headers['x-transport'], client: req.socket.transport, over }));
    });
    req.on('error', reject);
  });
}

async function main() {
  const viaAgent = [];
  for (let i = 0; i < requests; i++) viaAgent.push(await get());
  const viaFetch = [];
  for (let i = 0; i < requests; i++) {
    const res = await fetch(`https://localhost:${port}/?size=${size}`);
    const body = Buffer.from(await res.arrayBuffer());
    viaFetch.push({ ok: crypto.createHash('sha256').update(body).digest('hex') === res.headers.get('x-sha256'), server: res.headers.get('x-transport') });
  }
  agent.destroy();
  console.log(JSON.stringify({ viaAgent, viaFetch }));
}
main().catch((err) => { console.error(err); process.exit(1); });
