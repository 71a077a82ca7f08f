'use strict';
// ref()/unref(): proven in a child process, which must exit on its own when only unref'd
// handles remain, and must stay alive (until an unref'd timer ends it) while a ref'd one does.
const { expect } = require('chai');
const { execFile } = require('node:child_process');

const CHILD_TIMEOUT_MS = 5000; // a child still running then is killed and the scenario fails
const ALIVE_AFTER_MS = 300; // an unref'd timer that can only fire if something else holds the loop

/** Runs `body` in `node -e` with `net` bound to the implementation under test. */
function runChild(modulePath, clientOpts, body) {
  const prelude = `
    const net = require(process.env.COMPAT_IMPL);
    const clientOpts = JSON.parse(process.env.COMPAT_CLIENT_OPTS);
    const out = (s) => process.stdout.write(s + '\\n');
    const aliveCheck = () => setTimeout(() => { out('alive'); process.exit(0); }, ${ALIVE_AFTER_MS}).unref();
  `;
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', prelude + body], {
      timeout: CHILD_TIMEOUT_MS,
      env: { ...process.env, COMPAT_IMPL: modulePath, COMPAT_CLIENT_OPTS: JSON.stringify(clientOpts) },
    }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, signal: err ? err.signal : null, lines: stdout.split('\n').filter(Boolean), stderr });
    });
  });
}

// Each case: the child's code and the exact stdout lines expected; the child must exit 0.
const CASES = [
  {
    label: "an unref'd listening server lets the process exit",
    body: `const s = net.createServer(); s.listen(0, '127.0.0.1', () => out('listening')); s.unref();`,
    lines: ['listening'],
  },
  {
    label: 'a listening server (ref) keeps the process alive',
    body: `const s = net.createServer(); s.listen(0, '127.0.0.1', () => { out('listening'); aliveCheck(); });`,
    lines: ['listening', 'alive'],
  },
  {
    label: 'server.unref() then ref() keeps the process alive',
    body: `const s = net.createServer(); s.unref(); s.ref(); s.listen(0, '127.0.0.1', () => { out('listening'); aliveCheck(); });`,
    lines: ['listening', 'alive'],
  },
  {
    label: "an unref'd connected socket (and unref'd server side) lets the process exit",
    body: `
      const s = net.createServer((p) => p.unref());
      s.listen(0, '127.0.0.1', () => {
        s.unref();
        const c = net.connect({ port: s.address().port, host: '127.0.0.1', ...clientOpts }, () => { out('connected'); c.unref(); });
      });`,
    lines: ['connected'],
  },
  {
    label: 'a connected socket that is unref()d then ref()d keeps the process alive',
    body: `
      const s = net.createServer((p) => p.unref());
      s.listen(0, '127.0.0.1', () => {
        s.unref();
        const c = net.connect({ port: s.address().port, host: '127.0.0.1', ...clientOpts }, () => {
          out('connected'); c.unref(); c.ref(); aliveCheck();
        });
      });`,
    lines: ['connected', 'alive'],
  },
  {
    label: 'unref() on a still-connecting socket applies once connected',
    body: `
      const s = net.createServer((p) => p.unref());
      s.listen(0, '127.0.0.1', () => {
        s.unref();
        const c = net.connect({ port: s.address().port, host: '127.0.0.1', ...clientOpts }, () => out('connected'));
        c.unref();
      });`,
    lines: ['connected'],
  },
  {
    // node's test-net-connect-paused-connection: a socket that is not reading holds no active handle.
    label: "a paused client of an unref'd server (whose side is unref'd) lets the process exit",
    body: `
      const s = net.createServer((p) => p.unref());
      s.listen(0, '127.0.0.1', () => {
        s.unref();
        const c = net.connect({ port: s.address().port, host: '127.0.0.1', ...clientOpts }, () => out('connected')).pause();
      });`,
    lines: ['connected'],
  },
  {
    label: 'a paused client that resume()s keeps the process alive again',
    body: `
      const s = net.createServer((p) => p.unref());
      s.listen(0, '127.0.0.1', () => {
        s.unref();
        const c = net.connect({ port: s.address().port, host: '127.0.0.1', ...clientOpts }, () => {
          out('connected'); c.resume(); aliveCheck();
        }).pause();
      });`,
    lines: ['connected', 'alive'],
  },
];

module.exports = {
  area: 'ref and unref (child process)',
  clientServer: true,
  define({ h, modulePath, clientOpts }) {
    for (const c of CASES) {
      it(c.label, async function () {
        this.timeout(CHILD_TIMEOUT_MS + 3000);
        const r = await runChild(modulePath, clientOpts, c.body);
        expect({ code: r.code, signal: r.signal, lines: r.lines }, r.stderr)
          .to.deep.equal({ code: 0, signal: null, lines: c.lines });
      });
    }

    it('server.ref() and server.unref() return the server', () => {
      const srv = h.server();
      expect(srv.unref()).to.equal(srv);
      expect(srv.ref()).to.equal(srv);
    });
  },
};
