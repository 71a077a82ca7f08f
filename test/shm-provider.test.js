'use strict';
const { checkRss, timeBound } = require('./support/sanitizers');
// The shm VI provider (native/), always between real processes.
const { expect } = require('chai');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { usePeers } = require('./support/peer-process');
const { shmUnavailableReason } = require('../dist/providers/shm');
const { entryPath } = require('../dist/providers/rundir');

const PEER = path.join(__dirname, 'support', 'peers', 'raw-vi-peer.js');
const MAX = 32768;
let seq = 0;
const uniqueName = () => `test-${process.pid}-${++seq}`;

describe('shm provider (native VI emulator, across processes)', function () {
  this.timeout(120000);
  const spawn = usePeers(PEER);

  async function pair(labels = ['a']) {
    const name = uniqueName();
    const server = await spawn();
    const client = await spawn();
    await server.call('listen', { name });
    const { results } = await client.call('connect', { name, labels });
    for (const r of results) expect(r.ok, JSON.stringify(r)).to.equal(true);
    await Promise.all(labels.map((label) => server.waitFor((m) => m.type === 'accepted' && m.label === label)));
    return { name, server, client };
  }

  it('ping-pongs every size from 0 to MaxTransferSize with identical bytes back', async () => {
    const { server, client } = await pair();
    await server.call('echo', { label: 'a' });
    const sizes = [0, 1, 2, 3, 4, 5];
    for (let p = 8; p <= MAX; p *= 2) sizes.push(p - 3, p - 1, p, Math.min(p + 3, MAX));
    const res = await client.call('pingpong', { label: 'a', sizes, rounds: 2 });
    expect(res.count).to.equal(sizes.length * 2);
    expect(res.mismatches).to.equal(0);
  });

  it('streams messages of sizes 0..MaxTransferSize in order, exactly once (sha256)', async () => {
    const { server, client } = await pair();
    const sizes = [0, 1, 7, 64, 1000, 4093, 8192, 16387, MAX - 1, MAX];
    const count = 5000;
    const sent = await client.call('stream', { label: 'a', count, sizes });
    const got = await server.call('waitFor', { label: 'a', count });
    expect(got.recvCount).to.equal(count);
    expect(got.outOfOrder).to.equal(0);
    expect(got.recvBytes).to.equal(sent.sentBytes);
    expect(got.recvHash).to.equal(sent.sentHash);
  });

  it('inspect() agrees across processes: every published completion consumed once both sides are quiet', async () => {
    const { server, client } = await pair();
    await client.call('stream', { label: 'a', count: 2000, sizes: [1, 4096, MAX] });
    await server.call('waitFor', { label: 'a', count: 2000 });
    // Credit returns may still be travelling back: wait (bounded) until neither ring holds work.
    let s;
    let c;
    for (let i = 0; i < 200; i++) {
      [s, c] = await Promise.all([server.call('inspect', { label: 'a' }), client.call('inspect', { label: 'a' })]);
      if (s.vi.consumed === s.vi.ownCompTail && c.vi.consumed === c.vi.ownCompTail) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    // Each side's private send count is what the other side sees published and has consumed.
    expect(c.vi.sent).to.equal(s.vi.ownCompTail);
    expect(s.vi.consumed).to.equal(s.vi.ownCompTail);
    expect(s.vi.sent).to.equal(c.vi.ownCompTail);
    expect(c.vi.consumed).to.equal(c.vi.ownCompTail);
    expect(s.vi.consumed).to.be.at.least(2000);
    for (const side of [s, c]) {
      expect(side.vi).to.include({ broken: 0, reported: false, peerGone: false, inCq: true });
      expect(side.cq.readyVis).to.equal(0);
      expect(side.cq.inDispatch).to.equal(false);
    }
  });

  it('streams both directions at once', async () => {
    const { server, client } = await pair();
    const sizes = [1, 100, 5000, MAX];
    const [up, down] = await Promise.all([
      client.call('stream', { label: 'a', count: 3000, sizes, seed: 3 }),
      server.call('stream', { label: 'a', count: 3000, sizes, seed: 4 }),
    ]);
    const [atServer, atClient] = await Promise.all([
      server.call('waitFor', { label: 'a', count: 3000 }),
      client.call('waitFor', { label: 'a', count: 3000 }),
    ]);
    expect(atServer.recvHash).to.equal(up.sentHash);
    expect(atClient.recvHash).to.equal(down.sentHash);
  });

  it('serves 100 VIs on one completion queue, each stream intact', async () => {
    const labels = Array.from({ length: 100 }, (_, i) => `vi${i}`);
    const { server, client } = await pair(labels);
    const sent = await client.call('streamAll', { labels, count: 200, sizes: [3, 900, 20000] });
    for (const label of labels) await server.call('waitFor', { label, count: 200 });
    const { summaries } = await server.call('summary', { labels });
    const byLabel = new Map(summaries.map((s) => [s.label, s]));
    expect(sent.results).to.have.length(100);
    for (const r of sent.results) expect(byLabel.get(r.label).recvHash).to.equal(r.sentHash);
    for (const s of summaries) {
      expect(s.recvCount).to.equal(200);
      expect(s.outOfOrder).to.equal(0);
    }
  });

  it('breaks the VI on both sides when a send finds no receive descriptor (pre-posting)', async () => {
    const { server, client } = await pair();
    await server.call('hold', { label: 'a' });
    const res = await client.call('violate', { label: 'a', extra: 1 });
    expect(res.errors).to.deep.equal(['EPROTO']);
    const [atClient, atServer] = await Promise.all([
      client.waitFor((m) => m.type === 'broken' && m.label === 'a'),
      server.waitFor((m) => m.type === 'broken' && m.label === 'a'),
    ]);
    expect(atClient.code).to.equal('EPROTO');
    expect(atServer.code).to.equal('EPROTO');
  });

  it('breaks every VI of a SIGKILLed peer within 100 ms: EOF where it had nothing unread, ECONNRESET where it had', async () => {
    const labels = ['k1', 'k2', 'k3', 'k4', 'k5'];
    const { server, client } = await pair(labels);
    await server.call('echo', { label: 'k1' });
    // The raw peer never marks what it took (markTaken), so whatever reached it counts as unread.
    await server.call('stream', { label: 'k2', count: 3, sizes: [100] });
    const killedAt = process.hrtime.bigint();
    await client.kill('SIGKILL');
    const broken = await Promise.all(labels.map((label) => server.waitFor((m) => m.type === 'broken' && m.label === label)));
    for (const b of broken) {
      expect(b.code, b.label).to.equal(b.label === 'k2' ? 'ECONNRESET' : 'EOF');
      const ms = Number(BigInt(b.at) - killedAt) / 1e6;
      expect(ms, `${b.label} broke after ${ms} ms`).to.be.below(timeBound(100));
    }
  });

  it('stops busy polling once the only VI broke, even if its owner never closes it', async () => {
    const { server, client } = await pair();
    await server.call('pollMode', { label: 'a', mode: 'busy' });
    const spinning = await server.call('cpu', { ms: 300 });
    await client.kill('SIGKILL');
    await server.waitFor((m) => m.type === 'broken' && m.label === 'a');
    const after = await server.call('cpu', { ms: 500 });
    console.log(`      busy server CPU: ${spinning.cpuMs.toFixed(0)} ms per 300 ms while live, ${after.cpuMs.toFixed(0)} ms per 500 ms after the break`);
    expect(spinning.cpuMs, 'busy polling spins while the VI is live').to.be.above(100);
    expect(after.cpuMs).to.be.below(50);
  });

  it('survives a hostile peer scribbling over its shared memory: only that VI breaks', async () => {
    const name = uniqueName();
    const victim = await spawn();
    await victim.call('listen', { name });
    const honest = await spawn();
    const hostile = await spawn();
    await honest.call('connect', { name, labels: ['honest'] });
    await hostile.call('connect', { name, labels: ['hostile'] });
    await victim.waitFor((m) => m.type === 'accepted' && m.label === 'hostile');
    const [sent, attack] = await Promise.all([
      honest.call('stream', { label: 'honest', count: 20000, sizes: [1, 333, 4096, MAX] }),
      hostile.call('scribble', { label: 'hostile', durationMs: 3000, seed: 7 }),
    ]);
    const got = await victim.call('waitFor', { label: 'honest', count: 20000 });
    expect(got.recvHash).to.equal(sent.sentHash);
    expect(got.broken).to.equal(null);
    expect(attack.rounds).to.be.above(0);
    // The victim is alive and answers; its hostile VI broke or carried garbage, nothing more.
    const { summaries } = await victim.call('summary', { labels: ['hostile'] });
    if (summaries[0].broken) expect(['EBADMSG', 'ECONNRESET', 'EPROTO']).to.include(summaries[0].broken.code);
    expect(victim.child.exitCode).to.equal(null);
  });

  it('replaces a stale rendezvous entry left by a SIGKILLed listener', async () => {
    // A directory of its own: any other via-net process that listens meanwhile (another suite
    // run on this machine) would sweep the stale entry, and the connect would see ENOENT.
    const rundir = fs.mkdtempSync(path.join(os.tmpdir(), 'via-net-stale-'));
    try {
      const env = { ...process.env, VIA_NET_RUNDIR: rundir };
      const name = uniqueName();
      const first = await spawn({ env });
      await first.call('listen', { name });
      await first.kill('SIGKILL');
      const netns = fs.statSync('/proc/self/ns/net').ino;
      expect(fs.existsSync(entryPath(name, netns, env))).to.equal(true);
      const client = await spawn({ env });
      const stale = await client.call('connect', { name, labels: ['x'] });
      expect(stale.results[0].error.code).to.equal('ECONNREFUSED');
      const second = await spawn({ env });
      await second.call('listen', { name });
      const fresh = await client.call('connect', { name, labels: ['y'] });
      expect(fresh.results[0].ok).to.equal(true);
    } finally {
      fs.rmSync(rundir, { recursive: true, force: true });
    }
  });

  it('reports ENOENT when nobody listens on a name', async () => {
    const client = await spawn();
    const res = await client.call('connect', { name: uniqueName(), labels: ['z'] });
    expect(res.results[0].error.code).to.equal('ENOENT');
  });

  it('loses no wake-up over 1,000,000 messages while the receiver switches poll modes', async () => {
    const { server, client } = await pair();
    await server.call('chaos', { seed: 12345, periodMs: 2 });
    const count = 1000000;
    const sent = await client.call('stream', { label: 'a', count, sizes: [0, 8, 64] }, 110000);
    const got = await server.call('waitFor', { label: 'a', count }, 110000);
    expect(got.recvCount).to.equal(count);
    expect(got.outOfOrder).to.equal(0);
    expect(got.recvHash).to.equal(sent.sentHash);
  });

  it('keeps the receiver\'s event loop running while a stream saturates it (timers, IPC)', async () => {
    const { server, client } = await pair();
    // The sender keeps the receiver's ring full for the whole window: the receiver must still run
    // its timers and answer IPC, because no single drive of the completion queue may hold the loop.
    const flooding = client.call('flood', { label: 'a', durationMs: 1500 });
    const lag = await server.call('lag', { label: 'a', durationMs: 1000 });
    await flooding;
    expect(lag.received).to.be.above(1000);
    expect(lag.mismatches).to.equal(0);
    expect(lag.outOfOrder).to.equal(0);
    expect(lag.ticks).to.be.at.least(80);
    expect(lag.maxLateMs).to.be.below(50);
  });

  it('returns fds, mappings and RSS to baseline after opening and closing 10,000 VIs', async () => {
    const p = await spawn({ execArgv: ['--expose-gc'] });
    const res = await p.call('churn', { count: 10000 }, 110000);
    expect(res.openVis).to.equal(0);
    console.log(`      10,000 VIs: fds ${res.before.fds} -> ${res.after.fds}, maps ${res.before.maps} -> ${res.after.maps}, RSS ${(res.before.rss / 1048576).toFixed(1)} -> ${(res.after.rss / 1048576).toFixed(1)} MB`);
    // A leak would show as thousands; libuv may open one descriptor lazily during the run.
    expect(res.after.fds).to.be.at.most(res.before.fds + 1);
    // The link to ourselves (both ends in this process) keeps its regions; no VI adds a mapping.
    expect(res.before.maps).to.be.within(1, 4);
    expect(res.after.maps).to.equal(res.before.maps);
    checkRss(() => expect(res.after.rss - res.before.rss).to.be.below(32 * 1024 * 1024));
  });

  describe('credentials (SO_PEERCRED)', () => {
    const user = 'vianet-test';
    let uid = null;
    let rundir = null;
    before(function () {
      if (process.getuid() !== 0) {
        console.log('      skipped: needs root to create a second user');
        return this.skip();
      }
      try {
        execFileSync('id', ['-u', user], { stdio: 'pipe' });
      } catch {
        try {
          execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user], { stdio: 'pipe' });
        } catch (err) {
          console.log(`      skipped: cannot create user ${user}: ${err.message.split('\n')[0]}`);
          return this.skip();
        }
      }
      uid = Number(execFileSync('id', ['-u', user]).toString().trim());
      // A rendezvous directory both users can reach, so the uid check itself is what refuses.
      rundir = fs.mkdtempSync(path.join(os.tmpdir(), 'via-net-cred-'));
      fs.chmodSync(rundir, 0o711);
    });
    after(() => rundir && fs.rmSync(rundir, { recursive: true, force: true }));

    it('refuses a connection from another uid by default', async () => {
      const name = uniqueName();
      const env = { ...process.env, VIA_NET_RUNDIR: rundir };
      const server = await spawn({ env });
      await server.call('listen', { name });
      const netns = fs.statSync('/proc/self/ns/net').ino;
      fs.chmodSync(path.join(rundir, `ns-${netns}`), 0o711);
      fs.chmodSync(entryPath(name, netns, env), 0o666);
      const intruder = await spawn({ env, uid, gid: uid });
      const res = await intruder.call('connect', { name, labels: ['intruder'] });
      expect(res.results[0].error.code).to.equal('EACCES');
      expect(server.events.some((m) => m.type === 'accepted')).to.equal(false);
    });
  });
});

