'use strict';
/*
 * Compatibility suite: the same scenarios run against node:net and against via-net (dist/index.js),
 * with identical expectations. via-net is picked up automatically once dist/index.js exists and
 * exports createServer. With COMPAT_TRANSPORT=tcp|shm|..., the client-server scenarios also run
 * for via-net with `transport` forced in every TCP connect options object.
 *
 * Scenario modules live in test/compat/*.js (not *.test.js, so mocha's glob does not load them
 * directly); each exports { area, clientServer, define(ctx) }.
 * COMPAT_IMPL=node:net or COMPAT_IMPL=via-net runs one implementation only.
 *
 * node:net behaviour (Node 20) the facade must replicate - several are surprising:
 *  1. server.listen(port) with NO host binds synchronously: server.listening is true and
 *     server.address() returns { address: '::', family: 'IPv6', port } right after listen()
 *     returns (apps rely on `server.listen(0); server.address().port`). With a host (even an IP
 *     literal) it goes through a lookup: listening is false and address() null until 'listening'.
 *  2. A fresh `new Socket()` has readyState 'open' (readable && writable), pending true.
 *     After end(): 'readOnly'; after receiving the peer's FIN with allowHalfOpen: 'writeOnly';
 *     after 'close': 'closed' and pending true again.
 *  3. Write callbacks and the end() callback get `null` (not undefined); the end() callback runs
 *     BEFORE the 'finish' event. listen/connect callbacks get no arguments, `this` is the object.
 *  4. A listen/connect callback is a once-listener added at call time, so it runs before
 *     'listening'/'connect' listeners added after the call.
 *  5. Writing after end(): callback gets ERR_STREAM_WRITE_AFTER_END first, then 'error' is
 *     emitted ('write after end'). Writing after destroy(): only the callback gets
 *     ERR_STREAM_DESTROYED; NO 'error' event; write() returns false.
 *  6. net.connect({signal}) with an ALREADY aborted signal: 'error' (AbortError, ABORT_ERR,
 *     'The operation was aborted') and 'close' - then Node 20 revives the socket inside connect()
 *     (_undestroy) and connects anyway ('connect', 'ready'; or a second 'close' if refused). That
 *     is a Node bug: the suite asserts only the first two events; do not replicate the revival.
 *     new Socket({signal: aborted}) emits exactly ['error', 'close'].
 *     Sockets destroyed before they ever had a handle (never connected, pre-aborted) emit 'close'
 *     with NO hadError argument (undefined), not false.
 *  6b. Abort during/after connect: ['error', 'close'(true)] / ['connect', 'error', 'close'(true)];
 *     the peer of an aborted connection sees a clean 'end' (FIN, not RST).
 *  7. server.close() on a server that never listened still emits 'close', and the callback
 *     gets ERR_SERVER_NOT_RUNNING ('Server is not running.').
 *  8. EADDRINUSE is emitted as 'error' (syscall 'listen', address, port, message
 *     'listen EADDRINUSE: address already in use 127.0.0.1:<port>'); NO 'close' event follows.
 *  9. maxConnections: excess connections are accepted then closed; the server emits 'drop' with
 *     a null-prototype object {localAddress, localPort, localFamily, remoteAddress, remotePort,
 *     remoteFamily}; the dropped client sees 'connect', 'end', 'close'(false).
 *     maxConnections defaults to undefined.
 * 10. resetAndDestroy(): local socket emits only 'close'(false); the peer gets 'error'
 *     ECONNRESET (message 'read ECONNRESET', syscall 'read') then 'close'(true).
 *     resetAndDestroy() on a never-connected socket emits ERR_SOCKET_CLOSED ('Socket is closed').
 * 11. Port validation messages differ between connect ('Port should be ...') and listen
 *     ('options.port should be ...'); connect({port:true}) is ERR_INVALID_ARG_TYPE but
 *     listen({port:true}) is ERR_INVALID_ARG_VALUE. listen({port:0, backlog:'x'}) is accepted.
 * 12. Unix-socket connections report address() {} and undefined remoteAddress/remotePort/...;
 *     server.address() for a path server is the path string.
 * 13. A socket whose destroy() was never called but whose peer ended, with allowHalfOpen false,
 *     auto-ends: client events on server end are [..., 'end', 'finish', 'close'(false)].
 *     A server-side socket that is not read (no 'data' listener, not resumed) never sees 'end'.
 * 14. bytesWritten counts bytes queued before 'connect'; writableLength/bufferSize too.
 *     bytesRead/bytesWritten keep their values after 'close'.
 * 15. setTimeout(0, cb) removes cb; timeout property is undefined until setTimeout is called.
 * 16. net.Socket() and net.Server() work without `new`.
 * 17. A custom `lookup` option is called synchronously inside connect(); 'lookup' is emitted from
 *     its callback even on error (lookup(err), error, close(true)). Writes queued before connect
 *     complete (callbacks) after the 'connect' event, in order.
 * 18. server.close() with open connections: 'close' + callback fire on the tick after the last
 *     connection is destroyed - BEFORE that connection's own 'close' event.
 * 19. The 'connection' event and the client's 'connect' event are not ordered relative to each
 *     other; scenarios wait for both.
 * 20. net.connect() creates the Socket (and its handle) BEFORE validating options, so when it
 *     throws (ERR_SOCKET_BAD_PORT, ...) node leaves a handle open. The suite destroys such
 *     handles (harness.expectThrowTracked); via-net need not copy the leak, only the errors.
 *     Validation covers every option in the errors table, including `hints` (number) and
 *     `autoSelectFamilyAttemptTimeout`.
 * 21. net.createConnection === net.connect; net.Stream === net.Socket. connect(options) and
 *     listen(options) do not mutate the options object.
 * 22. listen() forms without a host bind '::' (dual stack): address() is
 *     { address: '::', family: 'IPv6', port }, and 127.0.0.1 clients reach it.
 */
