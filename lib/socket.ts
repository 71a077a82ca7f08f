/**
 * via-net's Socket: a net.Socket that may run over a user-level VI instead of a kernel handle.
 *
 * On the TCP path it IS a net.Socket with a real handle: every call goes to node's implementation
 * with the original arguments, so behaviour is exactly node's. On the user-level path there is no
 * handle; the Duplex internals (_read, _writeGeneric, _final, _destroy) and the address/ref methods
 * route to the SOVIA engine instead. Node's own getters (remoteAddress, bytesRead, bytesWritten,
 * readyState, ...) keep working because they fall back to fields (_peername, kBytesRead,
 * kBytesWritten) that we maintain when there is no handle.
 */
import * as net from 'net';
import { logger } from './log';
import type { Vi, ViProvider } from './providers/types';
import type { SoviaConnectionApi, SoviaEvents, SoviaParams, Wakeup } from './sovia/types';
import { fromEngineError, NodeStyleError, transportUnavailable } from './errors';
import { resolveSetting, TransportName, TransportSetting, validateOption } from './transport/setting';
import { planConnect } from './transport/plan';
import { attemptUserLevel, AttemptHandle, AttemptResult, paramsForProviders } from './transport/attempt';
import { AddressInfoLike, familyOf, Target } from './transport/addresses';
import { SoviaConnection } from './sovia';
import { parseOnread, UserBufferReader, type OnreadOption } from './onread';
import { internals } from './node-internals';
import { drainOnExit } from './exit-drain';
import { guardTlsWrapping, handleVisible, UserLevelHandle, type HandlePort } from './user-handle';
import { createStreamHandle } from './stream-handle';
import { CLOSE_LINGER_MS, Deadlines } from './linger';
import { acceptNodeInstances } from './constructors';

const debug = logger('via-net:facade');

const { kTimeout, kBytesRead, kBytesWritten, kSetNoDelay, kAsyncId, kHandle } = internals;
const nodeSocket = internals.socket;

export interface ViaSocketOptions extends net.SocketConstructorOpts {
  transport?: TransportSetting;
  sovia?: object;
}

/**
 * One user-level connection: a VI and its engine. A socket may have several in turn (connect after
 * destroy), and a gracefully destroyed one lingers, detached from its socket, until the peer is done.
 */
interface UserConn {
  engine: SoviaConnectionApi;
  vi: Vi;
  /** The engine reported onClose or onError: nothing more will happen on it. */
  closed: boolean;
  /** The socket was destroyed: whatever still arrives is dropped (and credited back). */
  detached: boolean;
  endCalled: boolean;
  /** With the onread option: hands data to the caller's buffer instead of 'data'. */
  reader: UserBufferReader | null;
  /** The engine delivers (not paused): like a TCP handle that is reading, it holds the loop. */
  reading: boolean;
  /** What `socket._handle` is while this connection is the socket's. */
  handle: UserLevelHandle;
}

/** Gracefully destroyed connections still finishing their close handshake: reset after CLOSE_LINGER_MS. */
const lingering = new Deadlines<UserConn>(CLOSE_LINGER_MS, (conn) => {
  if (!conn.closed) conn.engine.destroy();
});

/**
 * libuv keeps the loop alive for a ref'd handle only while it is active (reading, here): a
 * paused connection lets its process exit, as node's test-net-connect-paused-connection expects.
 */
function holdLoop(st: ViaState, conn: UserConn): void {
  if (conn.detached || conn.closed) return;
  if (st.refed && conn.reading) conn.vi.ref();
  else conn.vi.unref();
}

/** Per-socket via-net state; absent (or `userLevel` false) means a plain TCP socket. */
interface ViaState {
  setting: TransportSetting | undefined;
  soviaOptions: object | undefined;
  transport: TransportName;
  /** The current connection (attempt or established) is ours, not a kernel handle's. */
  userLevel: boolean;
  attempt: AttemptHandle | null;
  /** Bumped on every connect/destroy so late callbacks of an older attempt are ignored. */
  generation: number;
  conn: UserConn | null;
  sockname: AddressInfoLike | null;
  peername: AddressInfoLike | null;
  refed: boolean;
  /** resetAndDestroy() was called: RST instead of FIN. */
  reset: boolean;
  /** The onread option (null without it). */
  onread: OnreadOption | null;
}

const kVia = Symbol('via-net.socket');

