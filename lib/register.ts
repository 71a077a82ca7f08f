/**
 * via-net/register: preload (`node -r via-net/register app.js`, `NODE_OPTIONS=--require ...`,
 * `--import via-net/register`) that makes every net server and client of an unmodified app use
 * via-net wherever a user-level path exists.
 *
 * How node reaches `net` (v20): node's own modules get the very same `net` exports object as user
 * code and read its properties at call time (http.Agent -> net.createConnection, _http_server ->
 * net.Server.call(this), tls.Server -> net.Server.call(this), TLSSocket -> net.Socket.call(this),
 * undici -> net.connect). Their *prototype chains*, though, are fixed when they load
 * (http.Server.prototype -> net.Server.prototype). So we
 *   1. replace net's exports (Socket, Stream, Server, createServer, connect, createConnection) with
 *      functions that build via-net objects, and that also initialise in place when a subclass
 *      calls them as `net.X.call(this)` (node's legacy-constructor pattern);
 *   2. re-parent the server classes that were built on net.Server (http, https via tls, tls) onto
 *      via-net's Server.prototype, so their listen/close register and drop the shm rendezvous;
 *   3. keep what is faster on TCP there (see tlsH2PathFromEnv and makeAgentConnect): tls.connect
 *      and http2.connect stay on node's own TCP handle unless VIA_NET_TLS_H2 says otherwise (tls:
 *      TLS clients such as https.Agent and undici run over a via-net socket, whose native stream
 *      handle node's TLS wraps; auto: cleartext HTTP/2 too); an http.Agent without keep-alive
 *      (one connection per request) stays on TCP;
 *   4. install a global undici dispatcher whose connector returns via-net sockets, for `fetch`.
 * via-net's own modules must keep seeing the original `net` (they extend and call it), so their
 * `require('net')` is answered with a snapshot taken before patching.
 *
 * VIA_NET_TRANSPORT=tcp: nothing at all is patched.
 */
import Module = require('module');
import path = require('path');
import net = require('net');
import { logger } from './log';
import type * as Facade from './index';

const debug = logger('via-net:register');


const kRegistered = Symbol.for('via-net.register');
const kUndiciDispatcher = Symbol.for('undici.globalDispatcher.1');

/** What register did in this process; also readable by tools through globalThis[Symbol.for('via-net.register')]. */
export interface RegisterReport {
  active: boolean;
  reason: string;
  patched: string[];
}

const pristineNet: typeof net = { ...net };
const originalSocket = net.Socket as any;
const originalServer = net.Server as any;
const originalCreateConnection = net.createConnection;

/** Answer `require('net')` from via-net's own files (not this one) with the pre-patch snapshot. */
function shieldFacadeFromPatch(): void {
  const distDir = __dirname + path.sep;
  const self = __filename;
  const mod = Module as any;
  const load = mod._load;
  mod._load = function viaNetLoad(request: string, parent: any, isMain: boolean) {
    if ((request === 'net' || request === 'node:net') && parent && typeof parent.filename === 'string'
      && parent.filename.startsWith(distDir) && parent.filename !== self) {
      return pristineNet;
    }
    return load.call(this, request, parent, isMain);
  };
}

/** Point a server class that was built on the original net.Server at via-net's Server instead. */
function reparentServerClass(name: string, cls: any, viaServerProto: object, patched: string[]): void {
  if (cls && Object.getPrototypeOf(cls.prototype) === originalServer.prototype) {
    Object.setPrototypeOf(cls.prototype, viaServerProto);
    patched.push(`${name}.prototype`);
  } else if (cls && Object.getPrototypeOf(cls.prototype) === viaServerProto) {
    patched.push(`${name} (loaded after the patch)`);
  }
}

/**
 * How connections made through node's own tls.connect and http2.connect travel (VIA_NET_TLS_H2):
 *  - 'tcp' (the default): both on node's kernel handle, as without via-net. Over shm, node's TLS
 *    wraps the socket's own native stream handle (stream-handle.ts), and small requests win big
 *    (https-agent-1: 2.0-3.2x node:net in benchmarks/apps), but bulk TLS loses: 256 MB over TLS
 *    ran at 542-607 MB/s against 763-811 MB/s over TCP (0.71-0.79x), and HTTP/2 over TLS with
 *    one 64 MB response at 0.69-1.21x. Via-net is never slower than net, so TLS stays on TCP.
 *  - 'tls': TLS (https.Agent, fetch over https, tls.connect, HTTP/2 over TLS) on the path any
 *    connection would take, cleartext HTTP/2 on node's kernel handle: for request/response
 *    traffic with small bodies.
 *  - 'auto': both on via-net's path. Cleartext HTTP/2 then runs through node's JS stream adapter
 *    (JSStreamSocket): node's http2 takes a handle only if it is a native StreamBase.
 */
