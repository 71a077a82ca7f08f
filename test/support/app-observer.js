'use strict';
/**
 * Test-only preload, loaded after via-net/register (`-r register.js -r app-observer.js`): records, for
 * every connection this process opens or accepts, which transport carries it, without touching the
 * app or its libraries. One JSON line per connection is appended to $VIA_OBSERVE_FILE:
 *   { pid, role: 'client' | 'server', transport: 'shm' | 'tcp' | null, registered, localPort, remotePort }
 * (registered: via-net/register is active in that process).
 * transport is null for sockets that do not know via-net (register inactive, plain node:net).
 * Wraps whatever net.Socket / net.Server are at load time: via-net's when register patched them.
 */
const fs = require('fs');
const net = require('net');

const file = process.env.VIA_OBSERVE_FILE;
if (file) {
  const record = (role, socket) => {
    const line = {
      pid: process.pid,
      role,
      transport: socket.transport === undefined ? null : socket.transport,
      registered: Boolean(globalThis[Symbol.for('via-net.register')]?.active),
      localPort: socket.localPort,
      remotePort: socket.remotePort,
    };
    fs.appendFileSync(file, JSON.stringify(line) + '\n');
  };

  const socketProto = net.Socket.prototype;
  const connect = socketProto.connect;
  socketProto.connect = function observedConnect(...args) {
    this.once('connect', () => record('client', this));
    return connect.apply(this, args);
  };

  const serverProto = net.Server.prototype;
  const emit = serverProto.emit;
  serverProto.emit = function observedEmit(event, ...args) {
    const result = emit.call(this, event, ...args);
    if (event === 'connection') record('server', args[0]);
    return result;
  };
}
