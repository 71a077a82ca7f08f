'use strict';
// An ordinary node:https server (nothing via-net specific). Usage: node https-server.js <key> <cert>
// GET /?size=N -> N random bytes, with their sha256 in the x-sha256 header.
const crypto = require('crypto');
const fs = require('fs');
const https = require('https');

const [key, cert] = process.argv.slice(2).map((f) => fs.readFileSync(f));
const server = https.createServer({ key, cert }, (req, res) => {
  const size = Number(new URL(req.url, 'https://x').searchParams.get('size'));
  const body = crypto.randomBytes(size);
  res.writeHead(200, { 'x-sha256': crypto.createHash('sha256').update(body).digest('hex'), 'x-transport': String(req.socket.transport) });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => console.log(`PORT ${server.address().port}`));
process.on('SIGTERM', () => { server.close(); server.closeAllConnections(); });
