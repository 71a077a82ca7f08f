/**
 * `socket._handle` for a connection on a user-level transport.
 *
 * Over TCP `_handle` is libuv's TCPWrap, and code outside node reaches into it: `_handle.fd`,
 * `setNoDelay`, `setKeepAlive`, `getAsyncId`, `close`, `readStart` / `readStop`. On shm there is
 * no kernel socket, so this object answers those calls from the SOVIA connection instead.
 *
 * It must never be taken for a native StreamBase: node hands a real handle to C++ (TLSWrap,
 * the HTTP parser, HTTP/2, IPC handle passing), which would crash on a plain object. So it has no
 * `isStreamBase` (http and http2 check that and take their JS-stream path), TLS is given a
 * native stream handle over the socket instead of it (guardTlsWrapping below, stream-handle.ts),
 * and passing the socket to another process throws a clear error rather than reaching libuv.
 */
import { logger } from './log';
import { isStreamHandle } from './stream-handle';
import { AddressInfoLike } from './transport/addresses';

const debug = logger('via-net:handle');

/** libuv's error numbers, as a TCPWrap returns them. */
const UV_ENOTCONN = -107;

/** What the handle needs from the connection it stands for; provided by the facade. */
export interface HandlePort {
  readStart(): void;
  readStop(): void;
  setNoDelay(enable: boolean): void;
  sockname(): AddressInfoLike | null;
  peername(): AddressInfoLike | null;
  bytesRead(): number;
  bytesWritten(): number;
  asyncId(): number;
  isRefed(): boolean;
}

/** A server that can take back what child_process did to it before the send failed here. */
export const kUndoSocketSend = Symbol('via-net.undoSocketSend');

/** The net.Socket parts the handle calls back into. */
interface Owner {
  server?: { [kUndoSocketSend]?: () => void } | null;
  ref(): unknown;
  unref(): unknown;
  destroy(): unknown;
  once(event: 'close', listener: () => void): unknown;
}

function copyAddress(out: unknown, address: AddressInfoLike | null): number {
  if (!address) return UV_ENOTCONN;
  if (typeof out === 'object' && out !== null) Object.assign(out, { address: address.address, family: address.family, port: address.port });
  return 0;
}

export class UserLevelHandle {
  /** There is no file descriptor; node's Pipe/TCP report -1 for the same. */
  readonly fd = -1;
  /** Nothing waits in a kernel queue: queued bytes are the stream's writableLength. */
  readonly writeQueueSize = 0;
  /** Node's own pattern: set by whoever calls readStart/readStop, and kept in step with the engine. */
  reading = false;

  constructor(
    private readonly owner: Owner,
    private readonly port: HandlePort,
  ) {}

  get bytesRead(): number {
    return this.port.bytesRead();
  }

  get bytesWritten(): number {
    return this.port.bytesWritten();
  }

  readStart(): number {
    this.reading = true;
    this.port.readStart();
    return 0;
  }

  readStop(): number {
    this.reading = false;
    this.port.readStop();
    return 0;
  }

  setNoDelay(enable: boolean): number {
    this.port.setNoDelay(Boolean(enable));
    return 0;
  }

  /** Accepted and ignored: a dead peer process is seen directly (taken accounting), without probes. */
  setKeepAlive(): number {
    return 0;
  }

  /** The socket's async id, as a TCPWrap's getAsyncId() is. */
  getAsyncId(): number {
    return this.port.asyncId();
  }

  getsockname(out: unknown): number {
    return copyAddress(out, this.port.sockname());
  }

  getpeername(out: unknown): number {
    return copyAddress(out, this.port.peername());
  }

  ref(): void {
    this.owner.ref();
  }

  unref(): void {
    this.owner.unref();
  }

  hasRef(): boolean {
    return this.port.isRefed();
  }

  /** Closing the handle closes the connection; `cb` runs when the socket has closed. */
  close(cb?: () => void): void {
    if (typeof cb === 'function') this.owner.once('close', () => cb());
    this.owner.destroy();
  }

