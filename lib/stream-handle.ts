/**
 * A native stream handle over a user-level socket, for node's TLS.
 *
 * Node runs TLS in C++ (TLSWrap) on top of a StreamBase: a kernel socket's TCPWrap, or, for a
 * stream that has none, a JSStream whose reads and writes are JS callbacks. For such streams node
 * builds its own adapter (JSStreamSocket), which completes every write on a later turn of the
 * event loop (setImmediate) before TLS may write again. Over shared memory a TLS request/response
 * then costs about what it costs over TCP (98-108 µs against 87-104 in a two-process ping-pong of
 * 13 B messages), because each record waits a loop turn and the process goes to sleep in between.
 *
 * This handle is the same kind of JSStream, driven directly: a write completes in the socket's own
 * write callback (which the stream machinery always calls asynchronously, so TLSWrap is never
 * re-entered from inside its write), reads go straight from 'data' into TLSWrap, and the
 * TCP-handle calls TLS forwards to its parent (addresses, setNoDelay, ref) are answered by the
 * socket's own handle. The same ping-pong then takes 26-28 µs.
 *
 * node's TLSSocket picks the socket's `_handle` when it is a net.Socket that has one (see
 * user-handle.ts for the window in which a user-level socket answers with this handle).
 *
 * The JSStream class comes from `process.binding('js_stream')`, a deprecated accessor that node
 * still provides for this module on every supported line. Where it is missing, or where using it
 * would print or throw a deprecation (--pending-deprecation, --throw-deprecation), there is no
 * handle and node's own adapter is used, as before.
 */
import { constants as osConstants } from 'os';
import { logger } from './log';

const debug = logger('via-net:stream-handle');

/** libuv's codes for the completions TLSWrap understands. */
const UV_EPIPE = -osConstants.errno.EPIPE;
const UV_ECANCELED = -osConstants.errno.ECANCELED;

/** The C++ JSStream, as node's js_stream binding exports it. */
interface JSStreamHandle {
  readBuffer(chunk: Buffer): void;
  emitEOF(): void;
  finishWrite(req: object, status: number): void;
  finishShutdown(req: object, status: number): void;
  [hook: string]: unknown;
}
type JSStreamClass = new () => JSStreamHandle;

/** The socket this handle carries TLS over: via-net's Socket, seen through what we use of it. */
export interface Carrier {
  readonly readable: boolean;
  readonly writable: boolean;
  readonly destroyed: boolean;
  write(chunk: Buffer, cb: (err?: Error | null) => void): boolean;
  once(event: 'drain', listener: () => void): unknown;
  cork(): void;
  uncork(): void;
  end(cb: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
  destroy(): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  once(event: 'end' | 'close', listener: () => void): unknown;
}

let jsStreamClass: JSStreamClass | null | undefined;

function deprecationsObserved(): boolean {
  const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  return /--(pending|throw|trace)-deprecation/.test(flags) || process.env.NODE_PENDING_DEPRECATION === '1';
}

/** node's JSStream class, or null (then TLS takes node's own adapter). Looked up once. */
function loadJSStream(): JSStreamClass | null {
  if (jsStreamClass !== undefined) return jsStreamClass;
  jsStreamClass = null;
  if (deprecationsObserved()) {
    debug('deprecation warnings are observed: TLS uses node\'s own JS stream adapter');
    return null;
  }
  try {
    const binding = (process as unknown as { binding(name: string): { JSStream?: unknown } }).binding('js_stream');
    if (typeof binding.JSStream === 'function') jsStreamClass = binding.JSStream as JSStreamClass;
  } catch (err) {
    debug('no js_stream binding (%s): TLS uses node\'s own JS stream adapter', (err as Error).message);
  }
  return jsStreamClass;
}

/**
 * The completion status TLSWrap expects for a failed write: libuv's code, which the socket's
 * errors already carry as `errno` (node's own, and via-net's through errnoError); EPIPE for one
 * without (a write after destroy).
 */
function statusOf(err: Error | null | undefined): number {
  if (!err) return 0;
  const errno = (err as { errno?: unknown }).errno;
  return typeof errno === 'number' && errno < 0 ? errno : UV_EPIPE;
}

/** The handles made here, so the TLS guard can tell them from node's own (isStreamHandle). */
const made = new WeakSet<object>();

/** Whether `handle` is one of ours: TLS is wrapping a user-level socket directly. */
export function isStreamHandle(handle: unknown): boolean {
  return typeof handle === 'object' && handle !== null && made.has(handle);
}

/** One socket's handle and the requests TLSWrap has outstanding on it. */
class StreamHandleState {
  writeReq: object | null = null;
  shutdownReq: object | null = null;
  /** A shutdown TLSWrap asked for while a write was still outstanding (it does that). */
  pendingShutdownReq: object | null = null;
  eof = false;
  /** TLS closed the handle: nothing more may be reported on it. */
  closing = false;

  constructor(
    readonly handle: JSStreamHandle,
    private readonly socket: Carrier,
  ) {}

