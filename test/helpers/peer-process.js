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

module.exports = { PeerProcess };
