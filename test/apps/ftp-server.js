'use strict';
// An ordinary ftp-srv app (nothing via-net specific): anonymous login into a root directory,
// passive mode on 127.0.0.1. Usage: node ftp-server.js <port> <rootDir> <pasvMin> <pasvMax>
const { FtpSrv } = require('ftp-srv');

const [port, root, pasvMin, pasvMax] = process.argv.slice(2);
const server = new FtpSrv({
  url: `ftp://127.0.0.1:${port}`,
  pasv_url: '127.0.0.1',
  pasv_min: Number(pasvMin),
  pasv_max: Number(pasvMax),
  anonymous: true,
  greeting: 'hello',
  log: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, child() { return this; } },
});
server.on('login', (_data, resolve) => resolve({ root }));
server.on('disconnect', () => console.log('DISCONNECT'));
server.listen().then(() => console.log('READY'));
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
