'use strict';
/** node:net over TCP on 127.0.0.1: the baseline every other transport is compared with. */
const net = require('node:net');
const { netAdapter } = require('./net-adapter');

module.exports = {
  definitions: () => [{
    name: 'net-tcp',
    description: 'node:net, TCP over 127.0.0.1 (baseline)',
    module: __filename,
    options: {},
    unavailableReason: () => null,
  }],
  createAdapter: () => netAdapter(net, {
    where: async () => ({ listen: { host: '127.0.0.1', port: 0 } }),
  }),
};
