'use strict';
/**
 * The raw VI binding with no SOVIA layer on top (benchmarks/transports/raw-vi-socket.js): the
 * ceiling via-net is measured against, so the gap between a via-shm row and this one is what the
 * SOVIA engine and the facade cost over the raw VI.
 * One entry per poll mode, so polling and event-mode figures come from the same run.
 */
const fs = require('node:fs');
const path = require('node:path');
const { RawViSocket } = require('./raw-vi-socket');

const ROOT = path.resolve(__dirname, '..', '..');
const SHM = path.join(ROOT, 'dist', 'providers', 'shm.js');
const SPIN_MICROS = 50;

function unavailableReason() {
  if (!fs.existsSync(SHM)) return `${path.relative(ROOT, SHM)} is missing (run npm run build:ts)`;
  return require(SHM).shmUnavailableReason();
}

function definitions() {
  return ['busy', 'adaptive', 'event'].map((pollMode) => ({
    name: pollMode === 'adaptive' ? 'raw-vi' : `raw-vi-${pollMode}`,
    description: `raw shm VI binding, no SOVIA (ceiling), poll mode ${pollMode}`,
    module: __filename,
    options: { pollMode },
    unavailableReason,
  }));
}

function createAdapter({ pollMode }) {
  const provider = require(SHM).shmProvider();
  if (!provider) throw new Error(`shm provider unavailable: ${unavailableReason()}`);
  const slot = provider.attrs.maxTransferSize;
  const wrap = (vi) => {
    vi.setPollMode(pollMode, SPIN_MICROS);
    return new RawViSocket(vi, slot);
  };
  return {
    /** What the completion queue spent polling with nothing found, in ns (the think-time table). */
    spinNs: () => provider.stats()?.spinNs ?? 0,
    async listen(onConnection) {
      const name = `bench-raw-${process.pid}`;
      const listener = provider.listen(name, {}, (incoming) => {
        onConnection(wrap(incoming.accept({ recvDepth: RawViSocket.DEPTH, payload: Buffer.alloc(0) })));
      });
      return { address: { name }, close: async () => listener.close() };
    },
    connect({ name }) {
      return new Promise((resolve, reject) => {
        provider.connect(name, { recvDepth: RawViSocket.DEPTH, payload: Buffer.alloc(0) }, (err, vi) =>
          err ? reject(err) : resolve(wrap(vi)),
        );
      });
    },
  };
}

module.exports = { definitions, createAdapter };
