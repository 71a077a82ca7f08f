'use strict';
// An ordinary `ws` echo server (nothing via-net specific). Usage: node ws-server.js
// Echoes every message (text stays text). When a client disconnects, prints
// "RECEIVED <messages> <bytes> <sha256 over all payloads>" on stdout.
const crypto = require('crypto');
const { WebSocketServer } = require('ws');

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1 << 20 });
wss.on('connection', (ws, req) => {
  const hash = crypto.createHash('sha256');
  let messages = 0;
  let bytes = 0;
  ws.on('message', (data, isBinary) => {
    hash.update(data);
    messages++;
    bytes += data.length;
    ws.send(data, { binary: isBinary });
  });
  ws.on('close', () => console.log(`RECEIVED ${messages} ${bytes} ${hash.digest('hex')} ${req.socket.transport}`));
});
wss.on('listening', () => console.log(`PORT ${wss.address().port}`));
process.on('SIGTERM', () => { for (const c of wss.clients) c.terminate(); wss.close(); });
