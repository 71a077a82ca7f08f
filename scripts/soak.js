#!/usr/bin/env node
'use strict';
// `npm run soak`: 1,000 concurrent via-net connections with random sizes and pauses for
// 10 minutes (`--duration <s>`, `--conns <n>`), every byte verified, RSS and fds sampled.
const path = require('node:path');
const { printTable } = require(path.join(__dirname, '..', 'test', 'faults', 'table'));
const soak = require(path.join(__dirname, '..', 'test', 'faults', 'scenarios', 'soak'));

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const duration = opt('--duration', 600);
const conns = opt('--conns', 1000);

soak.run({ conns, durationMs: duration * 1000, samples: Math.max(6, Math.min(20, Math.round(duration / 10))) }).then(
  (r) => {
    console.log();
    printTable([r]);
    process.exit(r.result === 'pass' ? 0 : 1);
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