  private onreadValue: unknown = undefined;

  /** Node's own code (the http Agent's free-socket guard) sets and restores it; kept, not called. */
  get onread(): unknown {
    return this.onreadValue;
  }

  /**
   * child_process sets it to its no-op (Function.prototype itself) just before it gives the handle
   * to libuv to send to another process. A user-level connection cannot travel that way (its
   * memory and doorbell belong to this process pair), so the send fails here, with a code,
   * instead of in native code.
   */
  set onread(value: unknown) {
    if (value !== Function.prototype) {
      this.onreadValue = value;
      return;
    }
    // It has already counted the socket out of its server, and may have made the target a worker of it.
    this.owner.server?.[kUndoSocketSend]?.();
    const err = new Error('via-net: a socket on a user-level transport cannot be sent to another process; connect it with transport: \'tcp\' to pass it on') as Error & { code: string };
    err.code = 'ERR_VIA_NET_NOT_TRANSFERABLE';
    throw err;
  }
}

export function isUserLevelHandle(value: unknown): value is UserLevelHandle {
  return value instanceof UserLevelHandle;
}

/**
 * While node's TLSSocket constructor decides how to wrap the socket it was given, a user-level
 * socket's `_handle` reads as a native stream handle over it (socket.ts, stream-handle.ts), or as
 * null, which makes TLS take the JS-stream path it takes for any handle-less stream
 * (`socket instanceof net.Socket && socket._handle` selects the native path). The constructor's
 * first own assignment is `this._tlsOptions`, and `_wrapHandle` runs right after the choice:
 * those two points open and close the window, with nothing of the user's code in between.
 */
let hideForTls = false;

export function handleVisible(): boolean {
  return !hideForTls;
}

let tlsGuarded = false;

export function guardTlsWrapping(): void {
  if (tlsGuarded) return;
  tlsGuarded = true;
  const tls = require('tls') as { TLSSocket: { prototype: Record<string, unknown> } };
  const proto = tls.TLSSocket.prototype;
  const wrapHandle = proto._wrapHandle;
  if (typeof wrapHandle !== 'function' || Object.getOwnPropertyDescriptor(proto, '_tlsOptions')) {
    debug('tls.TLSSocket has changed shape: TLS over a user-level socket is not guarded');
    return;
  }
  Object.defineProperty(proto, '_tlsOptions', {
    configurable: true,
    get(): undefined {
      return undefined;
    },
    set(this: object, value: unknown) {
      Object.defineProperty(this, '_tlsOptions', { value, writable: true, configurable: true, enumerable: true });
      hideForTls = true;
      // Closed by _wrapHandle; the microtask only guards against a constructor that threw in between.
      queueMicrotask(() => {
        hideForTls = false;
      });
    },
  });
  proto._wrapHandle = function _wrapHandle(this: unknown, ...args: unknown[]) {
    hideForTls = false;
    // Over TCP, TLS takes the socket's handle and the socket itself reads no more, so it never
    // sees the end of the stream. A user-level socket is still read in JS, under our stream handle
    // (then it is the wrap itself) or node's JSStreamSocket (then it is the wrap's stream), and
    // would end its own writing side at the peer's FIN (allowHalfOpen false) while TLS still has
    // data to send: the TLSSocket decides when to end instead. Set once the constructor has read
    // the socket's own allowHalfOpen for the TLSSocket's.
    type Carrier = { _handle?: unknown; allowHalfOpen?: boolean };
    const wrap = args[0] as (Carrier & { stream?: Carrier }) | null;
    const carrier = isStreamHandle(args[1]) ? wrap : isUserLevelHandle(wrap?.stream?._handle) ? wrap?.stream : null;
    if (carrier) {
      queueMicrotask(() => {
        carrier.allowHalfOpen = true;
      });
    }
    return (wrapHandle as (...a: unknown[]) => unknown).apply(this, args);
  };
}
