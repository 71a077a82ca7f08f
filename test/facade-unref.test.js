'use strict';
// Unref'd sockets and servers must not keep the process alive, on every transport; ref'd ones must.
// Each case runs in a child process and is judged by whether (and how) it exits.
const path = require('path');
const { spawn } = require('child_process');
const { expect } = require('chai');
const { viaNet } = require('./support/facade');

const DIST = path.resolve(__dirname, '..', 'dist');

const CHILD = `
const net = require(${JSON.stringify(DIST)});
const [transport, unrefClient] = process.argv.slice(1);
// The in-process memory provider is not in the production table: add it, as the tests do.
if (transport === 'memory') require(${JSON.stringify(DIST)} + '/providers').PROVIDERS.push(require(${JSON.stringify(DIST)} + '/providers/memory').memoryProviderEntry);
const server = net.createServer({ transport }, (s) => { s.unref(); s.resume(); });
server.listen(0, '127.0.0.1', () => {
  const c = net.connect({ port: server.address().port, host: '127.0.0.1', transport }, () => {
    c.write('hello');
    process.stdout.write('connected ' + c.transport + '\\n');
    if (unrefClient === 'yes') c.unref();
    server.unref();
  });
  c.on('error', (e) => { console.error(e); process.exit(3); });
});
`;

/** Run the child; resolve { code, stdout, alive } where alive means it was still running after `ms`. */
function runChild(args, ms) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, alive: signal === 'SIGKILL' });
    });
  });
}

const transports = ['tcp', 'memory'];
if (viaNet.providerStatus().shm.available) transports.push('shm');

describe('facade unref', function () {
  this.timeout(30000);
  for (const transport of transports) {
    it(`an unref'd ${transport} connection and server let the process exit`, async () => {
      const r = await runChild([transport, 'yes'], 10000);
      expect(r.alive, `child did not exit: ${r.stderr}`).to.equal(false);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.equal(`connected ${transport}\n`);
    });
  }

  // The memory provider has no event-loop handle at all, so only real transports can keep a process alive.
  for (const transport of transports.filter((t) => t !== 'memory')) {
    it(`a ref'd ${transport} connection keeps the process alive (control)`, async () => {
      const r = await runChild([transport, 'no'], 1500);
      expect(r.stdout).to.equal(`connected ${transport}\n`);
      expect(r.alive, `child exited early (code ${r.code}): ${r.stderr}`).to.equal(true);
    });
  }
});
