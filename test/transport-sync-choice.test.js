'use strict';
// connect()'s synchronous path choice (issue 15): with no rendezvous entry for the target the plan
// is TCP at once; an entry (a symlink to the listening process's socket) keeps the asynchronous
// shm attempt. The entry is only looked at (lstat).
const { expect } = require('chai');
const fs = require('fs');
const net = require('net');
const path = require('path');
const { once } = require('events');
const via = require('../dist/index.js');
const { planConnect } = require('../dist/transport/plan');
const { baseDir } = require('../dist/providers/rundir');
const { shmUnavailableReason } = require('../dist/providers/shm');

/** The rendezvous entry a via-net server on `port` registered (one namespace directory holds it). */
function entryFor(port) {
  const base = baseDir();
  for (const ns of fs.readdirSync(base)) {
    const file = path.join(base, ns, `tcp-${port}`);
    try { fs.lstatSync(file); return file; } catch { /* not in this namespace directory */ }
  }
  return null;
}

describe('path choice at connect(): synchronous when no listener can exist', function () {
  this.timeout(20000);
  before(function () {
    if (shmUnavailableReason()) this.skip();
  });

  it('no entry: the plan is TCP and the socket has a kernel handle as connect() returns', async () => {
    const plain = net.createServer((s) => s.end('plain'));
    plain.listen(0, '127.0.0.1');
    await once(plain, 'listening');
    const { port } = plain.address();
    try {
      expect(entryFor(port)).to.equal(null);
      expect(planConnect({ port, host: '127.0.0.1' }, 'auto')).to.deep.equal({ kind: 'tcp' });
      const s = via.connect(port, '127.0.0.1');
      expect(s._handle && s._handle.constructor.name).to.equal('TCP');
      expect(s.transport).to.equal('tcp');
      const chunks = [];
      s.on('data', (d) => chunks.push(d));
      await once(s, 'end');
      expect(Buffer.concat(chunks).toString()).to.equal('plain');
      s.destroy();
    } finally {
      plain.close();
    }
  });

  it('a forced transport is not short-cut: no entry is still ERR_VIA_TRANSPORT_UNAVAILABLE', async () => {
    const port = 1; // nothing registered, nothing listening
    expect(planConnect({ port, host: '127.0.0.1' }, 'shm').kind).to.equal('user');
    const s = via.connect({ port, host: '127.0.0.1', transport: 'shm' });
    const [err] = await once(s, 'error');
    expect(err.code).to.equal('ERR_VIA_TRANSPORT_UNAVAILABLE');
  });

  it('an entry (a symlink to the listening process\'s socket) counts: the shm attempt runs and connects', async () => {
    const server = via.createServer((s) => s.end('via'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address();
    const entry = entryFor(port);
    expect(entry).to.be.a('string');
    try {
      expect(fs.lstatSync(entry).isSymbolicLink()).to.equal(true);
      expect(fs.readlinkSync(entry)).to.match(/^p-\d+-\d+$/);
      expect(planConnect({ port, host: '127.0.0.1' }, 'auto').kind).to.equal('user');
      const s = via.connect(port, '127.0.0.1');
      expect(s._handle).to.equal(null); // the user-level attempt is under way
      const chunks = [];
      s.on('data', (d) => chunks.push(d));
      await once(s, 'end');
      expect(s.transport).to.equal('shm');
      expect(Buffer.concat(chunks).toString()).to.equal('via');
      s.destroy();
    } finally {
      server.close();
    }
  });
});
