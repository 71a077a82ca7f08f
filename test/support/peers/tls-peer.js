'use strict';
// A TLS server over node:net or via-net (a PSK suite: no certificates), for tls-processes.test.js.
// Usage: tls-peer.js <module path> echo|stream <psk>. Sends { port } over IPC once listening.
//   echo:   echoes what it receives, ends when the client ends.
//   stream: writes a deterministic pattern ((i * 7 + (i >> 10)) & 0xff at offset i) until killed.
const tls = require('tls');

const [modulePath, mode, psk] = process.argv.slice(2);
const m = require(modulePath);

const server = m.createServer((raw) => {
  raw.on('error', () => {});
  const secure = new tls.TLSSocket(raw, {
    isServer: true, ciphers: 'PSK-AES128-GCM-SHA256', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', pskCallback: () => Buffer.from(psk),
  });
  secure.on('error', () => {});
  if (mode === 'echo') {
    secure.pipe(secure);
    return;
  }
  let offset = 0;
  const chunk = () => {
    const b = Buffer.alloc(64 * 1024);
    for (let i = 0; i < b.length; i++, offset++) b[i] = (offset * 7 + (offset >> 10)) & 0xff;
    return b;
  };
  const pump = () => {
    while (secure.write(chunk()));
    secure.once('drain', pump);
  };
  secure.once('secure', pump);
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
