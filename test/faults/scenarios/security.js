'use strict';
// Security: another uid does not get shm unless allowed (createServer({ allowUids })); the
// rendezvous directory and entries are not open to other users and no shared memory appears in
// the filesystem (memfds travel only by SCM_RIGHTS); secrets never appear in DEBUG=via-net:* logs.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { PeerProcess } = require('../../support/peer-process');
const { row } = require('../../support/scenario-tools');
const { prefixHash } = require('../../support/pattern-stream');

const PEER = path.join(__dirname, '..', '..', 'support', 'peers', 'fault-peer.js');
const NOBODY = 65534;

async function peer(env = {}, extra = {}) {
  const p = new PeerProcess(PEER, { env: { ...process.env, ...env }, ...extra });
  await p.ready;
  return p;
}

function modeOf(file) {
  return fs.statSync(file).mode & 0o777;
}

async function otherUid(failures, notes) {
  if (process.getuid() !== 0) {
    notes.push('other-uid checks skipped (not root)');
    return;
  }
  const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'via-net-shared-'));
  fs.chmodSync(shared, 0o711);
  const env = { VIA_NET_RUNDIR: shared };
  const asNobody = { uid: NOBODY, gid: NOBODY };
  try {
    for (const allow of [false, true]) {
      const server = await peer(env);
      // The client trusts listeners of our uid (VIA_NET_ALLOW_UIDS), so the server's own
      // SO_PEERCRED decision is what is tested.
      const client = await peer({ ...env, HOME: '/tmp', VIA_NET_ALLOW_UIDS: String(process.getuid()) }, asNobody);
      try {
        const { port } = await server.call('listen', { mode: 'sink', serverOptions: allow ? { allowUids: [NOBODY] } : {} });
        const auto = await client.call('transfer', { port, seed: 61, total: 1 << 20 });
        const forced = await client.call('transfer', { port, seed: 62, total: 1024, connectOptions: { transport: 'shm' } });
        const intact = auto.verdict && auto.verdict.hash === prefixHash(61, 1 << 20);
        if (!intact) failures.push(`uid ${NOBODY} ${allow ? 'allowed' : 'not allowed'}: transfer ${JSON.stringify(auto)}`);
        if (allow) {
          if (auto.transport !== 'shm') failures.push(`allowed uid got ${auto.transport}, expected shm`);
          if (forced.failure) failures.push(`allowed uid, forced shm: ${forced.failure}`);
        } else {
          if (auto.transport !== 'tcp') failures.push(`uid ${NOBODY} not in allowUids got ${auto.transport}`);
          if (!forced.failure) failures.push(`uid ${NOBODY} not in allowUids connected with transport 'shm' forced`);
        }
        notes.push(`uid ${NOBODY} ${allow ? 'allowed' : 'not allowed'}: ${auto.transport}${allow ? '' : `, forced shm -> ${forced.failure}`}`);
      } finally {
        server.kill();
        client.kill();
      }
    }
    // Default (private) run directories: another uid's client never sees our entry at all.
    const server = await peer();
    const client = await peer({ HOME: '/tmp' }, asNobody);
    try {
      const { port } = await server.call('listen', { mode: 'sink' });
      const r = await client.call('transfer', { port, seed: 63, total: 4096 });
      if (r.transport !== 'tcp') failures.push(`other uid with default run dirs got ${r.transport}`);
    } finally {
      server.kill();
      client.kill();
    }
  } finally {
    fs.rmSync(shared, { recursive: true, force: true });
  }
}

async function modes(failures, notes) {
  const { baseDir } = require(path.join(__dirname, '..', '..', '..', 'dist', 'providers', 'rundir'));
  const shmBefore = new Set(fs.readdirSync('/dev/shm'));
  const server = await peer();
  const client = await peer();
  try {
    const { port } = await server.call('listen', { mode: 'sink' });
    await client.call('connect', { port, mode: 'echo', count: 3 }); // held open while we look
    const base = baseDir();
    const dirs = [base];
    for (const d of fs.readdirSync(base)) if (fs.statSync(path.join(base, d)).isDirectory()) dirs.push(path.join(base, d));
    for (const d of dirs) if (modeOf(d) & 0o077) failures.push(`${d} mode ${modeOf(d).toString(8)} is open to other users`);
    const entries = dirs.slice(1).flatMap((d) => fs.readdirSync(d).map((f) => path.join(d, f)));
    for (const e of entries) if (modeOf(e) & 0o007) failures.push(`${e} mode ${modeOf(e).toString(8)} is open to others`);
    // The segments are mapped from memfds (received by SCM_RIGHTS); they have no path anywhere.
    const maps = fs.readFileSync(`/proc/${server.child.pid}/maps`, 'utf8').split('\n');
    const memfds = maps.filter((l) => l.includes('/memfd:')).map((l) => l.slice(l.indexOf('/memfd:')));
    if (memfds.length === 0) failures.push('no memfd mapping found in the server: are connections over shm?');
    const newShm = fs.readdirSync('/dev/shm').filter((f) => !shmBefore.has(f));
    if (newShm.length) failures.push(`files appeared in /dev/shm: ${newShm}`);
    notes.push(`run dir ${modeOf(base).toString(8)}, ${dirs.length - 1} ns dir(s) ${dirs.slice(1).map((d) => modeOf(d).toString(8))}, entries ${[...new Set(entries.map((e) => modeOf(e).toString(8)))]}; ${memfds.length} memfd mappings (${[...new Set(memfds)].join(',')}), none in /dev/shm`);
  } finally {
    server.kill();
    client.kill();
  }
}

async function debugLogs(failures, notes) {
  const secret = `via-net-secret-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  const env = { DEBUG: 'via-net:*', DEBUG_HIDE_DATE: '1' };
  const stdio = { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] };
  const server = await peer(env, stdio);
  const client = await peer(env, stdio);
  let logs = '';
  for (const p of [server, client]) {
    p.child.stderr.on('data', (d) => (logs += d.toString('latin1')));
    p.child.stdout.on('data', (d) => (logs += d.toString('latin1')));
  }
  try {
    const { port } = await server.call('listen', { mode: 'sink' });
    const r = await client.call('transfer', { port, text: secret });
    if (r.transport !== 'shm') failures.push(`debug-log transfer went over ${r.transport}`);
    const b = Buffer.from(secret);
    // The payload in any usual rendering: text, hex, base64, and the first 16 bytes alone.
    const forms = [secret, b.toString('hex'), b.toString('base64'), secret.slice(0, 16), b.subarray(0, 16).toString('hex')];
    for (const f of forms) if (logs.includes(f)) failures.push(`payload appears in DEBUG output as ${f}`);
    if (!/via-net:/.test(logs)) failures.push('DEBUG=via-net:* produced no log at all: the check proves nothing');
    notes.push(`${logs.split('\n').length} DEBUG lines, payload absent`);
  } finally {
    server.kill();
    client.kill();
  }
}

async function run() {
  const failures = [];
  const notes = [];
  await otherUid(failures, notes);
  await modes(failures, notes);
  await debugLogs(failures, notes);
  return row('security: uids, modes, logs', notes.length, failures, notes.join('; '));
}

module.exports = { run };
