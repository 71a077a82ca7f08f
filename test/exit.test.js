'use strict';
// A process that used shm must exit cleanly once its sockets and servers are closed: at exit,
// Node runs the event loop once more to close handles, and the addon must not call into
// JavaScript then (it used to abort with "FATAL ERROR: ... napi_throw").
const { expect } = require('chai');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const DIST = path.join(__dirname, '..', 'dist');
const SCRIPT = `
const net = require(${JSON.stringify(DIST)});
const crypto = require('node:crypto');
const payload = crypto.randomBytes(100000);
const server = net.createServer((c) => c.pipe(c));
server.listen(0, '127.0.0.1', () => {
  const c = net.connect(server.address().port, '127.0.0.1', () => c.end(payload));
  const got = [];
  c.on('data', (d) => got.push(d));
  c.on('close', () => {
    const same = Buffer.concat(got).equals(payload);
    console.log(JSON.stringify({ transport: c.transport, same }));
    server.close();
  });
});
`;

describe('process exit after using shm', function () {
  this.timeout(60000);
  it('exits with status 0 and no fatal error, every time (5 runs)', function () {
    const { shmUnavailableReason } = require('../dist/providers/shm');
    const reason = shmUnavailableReason();
    if (reason) {
      console.log(`      skipped: ${reason}`);
      return this.skip();
    }
    for (let i = 0; i < 5; i++) {
      const res = spawnSync(process.execPath, ['-e', SCRIPT], { encoding: 'utf8', timeout: 20000 });
      expect(res.stderr, 'stderr').to.not.match(/FATAL|Abort/);
      expect(res.status, `run ${i}: ${res.stderr}`).to.equal(0);
      expect(JSON.parse(res.stdout.trim())).to.deep.equal({ transport: 'shm', same: true });
    }
  });
});
