'use strict';
// The ways of loading via-net/register (-r, NODE_OPTIONS, --import with ESM named imports, after
// node's http/tls were already loaded), TLS apps (https, fetch over https), and its debug report.
const { expect } = require('chai');
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { REGISTER, scratchDir, selfSignedCert, startServer, runClient, readObservations } = require('./support/app-harness');

const ROOT = path.join(__dirname, '..');
const REGISTER_MJS = path.join(ROOT, 'dist', 'register.mjs');
const LOAD_HTTP_FIRST = path.join(__dirname, 'apps', 'load-http-first.js');

describe('apps: loading via-net/register', function () {
  this.timeout(60_000);
  let dir;
  let server;

  beforeEach(() => { dir = scratchDir('via-net-register-'); });
  afterEach(async () => {
    if (server) await server.stop();
    server = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('--import (ESM app with named node:net imports) and NODE_OPTIONS=--require both go over shm', async () => {
    server = startServer('echo-server.mjs', [], { ready: /^PORT (\d+)$/, preload: ['--import', REGISTER_MJS] });
    const port = Number((await server.started)[1]);
    const result = await runClient('echo-client.js', [port, 3 << 20], {
      register: false, env: { NODE_OPTIONS: `--require ${REGISTER}` },
    });
    expect(result.received).to.equal(3 << 20);
    expect(result.echoed).to.equal(result.sent);
    expect(result.transport).to.equal('shm');
    await server.stop();
    expect(server.lines).to.include('CONN shm');
  });

  it('the package specifier via-net/register resolves to the CommonJS and ESM builds', () => {
    const cjs = execFileSync(process.execPath, ['-r', 'via-net/register', '-p', "require('net').Socket === require('net').Stream && globalThis[Symbol.for('via-net.register')].active"], { cwd: ROOT, encoding: 'utf8' });
    expect(cjs.trim()).to.equal('true');
    const esm = execFileSync(process.execPath, ['--import', 'via-net/register', '--input-type=module', '-e',
      "import { connect } from 'node:net'; import net from 'node:net'; console.log(connect === net.connect && globalThis[Symbol.for('via-net.register')].active)"], { cwd: ROOT, encoding: 'utf8' });
    expect(esm.trim()).to.equal('true');
  });

  it('re-parents http/https/tls servers that node loaded before register', async () => {
    server = startServer('http-server.js', [], { ready: /^PORT (\d+)$/, preload: ['-r', LOAD_HTTP_FIRST, '-r', REGISTER], observeFile: path.join(dir, 's.obs') });
    const port = Number((await server.started)[1]);
    const result = await runClient('http-client.js', [port, 200, 1 << 20, 1 << 20], { preload: ['-r', LOAD_HTTP_FIRST, '-r', REGISTER], observeFile: path.join(dir, 'c.obs') });
    expect(result.agentBig.bytes).to.equal(1 << 20);
    const all = readObservations(path.join(dir, 's.obs')).concat(readObservations(path.join(dir, 'c.obs')));
    expect(all.length).to.be.greaterThan(1);
    expect(all.every((o) => o.transport === 'shm')).to.equal(true);
  });

  async function httpsRun({ key, cert }, env) {
    server = startServer('https-server.js', [key, cert], { ready: /^PORT (\d+)$/, env, observeFile: path.join(dir, 's.obs') });
    const port = Number((await server.started)[1]);
    const result = await runClient('https-client.js', [port, 1 << 20, 4], { env: { ...env, NODE_EXTRA_CA_CERTS: cert }, observeFile: path.join(dir, 'c.obs') });
    expect(result.viaAgent).to.have.length(4);
    expect(result.viaFetch).to.have.length(4);
    return result;
  }

  it('https servers and https.Agent / fetch clients run TLS on node\'s own TCP handle by default, bodies intact', async function () {
    const pem = selfSignedCert(dir);
    if (!pem) this.skip(); // no openssl on this machine
    const result = await httpsRun(pem, {});
    for (const r of result.viaAgent) expect(r).to.deep.equal({ ok: true, server: 'tcp', client: 'tcp', over: 'handle' });
    for (const r of result.viaFetch) expect(r).to.deep.equal({ ok: true, server: 'tcp' });
  });

  for (const setting of ['tls', 'auto']) {
    it(`with VIA_NET_TLS_H2=${setting} they run TLS over shm, node's TLS wrapping the via-net socket's own stream handle, bodies intact`, async function () {
      const pem = selfSignedCert(dir);
      if (!pem) this.skip();
      const result = await httpsRun(pem, { VIA_NET_TLS_H2: setting });
      // TLS wraps the socket itself (its native stream handle, stream-handle.ts), not node's JSStreamSocket.
      for (const r of result.viaAgent) expect(r).to.deep.equal({ ok: true, server: 'shm', client: 'shm', over: 'Socket' });
      for (const r of result.viaFetch) expect(r).to.deep.equal({ ok: true, server: 'shm' });
      const all = readObservations(path.join(dir, 's.obs')).concat(readObservations(path.join(dir, 'c.obs')));
      expect(all.every((o) => o.transport === 'shm')).to.equal(true);
    });
  }

  it('an http.Agent without keep-alive (a connection per request) stays on TCP; a keep-alive agent takes shm; bodies intact', async () => {
    server = startServer('http-server.js', [], { ready: /^PORT (\d+)$/ });
    const port = Number((await server.started)[1]);
    const script = `
      const http = require('http');
      const { smallBody } = require(${JSON.stringify(path.join(__dirname, 'apps', 'http-body.js'))});
      const get = (agent, i) => new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: ${port}, path: '/small?i=' + i, agent }, (res) => {
          const transport = res.socket.transport;
          let body = '';
          res.setEncoding('utf8').on('data', (d) => { body += d; }).on('end', () => resolve({ ok: body === smallBody(i), transport }));
        }).on('error', reject);
      });
      (async () => {
        const keepAlive = new http.Agent({ keepAlive: true });
        const out = { noAgent: await get(false, 1), oneShot: await get(new http.Agent(), 2), keepAlive: await get(keepAlive, 3) };
        keepAlive.destroy();
        console.log(JSON.stringify(out));
      })();`;
    const out = JSON.parse(execFileSync(process.execPath, ['-r', REGISTER, '-e', script], { encoding: 'utf8', timeout: 30_000 }).trim());
    expect(out).to.deep.equal({
      noAgent: { ok: true, transport: 'tcp' },
      oneShot: { ok: true, transport: 'tcp' },
      keepAlive: { ok: true, transport: 'shm' },
    });
  });

  it('leaves child processes, their stdio pipes and process.stdin working', () => {
    const script = `
      const cp = require('child_process');
      const crypto = require('crypto');
      const data = crypto.randomBytes(1 << 20).toString('hex');
      const c = cp.spawn(process.execPath, ['-e', 'process.stdin.pipe(process.stdout)'], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
      c.on('close', (code) => {
        let stdin = '';
        process.stdin.setEncoding('utf8').on('data', (d) => { stdin += d; }).on('end', () => {
          console.log(JSON.stringify({ code, same: out === data, stdin, sync: cp.execSync('echo ok').toString().trim() }));
        });
      });
      c.stdin.end(data);`;
    const out = execFileSync(process.execPath, ['-r', REGISTER, '-e', script], { input: 'from stdin', encoding: 'utf8', env: { ...process.env, VIA_NET_TRANSPORT: '' } });
    expect(JSON.parse(out)).to.deep.equal({ code: 0, same: true, stdin: 'from stdin', sync: 'ok' });
  });

  it('logs what it patched once through debug(via-net:register); with VIA_NET_TRANSPORT=tcp it patches nothing', () => {
    const run = (env) => spawnSync(process.execPath, ['-r', REGISTER, '-r', REGISTER, '-p', "typeof require('net').Socket.prototype.transport === 'undefined' ? 'plain' : 'via'"], {
      env: { ...process.env, DEBUG: 'via-net:register', ...env }, encoding: 'utf8',
    });
    const on = run({ VIA_NET_TRANSPORT: 'auto' });
    expect(on.stdout.trim()).to.equal('via');
    const lines = on.stderr.split('\n').filter((l) => l.includes('via-net:register') && l.includes('patched'));
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include('net.createServer').and.include('net.createConnection').and.include('fetch');
    const off = run({ VIA_NET_TRANSPORT: 'tcp' });
    expect(off.stdout.trim()).to.equal('plain');
    expect(off.stderr).to.include('nothing patched');
  });
});
