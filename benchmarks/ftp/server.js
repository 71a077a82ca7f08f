'use strict';
// FTP benchmark server: an ordinary ftp-srv app. Usage: node server.js <port> <rootDir> <pasvMin> <pasvMax>
// Started with or without -r dist/register.js by run.js; prints "READY".
const { FtpSrv } = require('ftp-srv');

const [port, root, pasvMin, pasvMax] = process.argv.slice(2);
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, child() { return this; } };
const server = new FtpSrv({
  url: `ftp://127.0.0.1:${port}`, pasv_url: '127.0.0.1', pasv_min: Number(pasvMin), pasv_max: Number(pasvMax),
  anonymous: true, log: quiet,
});
server.on('login', (_data, resolve) => resolve({ root }));
server.listen().then(() => console.log('READY'));
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
