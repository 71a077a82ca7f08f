'use strict';
// The FTP benchmark's ceiling: the file work of one transfer with no network at all. In FTP the
// sender reads the file and the receiver writes it, in two processes at the same time, so no
// transport can make a transfer faster than the slower of those two halves (a copy in one process
// runs them one after the other, and so says nothing about the bound).
//
// Usage: node ceiling.js <dir> <file>. It starts two processes, one reading <file> as the sender
// does (fs.createReadStream, its default 64 KB reads, nothing kept) and one writing the same bytes
// into <dir> as the receiver does (fs.createWriteStream, 64 KB writes that respect back-pressure),
// lets both go at once, and prints one JSON line: { readMs, writeMs, ceilingMs }, where
// ceilingMs is the slower half.
const { fork } = require('child_process');
const fs = require('fs');
const path = require('path');

const CHUNK = 64 * 1024;

/** The sender's half: read the whole file, keep nothing. */
function readHalf(file) {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    fs.createReadStream(file).on('data', (d) => { bytes += d.length; }).once('error', reject).once('end', () => resolve(bytes));
  });
}

/** The receiver's half: write `data` into `out` in 64 KB pieces, waiting on back-pressure as pipe() does. */
function writeHalf(out, data) {
  return new Promise((resolve, reject) => {
    const w = fs.createWriteStream(out);
    w.once('error', reject).once('finish', () => resolve(data.length));
    let at = 0;
    const more = () => {
      while (at < data.length) {
        const piece = data.subarray(at, Math.min(at + CHUNK, data.length));
        at += piece.length;
        if (!w.write(piece)) return void w.once('drain', more);
      }
      w.end();
    };
    more();
  });
}

/** A child: prepare its half, say ready, run it when told, report the time in ms. */
function child(role, dir, file) {
  const out = path.join(dir, `ceiling-${process.pid}-${path.basename(file)}`);
  // The receiver's bytes are in memory before the clock starts, as received data would be.
  const data = role === 'write' ? fs.readFileSync(file) : null;
  process.once('message', async () => {
    try {
      const t = process.hrtime.bigint();
      const bytes = role === 'read' ? await readHalf(file) : await writeHalf(out, data);
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      process.send({ ms, bytes }, () => process.exit(0));
    } catch (err) {
      process.send({ error: String(err && err.stack || err) }, () => process.exit(1));
    } finally {
      fs.rmSync(out, { force: true });
    }
  });
  process.send({ ready: true });
}

function startHalf(role, dir, file) {
  const c = fork(__filename, ['--half', role, dir, file], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = new Promise((resolve, reject) => {
    c.once('message', resolve);
    c.once('exit', (code) => reject(new Error(`the ${role} half exited (${code}) before it was ready`)));
  });
  const done = ready.then(() => new Promise((resolve, reject) => {
    c.once('message', (m) => (m.error ? reject(new Error(`the ${role} half failed: ${m.error}`)) : resolve(m)));
    c.once('exit', (code) => reject(new Error(`the ${role} half exited (${code}) without a result`)));
  }));
  return { c, ready, done };
}

async function main() {
  const [dir, file] = process.argv.slice(2);
  if (!dir || !file) throw new Error('usage: node ceiling.js <dir> <file>');
  const size = fs.statSync(file).size;
  const halves = [startHalf('read', dir, file), startHalf('write', dir, file)];
  await Promise.all(halves.map((h) => h.ready));
  for (const h of halves) h.c.send('go');
  const [read, write] = await Promise.all(halves.map((h) => h.done));
  for (const [name, r] of [['read', read], ['write', write]]) {
    if (r.bytes !== size) throw new Error(`the ${name} half moved ${r.bytes} bytes of ${size}`);
  }
  console.log(JSON.stringify({ name: path.basename(file), readMs: read.ms, writeMs: write.ms, ceilingMs: Math.max(read.ms, write.ms) }));
}

if (process.argv[2] === '--half') child(process.argv[3], process.argv[4], process.argv[5]);
else main().catch((err) => { console.error(err); process.exit(1); });
