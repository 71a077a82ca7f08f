/**
 * via-net: `require('via-net')` is a drop-in for `require('net')`.
 *
 * Exports the whole node:net surface (the facade classes, createServer/connect/createConnection,
 * and net's utilities unchanged), plus a few via-net extras (providerStatus, transports).
 */
import * as net from 'net';
import { initSocket, Socket as SocketClass, validateSocketOptions, ViaSocketOptions } from './socket';
import { initServer, Server as ServerClass, validateServerOptions, ViaServerOptions } from './server';
import { getProvider, unavailableReason } from './transport/providers';
import { internals, internalsProblem } from './node-internals';
import type { TransportName, TransportSetting } from './transport/setting';
import { PROVIDERS } from './providers';
import { nodeStyleConstructor } from './constructors';

const netAny = net as any;

/* The exported constructors behave like node's (lib/constructors.ts says why they are functions). */
type SocketCtor = typeof SocketClass & ((options?: ViaSocketOptions) => SocketClass);
type ServerCtor = typeof ServerClass & ((options?: ViaServerOptions | ((socket: net.Socket) => void), listener?: (socket: net.Socket) => void) => ServerClass);

const SocketFn = nodeStyleConstructor(SocketClass, net.Socket, (self, options) => {
  const setting = validateSocketOptions(options);
  (net.Socket as any).call(self, options);
  initSocket(self, options, setting);
});

const ServerFn = nodeStyleConstructor(ServerClass, net.Server, (self, options, connectionListener) => {
  const setting = validateServerOptions(options);
  (net.Server as any).call(self, options, connectionListener);
  initServer(self, options, setting);
});

/**
 * A Node without the net internals the facade needs gets node:net itself: every connection on
 * TCP, exactly as node behaves, and the reason in debug, `via-net doctor` and providerStatus().
 */
const tcpOnly = internalsProblem !== null;

export const Socket = (tcpOnly ? net.Socket : SocketFn) as unknown as SocketCtor;
export type Socket = SocketClass;
export const Server = (tcpOnly ? net.Server : ServerFn) as unknown as ServerCtor;
export type Server = ServerClass;
export type { ViaSocketOptions, ViaServerOptions, TransportName, TransportSetting };
export { ERR_VIA_TRANSPORT_UNAVAILABLE } from './errors';

/** Legacy alias, as in node:net. */
export const Stream = Socket;

export function createServer(
  options?: ViaServerOptions | ((socket: net.Socket) => void),
  connectionListener?: (socket: net.Socket) => void,
): ServerClass {
  if (tcpOnly) return net.createServer(options as net.ServerOpts, connectionListener) as ServerClass;
  return new ServerClass(options, connectionListener);
}

/** Same steps as node's net.connect, with via-net's Socket. */
export function connect(...args: any[]): SocketClass {
  if (tcpOnly) return (net.connect as (...a: any[]) => SocketClass)(...args);
  const normalized = internals.normalizeArgs(args);
  const options = normalized[0];
  const socket = new SocketClass(options);
  if (options.timeout) socket.setTimeout(options.timeout);
  return socket.connect(normalized);
}

export const createConnection = connect;

// net's utilities, unchanged.
export const isIP = net.isIP;
export const isIPv4 = net.isIPv4;
export const isIPv6 = net.isIPv6;
export const BlockList = net.BlockList;
export const SocketAddress = net.SocketAddress;
export const getDefaultAutoSelectFamily = netAny.getDefaultAutoSelectFamily as () => boolean;
export const setDefaultAutoSelectFamily = netAny.setDefaultAutoSelectFamily as (value: boolean) => void;
export const getDefaultAutoSelectFamilyAttemptTimeout = netAny.getDefaultAutoSelectFamilyAttemptTimeout as () => number;
export const setDefaultAutoSelectFamilyAttemptTimeout = netAny.setDefaultAutoSelectFamilyAttemptTimeout as (value: number) => void;
export const _createServerHandle = netAny._createServerHandle;
export const _normalizeArgs = netAny._normalizeArgs;
export const _setSimultaneousAccepts = netAny._setSimultaneousAccepts;

export interface TransportStatus {
  available: boolean;
  /** Why not, when unavailable. */
  reason: string | null;
}

/** Which transports this process can use, and why not: each provider, then 'tcp' (always available). */
export function providerStatus(): Record<string, TransportStatus> {
  const status: Record<string, TransportStatus> = {};
  for (const { name } of PROVIDERS) {
    const available = getProvider(name) !== null;
    status[name] = { available, reason: available ? null : unavailableReason(name) };
  }
  status.tcp = { available: true, reason: null };
  return status;
}

/** The transports a client may end up on in this process, best first. */
export function transports(): TransportName[] {
  return Object.entries(providerStatus()).filter(([, s]) => s.available).map(([name]) => name);
}

// Anything a future node:net adds is passed through, so `via-net` never lacks a name `net` has.
for (const key of Object.keys(net)) {
  if (!(key in exports)) {
    Object.defineProperty(exports, key, { enumerable: true, get: () => netAny[key] });
  }
}