type TlsH2Path = 'tls' | 'tcp' | 'auto';

function tlsH2PathFromEnv(): TlsH2Path {
  const value = process.env.VIA_NET_TLS_H2;
  if (value === undefined || value === '' || value === 'tcp') return 'tcp';
  if (value === 'tls' || value === 'auto') return value;
  debug('VIA_NET_TLS_H2=%s is none of tcp, tls, auto: using tcp', value);
  return 'tcp';
}

/**
 * True when the patched net.connect was called by node's http2.connect (seen on the stack, so it
 * works for every way of loading http2, CommonJS and ESM alike). Only connects whose options
 * carry a string port are looked at: http2 always passes `'' + port`, and capturing a stack,
 * even one frame deep, costs a few µs.
 */
function calledByHttp2(options: unknown, connectFn: (...args: any[]) => any): boolean {
  if (typeof options !== 'object' || options === null || typeof (options as { port?: unknown }).port !== 'string') return false;
  const limit = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  try {
    Error.stackTraceLimit = 1;
    Error.prepareStackTrace = (_err, frames) => frames;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder, connectFn);
    const caller = holder.stack?.[0];
    return caller?.getFileName() === 'node:internal/http2/core';
  } catch {
    return false; // e.g. frozen intrinsics: then http2 takes via-net's path like any connection
  } finally {
    try {
      Error.stackTraceLimit = limit;
      Error.prepareStackTrace = prepare;
    } catch {
      // Nothing was changed if these cannot be assigned.
    }
  }
}

/** net.connect: node's http2 gets a TCP connection (see TlsH2Path); everything else via-net's choice. */
function makeConnect(facade: typeof Facade, tlsH2: TlsH2Path): typeof net.connect {
  if (tlsH2 === 'auto') return facade.connect;
  function connect(this: unknown, ...args: any[]): any {
    const options = args[0];
    if (calledByHttp2(options, connect) && options.transport === undefined) {
      debug('http2.connect: TCP, for node\'s native HTTP/2 (VIA_NET_TLS_H2)');
      options.transport = 'tcp'; // http2 builds a fresh options object for each connect
    }
    return (facade.connect as (...a: any[]) => any).apply(this, args);
  }
  return connect as typeof net.connect;
}

/**
 * http.Agent's connections. An agent without keep-alive (`agent: false`, `new Agent()`) opens a
 * connection per request and closes it after the response: its time goes to setting connections
 * up, which costs more on shm than over TCP today (benchmarks/apps, http-new-conn: 0.47-0.66x
 * node:net), so those stay on TCP. Keep-alive agents, which reuse their connections, take
 * via-net's path.
 */
function makeAgentConnect(facade: typeof Facade, agentConnect: (...args: any[]) => any): (this: { keepAlive?: boolean }, ...args: any[]) => net.Socket {
  // Node's own method (newer lines: proxy support) calls net.createConnection at call time, which
  // is ours; older lines copied net.createConnection itself, which must become via-net's.
  const delegate = agentConnect === originalCreateConnection ? facade.connect : agentConnect;
  return function createConnection(this: { keepAlive?: boolean }, ...args: any[]): net.Socket {
    const options = args[0];
    // The agent builds a fresh options object for every connection: set the transport on it
    // rather than copying its twenty-odd keys (a copy cost ~7 µs a connection).
    if (!this.keepAlive && options !== null && typeof options === 'object' && options.transport === undefined) {
      options.transport = 'tcp';
    }
    return delegate.apply(this, args);
  };
}

