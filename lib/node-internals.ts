/**
 * Every private member of node's net that via-net relies on, resolved once and checked at load.
 *
 * The facade keeps node's own getters and stream code working on a socket with no handle by
 * maintaining the fields and symbols they read (bytesRead reads kBytesRead, timeouts live under
 * the 'timeout' symbol, ...), and it calls node's Duplex internals for the TCP path. None of that
 * is public API. If a Node release renames or drops one, `internalsProblem` says which, and the
 * user-level path is turned off (everything runs on node's own TCP) rather than misbehaving:
 * see transport/providers.ts, `via-net doctor` and the register report.
 */
import * as net from 'net';

type AnyFunction = (...args: any[]) => any;

/** Private symbols of a net.Socket, found by their description on a probe socket. */
function socketSymbol(probe: net.Socket, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(probe).find((s) => s.description === description);
}

const probeSocket = new net.Socket();
const probeServer = new net.Server();
const socketProto = net.Socket.prototype as unknown as Record<string, unknown>;
const serverProto = net.Server.prototype as unknown as Record<string, unknown>;
const netModule = net as unknown as Record<string, unknown>;

const missing: string[] = [];

function fn(owner: Record<string, unknown>, name: string, where: string): AnyFunction {
  const value = owner[name];
  if (typeof value === 'function') return value as AnyFunction;
  missing.push(`${where}.${name}`);
  return () => {
    throw new Error(`via-net: node's ${where}.${name} is missing`);
  };
}

function sym(description: string): symbol {
  const s = socketSymbol(probeSocket, description);
  if (s) return s;
  missing.push(`net.Socket [${description}] symbol`);
  return Symbol(`via-net: missing ${description}`);
}

function field(owner: object, name: string, where: string): void {
  if (!(name in owner)) missing.push(`${where}.${name}`);
}

/**
 * The symbol net._normalizeArgs marks its result with (node's normalizedArgsSymbol), found on a
 * probe result; undefined if this node marks it otherwise.
 */
function normalizedArgsMark(normalize: AnyFunction): symbol | undefined {
  try {
    const probe = normalize([{}]) as unknown as Record<symbol, unknown>;
    return Object.getOwnPropertySymbols(probe).find((s) => probe[s] === true);
  } catch {
    return undefined;
  }
}

export const internals = {
  /** net._normalizeArgs: the (options, cb) node derives from connect()/listen() arguments. */
  normalizeArgs: fn(netModule, '_normalizeArgs', 'net') as (args: unknown[]) => any[],
  /** How connect() tells arguments node already normalized (see normalizedArgsMark). */
  normalizedArgs: undefined as symbol | undefined,
  /** Duplex internals of net.Socket, called for the TCP path and from our overrides. */
  socket: {
    read: fn(socketProto, '_read', 'net.Socket.prototype'),
    writeGeneric: fn(socketProto, '_writeGeneric', 'net.Socket.prototype'),
    final: fn(socketProto, '_final', 'net.Socket.prototype'),
    destroy: fn(socketProto, '_destroy', 'net.Socket.prototype'),
    getpeername: fn(socketProto, '_getpeername', 'net.Socket.prototype'),
    getsockname: fn(socketProto, '_getsockname', 'net.Socket.prototype'),
    undestroy: fn(socketProto, '_undestroy', 'net.Socket.prototype'),
    unrefTimer: fn(socketProto, '_unrefTimer', 'net.Socket.prototype'),
  },
  /** Where node's getters and timers keep their state on a socket without a handle. */
  kTimeout: sym('timeout'),
  kBytesRead: sym('kBytesRead'),
  kBytesWritten: sym('kBytesWritten'),
  kSetNoDelay: sym('kSetNoDelay'),
  /** Where net.Socket's `_handle` accessor keeps the handle (stream code reads it directly). */
  kHandle: sym('kHandle'),
  /** The socket's async id (what a TCPWrap's getAsyncId() returns). */
  kAsyncId: sym('async_id_symbol'),
  /** net.Server's drain check after a connection closes. */
  emitCloseIfDrained: fn(serverProto, '_emitCloseIfDrained', 'net.Server.prototype'),
  /** What child_process calls on a server whose socket it sends to another process. */
  setupWorker: fn(serverProto, '_setupWorker', 'net.Server.prototype'),
};

internals.normalizedArgs = normalizedArgsMark(internals.normalizeArgs);

// Plain fields node's code reads and writes and we maintain for handle-less sockets.
for (const name of ['_pendingData', '_pendingEncoding', '_parent', '_server', '_host', '_handle', '_sockname']) {
  field(probeSocket, name, 'net.Socket');
}
for (const name of ['_connections', '_unref', '_workers', '_usingWorkers']) field(probeServer, name, 'net.Server');
// via-net's Socket redefines `_handle` over the same symbol node's accessor uses.
if (typeof Object.getOwnPropertyDescriptor(net.Socket.prototype, '_handle')?.get !== 'function') {
  missing.push('net.Socket.prototype._handle accessor');
}
probeSocket.destroy();

/**
 * Null when every member is there; otherwise which are missing, for debug, doctor and register.
 */
export const internalsProblem: string | null = missing.length
  ? `node ${process.version} lacks net internals via-net needs (${missing.join(', ')}): user-level transports are off, TCP only`
  : null;
