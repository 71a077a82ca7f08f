'use strict';
/**
 * The transport registry: every way of moving bytes the benchmark knows, in display order.
 * A definition is { name, description, module, options, workerScript?, unavailableReason() }.
 * `module` exports createAdapter(options) for the generic worker (worker.js); a definition with
 * its own `workerScript` (raw-vi) speaks the worker IPC protocol itself.
 */
const path = require('node:path');

const MODULES = ['./net-tcp', './net-unix', './raw-vi', './via-shm'];
const GENERIC_WORKER = path.join(__dirname, 'worker.js');
const BASELINE = 'net-tcp';

function allTransports() {
  const defs = [];
  for (const m of MODULES) {
    for (const def of require(m).definitions()) {
      defs.push({ workerScript: GENERIC_WORKER, ...def });
    }
  }
  return defs;
}

module.exports = { allTransports, BASELINE, GENERIC_WORKER };
