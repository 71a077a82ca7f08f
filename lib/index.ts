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
import type { ProviderName, TransportName, TransportSetting } from './transport/setting';

/* eslint-disable @typescript-eslint/no-explicit-any */
const netAny = net as any;

/*
 * node lets `net.Socket()` and `net.Server()` be called without `new` (legacy), which ES classes
 * forbid. The exported constructors are therefore plain functions sharing the classes' prototypes:
 * `new` on them builds the same objects as the classes, subclassing and instanceof work, and V8
 * keeps its fast allocation path (a Proxy or Reflect.construct wrapper costs ~30 us per socket).
 */
type SocketCtor = typeof SocketClass & ((options?: ViaSocketOptions) => SocketClass);
type ServerCtor = typeof ServerClass & ((options?: ViaServerOptions | ((socket: net.Socket) => void), listener?: (socket: net.Socket) => void) => ServerClass);

function SocketFn(this: any, options?: ViaSocketOptions): any {
  if (!new.target) return new (SocketFn as any)(options);
  const setting = validateSocketOptions(options);
  (net.Socket as any).call(this, options);
  initSocket(this, options, setting);
}
SocketFn.prototype = SocketClass.prototype;
Object.setPrototypeOf(SocketFn, SocketClass);
Object.defineProperty(SocketFn, Symbol.hasInstance, {
  value(this: unknown, value: unknown): boolean {
    // Like SocketClass's: every net.Socket passes; subclasses keep the ordinary check.
    if (this === SocketFn) return value instanceof net.Socket;
    return Function.prototype[Symbol.hasInstance].call(this, value);
  },
});

function ServerFn(this: any, options?: any, connectionListener?: any): any {
  if (!new.target) return new (ServerFn as any)(options, connectionListener);
  const setting = validateServerOptions(options);
  (net.Server as any).call(this, options, connectionListener);
  initServer(this, options, setting);
}
ServerFn.prototype = ServerClass.prototype;
Object.setPrototypeOf(ServerFn, ServerClass);

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

/** Which transports this process can use, and why not. 'tcp' is always available. */
export function providerStatus(): Record<'shm' | 'verbs' | 'tcp', TransportStatus> {
  const status = (name: ProviderName): TransportStatus => {
    const available = getProvider(name) !== null;
    return { available, reason: available ? null : unavailableReason(name) };
  };
  return { shm: status('shm'), verbs: status('verbs'), tcp: { available: true, reason: null } };
}

/** The transports a client may end up on in this process, best first. */
export function transports(): TransportName[] {
  const s = providerStatus();
  return (['shm', 'verbs'] as const).filter((n) => s[n].available).concat('tcp' as never) as TransportName[];
}

// Anything a future node:net adds is passed through, so `via-net` never lacks a name `net` has.
for (const key of Object.keys(net)) {
  if (!(key in exports)) {
    Object.defineProperty(exports, key, { enumerable: true, get: () => netAny[key] });
  }
}