/** tls.connect without a `socket` runs TLS over a fresh via-net connection instead of its own TCP handle. */
function wrapTlsConnect(tls: any, facade: typeof Facade, patched: string[]): void {
  const original = tls.connect;
  function connect(this: unknown, ...args: any[]): any {
    // tls's own argument normalisation: net's, plus the tls options object of the (port, host, options) forms.
    const normalized = (pristineNet as any)._normalizeArgs(args);
    const options = normalized[0];
    const cb = normalized[1] ?? undefined;
    if (args[1] !== null && typeof args[1] === 'object') Object.assign(options, args[1]);
    else if (args[2] !== null && typeof args[2] === 'object') Object.assign(options, args[2]);
    if (options.socket || options.path) return original.apply(this, args);
    const host = options.host ?? 'localhost';
    const port = options.port;
    const socketOptions: any = { host, port };
    for (const key of ['localAddress', 'localPort', 'family', 'lookup', 'autoSelectFamily', 'noDelay', 'keepAlive', 'keepAliveInitialDelay']) {
      if (options[key] !== undefined) socketOptions[key] = options[key];
    }
    const raw = facade.connect(socketOptions);
    const tlsSocket = original.call(this, { ...options, socket: raw, host }, cb);
    // Errors of the carrier (e.g. ECONNREFUSED) surface on the TLS socket, as with tls.connect's own handle.
    raw.on('error', (err: Error) => tlsSocket.destroy(err));
    return tlsSocket;
  }
  tls.connect = connect;
  patched.push('tls.connect');
}

/**
 * A TLSSocket keeps node's own net.Socket behaviour whatever the load order (it always has a
 * TLSWrap handle), and reports the transport of the connection it encrypts. (TLS over a
 * user-level socket needs nothing here: its `_handle` makes node's TLS treat it as connected,
 * and user-handle.ts keeps TLS from wrapping that handle natively.)
 */
function keepTlsSocketOnNodeSocket(tls: any, patched: string[]): void {
  const proto = tls.TLSSocket.prototype;
  if (Object.getPrototypeOf(proto) !== originalSocket.prototype) Object.setPrototypeOf(proto, originalSocket.prototype);
  Object.defineProperty(proto, 'transport', {
    configurable: true,
    get(this: any) {
      return this._parent && this._parent.transport !== undefined ? this._parent.transport : 'tcp';
    },
  });
  patched.push('tls.TLSSocket.prototype.transport');
}

/** undici's connector contract, over via-net sockets (https: TLS over via-net through the wrapped tls.connect). */
function makeUndiciConnector(buildConnector: any, facade: typeof Facade): (opts: any, cb: (err: Error | null, socket?: any) => void) => any {
  const tlsConnector = buildConnector({});
  return function viaNetConnect(opts: any, callback: (err: Error | null, socket?: any) => void): any {
    if (opts.protocol === 'https:') return tlsConnector(opts, callback);
    let cb: typeof callback | null = callback;
    const hostname = String(opts.hostname).replace(/^\[(.*)\]$/, '$1');
    const socket = facade.connect({ host: hostname, port: Number(opts.port) || 80, localAddress: opts.localAddress ?? undefined, highWaterMark: 64 * 1024 } as any);
    socket.setKeepAlive(true, 60e3);
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      const err: any = new Error(`Connect Timeout Error (attempted address: ${hostname}:${opts.port}, timeout: 10000ms)`);
      err.code = 'UND_ERR_CONNECT_TIMEOUT';
      socket.destroy(err);
    }, 10e3);
    timer.unref();
    socket.once('connect', () => {
      clearTimeout(timer);
      if (cb) { const f = cb; cb = null; f(null, socket); }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      if (cb) { const f = cb; cb = null; f(err); }
    });
    return socket;
  };
}

/** fetch's dispatcher, created only when fetch first asks for it (loading undici costs startup time). */
function installGlobalDispatcher(facade: typeof Facade, patched: string[]): void {
  const g = globalThis as any;
  if (Object.getOwnPropertyDescriptor(g, kUndiciDispatcher)) {
    debug('a global undici dispatcher is already set: fetch keeps it');
    return;
  }
  Object.defineProperty(g, kUndiciDispatcher, {
    configurable: true,
    enumerable: false,
    get() {
      // undici's parts, not its index: the index reads this very property while it loads.
      const Agent = require('undici/lib/dispatcher/agent');
      const buildConnector = require('undici/lib/core/connect');
      const agent = new Agent({ connect: makeUndiciConnector(buildConnector, facade) });
      Object.defineProperty(g, kUndiciDispatcher, { value: agent, writable: true, configurable: true, enumerable: false });
      debug('created the global undici dispatcher (fetch over via-net)');
      return agent;
    },
    set(value: unknown) {
      Object.defineProperty(g, kUndiciDispatcher, { value, writable: true, configurable: true, enumerable: false });
    },
  });
  patched.push('fetch (global undici dispatcher)');
}