describe('shm rendezvous directory', () => {
  it('is private to the user (0700) and split by network namespace', function () {
    if (shmUnavailableReason()) return this.skip();
    const { shmProvider } = require('../dist/providers/shm');
    const name = uniqueName();
    const l = shmProvider().listen(name, {}, () => {});
    try {
      const netns = fs.statSync('/proc/self/ns/net').ino;
      const file = entryPath(name, netns);
      const nsDir = path.dirname(file);
      expect(path.basename(nsDir)).to.equal(`ns-${netns}`);
      expect(fs.statSync(nsDir).mode & 0o777).to.equal(0o700);
      expect(fs.statSync(path.dirname(nsDir)).mode & 0o077).to.equal(0);
      expect(fs.statSync(file).mode & 0o077).to.equal(0);
    } finally {
      l.close();
    }
  });

  it('hashes non-port names so no path component can escape the directory', () => {
    const { rendezvousFileName: entryName } = require('../dist/transport/rendezvous');
    expect(entryName('tcp:8080')).to.equal('tcp-8080');
    const odd = entryName('unix:/../../etc/passwd');
    expect(odd).to.match(/^h-[0-9a-f]{40}$/);
    expect(crypto.createHash('sha256').update('unix:/../../etc/passwd').digest('hex')).to.include(odd.slice(2));
    // A port out of range is not a port name: hashed too.
    expect(entryName('tcp:99999')).to.match(/^h-[0-9a-f]{40}$/);
  });
});
