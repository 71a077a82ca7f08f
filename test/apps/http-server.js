'use strict';
// An ordinary node:http server (nothing via-net specific). Usage: node http-server.js
//   GET /small?i=N          -> a short deterministic body
//   GET /big?size=N&id=X    -> N pseudo-random bytes, streamed with backpressure; when done, prints
//                              "SENT <id> <sha256 of what was written>" on stdout.
const crypto = require('crypto');
const http = require('http');
const { smallBody } = require('./http-body');

const POOL = crypto.randomBytes(4 << 20);
const CHUNK = 64 * 1024;

function streamBig(res, size, id) {
  const hash = crypto.createHash('sha256');
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
  let sent = 0;
  let k = 0;
  const pump = () => {
    while (sent < size) {
      const n = Math.min(CHUNK, size - sent);
      const off = (k++ * 7919 * 64) % (POOL.length - CHUNK);
      const chunk = POOL.subarray(off, off + n);
      hash.update(chunk);
      sent += n;
      if (!res.write(chunk)) return res.once('drain', pump);
    }
    res.end(() => console.log(`SENT ${id} ${hash.digest('hex')}`));
  };
  pump();
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/small') {
    const body = smallBody(Number(url.searchParams.get('i')));
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } else if (url.pathname === '/big') {
    streamBig(res, Number(url.searchParams.get('size')), url.searchParams.get('id'));
  } else {
    res.writeHead(404).end();
  }
});
server.listen(0, '127.0.0.1', () => console.log(`PORT ${server.address().port}`));
process.on('SIGTERM', () => { server.close(); server.closeAllConnections(); });
