'use strict';
// Bad input 1: a hostile process scribbles over a via-net server's shared memory for
// `durationMs` while honest clients keep transferring to the same server. Only the hostile
// connections may break; the server must not crash and every honest transfer must be intact.
const path = require('node:path');
const { spawn } = require('node:child_process');
const { via, spawnPeer, row } = require('../../support/scenario-tools');
// Seeded, so a failing run can be replayed with the same seed.
const { random: prng } = require('../../support/prng');
const { pump, receive } = require('../../support/socket-transfer');

const HOSTILE = path.join(__dirname, '..', 'hostile.js');

/** One honest echo transfer of a random size; returns a failure string or null. */
async function honest(port, seed, size) {
  const sock = via.connect({ port, host: '127.0.0.1' });
  sock.on('error', () => {});
  const checking = receive(sock, seed);
  await new Promise((resolve) => sock.once('connect', resolve).once('error', resolve));
  if (sock.transport !== 'shm') return `honest transfer over ${sock.transport}`;
  await pump(sock, { seed, total: size });
  const checker = await checking;
  if (checker.bytes !== size || !checker.verify()) return `honest transfer ${seed}: ${checker.bytes}/${size} bytes, prefix ok ${checker.ok}`;
  return null;
}

async function run({ durationMs = 10000, seed = 3, concurrency = 4 } = {}) {
  const victim = await spawnPeer();
  const failures = [];
  let transfers = 0;
  let attack;
  try {
    const { port } = await victim.call('listen', { mode: 'echo' });
    const hostile = spawn(process.execPath, [HOSTILE, String(port), String(durationMs), String(seed)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    hostile.stdout.on('data', (d) => (out += d));
    const hostileDone = new Promise((resolve) => hostile.once('exit', (code, signal) => resolve({ code, signal })));
    const rand = prng(seed);
    const end = Date.now() + durationMs;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < end && failures.length < 10) {
          const err = await honest(port, 10000 + transfers, 1 + Math.floor(rand() * 2 ** 20));
          transfers++;
          if (err) failures.push(err);
        }
      }),
    );
    const exit = await hostileDone;
    attack = out ? JSON.parse(out) : null;
    if (!attack || exit.code !== 0) failures.push(`hostile process exited ${JSON.stringify(exit)}`);
    else if (attack.rounds === 0) failures.push('the hostile process never scribbled');
    if (victim.child.exitCode !== null || victim.child.signalCode !== null) failures.push(`victim died: ${victim.child.exitCode ?? victim.child.signalCode}`);
    else {
      const last = await honest(port, 99, 3 * 2 ** 20); // still serving after the attack
      if (last) failures.push(`after the attack: ${last}`);
    }
  } finally {
    victim.kill();
  }
  const notes = attack
    ? `${transfers} honest transfers intact; hostile: ${attack.connections} VIs, ${attack.rounds} scribbles, breaks ${JSON.stringify(attack.breaks)}`
    : `${transfers} honest transfers`;
  return row(`bad input 1. shm scribbler ${durationMs / 1000} s`, transfers, failures, notes);
}

module.exports = { run };
