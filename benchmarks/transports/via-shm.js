'use strict';
/**
 * via-net over its shm provider (the software VIA emulator), one entry per poll mode and one per
 * SOVIA configuration of the SOVIA paper (BASE, FLOWCNTL, DACKS, COMBINE).
 *
 * These need the compiled facade (dist/index.js) and a working shm path. A missing dist is found
 * here, before any process starts; a connect that fails (no native addon, no shm listener, a
 * fallback to TCP) is found by the parent's probe, and the entry is then reported unavailable
 * with that error instead of being measured.
 */
const fs = require('node:fs');
const path = require('node:path');
const { netAdapter } = require('./net-adapter');

const ROOT = path.resolve(__dirname, '..', '..');
const DIST_INDEX = path.join(ROOT, 'dist', 'index.js');

const POLL_MODES = ['adaptive', 'busy', 'event'];
const PRESETS = ['BASE', 'FLOWCNTL', 'DACKS', 'COMBINE'];

function distMissing() {
  return fs.existsSync(DIST_INDEX) ? null : `${path.relative(ROOT, DIST_INDEX)} is missing (run npm run build:ts)`;
}

function definitions() {
  const defs = [];
  for (const pollMode of POLL_MODES) {
    defs.push({
      name: `via-shm-${pollMode}`,
      description: `via-net, shm provider, poll mode ${pollMode}`,
      module: __filename,
      options: { sovia: { pollMode } },
      unavailableReason: distMissing,
    });
  }
  for (const preset of PRESETS) {
    defs.push({
      name: `via-shm-${preset}`,
      description: `via-net, shm provider, SOVIA preset ${preset} (SOVIA paper)`,
      module: __filename,
      options: { sovia: { preset } },
      unavailableReason: distMissing,
    });
  }
  return defs;
}

function createAdapter(options) {
  const vianet = require(path.join(ROOT, 'dist'));
  const adapter = netAdapter(vianet, {
    where: async () => ({ listen: { host: '127.0.0.1', port: 0 } }),
    serverOptions: { sovia: options.sovia },
    connectOptions: { transport: 'shm', sovia: options.sovia },
    // A forced transport never falls back silently (it fails with ERR_VIA_TRANSPORT_UNAVAILABLE,
    // docs/ARCHITECTURE.md "Path choice"), but a benchmark that measured TCP under the shm label
    // would be worse than none: check it here too.
    checkSocket: (sock) => {
      if (sock.transport !== 'shm') {
        throw Object.assign(new Error(`connected over ${sock.transport}, not shm`), { code: 'EBENCH_TRANSPORT' });
      }
    },
  });
  // What this process's shm completion queue spent polling with nothing found (the think-time
  // table reports it): the worker holds only this transport's connections.
  const { PROVIDERS } = require(path.join(ROOT, 'dist', 'providers', 'index.js'));
  const shm = PROVIDERS.find((p) => p.name === 'shm');
  adapter.spinNs = () => {
    const provider = shm && shm.provider();
    if (!provider) return null;
    const stats = provider.stats(); // null until the first connection: nothing polled yet
    return stats ? stats.spinNs : 0;
  };
  return adapter;
}

module.exports = { definitions, createAdapter, POLL_MODES, PRESETS };
