'use strict';
// A via-net server or client run inside a network namespace (through `ip netns exec`), reporting
// over IPC. Server: greets every connection with its tag. Client: reports the transport used and
// the greeting it got, or the error code.
const path = require('node:path');
const via = require(path.join(__dirname, '..', '..', '..', 'dist'));

const [role, host, port, tag] = process.argv.slice(2);
if (role === 'server') {
  const server = via.createServer((sock) => sock.end(`hello from ${tag} over ${sock.transport}`));
  server.listen(Number(port), host, () => process.send({ type: 'listening', port: server.address().port }));
  process.on('message', (m) => m === 'exit' && server.close(() => process.exit(0)));
} else {
  const sock = via.connect({ port: Number(port), host });
  let data = '';
  sock.setEncoding('utf8');
  sock.on('data', (d) => (data += d));
  sock.on('error', (err) => process.send({ type: 'result', error: err.code }, () => process.exit(0)));
  sock.on('end', () => process.send({ type: 'result', transport: sock.transport, data }, () => process.exit(0)));
}
