'use strict';
/**
 * HTTP/1.1 benchmark server: an ordinary node:http server, or node:https given a key and
 * certificate. GET /<size>/<seed> answers the deterministic bytes of benchmarks/apps/body.js.
 * Started with or without -r dist/register.js by benchmarks/apps/run.js; prints "PORT <n>".
 *
 *   node benchmarks/http/server.js [key.pem cert.pem]
 */
const fs = require('fs');
const http = require('http');
const https = require('https');
const { forPath } = require('../apps/body');

const [keyFile, certFile] = process.argv.slice(2);

function handle(req, res) {
  const entry = forPath(req.url);
  if (!entry) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': entry.data.length });
  res.end(entry.data);
}

const server = keyFile
  ? https.createServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) }, handle)
  : http.createServer(handle);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(`PORT ${server.address().port}`));
process.on('SIGTERM', () => { server.close(); server.closeAllConnections(); });
