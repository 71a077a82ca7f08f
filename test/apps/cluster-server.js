'use strict';
// An ordinary node:cluster HTTP server (nothing via-net specific), as PM2 runs one.
// Usage: node cluster-server.js <workers> [exclusive]
//   The scheduling policy is node's own NODE_CLUSTER_SCHED_POLICY ('rr', the default, or 'none').
//   Workers listen on port 0 (one port for all, through the primary), or with `exclusive` each on
//   a port of its own.
//   GET /body?i=N&size=S -> sizedBody(N, S), with x-worker (the worker's pid) and x-transport
//                           (which transport carried the request to the worker)
//   GET /hold            -> never answered; the worker prints "HELD <pid>"
// The primary prints "LISTENING <worker id> <pid> <port>" for each worker that listens (each
// worker tells it: an exclusive listen does not go through the primary), "READY" once the first
// <workers> listen, "EXIT <worker id> <pid> <code or signal>" for each that exits; it reads "fork"
// lines on stdin, and on SIGTERM disconnects its workers (they close their servers) and exits.
const cluster = require('cluster');
const http = require('http');
const { sizedBody } = require('./http-body');

const [workers, mode] = process.argv.slice(2);

if (cluster.isPrimary) {
  let listening = 0;
  cluster.on('message', (worker, message) => {
    if (typeof message?.listening !== 'number') return;
    console.log(`LISTENING ${worker.id} ${worker.process.pid} ${message.listening}`);
    if (++listening === Number(workers)) console.log('READY');
  });
  cluster.on('exit', (worker, code, signal) => console.log(`EXIT ${worker.id} ${worker.process.pid} ${signal || code}`));
  for (let i = 0; i < Number(workers); i++) cluster.fork();
  process.stdin.setEncoding('utf8').on('data', (text) => {
    for (const line of text.split('\n')) if (line.trim() === 'fork') cluster.fork();
  });
  process.on('SIGTERM', () => cluster.disconnect(() => process.exit(0)));
} else {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/hold') {
      console.log(`HELD ${process.pid}`);
      return;
    }
    const body = sizedBody(Number(url.searchParams.get('i')), Number(url.searchParams.get('size')));
    res.writeHead(200, {
      'content-length': body.length,
      'x-worker': process.pid,
      'x-transport': String(req.socket.transport ?? 'none'),
    });
    res.end(body);
  });
  const options = { port: 0, host: '127.0.0.1', exclusive: mode === 'exclusive' };
  server.listen(options, () => process.send({ listening: server.address().port }));
  cluster.worker.on('disconnect', () => server.close());
}
