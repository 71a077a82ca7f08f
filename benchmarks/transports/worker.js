'use strict';
/**
 * Generic benchmark worker: `node worker.js <server|client> <transport module> <options JSON>`.
 * The parent forks it twice per transport, with the same node flags, one per role.
 */
const { runWorker, errorPayload } = require('./worker-core');

const [role, modulePath, optionsJson] = process.argv.slice(2);

try {
  if (role !== 'server' && role !== 'client') throw new Error(`bad role ${role}`);
  const transport = require(modulePath);
  const adapter = transport.createAdapter(JSON.parse(optionsJson || '{}'));
  runWorker(role, adapter).catch(fail);
} catch (err) {
  fail(err);
}

function fail(err) {
  // Tell the parent why (it reports the transport unavailable), then go.
  if (process.send) process.send({ type: 'fatal', error: errorPayload(err) }, () => process.exit(1));
  else { console.error(err); process.exit(1); }
}
