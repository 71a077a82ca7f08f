'use strict';
/**
 * FTP benchmark client, an ordinary basic-ftp app. For each file: upload it, then download it back
 * into <downloadDir>, each timed as a phase of benchmarks/apps/probe.js (`upload <name>`,
 * `download <name>`). The runner (benchmarks/apps/run.js) checks the sha256 of both copies.
 *
 *   node benchmarks/ftp/client.js <port> <downloadDir> <file>...
 *
 * Prints one JSON line: per file its name, bytes, uploadMs and downloadMs.
 */
const ftp = require('basic-ftp');
const fs = require('fs');
const path = require('path');
const { phase } = require('../apps/probe');
const { finish, fail } = require('../apps/load');

async function main() {
  const [port, downloadDir, ...files] = process.argv.slice(2);
  const client = new ftp.Client(120_000);
  await client.access({ host: '127.0.0.1', port: Number(port), user: 'anonymous', password: 'x' });
  const results = [];
  for (const file of files) {
    const name = path.basename(file);
    const up = await phase(`upload ${name}`, () => client.uploadFrom(file, name));
    const down = await phase(`download ${name}`, () => client.downloadTo(path.join(downloadDir, name), name));
    results.push({ name, bytes: fs.statSync(file).size, uploadMs: up.ms, downloadMs: down.ms });
  }
  client.close();
  finish({ results });
}
main().catch(fail);