  /**
   * node hands us copies of TLSWrap's buffers (JSStream::DoWrite), so a write is done as soon as
   * the socket has taken it: on the next tick while the socket is below its high-water mark, at
   * 'drain' otherwise (the backpressure TLSWrap gets from a kernel socket's full send buffer).
   * Waiting for the transport to send each record instead would leave TLS one record in flight.
   */
  write(req: object, bufs: Buffer[]): number {
    this.writeReq = req;
    const failed = (err?: Error | null): void => {
      if (err && this.writeReq === req) this.finishWrite(statusOf(err));
    };
    let below = true;
    if (bufs.length === 1) {
      below = this.socket.write(bufs[0], failed);
    } else {
      this.socket.cork();
      for (const b of bufs) below = this.socket.write(b, failed);
      this.socket.uncork();
    }
    const done = (): void => {
      if (this.writeReq === req) this.finishWrite(0);
    };
    if (below) process.nextTick(done);
    else this.socket.once('drain', done);
    return 0;
  }

  finishWrite(status: number): void {
    const req = this.writeReq;
    if (req === null) return;
    this.writeReq = null;
    this.handle.finishWrite(req, status);
    const shutdown = this.pendingShutdownReq;
    if (shutdown !== null) {
      this.pendingShutdownReq = null;
      this.shutdown(shutdown);
    }
  }

  shutdown(req: object): number {
    if (this.writeReq !== null) {
      this.pendingShutdownReq = req;
      return 0;
    }
    this.shutdownReq = req;
    // Asynchronously, as TLSWrap is still inside its own shutdown when it asks.
    process.nextTick(() => this.socket.end(() => this.finishShutdown(0)));
    return 0;
  }

  finishShutdown(status: number): void {
    const req = this.shutdownReq;
    if (req === null) return;
    this.shutdownReq = null;
    this.handle.finishShutdown(req, status);
  }

  /** What is still outstanding will not complete: the socket has closed. */
  cancel(): void {
    this.closing = true;
    this.finishWrite(UV_ECANCELED);
    this.pendingShutdownReq = null;
    this.finishShutdown(UV_ECANCELED);
  }

  /** The handle is closed (TLS is done with it): close the connection, then cancel what is left. */
  close(cb: () => void): void {
    this.closing = true;
    const finish = (): void => {
      this.cancel();
      cb();
    };
    if (this.socket.destroyed) {
      setImmediate(finish);
      return;
    }
    this.socket.once('close', finish);
    this.socket.destroy();
  }

  emitEOF(): void {
    if (this.eof || this.closing) return;
    this.eof = true;
    this.handle.emitEOF();
  }
}

/**
 * The calls TLSWrap forwards to its parent handle (addresses, options, ref): answered by the
 * socket's real handle, its UserLevelHandle (or node's TCPWrap after a fallback to TCP).
 */
const FORWARDED = ['getsockname', 'getpeername', 'getAsyncId', 'hasRef', 'setNoDelay', 'setKeepAlive', 'ref', 'unref'] as const;

/**
 * A JSStream handle carrying `socket`'s bytes, for node's TLS to wrap; null when this node has
 * none to give (then TLS uses node's own adapter). `native()` is the socket's real handle.
 * The socket must not have unsent writes: TLSWrap would otherwise wait for a native write that
 * this handle never made.
 */
export function createStreamHandle(socket: Carrier, native: () => unknown): JSStreamHandle | null {
  const JSStream = loadJSStream();
  if (JSStream === null) return null;
  const handle = new JSStream();
  made.add(handle);
  const state = new StreamHandleState(handle, socket);
  handle.onwrite = (req: object, bufs: Buffer[]) => state.write(req, bufs);
  handle.onshutdown = (req: object) => state.shutdown(req);
  // Bytes flow into the handle from TLS's first readStart on; until then the socket's data waits
  // in its buffer (where the TLSSocket constructor takes what has already arrived).
  let flowing = false;
  handle.onreadstart = () => {
    if (!flowing) {
      flowing = true;
      socket.on('data', (chunk) => handle.readBuffer(chunk));
      socket.once('end', () => state.emitEOF());
    }
    socket.resume();
    return 0;
  };
  handle.onreadstop = () => {
    socket.pause();
    return 0;
  };
  // What reads reach when TLS no longer listens (a destroyed TLSWrap gives the stream back).
  // node calls it from C++ and aborts the process if it is not a function; like bytes arriving
  // on a kernel socket nobody reads, they are dropped.
  handle.onread = () => {};
  handle.isClosing = () => !socket.readable || !socket.writable;
  handle.close = (cb: () => void) => state.close(cb);
  for (const name of FORWARDED) {
    handle[name] = (...args: unknown[]) => {
      const own = native() as Record<string, unknown> | null;
      const fn = own ? own[name] : undefined;
      const result = typeof fn === 'function' ? (fn as (...a: unknown[]) => unknown).apply(own, args) : undefined;
      return result === undefined && (name === 'setNoDelay' || name === 'setKeepAlive') ? 0 : result;
    };
  }
  socket.pause();
  // A socket destroyed under the handle's user: what it had outstanding is cancelled, as libuv
  // cancels a closed TCP handle's writes. (TLS learns of the close from the socket itself.)
  socket.once('close', () => state.cancel());
  return handle;
}
