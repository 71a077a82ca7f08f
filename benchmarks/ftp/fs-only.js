'use strict';
// The FTP benchmark's ceiling: the same file copy the apps do (fs.createReadStream piped into
// fs.createWriteStream, default 64 KB reads), in one process with no network at all. No transport
// can make an FTP transfer faster than this. Usage: node fs-only.js <dir> <file>...; prints one
// JSON line with the time in ms per file.
const fs = require('fs');
const path = require('path');

async function main() {
  const [dir, ...files] = process.argv.slice(2);
  const results = [];
  for (const file of files) {
    const out = path.join(dir, `fs-only-${path.basename(file)}`);
    const t = process.hrtime.bigint();
    await new Promise((resolve, reject) => {
      const w = fs.createWriteStream(out);
      w.once('error', reject).once('finish', resolve);
      fs.createReadStream(file).once('error', reject).pipe(w);
    });
    results.push({ name: path.basename(file), copyMs: Number(process.hrtime.bigint() - t) / 1e6 });
    fs.unlinkSync(out);
  }
  console.log(JSON.stringify({ results }));
}
main().catch((err) => { console.error(err); process.exit(1); });
