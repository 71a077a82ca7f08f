'use strict';
// Unmodified FTP apps (ftp-srv server, basic-ftp client) in two processes, preloaded with
// via-net/register: control and data connections go over shm; a plain client still gets TCP.
const { expect } = require('chai');
const fs = require('fs');
const path = require('path');
const {
  scratchDir, startServer, runClient, freePort, sha256File, makeRandomFile, readObservations,
} = require('./support/app-harness');

const MB = 1 << 20;

describe('apps: FTP (ftp-srv + basic-ftp) over via-net/register', function () {
  this.timeout(170_000);
  let dir;
  let root;
  let server;
  let port;
  const serverObs = () => path.join(dir, 'server.obs');

  async function startFtp(env) {
    root = path.join(dir, 'root');
    fs.mkdirSync(root, { recursive: true });
    port = await freePort();
    const pasvMin = 41000 + Math.floor(Math.random() * 8000);
    server = startServer('ftp-server.js', [port, root, pasvMin, pasvMin + 40], { observeFile: serverObs(), env });
    await server.started;
  }

  beforeEach(() => { dir = scratchDir('via-net-ftp-'); });
  afterEach(async () => {
    if (server) await server.stop();
    server = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('uploads and downloads 256 MB in passive mode, lists and renames, all over shm', async () => {
    await startFtp();
    const src = path.join(dir, 'src.bin');
    const srcSha = makeRandomFile(src, 256 * MB);
    const down = path.join(dir, 'down.bin');
    const clientObs = path.join(dir, 'client.obs');
    const result = await runClient('ftp-client.js', [port, src, 'big.bin', down, 'renamed.bin'], { observeFile: clientObs });

    expect(await sha256File(path.join(root, 'renamed.bin')), 'uploaded file').to.equal(srcSha);
    expect(await sha256File(down), 'downloaded file').to.equal(srcSha);
    expect(result.listing).to.deep.include({ name: 'big.bin', size: 256 * MB });
    expect(result.afterRename.map((f) => f.name)).to.include('renamed.bin').and.not.include('big.bin');
    expect(fs.existsSync(path.join(root, 'big.bin'))).to.equal(false);

    // 1 control + 4 passive data connections (upload, download, two listings), seen from both ends.
    const client = readObservations(clientObs);
    const srv = readObservations(serverObs()).filter((o) => o.role === 'server');
    expect(client.map((o) => o.transport)).to.deep.equal(['shm', 'shm', 'shm', 'shm', 'shm']);
    expect(srv.map((o) => o.transport)).to.deep.equal(['shm', 'shm', 'shm', 'shm', 'shm']);
    expect(client.every((o) => o.registered) && srv.every((o) => o.registered)).to.equal(true);

    // The client ends with QUIT and destroy() at once; ftp-srv answers from a setImmediate. Over
    // TCP that answer always finds the socket writable, and ftp-srv logs nothing (its log is stderr).
    await server.waitFor(/^DISCONNECT$/, { from: 0 });
    await server.stop();
    expect(server.stderr(), "ftp-srv's error log").to.equal('');
  });

  it('serves a registered client (shm) and a plain node:net client (tcp) at the same time', async () => {
    await startFtp();
    const srcA = path.join(dir, 'a.bin');
    const srcB = path.join(dir, 'b.bin');
    const shaA = makeRandomFile(srcA, 48 * MB);
    const shaB = makeRandomFile(srcB, 48 * MB);
    const obsA = path.join(dir, 'a.obs');
    const obsB = path.join(dir, 'b.obs');
    await Promise.all([
      runClient('ftp-client.js', [port, srcA, 'a.bin', path.join(dir, 'a.down')], { observeFile: obsA }),
      runClient('ftp-client.js', [port, srcB, 'b.bin', path.join(dir, 'b.down')], { observeFile: obsB, register: false }),
    ]);
    for (const [name, sha] of [['a', shaA], ['b', shaB]]) {
      expect(await sha256File(path.join(root, `${name}.bin`)), `${name} uploaded`).to.equal(sha);
      expect(await sha256File(path.join(dir, `${name}.down`)), `${name} downloaded`).to.equal(sha);
    }
    const a = readObservations(obsA);
    const b = readObservations(obsB);
    const srv = readObservations(serverObs()).filter((o) => o.role === 'server');
    expect(a.map((o) => o.transport)).to.deep.equal(['shm', 'shm', 'shm', 'shm']);
    // The plain client's sockets know nothing of via-net: kernel TCP.
    expect(b).to.have.length(4);
    expect(b.every((o) => o.transport === null && !o.registered)).to.equal(true);
    const srvTcp = srv.filter((o) => o.transport === 'tcp');
    const srvShm = srv.filter((o) => o.transport === 'shm');
    expect(srvShm).to.have.length(4);
    expect(srvTcp).to.have.length(4);
    expect(srvTcp.map((o) => o.remotePort).sort()).to.deep.equal(b.map((o) => o.localPort).sort());
  });

  it('with VIA_NET_TRANSPORT=tcp, register does nothing: every connection is plain kernel TCP', async () => {
    const env = { VIA_NET_TRANSPORT: 'tcp' };
    await startFtp(env);
    const src = path.join(dir, 'src.bin');
    const sha = makeRandomFile(src, 16 * MB);
    const clientObs = path.join(dir, 'client.obs');
    await runClient('ftp-client.js', [port, src, 'x.bin', path.join(dir, 'x.down')], { observeFile: clientObs, env });
    expect(await sha256File(path.join(root, 'x.bin'))).to.equal(sha);
    expect(await sha256File(path.join(dir, 'x.down'))).to.equal(sha);
    const all = readObservations(clientObs).concat(readObservations(serverObs()));
    expect(all).to.have.length(8);
    expect(all.every((o) => o.transport === null && o.registered === false)).to.equal(true);
  });
});
