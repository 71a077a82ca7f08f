#!/usr/bin/env node
'use strict';
// The raw VI benchmark (issue: shm provider): ping-pong and streaming over the raw binding, in
// busy-polling, adaptive and event modes, next to node:net TCP measured in the same run.
// It is the NetPIPE-style harness (benchmarks/run.js) restricted to those transports; any extra
// arguments (--quick, --sizes, --trials, --json) pass through.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const args = ['--transports', 'net-tcp,raw-vi-busy,raw-vi,raw-vi-event', ...process.argv.slice(2)];
if (!args.includes('--sizes')) args.push('--sizes', '1,4,64,1024,4096,32768,65536,1048576');
const res = spawnSync(process.execPath, [path.join(__dirname, 'run.js'), ...args], { stdio: 'inherit' });
process.exit(res.status ?? 1);
