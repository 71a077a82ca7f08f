'use strict';
// node's TLS over via-net sockets between real processes: the same scenarios over node:net and
// via-net (both ends), the same outcome expected, every byte checked by sha256. Over via-net the
// connection runs on shm and TLS wraps the socket's native stream handle (lib/stream-handle.ts).
const path = require('path');
const crypto = require('crypto');
const { fork } = require('child_process');
const { expect } = require('chai');

const DIST = path.resolve(__dirname, '..', 'dist');
const PEER = path.join(__dirname, 'support', 'peers', 'tls-peer.js');

const PSK = 'via-net tls-processes pre-shared key';
const TLS_OPTIONS = { ciphers: 'PSK-AES128-GCM-SHA256', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' };

/** Starts tls-peer.js (a TLS server over `impl`) in `mode`; resolves with the child and its port. */
function startPeer(impl, mode) {
  const child = fork(PEER, [impl === 'via-net' ? DIST : 'node:net', mode, PSK], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`tls peer exited (${code}) before listening`)));
    child.once('message', (m) => {
      child.removeAllListeners('exit');
      resolve({ child, port: m.port });
    });
  });
}

/** A TLS client over `impl`: connects, then runs `drive(secure, raw, log)` until the TLS socket closes. */
function tlsClient(impl, port, drive) {
  const m = impl === 'via-net' ? require(DIST) : require('net');
  const tls = require('tls');
  return new Promise((resolve) => {
    const raw = m.connect(port, '127.0.0.1');
    raw.on('error', () => {}); // TLS reports the carrier's errors itself
    const log = [];
    raw.once('connect', () => {
      const secure = tls.connect({ socket: raw, ...TLS_OPTIONS, checkServerIdentity: () => undefined, pskCallback: () => ({ psk: Buffer.from(PSK), identity: 'peer' }) });
      for (const ev of ['secureConnect', 'end', 'close']) secure.on(ev, (...a) => log.push(ev === 'close' ? `close:${a[0]}` : ev));
      secure.on('error', (err) => log.push(`error:${err.code}`));
      secure.on('close', () => resolve({ log, transport: raw.transport ?? 'tcp' }));
      drive(secure, raw, log);
    });
  });
}

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');

describe('TLS over via-net between processes, against node:net', function () {
  this.timeout(60_000);
  const children = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  /** Echo of 4 MB in both directions, client half-close: hashes and events. */
  async function echoRun(impl) {
    const { child, port } = await startPeer(impl, 'echo');
    children.push(child);
    const data = crypto.randomBytes(4 * 1024 * 1024);
    const chunks = [];
    const out = await tlsClient(impl, port, (secure) => {
      secure.on('data', (d) => chunks.push(d));
      secure.once('secureConnect', () => secure.end(data));
    });
    return { ...out, echoed: sha256(Buffer.concat(chunks)) === sha256(data) };
  }

  it('an echo of 4 MB: the same bytes and the same events; via-net on shm', async () => {
    const plain = await echoRun('node:net');
    const via = await echoRun('via-net');
    expect(plain.echoed).to.equal(true);
    expect(via.echoed).to.equal(true);
    expect(via.transport).to.equal('shm');
    expect(via.log).to.deep.equal(plain.log);
    expect(plain.log).to.deep.equal(['secureConnect', 'end', 'close:false']);
  });

  /**
   * The server process streams a deterministic pattern and is killed (SIGKILL) once the client has
   * 1 MB: what the client had received must be a prefix of the pattern, and its TLS socket must end
   * the way it ends over node:net.
   */
  async function killRun(impl) {
    const { child, port } = await startPeer(impl, 'stream');
    children.push(child);
    const chunks = [];
    let received = 0;
    const out = await tlsClient(impl, port, (secure) => {
      secure.on('data', (d) => {
        chunks.push(d);
        received += d.length;
        if (received >= 1024 * 1024 && child.signalCode === null && !child.killed) child.kill('SIGKILL');
      });
    });
    const got = Buffer.concat(chunks);
    const pattern = Buffer.alloc(got.length);
    for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 7 + (i >> 10)) & 0xff;
    return { ...out, prefix: got.equals(pattern), received: got.length };
  }

  it('the server process killed mid-stream: what arrived is intact, and the client ends as over node:net', async () => {
    const plain = await killRun('node:net');
    const via = await killRun('via-net');
    expect(plain.prefix).to.equal(true);
    expect(via.prefix).to.equal(true);
    expect(via.transport).to.equal('shm');
    expect(via.log).to.deep.equal(plain.log);
    expect(plain.log[0]).to.equal('secureConnect');
    expect(plain.log[plain.log.length - 1]).to.match(/^close:/);
  });
});
