'use strict';
// Interop across real processes: plain node:net and via-net on either end, each transfer checked by
// sha256 on both sides. When the shm provider is available, two via-net processes must use it.
const net = require('net');
const path = require('path');
const crypto = require('crypto');
const { spawn } = require('child_process');
const { expect } = require('chai');
const { viaNet, once, closeServer } = require('./support/facade');

const DIST = path.resolve(__dirname, '..', 'dist');

// A client: sends `size` random bytes, half-closes, reads the echo; prints a JSON report.
const CLIENT = `
const crypto = require('crypto');
const [modulePath, target, size] = process.argv.slice(1);
const m = require(modulePath);
const data = crypto.randomBytes(Number(size));
const hash = (b) => crypto.createHash('sha256').update(b).digest('hex');
const chunks = [];
const where = /^\\d+$/.test(target) ? { port: Number(target), host: '127.0.0.1' } : { path: target };
const c = m.connect(where, () => {
  for (let off = 0; off < data.length; off += 100000) c.write(data.subarray(off, off + 100000));
  c.end();
});
c.on('data', (d) => chunks.push(d));
c.on('end', () => {
  const back = Buffer.concat(chunks);
  process.stdout.write(JSON.stringify({ transport: c.transport || 'plain-net', sent: hash(data), echoed: hash(back), bytes: back.length }));
});
c.on('error', (e) => { console.error(e); process.exit(2); });
`;

/** `target` is a TCP port on 127.0.0.1 or a unix socket path. */
function runClient(modulePath, target, size, ms = 30000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CLIENT, modulePath, String(target), String(size)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`client exited with ${code}: ${stderr}`));
      try {
        resolve(JSON.parse(stdout));
      } catch (e) {
        reject(new Error(`bad client output ${JSON.stringify(stdout)}: ${stderr}`));
      }
    });
  });
}

/** An echo server (node:net or via-net) that also hashes what it received. */
async function echoServer(m, options = {}, where = null) {
  const received = [];
  const server = m.createServer(options, (s) => {
    const chunks = [];
    s.on('error', (e) => received.push({ transport: s.transport || 'plain-net', error: e.code }));
    s.on('data', (d) => { chunks.push(d); s.write(d); });
    s.on('end', () => {
      received.push({ transport: s.transport || 'plain-net', hash: crypto.createHash('sha256').update(Buffer.concat(chunks)).digest('hex') });
      s.end();
    });
  });
  if (where) server.listen(where);
  else server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, received };
}

const SIZE = 3 * 1024 * 1024 + 3;

describe('interop across processes', function () {
  this.timeout(60000);

  it('a plain node:net client talks to a via-net server', async () => {
    const { server, received } = await echoServer(viaNet);
    try {
      const r = await runClient('net', server.address().port, SIZE);
      expect(r.bytes).to.equal(SIZE);
      expect(r.echoed).to.equal(r.sent);
      expect(received).to.deep.equal([{ transport: 'tcp', hash: r.sent }]);
    } finally {
      await closeServer(server);
    }
  });

  it('a via-net client talks to a plain node:net server, over TCP', async () => {
    const { server, received } = await echoServer(net);
    try {
      const r = await runClient(DIST, server.address().port, SIZE);
      expect(r.transport).to.equal('tcp');
      expect(r.bytes).to.equal(SIZE);
      expect(r.echoed).to.equal(r.sent);
      expect(received.map((x) => x.hash)).to.deep.equal([r.sent]);
    } finally {
      await closeServer(server);
    }
  });

  it('a plain node:net client talks to a via-net server over a unix path', async () => {
    const sockPath = path.join(require('os').tmpdir(), `via-interop-${process.pid}-${Date.now()}.sock`);
    const { server, received } = await echoServer(viaNet, {}, sockPath);
    try {
      const r = await runClient('net', sockPath, SIZE);
      expect(r.echoed).to.equal(r.sent);
      expect(received).to.deep.equal([{ transport: 'tcp', hash: r.sent }]);
    } finally {
      await closeServer(server);
    }
  });

  it('two via-net processes talk over shm', async function () {
    const status = viaNet.providerStatus().shm;
    if (!status.available) {
      console.log(`      skipped: shm provider unavailable: ${status.reason}`);
      this.skip();
    }
    const { server, received } = await echoServer(viaNet);
    try {
      expect(server.transports).to.include('shm');
      const r = await runClient(DIST, server.address().port, SIZE);
      expect(r.transport).to.equal('shm');
      expect(r.bytes).to.equal(SIZE);
      expect(r.echoed).to.equal(r.sent);
      expect(received).to.deep.equal([{ transport: 'shm', hash: r.sent }]);
    } finally {
      await closeServer(server);
    }
  });
});
