'use strict';
// A via-net server for the adaptive-polling test: answers each 64 B request with 64 B after
// busy-working `workUs` µs (CPU work, as a real handler's would be); the parent changes workUs
// over IPC. Prints its port to the parent, exits when the parent disconnects.
const path = require('node:path');
const net = require(path.join(__dirname, '..', '..', '..', 'dist'));

const SIZE = 64;
let workUs = Number(process.argv[2]) || 0;
const server = net.createServer((sock) => {
  sock.setNoDelay(true);
  let have = 0;
  sock.on('data', (chunk) => {
    have += chunk.length;
    while (have >= SIZE) {
      have -= SIZE;
      const until = process.hrtime.bigint() + BigInt(workUs * 1000);
      while (process.hrtime.bigint() < until);
      sock.write(Buffer.alloc(SIZE, 0x62));
    }
  });
  sock.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (m) => {
  workUs = m.workUs;
  process.send({ workUs });
});
process.on('disconnect', () => process.exit(0));
