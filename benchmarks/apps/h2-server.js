#!/usr/bin/env node
'use strict';
/**
 * A plain HTTP/2 server (node's http2 over node:net; run it without via-net/register) for the
 * h2-register benchmark and test/h2-register.test.js. GET /<size>/<seed> answers `size`
 * deterministic bytes (see body.js) with their sha256 in `x-sha256`, so a client checks each body
 * against both the header and its own computation. With a key and certificate it serves HTTP/2
 * over TLS (h2). Prints `PORT <n>` once listening; exits on SIGTERM.
 *
 *   node benchmarks/apps/h2-server.js [port] [key.pem cert.pem]
 */
const fs = require('fs');
const http2 = require('http2');
const { body } = require('./h2-body');

const [keyFile, certFile] = process.argv.slice(3);
const server = keyFile
  ? http2.createSecureServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) })
  : http2.createServer();
const cache = new Map();

server.on('stream', (stream, headers) => {
  const m = /^\/(\d{1,8})\/(\d{1,10})$/.exec(headers[':path'] || '');
  if (!m) {
    stream.respond({ ':status': 404 });
    stream.end();
    return;
  }
  const key = `${m[1]}/${m[2]}`;
  let entry = cache.get(key);
  if (!entry) {
    entry = body(Number(m[1]), Number(m[2]));
    cache.set(key, entry);
  }
  stream.respond({ ':status': 200, 'content-type': 'application/octet-stream', 'x-sha256': entry.sha256 });
  stream.end(entry.data);
});
// A client going away mid-stream is not the server's failure.
server.on('sessionError', () => {});
server.on('streamError', () => {});

server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  process.stdout.write(`PORT ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
