'use strict';
// HTTP benchmark server: an ordinary node:http server answering every request with a small body.
// Started with or without -r dist/register.js by run.js; prints "PORT <n>".
const http = require('http');

const BODY = Buffer.from('hello, world\n');
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
  res.end(BODY);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(`PORT ${server.address().port}`));
process.on('SIGTERM', () => { server.close(); server.closeAllConnections(); });
