'use strict';
// An ordinary basic-ftp client (nothing via-net specific). Usage:
//   node ftp-client.js <port> <localUpload> <remoteName> <localDownload> [renameTo]
// Uploads, downloads back, lists, optionally renames and lists again; prints one JSON line.
const ftp = require('basic-ftp');

async function main() {
  const [port, upload, remote, download, renameTo] = process.argv.slice(2);
  const client = new ftp.Client(60_000);
  await client.access({ host: '127.0.0.1', port: Number(port), user: 'anonymous', password: 'x' });
  const t0 = process.hrtime.bigint();
  await client.uploadFrom(upload, remote);
  const t1 = process.hrtime.bigint();
  await client.downloadTo(download, remote);
  const t2 = process.hrtime.bigint();
  const listing = (await client.list()).map((f) => ({ name: f.name, size: f.size }));
  let afterRename = null;
  if (renameTo) {
    await client.rename(remote, renameTo);
    afterRename = (await client.list()).map((f) => ({ name: f.name, size: f.size }));
  }
  client.close();
  console.log(JSON.stringify({
    uploadMs: Number(t1 - t0) / 1e6, downloadMs: Number(t2 - t1) / 1e6, listing, afterRename,
  }));
}
main().catch((err) => { console.error(err); process.exit(1); });
