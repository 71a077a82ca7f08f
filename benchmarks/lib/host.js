'use strict';
/** Where a benchmark ran: `os` and `process` facts, and the load average (a hint of how shared the machine was). */
const os = require('node:os');

function hostInfo() {
  const cpus = os.cpus();
  return {
    platform: process.platform,
    release: os.release(),
    arch: process.arch,
    cpus: cpus.length,
    cpuModel: cpus.length ? cpus[0].model : 'unknown',
    totalMemoryBytes: os.totalmem(),
    node: process.version,
    loadAverage: os.loadavg(),
  };
}

/** The fields every benchmark report starts with: its format, when it ran and where. */
function reportHeader(schema, started, finished) {
  return {
    schema,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: (finished - started) / 1000,
    host: hostInfo(),
  };
}

module.exports = { hostInfo, reportHeader };
