'use strict';
// An ordinary HTTP client app (nothing via-net specific), each request on a new connection: a
// keep-alive agent (as services talking to each other use) and `Connection: close` on every request.
// Usage:
//   node cluster-client.js requests <port,port,...> <count> <size>
//     GET /body?i=N&size=S, N = 0..count-1 in turn, over the ports in turn, one at a time; prints
//     { ok, failed, errors, byWorker, clientTransports, serverTransports }, ok counting responses
//     whose body has the expected sha256.
//   node cluster-client.js hold <port>
//     GET /hold (the worker prints HELD), then prints the outcome when the connection ends:
//     { error: code, message, transport }.
const crypto = require('crypto');
const http = require('http');
const { sizedBody } = require('./http-body');

const [mode, ports, count, size] = process.argv.slice(2);
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const count1 = (map, key) => { map[key] = (map[key] || 0) + 1; };

const agent = new http.Agent({ keepAlive: true });

function get(port, path, onSocket) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent, headers: { connection: 'close' } }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ res, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('socket', onSocket);
  });
}

async function requests() {
  const portList = ports.split(',').map(Number);
  const out = { ok: 0, failed: 0, errors: {}, byWorker: {}, clientTransports: {}, serverTransports: {} };
  for (let i = 0; i < Number(count); i++) {
    let transport = 'none';
    try {
      const { res, body } = await get(portList[i % portList.length], `/body?i=${i}&size=${size}`, (socket) => {
        socket.once('connect', () => { transport = String(socket.transport ?? 'none'); });
      });
      if (res.statusCode === 200 && sha(body) === sha(sizedBody(i, Number(size)))) out.ok++;
      else out.failed++;
      count1(out.byWorker, res.headers['x-worker']);
      count1(out.serverTransports, res.headers['x-transport']);
    } catch (err) {
      out.failed++;
      count1(out.errors, err.code || err.message);
    }
    count1(out.clientTransports, transport);
  }
  console.log(JSON.stringify(out));
}

async function hold() {
  let transport = 'none';
  try {
    await get(Number(ports), '/hold', (socket) => {
      socket.once('connect', () => { transport = String(socket.transport ?? 'none'); });
    });
    console.log(JSON.stringify({ error: null, transport }));
  } catch (err) {
    console.log(JSON.stringify({ error: err.code || null, message: err.message, transport }));
  }
}

(mode === 'hold' ? hold : requests)();
