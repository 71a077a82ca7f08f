'use strict';
// An HTTP server run under node:cluster (a primary and its workers, as PM2 runs one), each
// process real and under -r dist/register.js: clients on this host reach the workers over shm,
// spread over them as the primary's round-robin spreads TCP connections, and a worker's death or
// replacement looks to clients as it does over node:net (the same scenario runs on both).
const { expect } = require('chai');
const fs = require('fs');
const path = require('path');
const { startServer, runClient } = require('./support/app-harness');

const { entryPath } = require('../dist/providers/rundir');
const { shmProvider } = require('../dist/providers/shm');

const BODY = 16 << 10;
const entryOf = (port) => entryPath(`tcp:${port}`, fs.statSync('/proc/self/ns/net').ino);
const N = 40;

/** The workers' "LISTENING <id> <pid> <port>" lines printed so far. */
function listening(server) {
  return server.lines.map((l) => /^LISTENING (\d+) (\d+) (\d+)$/.exec(l)).filter(Boolean)
    .map((m) => ({ id: Number(m[1]), pid: Number(m[2]), port: Number(m[3]) }));
}

function killQuietly(pid) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

describe('cluster: an HTTP server under node:cluster', function () {
  this.timeout(120_000);
  let server = null;
  const pids = new Set();
  let withRegister = null;

  /** Starts the cluster app with `workers` workers; resolves with their listening lines. */
  async function startCluster({ register = true, env = {}, exclusive = false, workers = 2 } = {}) {
    server = startServer('cluster-server.js', [workers, exclusive ? 'exclusive' : ''], { ready: /^READY$/, register, env, stdin: true, timeoutMs: 30_000 });
    await server.started;
    const list = listening(server);
    for (const w of list) pids.add(w.pid);
    return list;
  }

  afterEach(async () => {
    if (server) {
      await server.stop(); // SIGTERM: the primary disconnects its workers and exits
      server = null;
    }
    for (const pid of pids) killQuietly(pid);
    pids.clear();
  });

  const requests = (ports, register, count = N) => runClient('cluster-client.js', ['requests', ports.join(','), count, BODY], { register, timeoutMs: 60_000 });

  /**
   * 40 requests; a request held by one worker while that worker is SIGKILLed; 40 more; a
   * replacement worker; 40 more. Every request on a new connection.
   */
  async function scenario(register) {
    const workers = await startCluster({ register });
    const port = workers[0].port;
    const before = await requests([port], register);

    const from = server.lines.length;
    const held = runClient('cluster-client.js', ['hold', port], { register, timeoutMs: 30_000 });
    const victim = Number((await server.waitFor(/^HELD (\d+)$/, { from }))[1]);
    process.kill(victim, 'SIGKILL');
    await server.waitFor(new RegExp(`^EXIT \\d+ ${victim} SIGKILL$`), { from });
    const hold = await held;
    const survivor = workers.find((w) => w.pid !== victim).pid;
    const afterDeath = await requests([port], register);

    const forkedFrom = server.lines.length;
    server.child.stdin.write('fork\n');
    const replacement = Number((await server.waitFor(/^LISTENING \d+ (\d+) \d+$/, { from: forkedFrom }))[1]);
    pids.add(replacement);
    const afterRestart = await requests([port], register);
    return { workers: workers.map((w) => w.pid), victim, survivor, replacement, before, hold, afterDeath, afterRestart };
  }

  /** What a client of the cluster can observe, whatever carries its connections. */
  const outcome = (r) => ({
    before: { ok: r.before.ok, failed: r.before.failed, errors: r.before.errors, workers: Object.keys(r.before.byWorker).length },
    hold: { error: r.hold.error, message: r.hold.message },
    afterDeath: { ok: r.afterDeath.ok, failed: r.afterDeath.failed, errors: r.afterDeath.errors, toSurvivor: r.afterDeath.byWorker[r.survivor] },
    afterRestart: { ok: r.afterRestart.ok, failed: r.afterRestart.failed, errors: r.afterRestart.errors, workers: Object.keys(r.afterRestart.byWorker).length },
  });

  it('under register: every connection to the workers is shm, round-robin, through a worker death and a restart', async () => {
    const r = await scenario(true);
    withRegister = r;
    const allShm = { shm: N };
    for (const phase of [r.before, r.afterDeath, r.afterRestart]) {
      expect(phase.ok, JSON.stringify(phase)).to.equal(N);
      expect(phase.clientTransports).to.deep.equal(allShm);
      expect(phase.serverTransports).to.deep.equal(allShm);
    }
    for (const pid of r.workers) expect(r.before.byWorker[pid] ?? 0, JSON.stringify(r.before.byWorker)).to.be.at.least(N / 4);
    expect(r.hold.transport).to.equal('shm');
    expect(r.afterDeath.byWorker).to.deep.equal({ [r.survivor]: N });
    for (const pid of [r.survivor, r.replacement]) expect(r.afterRestart.byWorker[pid] ?? 0, JSON.stringify(r.afterRestart.byWorker)).to.be.at.least(N / 4);
  });

  it('under plain node:net the same scenario has the same outcome', async () => {
    const r = await scenario(false);
    for (const phase of [r.before, r.afterDeath, r.afterRestart]) {
      expect(phase.ok, JSON.stringify(phase)).to.equal(N);
      expect(phase.clientTransports).to.deep.equal({ none: N });
    }
    expect(r.hold.error).to.equal('ECONNRESET');
    if (withRegister) expect(outcome(withRegister)).to.deep.equal(outcome(r));
  });

  it('SCHED_NONE (the workers accept from a shared socket): still shm, spread over the workers', async () => {
    const workers = await startCluster({ env: { NODE_CLUSTER_SCHED_POLICY: 'none' } });
    const r = await requests([workers[0].port], true);
    expect(r.ok).to.equal(N);
    expect(r.clientTransports).to.deep.equal({ shm: N });
    for (const w of workers) expect(r.byWorker[w.pid] ?? 0, JSON.stringify(r.byWorker)).to.be.at.least(N / 4);
  });

  it('exclusive listens: each worker serves its own port over shm, as a lone server', async () => {
    const workers = await startCluster({ exclusive: true });
    expect(new Set(workers.map((w) => w.port)).size).to.equal(2);
    const r = await requests(workers.map((w) => w.port), true);
    expect(r.ok).to.equal(N);
    expect(r.clientTransports).to.deep.equal({ shm: N });
    for (const w of workers) expect(r.byWorker[w.pid]).to.equal(N / 2);
    // Lone servers' entries: no cluster marker.
    for (const w of workers) expect(fs.readlinkSync(entryOf(w.port))).to.match(/^p-/);
  });

  it('a cluster killed without cleanup (SIGKILL) leaves nothing that delays a client, and the next listener sweeps it', async () => {
    const workers = await startCluster();
    const port = workers[0].port;
    const provider = shmProvider();
    expect(provider.mayHaveListener(`tcp:${port}`)).to.equal(true);
    const from = server.lines.length;
    for (const w of workers) process.kill(w.pid, 'SIGKILL');
    for (const w of workers) await server.waitFor(new RegExp(`^EXIT \\d+ ${w.pid} SIGKILL$`), { from });
    const marker = entryOf(port);
    expect(fs.readlinkSync(marker)).to.match(/^cluster-\d+$/);
    // Only dead workers behind the marker: TCP at once, as for any stale entry.
    expect(provider.mayHaveListener(`tcp:${port}`)).to.equal(false);
    // A new listener in another process sweeps the marker and the dead members.
    const sweep = await runClient('listen-once.js', [], { register: true, timeoutMs: 30_000 });
    expect(sweep.listened).to.equal(true);
    const left = fs.readdirSync(path.dirname(marker)).filter((n) => n === path.basename(marker) || n.startsWith(`${path.basename(marker)}.`));
    expect(left).to.deep.equal([]);
  });
});
