'use strict';
// Starts a helper program as a real child process and talks to it over IPC.
const { fork } = require('node:child_process');

class PeerProcess {
  /** @param {string} script  @param {object} [options] fork options (env, execArgv, uid...) */
  constructor(script, options = {}) {
    this.child = fork(script, options.args || [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...options });
    this.events = [];
    this.waiters = [];
    this.nextId = 1;
    this.exit = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.child.on('message', (msg) => {
      this.events.push(msg);
      this.waiters = this.waiters.filter((w) => !(w.match(msg) && (w.resolve(msg), true)));
    });
    this.ready = this.waitFor((m) => m.type === 'ready' || m.type === 'unavailable');
  }

  /** Resolves with the first message (past or future) that satisfies `match`. */
  waitFor(match, timeoutMs = 30000) {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for a message from pid ${this.child.pid}`)), timeoutMs);
      this.waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      this.exit.then(({ code, signal }) =>
        setImmediate(() => {
          clearTimeout(timer);
          reject(new Error(`peer exited (code ${code}, signal ${signal}) while waiting`));
        }),
      );
    });
  }

  /** Runs a command in the child; rejects if it reports an error. */
  async call(cmd, args = {}, timeoutMs = 30000) {
    const id = this.nextId++;
    this.child.send({ ...args, cmd, id });
    const res = await this.waitFor((m) => m.type === 'result' && m.id === id, timeoutMs);
    if (res.error) throw Object.assign(new Error(res.error.message), { code: res.error.code });
    return res;
  }

  kill(signal = 'SIGKILL') {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exit;
  }
}

/**
 * For a mocha suite whose peers need the shm provider: skips the suite (saying why) when the
 * addon is unavailable, kills every peer after each test, and returns `spawn(options)`, which
 * starts a peer of `script` and waits until it is ready.
 */
function usePeers(script) {
  const peers = [];
  before(function () {
    const { shmUnavailableReason } = require('../../dist/providers/shm');
    const reason = shmUnavailableReason();
    if (reason) {
      console.log(`      skipped: the native addon is unavailable (${reason})`);
      this.skip();
    }
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.kill()));
  });
  return async function spawn(options) {
    const p = new PeerProcess(script, options);
    peers.push(p);
    const first = await p.ready;
    if (first.type === 'unavailable') throw new Error('shm provider unavailable in child');
    return p;
  };
}

module.exports = { PeerProcess, usePeers };