function stateOf(socket: Socket): ViaState {
  const holder = socket as unknown as { [kVia]?: ViaState };
  let st = holder[kVia];
  if (!st) {
    st = {
      setting: undefined,
      soviaOptions: undefined,
      transport: 'tcp',
      userLevel: false,
      attempt: null,
      generation: 0,
      conn: null,
      sockname: null,
      peername: null,
      refed: true,
      reset: false,
      onread: null,
    };
    holder[kVia] = st;
  }
  return st;
}

function peekState(socket: Socket): ViaState | undefined {
  return (socket as unknown as { [kVia]?: ViaState })[kVia];
}

/** connect()'s first argument is what net._normalizeArgs made (node's own connect paths pass it). */
function isNormalizedArgs(x: unknown): x is any[] {
  if (!Array.isArray(x)) return false;
  const mark = internals.normalizedArgs;
  // Known mark: one property read, where looking through every symbol costs an array and a closure.
  if (mark !== undefined) return (x as any)[mark] === true;
  return Object.getOwnPropertySymbols(x).some((s) => (x as any)[s] === true);
}

/** A dns.lookup-compatible function that answers with an earlier result, in either form node asks for. */
function replayLookup(addresses: Target[]) {
  return (_host: string, opts: { all?: boolean }, cb: (...args: any[]) => void): void => {
    const list = addresses.map((a) => ({ address: a.address, family: a.family === 'IPv6' ? 6 : 4 }));
    process.nextTick(() => (opts && opts.all ? cb(null, list) : cb(null, list[0].address, list[0].family)));
  };
}

function toBuffer(chunk: unknown, encoding: BufferEncoding | string | undefined): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const enc = encoding && encoding !== 'buffer' ? (encoding as BufferEncoding) : 'utf8';
  return Buffer.from(String(chunk), enc);
}

/** Validate via-net's constructor options; throws like node does for its own options. */
export function validateSocketOptions(options: unknown): TransportSetting | undefined {
  return typeof options === 'object' && options !== null ? validateOption((options as ViaSocketOptions).transport) : undefined;
}

/** The via-net part of construction, after net.Socket's own constructor ran. */
export function initSocket(socket: Socket, options: unknown, setting: TransportSetting | undefined): void {
  const sovia = typeof options === 'object' && options !== null ? (options as ViaSocketOptions).sovia : undefined;
  const onread = parseOnread(options);
  // Plain sockets (e.g. every TCP connection a server accepts) carry no via-net state at all.
  if (setting === undefined && sovia === undefined && onread === null) return;
  const st = stateOf(socket);
  st.setting = setting;
  st.soviaOptions = sovia;
  st.onread = onread;
}

export class Socket extends net.Socket {
  constructor(options?: ViaSocketOptions | number) {
    const setting = validateSocketOptions(options);
    super(options as net.SocketConstructorOpts);
    initSocket(this, options, setting);
  }

  /** Which path carries this connection: a provider's name ('shm', 'verbs') or 'tcp'. */
  get transport(): TransportName {
    return peekState(this)?.transport ?? 'tcp';
  }

