'use strict';
// Shared helpers for the facade tests (not a test file itself: mocha only runs *.test.js).
const crypto = require('crypto');
const viaNet = require('../../dist');
const { PROVIDERS } = require('../../dist/providers');
const { memoryProviderEntry } = require('../../dist/providers/memory');

// The in-process memory provider is not in the production provider table: the facade tests add
// it, so `transport: 'memory'` works here (and only here). 'auto' does not try it.
if (!PROVIDERS.includes(memoryProviderEntry)) PROVIDERS.push(memoryProviderEntry);

/** Resolve with close's hadError whenever 'close' comes (attach early: 'close' may precede any await). */
function closeOf(socket, ms = 20000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for 'close'`)), ms);
    socket.once('close', (hadError) => {
      clearTimeout(timer);
      resolve(hadError);
    });
  });
}

/** Resolve on `event`, reject on 'error' (unless event is 'error'), bounded by `ms`. */
function once(emitter, event, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${ms} ms waiting for '${event}'`));
    }, ms);
    const onEvent = (...args) => {
      cleanup();
      resolve(args);
    };
    const onError = (err) => {
      cleanup();
      reject(err);
    };
    function cleanup() {
      clearTimeout(timer);
      emitter.removeListener(event, onEvent);
      if (event !== 'error') emitter.removeListener('error', onError);
    }
    emitter.once(event, onEvent);
    if (event !== 'error') emitter.once('error', onError);
  });
}

function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

/** All bytes a socket delivers until 'end'. */
function collect(socket, ms = 30000) {
  const chunks = [];
  socket.on('data', (c) => chunks.push(c));
  return once(socket, 'end', ms).then(() => Buffer.concat(chunks));
}

/** Listen a via-net server (transport option as given) on 127.0.0.1:0. */
async function listen(options = {}, onConnection, host = '127.0.0.1') {
  const server = viaNet.createServer(options, onConnection);
  server.listen(0, host);
  await once(server, 'listening');
  return server;
}

/**
 * A connected pair: { server, client, accepted } where accepted is the server-side socket.
 * `transport` is forced on both ends ('tcp' or a provider name).
 */
async function connectedPair(transport, serverOptions = {}, clientOptions = {}) {
  const server = await listen({ transport, ...serverOptions });
  const acceptedP = once(server, 'connection');
  const client = viaNet.connect({ port: server.address().port, host: '127.0.0.1', transport, ...clientOptions });
  const clientClosed = closeOf(client);
  await once(client, 'connect');
  const [accepted] = await acceptedP;
  return { server, client, accepted, clientClosed, acceptedClosed: closeOf(accepted) };
}

function closeServer(server) {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

/**
 * Run `fn` with 'auto' trying only `names` (e.g. ['memory']), in that order, instead of the
 * production providers: the provider table is swapped for the duration and then restored.
 */
async function withAutoProviders(names, fn) {
  const saved = PROVIDERS.slice();
  const byName = (n) => saved.find((e) => e.name === n);
  const chosen = names.map((n) => ({ ...byName(n), auto: true }));
  const rest = saved.filter((e) => !names.includes(e.name)).map((e) => ({ ...e, auto: false }));
  PROVIDERS.splice(0, PROVIDERS.length, ...chosen, ...rest);
  try {
    return await fn();
  } finally {
    PROVIDERS.splice(0, PROVIDERS.length, ...saved);
  }
}

/** For a mocha before() hook: skips the suite, saying why, when the shm addon cannot load. */
function skipWithoutShm(ctx) {
  const reason = require('../../dist/providers/shm').shmUnavailableReason();
  if (!reason) return;
  console.log(`      skipped: the native addon is unavailable (${reason})`);
  ctx.skip();
}

module.exports = { skipWithoutShm, viaNet, once, closeOf, sha256, collect, listen, connectedPair, closeServer, withAutoProviders };
