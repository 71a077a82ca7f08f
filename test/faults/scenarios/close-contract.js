'use strict';
// The close-contract table (test/close-contract/scenarios.js) as one row of `npm run test:faults`:
// every exit / kill / destroy scenario over node:net and over via-net, same outcome required.
module.exports = { run: (opts = {}) => require('../../close-contract/run').run(opts) };
