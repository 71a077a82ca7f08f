'use strict';
/** node:net over a Unix domain socket in a private temporary directory. */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { netAdapter } = require('./net-adapter');

module.exports = {
  definitions: () => [{
    name: 'net-unix',
    description: 'node:net, Unix domain socket',
    module: __filename,
    options: {},
    unavailableReason: () => null,
  }],
  createAdapter: () => netAdapter(net, {
    where: async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'via-net-bench-'));
      return {
        listen: { path: path.join(dir, 'bench.sock') },
        cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
      };
    },
  }),
};
