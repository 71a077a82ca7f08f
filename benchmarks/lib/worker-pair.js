'use strict';
/**
 * Parent side of one transport: a server worker and a client worker, forked from the same script
 * with the same node flags, driven by request/response over IPC (protocol: transports/worker-core.js).
 * Every request has a deadline, so a wedged transport fails its run instead of hanging it.
 */
const { fork } = require('node:child_process');
const debug = require('debug')('via-net:bench');

class BenchError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/**
 * The node flags of both workers: the parent's own, plus --expose-gc, which the idle-connection
 * test needs to collect garbage before it reads a worker's memory (the timed tests never call it).
 */
function workerExecArgv() {
  return process.execArgv.includes('--expose-gc') ? [...process.execArgv] : [...process.execArgv, '--expose-gc'];
}

class Worker {
  constructor(role, def) {
    this.role = role;
    this.name = `${def.name}/${role}`;
    this.nextId = 1;
    this.pending = new Map();
    this.dead = null;
    this.child = fork(def.workerScript, [role, def.module, JSON.stringify(def.options || {})], {
      execArgv: workerExecArgv(),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    this.ready = new Promise((resolve, reject) => {
      this.onReady = resolve;
      this.onReadyFail = reject;
    });
    this.ready.catch(() => {});
    this.child.on('message', (msg) => this.onMessage(msg));
    // 'close', not 'exit': it comes after the IPC channel has delivered the worker's last words (its 'fatal').
    this.child.on('close', (code, signal) => {
      this.fail(new BenchError(`${this.name} exited (${signal || `code ${code}`})${this.fatal ? `: ${this.fatal}` : ''}`, 'EBENCH_WORKER_EXIT'));
    });
    this.child.on('error', (err) => this.fail(err));
  }

  onMessage(msg) {
    if (!msg || typeof msg !== 'object') return;
    if (msg.type === 'ready') return this.onReady();
    if (msg.type === 'fatal') {
      this.fatal = `${msg.error.code}: ${msg.error.message}`;
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.ok) p.resolve(msg);
    else p.reject(new BenchError(`${this.name} ${p.cmd}: ${msg.error.message}`, msg.error.code));
  }

  fail(err) {
    if (this.dead) return;
    this.dead = err;
    this.onReadyFail(err);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  request(cmd, args, timeoutMs) {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new BenchError(`${this.name} ${cmd}: no answer within ${timeoutMs} ms`, 'EBENCH_TIMEOUT'));
      }, timeoutMs);
      this.pending.set(id, { cmd, resolve, reject, timer });
      this.child.send({ id, cmd, ...args });
    });
  }

  kill() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      try { this.child.send({ cmd: 'exit' }); } catch { /* channel already closed */ }
      // A worker stuck in a busy loop cannot read 'exit'.
      const t = setTimeout(() => this.child.kill('SIGKILL'), 2000);
      t.unref();
      this.child.once('exit', () => clearTimeout(t));
    }
  }

  exited() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => this.child.once('exit', resolve));
  }
}

class WorkerPair {
  constructor(def) {
    this.def = def;
    this.server = new Worker('server', def);
    this.client = new Worker('client', def);
    this.address = null;
  }

  async start(timeoutMs = 20000) {
    let timer;
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new BenchError(`${this.def.name}: workers not ready within ${timeoutMs} ms`, 'EBENCH_TIMEOUT')), timeoutMs);
    });
    try {
      await Promise.race([Promise.all([this.server.ready, this.client.ready]), deadline]);
    } finally {
      clearTimeout(timer);
    }
    debug('%s workers ready (server %d, client %d)', this.def.name, this.server.child.pid, this.client.child.pid);
  }

  /** Listen and open the block's persistent connection (none for the connect test). */
  async open(persistent, timeoutMs = 10000) {
    const { address } = await this.server.request('listen', {}, timeoutMs);
    this.address = address;
    if (persistent) await this.client.request('connect', { address }, timeoutMs);
  }

  async close(timeoutMs = 10000) {
    await this.client.request('disconnect', {}, timeoutMs);
    await this.server.request('close', {}, timeoutMs);
    this.address = null;
  }

  verify(bytes, timeoutMs = 20000) {
    return this.client.request('verify', { bytes }, timeoutMs);
  }

  /**
   * One trial: arm the server, run the client's timed loop, collect the server's CPU. `params`
   * are the test's own (think: `workUs`; stream: `phases`); a stream trial also returns its
   * `phases`, each { count, elapsedNs, cpu: { client, server } }. A polling transport's trial
   * also returns `spin`: { client, server }, µs each worker's provider polled with nothing found.
   */
  async trial(test, size, count, timeoutMs, params = {}) {
    await this.server.request('expect', { test, size, count, ...params }, 10000);
    const run = await this.client.request('run', { test, size, count, address: this.address, ...params }, timeoutMs);
    const rep = await this.server.request('report', {}, 10000);
    const out = { elapsedNs: run.elapsedNs, cpu: { client: run.cpu, server: rep.cpu } };
    // Polling transports also say how long each side spun with nothing found (µs).
    if (typeof run.spinNs === 'number' && typeof rep.spinNs === 'number') out.spin = { client: run.spinNs / 1e3, server: rep.spinNs / 1e3 };
    if (run.phases) {
      out.phases = run.phases.map((p, i) => ({ count: p.count, elapsedNs: p.elapsedNs, cpu: { client: p.cpu, server: rep.phases[i] } }));
    }
    return out;
  }

  async stop() {
    this.server.kill();
    this.client.kill();
    await Promise.all([this.server.exited(), this.client.exited()]);
  }
}

module.exports = { WorkerPair, BenchError, workerExecArgv };