function register(): RegisterReport {
  const previous = (globalThis as any)[kRegistered] as RegisterReport | undefined;
  if (previous) return previous;

  const env = process.env.VIA_NET_TRANSPORT;
  if (env === 'tcp') {
    const report = { active: false, reason: 'VIA_NET_TRANSPORT=tcp', patched: [] };
    (globalThis as any)[kRegistered] = report;
    debug('VIA_NET_TRANSPORT=tcp: nothing patched');
    return report;
  }
  const { internalsProblem } = require('./node-internals') as typeof import('./node-internals');
  if (internalsProblem) {
    // The facade would be node:net itself (index.ts): nothing to patch, and say why.
    const report = { active: false, reason: internalsProblem, patched: [] };
    (globalThis as any)[kRegistered] = report;
    debug('not patching: %s', report.reason);
    return report;
  }
  const facadePath = path.join(__dirname, 'index.js');
  if (require.cache[facadePath]) {
    // Its modules already hold live bindings to `net`: patching now would make them call themselves.
    const report = { active: false, reason: 'via-net was loaded before via-net/register', patched: [] };
    (globalThis as any)[kRegistered] = report;
    debug('not patching: %s', report.reason);
    return report;
  }

  shieldFacadeFromPatch();
  let facade: typeof Facade;
  try {
    facade = require('./index');
  } catch (err) {
    // A preload must never take the app down: without via-net it runs on node:net as usual.
    const report = { active: false, reason: `cannot load via-net: ${(err as Error).message}`, patched: [] };
    (globalThis as any)[kRegistered] = report;
    debug('not patching: %s', report.reason);
    return report;
  }

  const patched: string[] = [];
  const netAny = net as any;
  // The facade's constructors already behave like node's (lib/constructors.ts), including
  // `net.Socket.call(this)` from classes built on the original (tty, TLSSocket).
  const Socket = facade.Socket as any;
  const Server = facade.Server as any;
  netAny.Socket = Socket;
  netAny.Stream = Socket;
  netAny.Server = Server;
  netAny.createServer = function createServer(options?: any, connectionListener?: any) {
    return new Server(options, connectionListener);
  };
  const tlsH2 = tlsH2PathFromEnv();
  const connect = makeConnect(facade, tlsH2);
  netAny.connect = connect;
  netAny.createConnection = connect;
  patched.push('net.Socket', 'net.Stream', 'net.Server', 'net.createServer', 'net.connect', 'net.createConnection');

  // Loaded here (cheap, and usually already loaded by node itself) so their classes can be re-parented.
  const http = require('http');
  const tls = require('tls');
  reparentServerClass('http.Server', http.Server, facade.Server.prototype, patched);
  reparentServerClass('tls.Server', tls.Server, facade.Server.prototype, patched); // https.Server extends tls.Server
  // Older lines' _http_agent copies net.createConnection onto Agent.prototype when it loads
  // (before the patch, or after it when it loads only now); newer lines define a method that
  // calls it. Either way agents without keep-alive get TCP (makeAgentConnect).
  if (typeof http.Agent.prototype.createConnection === 'function') {
    http.Agent.prototype.createConnection = makeAgentConnect(facade, http.Agent.prototype.createConnection);
    patched.push('http.Agent.prototype.createConnection');
  }
  if (tlsH2 !== 'tcp') wrapTlsConnect(tls, facade, patched);
  else debug('tls.connect and http2.connect stay on TCP (VIA_NET_TLS_H2=tcp)');
  keepTlsSocketOnNodeSocket(tls, patched);
  installGlobalDispatcher(facade, patched);

  // ESM named imports of node:net (`import { createServer } from 'node:net'`) follow the patch too.
  (Module as any).syncBuiltinESMExports();

  const report: RegisterReport = { active: true, reason: 'patched', patched };
  (globalThis as any)[kRegistered] = report;
  debug('patched %s', patched.join(', '));
  return report;
}

export const report: RegisterReport = register();
