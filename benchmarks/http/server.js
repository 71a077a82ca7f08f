'use strict';
/**
 * HTTP/1.1 benchmark server: an ordinary node:http server, or node:https given a key and
 * certificate. GET /<size>/<seed> answers the deterministic bytes of benchmarks/apps/body.js.
 * Started with or without -r dist/register.js by benchmarks/apps/run.js; prints "PORT <n>".
 * With HTTP_WORKERS=N (benchmarks/apps/cluster.js) it is a node:cluster primary whose N workers
 * serve the port, and prints it once they all listen.
 *
 *   node benchmarks/http/server.js [key.pem cert.pem]
 */
const cluster = require('cluster');
const fs = require('fs');
const http = require('http');
const https = require('https');
const { forPath } = require('../apps/body');

const [keyFile, certFile] = process.argv.slice(2);
const WORKERS = Number(process.env.HTTP_WORKERS || 0);

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
const stop = () => { server.close(); server.closeAllConnections(); };

if (WORKERS > 0 && cluster.isPrimary) {
  let listening = 0;
  cluster.on('listening', (worker, address) => {
    if (++listening === WORKERS) console.log(`PORT ${address.port}`);
  });
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  process.on('SIGTERM', () => cluster.disconnect(() => process.exit(0)));
} else {
  server.listen(0, '127.0.0.1', () => { if (!cluster.isWorker) console.log(`PORT ${server.address().port}`); });
  if (cluster.isWorker) cluster.worker.on('disconnect', stop);
  else process.on('SIGTERM', stop);
}
