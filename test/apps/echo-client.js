'use strict';
// An ordinary net client (nothing via-net specific): sends <bytes> random bytes to an echo server
// and prints the sha256 of what it sent and of what came back. Usage: node echo-client.js <port> <bytes>
const crypto = require('crypto');
const net = require('net');

const [port, bytes] = process.argv.slice(2).map(Number);
const data = crypto.randomBytes(bytes);
const back = crypto.createHash('sha256');
let received = 0;
const socket = net.connect(port, '127.0.0.1', () => socket.end(data));
socket.on('data', (d) => { back.update(d); received += d.length; });
socket.on('end', () => console.log(JSON.stringify({
  sent: crypto.createHash('sha256').update(data).digest('hex'), echoed: back.digest('hex'), received, transport: socket.transport,
})));
