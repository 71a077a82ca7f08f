'use strict';
// The private members of node's net that via-net uses (lib/node-internals.ts): each one is
// pinned here on the running Node (CI runs this on every supported line), and a Node that lacks
// one must put everything on TCP and say why, never misbehave.
const path = require('node:path');
const { execFile } = require('node:child_process');
const { expect } = require('chai');

const DIST = path.join(__dirname, '..', 'dist');

describe(`node internals via-net relies on (node ${process.version})`, () => {
  it('are all present, with the types the facade expects', () => {
    const { internals, internalsProblem } = require(path.join(DIST, 'node-internals'));
    expect(internalsProblem).to.equal(null);
    expect(internals.normalizeArgs).to.be.a('function');
    for (const [name, f] of Object.entries(internals.socket)) expect(f, name).to.be.a('function');
    expect(internals.emitCloseIfDrained).to.be.a('function');
    expect(internals.setupWorker).to.be.a('function');
    for (const k of ['kTimeout', 'kBytesRead', 'kBytesWritten', 'kSetNoDelay', 'kAsyncId', 'kHandle']) {
      expect(internals[k], k).to.be.a('symbol');
      expect(internals[k].description, k).to.not.match(/^via-net: missing/);
    }
    // The symbols are the ones node's own code reads: bytesRead follows kBytesRead on a handle-less socket.
    const net = require('node:net');
    const s = new net.Socket();
    s[internals.kBytesRead] = 42;
    expect(s.bytesRead).to.equal(42);
    // _handle is node's accessor over kHandle, which its stream code reads directly.
    const handle = {};
    s._handle = handle;
    expect(s[internals.kHandle]).to.equal(handle);
    s._handle = null;
    expect(s[internals.kAsyncId]).to.be.a('number');
    s.destroy();
  });

  it('when one is missing: TCP only, said by debug, doctor and the register report, and traffic still flows', async function () {
    this.timeout(20000);
    const child = `
      const net = require('node:net');
      delete net._normalizeArgs; // a future Node without it (node's own code does not use the export)
      const via = require(${JSON.stringify(DIST)});
      const registered = require(${JSON.stringify(path.join(DIST, 'register'))}).report;
      const { diagnose } = require(${JSON.stringify(path.join(DIST, 'cli'))});
      const crypto = require('node:crypto');
      const data = crypto.randomBytes(1 << 20);
      const server = via.createServer((s) => s.pipe(s));
      server.listen(0, '127.0.0.1', () => {
        const c = via.connect({ port: server.address().port, host: '127.0.0.1' });
        const got = [];
        c.on('data', (d) => got.push(d));
        c.on('end', () => {
          const same = crypto.createHash('sha256').update(Buffer.concat(got)).digest('hex') ===
            crypto.createHash('sha256').update(data).digest('hex');
          const shm = diagnose().find((r) => r.name === 'shm');
          const status = via.providerStatus().shm;
          console.log(JSON.stringify({ transport: c.transport ?? 'tcp', isNodeSocket: c.constructor === net.Socket, same,
            shmUsable: shm.usable, shmReason: shm.reason, statusReason: status.reason, registered }));
          server.close();
        });
        c.end(data);
      });`;
    const out = await new Promise((resolve, reject) =>
      execFile(process.execPath, ['-e', child], { env: { ...process.env, DEBUG: 'via-net:transport' }, timeout: 15000 }, (err, stdout, stderr) =>
        err ? reject(Object.assign(err, { stderr })) : resolve({ stdout, stderr })),
    );
    const result = JSON.parse(out.stdout.trim().split('\n').pop());
    // via-net is node:net itself then: node's own Socket, on TCP, the bytes intact.
    expect(result).to.include({ transport: 'tcp', isNodeSocket: true, same: true, shmUsable: false });
    expect(result.shmReason).to.match(/net\._normalizeArgs.*TCP only/);
    expect(result.statusReason).to.equal(result.shmReason);
    expect(result.registered).to.deep.include({ active: false, reason: result.shmReason });
    expect(out.stderr).to.match(/lacks net internals via-net needs \(net\._normalizeArgs\)/);
  });
});
