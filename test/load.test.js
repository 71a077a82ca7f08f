'use strict';
// What loading via-net costs a process that does not ask for logs: `debug` (with supports-color
// and tty), crypto and the doctor's checks stay unloaded until something needs them
// (lib/log.ts, transport/rendezvous.ts, providers/index.ts). Asking for logs still gets them.
const { expect } = require('chai');
const { execFile } = require('child_process');
const path = require('path');

const DIST = path.join(__dirname, '..', 'dist');

function run(code, env) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', code], { env: { ...process.env, ...env }, timeout: 20000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

// Connect over shm to a via-net server in the same process, then report which modules loaded.
const scenario = `
  const via = require(${JSON.stringify(DIST)});
  const loaded = () => Object.keys(require.cache).map((f) => f.split('node_modules/').pop());
  const atLoad = loaded().filter((f) => /^(debug|supports-color)\\//.test(f));
  const server = via.createServer((s) => s.end('ok'));
  server.listen(0, '127.0.0.1', () => {
    const c = via.connect({ port: server.address().port, host: '127.0.0.1' });
    let got = '';
    c.on('data', (d) => { got += d; });
    c.on('close', () => {
      server.close();
      console.log(JSON.stringify({ atLoad, after: loaded().filter((f) => /^(debug|supports-color)\\//.test(f)), got, transport: c.transport }));
    });
  });
`;

describe('loading via-net', () => {
  it('without DEBUG, loads no logging library, not even after a connection', async () => {
    const { stdout, stderr } = await run(scenario, { DEBUG: '' });
    const out = JSON.parse(stdout);
    expect(out).to.deep.equal({ atLoad: [], after: [], got: 'ok', transport: 'shm' });
    expect(stderr).to.equal('');
  });

  it('with DEBUG=via-net:*, logs through debug', async () => {
    const { stdout, stderr } = await run(scenario, { DEBUG: 'via-net:*', DEBUG_HIDE_DATE: '1' });
    const out = JSON.parse(stdout);
    expect(out.got).to.equal('ok');
    expect(out.transport).to.equal('shm');
    expect(out.atLoad.some((f) => f.startsWith('debug/'))).to.equal(true);
    expect(stderr).to.match(/via-net:facade connected over shm/);
  });

  it('a unix-path rendezvous name is still its sha256 (crypto is loaded on demand)', async () => {
    const code = `
      const { rendezvousFileName } = require(${JSON.stringify(path.join(DIST, 'transport', 'rendezvous'))});
      const name = rendezvousFileName('unix:/tmp/x.sock');
      const expected = 'h-' + require('crypto').createHash('sha256').update('unix:/tmp/x.sock').digest('hex').slice(0, 40);
      console.log(JSON.stringify({ same: name === expected, name, tcp: rendezvousFileName('tcp:80') }));
    `;
    const out = JSON.parse((await run(code, {})).stdout);
    expect(out.same).to.equal(true);
    expect(out.name).to.match(/^h-[0-9a-f]{40}$/);
    expect(out.tcp).to.equal('tcp-80');
  });
});