  override connect(...args: any[]): this {
    const normalized: any[] = isNormalizedArgs(args[0]) ? args[0] : internals.normalizeArgs(args);
    const options = normalized[0] as Record<string, unknown>;
    const cb = normalized[1] as (() => void) | null;
    const st = stateOf(this);
    const setting = resolveSetting(options.transport ?? st.setting);
    const blockList = (this as any).blockList;
    const plan = planConnect(blockList ? { ...options, blockList } : options, setting);
    if (plan.kind === 'tcp') return this.connectOverTcp(normalized);

    let params: SoviaParams[] = [];
    if (plan.kind === 'user') params = paramsForProviders(plan, (options.sovia as object | undefined) ?? st.soviaOptions);

    // node's connect() preamble, for a connection that has no handle.
    if (cb !== null) this.once('connect', cb);
    const self = this as any;
    if (self._parent && self._parent.connecting) return this;
    if (this.write !== net.Socket.prototype.write) this.write = net.Socket.prototype.write;
    if (this.destroyed) {
      self._handle = null;
      self._peername = null;
      self._sockname = null;
      // Node counts per handle, and a socket connected again gets a new one: start from zero.
      self[kBytesRead] = 0;
      self[kBytesWritten] = 0;
      nodeSocket.undestroy.call(this);
    }
    this.resetConnectionState(st);
    st.userLevel = true;
    guardTlsWrapping(); // TLS may wrap the socket before it connects (tls.connect({ socket }))
    nodeSocket.unrefTimer.call(self);
    (this as { connecting: boolean }).connecting = true;
    const generation = st.generation;

    if (plan.kind === 'error') {
      process.nextTick(() => {
        if (st.generation === generation && this.connecting) this.destroy(plan.error);
      });
      return this;
    }
    if (plan.tcp) self._host = plan.tcp.host;

    let settled = false; // a custom lookup may answer synchronously, before attemptUserLevel returns
    const attempt = attemptUserLevel(plan, params, options.lookup as any, (err, result) => {
      settled = true;
      if (st.generation !== generation) {
        result?.vi.close();
        return;
      }
      st.attempt = null;
      if (result) {
        this.onUserLevelConnected(result, plan.tcp);
      } else if (err?.lookupFailed) {
        // What node does when its own lookup fails: 'lookup' with the error, then the error itself.
        const lookupError = err.cause as Error;
        this.emit('lookup', lookupError, undefined, undefined, plan.tcp?.host);
        if (this.connecting) process.nextTick(() => this.destroy(lookupError));
      } else if (plan.forced) {
        const reason = `cannot connect to ${plan.rendezvous} (${err?.code ?? ''} ${err?.message ?? ''})`.trim();
        this.destroy(transportUnavailable(plan.setting, reason, err));
      } else {
        debug('no user-level path to %s (%s): falling back to TCP', plan.rendezvous, err?.code ?? err?.message);
        this.fallBackToTcp(st, options, err?.lookedUp);
      }
    });
    if (!settled) st.attempt = attempt;
    return this;
  }

  private connectOverTcp(normalized: any[]): this {
    const st = stateOf(this);
    this.resetConnectionState(st);
    st.transport = 'tcp';
    return super.connect(normalized as any);
  }

  /**
   * Connect over TCP after the user-level attempt failed. If we already resolved the name, node is
   * given the same answer through a replaying `lookup`, so the name is resolved (and a custom lookup
   * called) once, and node emits its usual 'lookup' events.
   */
  private fallBackToTcp(st: ViaState, options: Record<string, unknown>, lookedUp: Target[] | undefined): void {
    st.userLevel = false;
    st.transport = 'tcp';
    (this as { connecting: boolean }).connecting = false;
    let tcpOptions = options;
    if (lookedUp && lookedUp.length > 0) tcpOptions = { ...options, lookup: replayLookup(lookedUp) };
    try {
      // The connect callback is already registered; node re-validates and connects as usual.
      (net.Socket.prototype.connect as (...args: unknown[]) => unknown).call(this, internals.normalizeArgs([tcpOptions]));
    } catch (err) {
      this.destroy(err as Error);
      return;
    }
    if (!st.refed) net.Socket.prototype.unref.call(this);
  }

  /** Forget the previous connection (a lingering one finishes on its own) and any attempt. */
  private resetConnectionState(st: ViaState): void {
    st.generation++;
    st.attempt?.cancel();
    st.attempt = null;
    if (st.conn && (this as any)._handle === st.conn.handle) (this as any)._handle = null;
    st.conn = null;
    st.sockname = null;
    st.peername = null;
    st.reset = false;
    st.userLevel = false;
    st.transport = 'tcp';
  }

  private onUserLevelConnected(result: AttemptResult, tcp: { host: string; port: number } | null): void {
    const self = this as any;
    let peername: AddressInfoLike | null = null;
    let sockname: AddressInfoLike | null = null;
    if (tcp && result.target && result.localAddress) {
      peername = { address: result.target.address, family: result.target.family, port: tcp.port };
      sockname = { address: result.localAddress, family: familyOf(result.localAddress), port: result.localPort };
    }
    attachEngine(this, result.provider, result.vi, result.params, peername, sockname, result.peerWakeup);
    (this as { connecting: boolean }).connecting = false;
    self._sockname = null;
    // node emits these for names it resolved, then 'connectionAttempt', before 'connect'.
    for (const a of result.lookedUp) this.emit('lookup', null, a.address, a.family === 'IPv6' ? 6 : 4, tcp?.host);
    if (peername) this.emit('connectionAttempt', peername.address, peername.port, peername.family === 'IPv6' ? 6 : 4);
    nodeSocket.unrefTimer.call(self);
    debug('connected over %s', result.provider.name);
    this.emit('connect');
    this.emit('ready');
    if (!this.isPaused()) this.read(0);
  }

