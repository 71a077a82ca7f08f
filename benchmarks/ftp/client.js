'use strict';
// FTP benchmark client: basic-ftp. Usage: node client.js <port> <downloadDir> <file>...
// For each file: upload it (timed), download it back (timed). Prints one JSON line with the times in
// ms and the transport of the control connection (undefined without via-net/register).
const ftp = require('basic-ftp');
const path = require('path');

async function main() {
  const [port, downloadDir, ...files] = process.argv.slice(2);
  const client = new ftp.Client(120_000);
  await client.access({ host: '127.0.0.1', port: Number(port), user: 'anonymous', password: 'x' });
  const results = [];
  for (const file of files) {
    const name = path.basename(file);
    let t = process.hrtime.bigint();
    await client.uploadFrom(file, name);
    const uploadMs = Number(process.hrtime.bigint() - t) / 1e6;
    t = process.hrtime.bigint();
    await client.downloadTo(path.join(downloadDir, name), name);
    const downloadMs = Number(process.hrtime.bigint() - t) / 1e6;
    results.push({ name, uploadMs, downloadMs });
  }
  const transport = client.ftp.socket.transport;
  client.close();
  console.log(JSON.stringify({ transport, results }));
}
main().catch((err) => { console.error(err); process.exit(1); });
