'use strict';
// `via-net doctor` (dist/cli.js, the package's bin): lists shm, verbs and tcp, and why each is or
// is not usable. Run as a real command, with the environment steering what it finds.
const { expect } = require('chai');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { verbsStatus } = require('../dist/providers/verbs-native');
const { loadNative } = require('../dist/providers/native');

const CLI = path.join(__dirname, '..', 'dist', 'cli.js');
const pkg = require('../package.json');

function doctor(args = [], env = {}) {
  const res = spawnSync(process.execPath, [CLI, 'doctor', ...args], {
    env: { ...process.env, DEBUG: '', ...env },
    encoding: 'utf8',
    timeout: 20000,
  });
  return res;
}

describe('via-net doctor', function () {
  this.timeout(30000);
  let tmp;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'via-doctor-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('is the package bin, an executable node script', () => {
    expect(pkg.bin).to.deep.equal({ 'via-net': 'dist/cli.js' });
    expect(fs.readFileSync(CLI, 'utf8').split('\n')[0]).to.equal('#!/usr/bin/env node');
  });

  it('lists every transport, in order, with a status line for each', () => {
    const res = doctor([], { VIA_NET_RUNDIR: path.join(tmp, 'rd') });
    expect(res.status).to.equal(0);
    const heads = res.stdout.split('\n').filter((l) => /^\S/.test(l));
    expect(heads.map((l) => l.split(':')[0])).to.deep.equal(['shm', 'verbs', 'tcp']);
    expect(heads[2]).to.equal('tcp: available');
  });

  it('says verbs is unavailable and why, exactly as the provider does', () => {
    const status = verbsStatus();
    const res = doctor([], { VIA_NET_RUNDIR: path.join(tmp, 'rd') });
    const line = res.stdout.split('\n').find((l) => l.startsWith('verbs:'));
    if (status.reason) expect(line).to.equal(`verbs: unavailable (${status.reason})`);
    else expect(line).to.equal('verbs: available');
    expect(res.stdout).to.match(status.compiledIn ? /\n {2}devices: / : /\n {2}addon: not available: /);
  });

  it('reports the shm addon, the netns id and the rendezvous directory', () => {
    const res = doctor(['--json'], { VIA_NET_RUNDIR: path.join(tmp, 'rd') });
    const [shm] = JSON.parse(res.stdout);
    expect(shm.name).to.equal('shm');
    if (loadNative().binding) {
      expect(shm.usable).to.equal(true);
      expect(shm.checks.netns).to.match(/^net namespace inode \d+$/);
    }
    expect(shm.checks['rendezvous dir']).to.include('created on first listen');
    expect(fs.existsSync(path.join(tmp, 'rd'))).to.equal(false); // doctor changes nothing
  });

  it('flags a rendezvous directory others can read', () => {
    const dir = path.join(tmp, 'open');
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    const [shm] = JSON.parse(doctor(['--json'], { VIA_NET_RUNDIR: dir }).stdout);
    expect(shm.usable).to.equal(false);
    expect(shm.reason).to.include('mode 755, expected 700');
  });

  it('explains a verbs addon that was not compiled in', () => {
    const [, verbs] = JSON.parse(doctor(['--json'], { VIA_NET_VERBS_ADDON: path.join(tmp, 'none.node') }).stdout);
    expect(verbs).to.include({ name: 'verbs', usable: false });
    expect(verbs.reason).to.match(/^not compiled in: .*libibverbs-dev and librdmacm-dev/);
  });

  it('explains native code being disabled, for both native providers', () => {
    const reports = JSON.parse(doctor(['--json'], { VIA_NET_DISABLE_NATIVE: '1', VIA_NET_RUNDIR: path.join(tmp, 'rd') }).stdout);
    expect(reports.map((r) => [r.name, r.usable])).to.deep.equal([['shm', false], ['verbs', false], ['tcp', true]]);
    expect(reports[0].reason).to.include('VIA_NET_DISABLE_NATIVE=1');
    expect(reports[1].reason).to.include('VIA_NET_DISABLE_NATIVE=1');
  });

  it('rejects an unknown command with usage and exit status 1', () => {
    const res = spawnSync(process.execPath, [CLI, 'frobnicate'], { encoding: 'utf8', timeout: 20000 });
    expect(res.status).to.equal(1);
    expect(res.stderr).to.include("unknown command 'frobnicate'");
    expect(res.stderr).to.include('usage: via-net doctor');
  });
});