  // ---- Duplex internals: the engine when attached, node's handle code otherwise ----

  /** With onread, pausing stops the reads into the caller's buffer (as node's does for its handle). */
  override pause(): this {
    const conn = peekState(this)?.conn;
    if (conn?.reader && !conn.detached) conn.reader.pause();
    return super.pause();
  }

  override resume(): this {
    const conn = peekState(this)?.conn;
    if (conn?.reader && !conn.detached && !conn.closed && conn.reader.resume()) conn.engine.resumeReading();
    return super.resume();
  }

  override _read(n: number): void {
    const conn = peekState(this)?.conn;
    if (conn) {
      if (!conn.detached) conn.engine.resumeReading();
      return;
    }
    nodeSocket.read.call(this, n);
  }

  /** node's _write and _writev both end here, including writes deferred until 'connect'. */
  _writeGeneric(writev: boolean, data: any, encoding: string, cb: (err?: Error | null) => void): void {
    const conn = peekState(this)?.conn;
    if (!conn || this.connecting) {
      nodeSocket.writeGeneric.call(this, writev, data, encoding, cb);
      return;
    }
    const self = this as any;
    self._pendingData = null;
    self._pendingEncoding = '';
    if (conn.closed || conn.detached) {
      const err = new Error('Socket is closed') as NodeStyleError;
      err.code = 'ERR_SOCKET_CLOSED';
      cb(err);
      return;
    }
    nodeSocket.unrefTimer.call(self);
    const done = (err?: Error | null): void => cb(err ? fromEngineError(err, 'write') : err);
    if (writev) {
      const chunks: Buffer[] = (data as { chunk: unknown; encoding: string }[]).map((c) => toBuffer(c.chunk, c.encoding));
      let bytes = 0;
      for (const c of chunks) bytes += c.length;
      self[kBytesWritten] += bytes;
      conn.engine.writev(chunks, done);
    } else {
      const buf = toBuffer(data, encoding);
      self[kBytesWritten] += buf.length;
      conn.engine.write(buf, done);
    }
  }

  override _final(cb: (error?: Error | null) => void): void {
    const conn = peekState(this)?.conn;
    if (conn && !this.connecting) {
      conn.endCalled = true;
      conn.engine.end((err) => cb(err ? fromEngineError(err, 'shutdown') : null));
      return;
    }
    nodeSocket.final.call(this, cb);
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    const st = peekState(this);
    if (!st?.userLevel) {
      nodeSocket.destroy.call(this, err, cb);
      return;
    }
    const self = this as any;
    (this as { connecting: boolean }).connecting = false;
    for (let s = self; s; s = s._parent) if (s[kTimeout]) clearTimeout(s[kTimeout]);
    st.generation++;
    st.attempt?.cancel();
    st.attempt = null;
    // node drops the handle here too: afterwards bytesRead and friends read the saved counters.
    self._handle = null;
    if (st.conn) this.releaseConnection(st.conn, st.reset);
    cb(err);
    // TCP emits 'close' from the handle's close callback (libuv's close phase, after this
    // iteration's immediates), and after the 'error' that cb(err) queued on nextTick.
    const hadError = err ? true : false;
    setImmediate(() => this.emit('close', hadError));
    const server = self._server;
    if (server) {
      server._connections--;
      internals.emitCloseIfDrained.call(server);
    }
  }

  /**
   * Let go of a connection the way close(2) lets go of a kernel socket. destroy(err) alone does not
   * reset the peer; resetAndDestroy() or data left unread does (RST, the peer gets ECONNRESET). Otherwise
   * queued bytes are still delivered and FIN is sent, and the engine finishes the close handshake
   * in the background: detached, unref'd, and reset after CLOSE_LINGER_MS if the peer never finishes.
   */
  private releaseConnection(conn: UserConn, reset: boolean): void {
    conn.detached = true;
    if (conn.closed) return;
    // node reads eagerly, so the kernel holds unread data (and close(2) sends RST) once the
    // stream stopped reading at its high-water mark, or while more has arrived than was read.
    if (reset || this.readableLength >= this.readableHighWaterMark || conn.engine.holdsUnread()) {
      debug('destroy: reset (%s)', reset ? 'resetAndDestroy' : 'unread data');
      conn.engine.destroy();
      return;
    }
    conn.vi.unref();
    // close(2), not shutdown(2): a peer that still had data for us gets ECONNRESET. (After an
    // earlier end() the FIN may be out already; data arriving later resets the peer, in onData.)
    conn.endCalled = true;
    conn.engine.endAndClose();
    conn.engine.resumeReading();
    lingering.add(conn);
  }

