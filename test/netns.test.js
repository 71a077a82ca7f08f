'use strict';
// Path choice across network namespaces: shm must never cross one, even for 127.0.0.1 on the
// same port in both. Namespaces and a veth pair are created here (root only), and removed after.
const { expect } = require('chai');
const { spawn, execFileSync } = require('node:child_process');
const { once } = require('node:events');
const path = require('node:path');

const PEER = path.join(__dirname, 'support', 'peers', 'netns-peer.js');
const tag = `${process.pid % 10000}`;
const NS_A = `vianet-a-${tag}`;
const NS_B = `vianet-b-${tag}`;
const IP_A = '10.251.77.1';
const IP_B = '10.251.77.2';
const PORT = 20000 + (process.pid % 20000);

function ip(...args) {
  execFileSync('ip', args, { stdio: 'pipe' });
}

function inNs(ns, role, host, tagName) {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, PEER, role, host, String(PORT), tagName], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages = [];
  child.on('message', (m) => messages.push(m));
  const next = (type) =>
    new Promise((resolve, reject) => {
      const found = messages.find((m) => m.type === type);
      if (found) return resolve(found);
      const onMsg = (m) => m.type === type && (child.off('message', onMsg), resolve(m));
      child.on('message', onMsg);
      child.once('exit', (code) => reject(new Error(`${role} in ${ns} exited (${code}) before '${type}'`)));
    });
  return { child, next };
}

describe('network namespaces', function () {
  this.timeout(30000);
  const children = [];

  before(function () {
    if (process.getuid() !== 0) {
      console.log('      skipped: creating network namespaces needs root');
      return this.skip();
    }
    try {
      ip('netns', 'add', NS_A);
      ip('netns', 'add', NS_B);
      ip('link', 'add', `va${tag}`, 'type', 'veth', 'peer', 'name', `vb${tag}`);
      ip('link', 'set', `va${tag}`, 'netns', NS_A);
      ip('link', 'set', `vb${tag}`, 'netns', NS_B);
      ip('-n', NS_A, 'addr', 'add', `${IP_A}/24`, 'dev', `va${tag}`);
      ip('-n', NS_B, 'addr', 'add', `${IP_B}/24`, 'dev', `vb${tag}`);
      for (const [ns, dev] of [[NS_A, `va${tag}`], [NS_B, `vb${tag}`]]) {
        ip('-n', ns, 'link', 'set', 'lo', 'up');
        ip('-n', ns, 'link', 'set', dev, 'up');
      }
    } catch (err) {
      console.log(`      skipped: cannot create network namespaces here: ${String(err.stderr || err.message).trim()}`);
      this.skip();
    }
  });

  after(() => {
    for (const ns of [NS_A, NS_B]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        /* not created */
      }
    }
  });

  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null) {
        c.kill();
        await once(c, 'exit');
      }
    }
  });

  async function server(ns, host, name) {
    const s = inNs(ns, 'server', host, name);
    children.push(s.child);
    await s.next('listening');
    return s;
  }

  async function client(ns, host) {
    const c = inNs(ns, 'client', host, 'client');
    children.push(c.child);
    return c.next('result');
  }

  it('uses shm inside one namespace', async () => {
    await server(NS_A, '0.0.0.0', 'A');
    const res = await client(NS_A, '127.0.0.1');
    expect(res).to.deep.include({ transport: 'shm', data: 'hello from A over shm' });
  });

  it('reaches a server in another namespace over TCP, never shm', async () => {
    await server(NS_A, '0.0.0.0', 'A');
    const res = await client(NS_B, IP_A);
    expect(res).to.deep.include({ transport: 'tcp', data: 'hello from A over tcp' });
  });

  it('keeps 127.0.0.1 on the same port apart in each namespace', async () => {
    await server(NS_A, '0.0.0.0', 'A');
    await server(NS_B, '127.0.0.1', 'B');
    const [inA, inB, aToB] = await Promise.all([client(NS_A, '127.0.0.1'), client(NS_B, '127.0.0.1'), client(NS_B, IP_A)]);
    expect(inA).to.deep.include({ transport: 'shm', data: 'hello from A over shm' });
    expect(inB).to.deep.include({ transport: 'shm', data: 'hello from B over shm' });
    expect(aToB).to.deep.include({ transport: 'tcp', data: 'hello from A over tcp' });
  });

  it('does not find another namespace\'s listener through the shared rendezvous directory', async () => {
    await server(NS_A, '0.0.0.0', 'A');
    // Nothing listens on PORT in B: the kernel refuses, and shm must not quietly reach A.
    const res = await client(NS_B, '127.0.0.1');
    expect(res).to.deep.equal({ type: 'result', error: 'ECONNREFUSED' });
  });
});
