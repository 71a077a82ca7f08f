#!/usr/bin/env node
'use strict';
/**
 * An ordinary HTTP/2 server app (node's http2), for the app benchmark runner (apps/run.js, started
 * with and without -r dist/register.js), the h2-register benchmark and test/h2-register.test.js
 * (both run it without register: a plain node:net server). GET /<size>/<seed> answers `size`
 * deterministic bytes (body.js) with their sha256 in `x-sha256`, so a client checks each body
 * against both the header and its own computation. With a key and certificate it serves HTTP/2
 * over TLS (h2). Prints `PORT <n>` once listening; exits on SIGTERM.
 *
 *   node benchmarks/apps/h2-server.js [port] [key.pem cert.pem]
 */
const fs = require('fs');
const http2 = require('http2');
const { forPath } = require('./body');

const [keyFile, certFile] = process.argv.slice(3);
const server = keyFile
  ? http2.createSecureServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) })
  : http2.createServer();

server.on('stream', (stream, headers) => {
  const entry = forPath(headers[':path']);
  if (!entry) {
    stream.respond({ ':status': 404 });
    stream.end();
    return;
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