const fs = require('node:fs');
const path = require('node:path');
const net = require('node:net');
const { makeHarness } = require('./support/compat-harness');

const MODULES = [
  'connect-forms', 'events', 'writes', 'destroy', 'flow', 'timeout', 'socket-options', 'ref-unref',
  'addresses', 'counters', 'state', 'half-open', 'abort', 'server-listen', 'server-close',
  'server-connections', 'server-errors', 'errors', 'instanceof', 'utilities', 'integrity', 'pipe',
  'async-iteration', 'onread', 'handle', 'native-handle', 'tls', 'surface',
].map((name) => ({ name, ...require(`./compat/${name}`) }));

const VIA_DIST = path.join(__dirname, '..', 'dist', 'index.js');

/** node:net always; via-net once dist/index.js exists and exports createServer. */
function implementations(only) {
  const list = [];
  if (!only || only === 'node:net') list.push({ name: 'node:net', impl: net, isVia: false, modulePath: 'node:net' });
  if ((!only || only === 'via-net') && fs.existsSync(VIA_DIST)) {
    let via;
    let loadError;
    try { via = require(VIA_DIST); } catch (e) { loadError = e; }
    if (loadError || (via && typeof via.createServer === 'function')) {
      list.push({ name: 'via-net', impl: via, isVia: true, modulePath: VIA_DIST, loadError });
    }
  }
  return list;
}

function defineSuite(entry, { clientOpts = {}, onlyClientServer = false, label = entry.name } = {}) {
  return describe(label, function () {
    this.timeout(5000); // node:net needs < 300 ms for any scenario; fail fast otherwise
    if (entry.loadError) {
      it('loads', () => { throw entry.loadError; });
      return;
    }
    const h = makeHarness(entry.impl, clientOpts);
    let baseline;
    before(() => { baseline = netHandleCount(); });
    const ctx = { impl: entry.impl, net, h, isVia: entry.isVia, name: entry.name, modulePath: entry.modulePath, clientOpts };
    afterEach(() => h.cleanup());
    for (const mod of MODULES) {
      if (onlyClientServer && !mod.clientServer) continue;
      describe(mod.area, () => mod.define(ctx));
    }
    after(async function () {
      if (h.leaks.length) throw new Error(`cleanup timed out waiting for 'close' on: ${h.leaks.join(', ')}`);
      // Handles close asynchronously after 'close'; give libuv one turn before counting.
      await new Promise((resolve) => setImmediate(resolve));
      const now = netHandleCount();
      if (now > baseline) {
        const desc = openNetHandles().map((o) => `${o.constructor.name}(${o.remotePort || o.address?.()?.port || ''})`);
        throw new Error(`leaked socket/server handles: ${now - baseline}: ${desc.join(', ')}`);
      }
    });
  });
}

/** Open socket/server handles in this process, not counting stdio (created lazily by mocha). */
function openNetHandles() {
  const stdio = new Set([process.stdin, process.stdout, process.stderr]);
  return process._getActiveHandles().filter((o) => !stdio.has(o) && (o instanceof net.Socket || o instanceof net.Server));
}
function netHandleCount() { return openNetHandles().length; }

function countTests(suite) {
  return suite.tests.length + suite.suites.reduce((n, s) => n + countTests(s), 0);
}

// COMPAT_IMPL=node:net (or via-net) restricts the run to one implementation.
const only = process.env.COMPAT_IMPL;
for (const entry of implementations(only)) {
  const suite = defineSuite(entry);
  const areas = suite.suites.map((s) => `${s.title} ${countTests(s)}`).join(', ');
  // eslint-disable-next-line no-console
  console.log(`compat: ${countTests(suite)} scenarios for ${entry.name} (${areas})`);
  const transport = process.env.COMPAT_TRANSPORT;
  if (entry.isVia && transport) {
    const forced = defineSuite(entry, { clientOpts: { transport }, onlyClientServer: true, label: `via-net [transport=${transport}]` });
    // eslint-disable-next-line no-console
    console.log(`compat: ${countTests(forced)} client-server scenarios for via-net with transport=${transport}`);
  }
}
