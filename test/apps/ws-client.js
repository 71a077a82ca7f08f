'use strict';
// An ordinary `ws` client (nothing via-net specific). Usage: node ws-client.js <port> <messages> <seed>
// Sends <messages> messages of mixed sizes (mostly small, some up to 256 KB, every 7th one text),
// at most WINDOW unanswered at a time, and checks the echoes. Prints one JSON line with the sha256
// over everything sent and over everything echoed back.
const crypto = require('crypto');
const WebSocket = require('ws');
const { random } = require('../support/prng');

const [port, total, seed] = process.argv.slice(2).map(Number);
const WINDOW = 256;
const POOL = crypto.randomBytes(1 << 20);

const rand = random(seed); // seeded, so a run can be replayed

function nextMessage(i) {
  const r = rand();
  const size = r < 0.85 ? 1 + Math.floor(rand() * 256)
    : r < 0.99 ? 257 + Math.floor(rand() * 16 * 1024)
      : 16 * 1024 + Math.floor(rand() * 240 * 1024);
  const off = Math.floor(rand() * (POOL.length - size));
  if (i % 7 === 0) return POOL.toString('base64', off, off + Math.ceil(size * 3 / 4)).slice(0, size); // text
  return POOL.subarray(off, off + size);
}

const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { maxPayload: 1 << 20 });
const sentHash = crypto.createHash('sha256');
const echoHash = crypto.createHash('sha256');
let sent = 0;
let echoed = 0;
let bytes = 0;
const expectText = [];
const t0 = Date.now();

function fill() {
  while (sent < total && sent - echoed < WINDOW) {
    const msg = nextMessage(sent);
    sentHash.update(msg);
    bytes += Buffer.byteLength(msg);
    expectText.push(typeof msg === 'string');
    ws.send(msg);
    sent++;
  }
}

ws.on('open', fill);
ws.on('message', (data, isBinary) => {
  if (isBinary === expectText.shift()) throw new Error(`message ${echoed} came back with the wrong type`);
  echoHash.update(data);
  echoed++;
  if (echoed === total) {
    const transport = ws._socket.transport;
    ws.close();
    ws.once('close', () => console.log(JSON.stringify({
      messages: total, bytes, sent: sentHash.digest('hex'), echoed: echoHash.digest('hex'), transport, ms: Date.now() - t0,
    })));
  } else {
    fill();
  }
});
ws.on('error', (err) => { console.error(err); process.exit(1); });