  override resetAndDestroy(): this {
    const st = peekState(this);
    if (st?.userLevel) {
      st.reset = true;
      if (this.connecting) this.once('connect', () => this.destroy());
      else this.destroy();
      return this;
    }
    return super.resetAndDestroy();
  }

  /** Like node's: the local address is known only while connected (node drops it with the handle). */
  _getsockname(): object {
    const st = peekState(this);
    if (st?.userLevel) return (!this.destroyed && st.sockname) || {};
    return nodeSocket.getsockname.call(this);
  }

  /** Like node's: cached on first use while connected, so it survives destroy only if read before. */
  _getpeername(): object {
    const st = peekState(this);
    const self = this as any;
    if (st?.userLevel) {
      if (!self._peername && st.conn && !this.destroyed && !this.connecting) self._peername = st.peername;
      return self._peername || {};
    }
    return nodeSocket.getpeername.call(this);
  }

  override ref(): this {
    const st = peekState(this);
    if (st) st.refed = true;
    if (st?.userLevel) {
      if (st.conn) holdLoop(st, st.conn);
      return this;
    }
    return super.ref();
  }

  override unref(): this {
    const st = peekState(this);
    if (st) st.refed = false;
    if (st?.userLevel) {
      if (st.conn) holdLoop(st, st.conn);
      return this;
    }
    return super.unref();
  }
}

// Every net.Socket is a via-net Socket as far as `instanceof` goes (TCP connections a server
// accepts are built by node as plain net.Socket).
acceptNodeInstances(Socket, net.Socket);

/**
 * `_handle` is the kernel handle over TCP and a UserLevelHandle on a user-level transport, except
 * while node's TLS decides how to wrap the socket (see user-handle.ts): then a user-level one,
 * established or still being set up, reads as a native stream handle over the socket
 * (stream-handle.ts), which TLS wraps in C++ as it wraps a TCP handle; or as null where there is
 * none to give, so TLS runs over the stream through node's own JS adapter.
 */
Object.defineProperty(Socket.prototype, '_handle', {
  configurable: true,
  get(this: any) {
    const handle = this[kHandle];
    if (!handleVisible() && (handle instanceof UserLevelHandle || (handle == null && this.connecting && peekState(this)?.userLevel))) {
      return streamHandleForTls(this);
    }
    return handle;
  },
  set(this: any, value: unknown) {
    // node's own accessor stores it under kHandle, where its stream code reads it directly.
    this[kHandle] = value;
  },
});

const kStreamHandle = Symbol('via-net.streamHandle');

/**
 * The native stream handle TLS is given for this socket: made once (TLS reads `_handle` twice
 * while it decides), and only while nothing written is still queued, which TLS would wait for.
 */
function streamHandleForTls(socket: any): object | null {
  const made = socket[kStreamHandle];
  if (made !== undefined) return made;
  const handle = socket.writableLength === 0 ? createStreamHandle(socket, () => socket[kHandle]) : null;
  socket[kStreamHandle] = handle;
  return handle;
}

// `bufferSize` is an accessor on net.Socket.prototype; shadow it on ours.
const bufferSizeDescriptor = Object.getOwnPropertyDescriptor(net.Socket.prototype, 'bufferSize');
Object.defineProperty(Socket.prototype, 'bufferSize', {
  configurable: true,
  get(this: Socket) {
    // node answers while it has a handle (connecting included); ours is the VI or the attempt.
    const st = peekState(this);
    if (st?.userLevel && (st.conn ? !st.conn.detached : this.connecting)) return this.writableLength;
    return bufferSizeDescriptor?.get?.call(this);
  },
});

/**
 * One connection's glue between its socket and its engine: the engine's events, the port its
 * handle answers from, and the loop hold. A class rather than closures, because thousands of
 * idle connections each carried fourteen of them (about 1 KB of heap per connection).
 */
