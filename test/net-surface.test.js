'use strict';
// The audit of node:net's documented surface (Node 20, 22, 24): every export, method, property,
// event and option, with the compat scenario module (test/compat/<name>.js, run against node:net
// and via-net) that shows via-net behaves the same, or the README "Differences" entry that says
// why it does not. The test holds the audit to the running Node: each public member it has must
// be listed, each listed scenario module must exist and name the member, and each difference
// must be in the README.
const fs = require('node:fs');
const path = require('node:path');
const net = require('node:net');
const { expect } = require('chai');

const ROOT = path.join(__dirname, '..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const DIFFERENCES = README.slice(README.indexOf('### Differences from `net`'), README.indexOf('## Benchmarks'));

/** name -> 'module' (a compat scenario) or { difference: 'text in README Differences' } [, how the module names it]. */
const EXPORTS = {
  Socket: 'instanceof', Stream: ['instanceof', '.Stream'], Server: 'instanceof', connect: 'connect-forms', createConnection: 'connect-forms',
  createServer: 'server-listen', isIP: 'utilities', isIPv4: 'utilities', isIPv6: 'utilities', BlockList: 'utilities',
  SocketAddress: 'utilities', getDefaultAutoSelectFamily: 'utilities', setDefaultAutoSelectFamily: 'utilities',
  getDefaultAutoSelectFamilyAttemptTimeout: 'utilities', setDefaultAutoSelectFamilyAttemptTimeout: 'utilities',
  BoundSocket: { difference: '`net.BoundSocket`' },
};
const SOCKET = {
  address: 'addresses', bufferSize: 'counters', bytesRead: 'counters', bytesWritten: 'counters', connect: 'connect-forms',
  destroySoon: 'destroy', end: 'writes', localAddress: 'addresses', localFamily: 'addresses', localPort: 'addresses',
  pause: 'flow', pending: 'state', read: ['flow', '.read('], readyState: 'state', ref: 'ref-unref', remoteAddress: 'addresses',
  remoteFamily: 'addresses', remotePort: 'addresses', resetAndDestroy: 'destroy', resume: 'flow', setKeepAlive: 'socket-options',
  setNoDelay: 'socket-options', setTimeout: 'timeout', unref: 'ref-unref', setTypeOfService: 'surface', getTypeOfService: 'surface',
  // Inherited from stream.Duplex / EventEmitter, named in the docs of net.Socket.
  write: 'writes', destroy: 'destroy', setEncoding: 'flow', destroyed: 'state', connecting: 'state', timeout: 'timeout',
  autoSelectFamilyAttemptedAddresses: { difference: '`autoSelectFamilyAttemptedAddresses`' },
  _handle: 'handle',
};
const SERVER = {
  address: 'server-listen', close: 'server-close', getConnections: 'server-connections', listen: 'server-listen',
  listening: 'state', ref: 'ref-unref', unref: 'ref-unref', maxConnections: 'server-connections',
};
const SYMBOLS = { 'Server [Symbol.asyncDispose]': ['surface', 'Symbol.asyncDispose'] };
const EVENTS = {
  socket: {
    close: 'events', connect: 'events', connectionAttempt: 'surface', connectionAttemptFailed: 'surface',
    connectionAttemptTimeout: { difference: "`'connectionAttemptTimeout'`" }, data: 'events', drain: 'counters', end: 'events',
    error: 'errors', lookup: 'events', ready: 'events', timeout: 'timeout',
  },
  server: { close: 'server-close', connection: 'server-connections', error: 'server-errors', listening: 'server-listen', drop: 'server-connections' },
};
const OPTIONS = {
  'new Socket()': {
    fd: 'errors', allowHalfOpen: 'half-open', readable: { difference: '`readable` and `writable`' }, writable: { difference: '`readable` and `writable`' },
    signal: 'abort', onread: 'onread', blockList: 'surface', noDelay: 'socket-options', keepAlive: 'socket-options',
    keepAliveInitialDelay: 'socket-options',
  },
  'socket.connect()': {
    port: 'connect-forms', host: 'connect-forms', localAddress: 'addresses', localPort: 'addresses', family: 'connect-forms',
    hints: 'errors', lookup: 'events', noDelay: 'socket-options', keepAlive: 'socket-options', keepAliveInitialDelay: 'socket-options',
    autoSelectFamily: 'surface', autoSelectFamilyAttemptTimeout: 'surface', path: 'addresses', timeout: 'timeout', onread: 'onread',
    signal: 'abort',
  },
  'createServer()': {
    allowHalfOpen: 'half-open', highWaterMark: 'pipe', keepAlive: 'socket-options', keepAliveInitialDelay: 'socket-options',
    noDelay: 'socket-options', pauseOnConnect: 'flow', blockList: 'surface',
  },
  'server.listen()': {
    port: 'server-listen', host: 'server-listen', path: 'server-listen', backlog: 'server-listen', exclusive: 'server-listen',
    readableAll: 'surface', writableAll: 'surface', ipv6Only: 'server-listen', reusePort: 'surface', signal: 'abort',
    handle: { difference: '`listen(handle)`' },
  },
};

const compatText = new Map();
function moduleText(name) {
  if (!compatText.has(name)) {
    const file = path.join(__dirname, 'compat', `${name}.js`);
    compatText.set(name, fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null);
  }
  return compatText.get(name);
}

/** Checks one audit row: its scenario module exists and names it, or its difference is documented. */
function checkRow(where, member, entry) {
  if (entry && typeof entry === 'object' && !Array.isArray(entry)) {
    expect(DIFFERENCES, `${where} ${member}: README Differences must mention ${entry.difference}`).to.include(entry.difference);
    return;
  }
  const [mod, needle = member] = Array.isArray(entry) ? entry : [entry];
  const text = moduleText(mod);
  expect(text, `${where} ${member}: test/compat/${mod}.js is missing`).to.be.a('string');
  expect(text.includes(needle), `${where} ${member}: test/compat/${mod}.js does not exercise '${needle}'`).to.equal(true);
}

function publicNames(obj) {
  return Object.getOwnPropertyNames(obj).filter((n) => !n.startsWith('_') && n !== 'constructor');
}

describe(`node:net's documented surface is audited (node ${process.version})`, () => {
  const compatModules = fs.readFileSync(path.join(__dirname, 'compat.test.js'), 'utf8');

  it("lists every public export, Socket and Server member this Node has", () => {
    const unlisted = [
      ...publicNames(net).filter((n) => !(n in EXPORTS)).map((n) => `net.${n}`),
      ...publicNames(net.Socket.prototype).filter((n) => !(n in SOCKET)).map((n) => `net.Socket#${n}`),
      ...publicNames(net.Server.prototype).filter((n) => !(n in SERVER)).map((n) => `net.Server#${n}`),
    ];
    expect(unlisted, 'add each to the audit (a compat scenario or a README difference)').to.deep.equal([]);
  });

  for (const [title, table] of [['net', EXPORTS], ['net.Socket', SOCKET], ['net.Server', SERVER], ['symbols', SYMBOLS],
    ['socket events', EVENTS.socket], ['server events', EVENTS.server],
    ...Object.entries(OPTIONS).map(([k, v]) => [`${k} options`, v])]) {
    it(`${title}: each has a scenario run against both, or a documented difference`, () => {
      for (const [member, entry] of Object.entries(table)) {
        checkRow(title, member, entry);
        const mod = typeof entry === 'string' ? entry : Array.isArray(entry) ? entry[0] : null;
        if (mod) expect(compatModules, `test/compat/${mod}.js must be in compat.test.js MODULES`).to.include(`'${mod}'`);
      }
    });
  }
});