class UserConnection implements UserConn, HandlePort, SoviaEvents {
  engine!: SoviaConnectionApi;
  closed = false;
  detached = false;
  endCalled = false;
  reading = true;
  readonly handle: UserLevelHandle;
  readonly reader: UserBufferReader | null;
  /** Takes the engine off the exit drain's list. */
  untrack: () => void = noop;

  constructor(
    private readonly socket: Socket,
    private readonly st: ViaState,
    readonly vi: Vi,
  ) {
    const self = socket as any;
    this.reader = st.onread ? new UserBufferReader(st.onread, (n) => (self[kBytesRead] += n)) : null;
    this.handle = new UserLevelHandle(socket, this);
  }

  // ------------------------------------------------ HandlePort: what socket._handle answers from

  readStart(): void {
    if (!this.detached && (!this.reader || this.reader.accepting())) this.engine.resumeReading();
  }

  readStop(): void {
    if (!this.detached) this.engine.pauseReading();
  }

  setNoDelay(enable: boolean): void {
    if (!this.closed) this.engine.setNoDelay(enable);
  }

  sockname(): AddressInfoLike | null {
    return this.st.sockname;
  }

  peername(): AddressInfoLike | null {
    return this.st.peername;
  }

  bytesRead(): number {
    return (this.socket as any)[kBytesRead];
  }

  bytesWritten(): number {
    return (this.socket as any)[kBytesWritten];
  }

  asyncId(): number {
    return (this.socket as any)[kAsyncId];
  }

  isRefed(): boolean {
    return this.st.refed;
  }

  // ------------------------------------------------ SoviaEvents: what the engine reports

  onData(chunk: Buffer): boolean {
    if (this.detached) {
      // Like a kernel socket after close(2): data that arrives for nobody resets the peer,
      // whose next write then fails with ECONNRESET/EPIPE.
      if (chunk.length > 0) this.engine.destroy();
      return true;
    }
    const self = this.socket as any;
    nodeSocket.unrefTimer.call(self);
    if (this.reader) return this.reader.deliver(chunk);
    self[kBytesRead] += chunk.length;
    return this.socket.push(chunk);
  }

  onReadingChanged(reading: boolean): void {
    this.reading = reading;
    this.handle.reading = reading;
    holdLoop(this.st, this);
  }

  onEnd(): void {
    if (this.detached) return;
    // Exactly what node's onStreamRead does on EOF.
    this.socket.push(null);
    this.socket.read(0);
  }

  onError(err: NodeStyleError): void {
    this.finished();
    const socket = this.socket;
    if (this.detached || socket.destroyed) return;
    // Both directions already finished cleanly: TCP would not report the peer's late reset.
    if (socket.readableEnded && socket.writableFinished) {
      socket.destroy();
      return;
    }
    socket.destroy(fromEngineError(err));
  }

  onClose(): void {
    this.finished();
    this.vi.close();
  }

  private finished(): void {
    this.untrack();
    this.closed = true;
    lingering.delete(this);
  }
}

function noop(): void {}

/**
 * Bind a connected VI to a socket: build the engine, route its events to the stream, and record
 * the TCP-equivalent addresses. Used for both the client (after connect) and the server (on accept).
 */
export function attachEngine(
  socket: Socket,
  provider: ViProvider,
  vi: Vi,
  params: SoviaParams,
  peername: AddressInfoLike | null,
  sockname: AddressInfoLike | null,
  peerWakeup?: Wakeup,
): void {
  const st = stateOf(socket);
  const self = socket as any;
  st.userLevel = true;
  st.transport = provider.name;
  st.sockname = sockname;
  st.peername = peername;
  self._peername = null;
  if (!st.refed) vi.unref();
  const conn = new UserConnection(socket, st, vi);
  conn.engine = new SoviaConnection(vi, params, conn, peerWakeup);
  conn.untrack = drainOnExit(conn.engine, provider);
  // Like a TCP handle, read only once the stream asks (_read): a paused socket, or a server's
  // pauseOnConnect one, reads nothing and holds no event loop.
  conn.reading = false;
  conn.engine.pauseReading();
  holdLoop(st, conn);
  st.conn = conn;
  guardTlsWrapping();
  self._handle = conn.handle;
  if (self[kSetNoDelay]) conn.engine.setNoDelay(true);
}
