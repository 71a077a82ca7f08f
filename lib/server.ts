/**
 * via-net's Server: a net.Server that always listens on TCP (or the unix path) through node, so
 * plain clients connect as usual, and that also registers a user-level listener under the same
 * rendezvous name once it is listening. User-level connections become Socket instances emitted on
 * 'connection' exactly like TCP ones (maxConnections, pauseOnConnect, allowHalfOpen, noDelay,
 * keepAlive and getConnections() all cover both kinds).
 */
import * as net from 'net';
import { logger } from './log';
import type { IncomingVi, Vi, ViListener, ViProvider } from './providers/types';
import type { SoviaConnectionApi, SoviaParams, Wakeup } from './sovia/types';
import { CLOSE_LINGER_MS, Deadlines } from './linger';
import { transportUnavailable } from './errors';
import { attachEngine, Socket } from './socket';
import { kUndoSocketSend } from './user-handle';
import { internals } from './node-internals';
import {
  candidateProviders, isForced, resolveSetting, TransportSetting, validateOption,
} from './transport/setting';
import { rendezvousForServerAddress } from './transport/rendezvous';
import { handleTakenAway, sharingPrimary } from './transport/cluster';
import { getProvider, unavailableReason } from './transport/providers';
import { recvDepthFor, resolveParams, SoviaConnection, wakeupFor } from './sovia';
import { AddressInfoLike, acceptedLocalAddress, peerAsSeenByServer, sourceAddressFor } from './transport/addresses';
import { decodeConnectPayload, encodeAcceptPayload } from './transport/payload';

const debug = logger('via-net:facade');


export interface ViaServerOptions extends net.ServerOpts {
  transport?: TransportSetting;
  sovia?: object;
  /** Uids besides our own that may connect over shm (SO_PEERCRED). Default: none. */
  allowUids?: readonly number[];
}

interface Registration {
  provider: ViProvider;
  name: string;
  listener: ViListener;
}

interface ServerState {
  setting: TransportSetting | undefined;
  soviaOptions: object | undefined;
  allowUids: readonly number[] | undefined;
  registrations: Registration[];
  /** A 'listening' hook is installed and has not fired yet. */
  awaitingListening: boolean;
  /** The node:cluster primary through which the last listen() is served (cluster.ts). */
  sharedBy: number | undefined;
}

const kVia = Symbol('via-net.server');

/** Dropped connections still finishing their close handshake: reset after CLOSE_LINGER_MS. */
const dropping = new Deadlines<SoviaConnectionApi>(CLOSE_LINGER_MS, (engine) => engine.destroy());

/**
 * Close an accepted VI the way node closes a dropped TCP connection: FIN at once, nothing read.
 * The engine finishes the handshake in the background without keeping the process alive.
 */
function dropConnection(vi: Vi, params: SoviaParams, peerWakeup: Wakeup | undefined): void {
  let engine: SoviaConnectionApi | null = null;
  let closed = false;
  engine = new SoviaConnection(vi, params, {
    onData: () => true,
    onEnd() {},
    onError() {},
    onClose() {
      closed = true;
      if (engine) dropping.delete(engine);
      vi.close();
    },
  }, peerWakeup);
  vi.unref();
  engine.end();
  if (!closed) dropping.add(engine);
}

/** Validate via-net's constructor options; throws like node does for its own options. */
export function validateServerOptions(options: unknown): TransportSetting | undefined {
  return typeof options === 'object' && options !== null ? validateOption((options as ViaServerOptions).transport) : undefined;
}

/** The via-net part of construction, after net.Server's own constructor ran. */
export function initServer(server: Server, options: unknown, setting: TransportSetting | undefined): void {
  const opts = typeof options === 'object' && options !== null ? (options as ViaServerOptions) : undefined;
  const st: ServerState = {
    setting,
    soviaOptions: opts?.sovia,
    allowUids: opts?.allowUids,
    registrations: [],
    awaitingListening: false,
    sharedBy: undefined,
  };
  (server as any)[kVia] = st;
}

export class Server extends net.Server {
  constructor(options?: ViaServerOptions | ((socket: net.Socket) => void), connectionListener?: (socket: net.Socket) => void) {
    const setting = validateServerOptions(options);
    super(options as any, connectionListener);
    initServer(this, options, setting);
  }

  private get via(): ServerState {
    return (this as any)[kVia];
  }

  /** The user-level transports this server is reachable through, besides TCP. */
  get transports(): string[] {
    return this.via.registrations.map((r) => r.provider.name);
  }

  override listen(...args: any[]): this {
    const st = this.via;
    const setting = resolveSetting(st.setting);
    if (isForced(setting) && !getProvider(setting)) {
      // Like a failed bind: reported as an 'error' event, and nothing listens.
      const err = transportUnavailable(setting, unavailableReason(setting) ?? 'provider not available');
      process.nextTick(() => this.emit('error', err));
      return this;
    }
    if ((this as any).blockList) {
      // node (22+) drops blocked peers in its own accept, from the kernel's peer address: a
      // server with a blockList is reachable over TCP only, so every client is checked.
      if (isForced(setting)) {
        process.nextTick(() => this.emit('error', transportUnavailable(setting, 'a server blockList is applied on the kernel path only')));
        return this;
      }
      debug('blockList set: listening on TCP only');
      return super.listen(...args);
    }
    super.listen(...args);
    st.sharedBy = sharingPrimary(args);
    if (candidateProviders(setting).length > 0 && !st.awaitingListening) {
      st.awaitingListening = true;
      // Prepended so the rendezvous exists before user 'listening' handlers start connecting.
      this.prependOnceListener('listening', () => {
        st.awaitingListening = false;
        this.registerRendezvous(setting);
        // The listeners after this one may take the handle away (cluster.ts): then the name is
        // not ours to hold. Checked before any I/O, so no client is sent here for long.
        process.nextTick(() => {
          if (st.registrations.length > 0 && handleTakenAway(this as any)) {
            debug('handle taken away after listening (a cluster primary): dropping the rendezvous');
            this.unregisterRendezvous();
          }
        });
      });
    }
    return this;
  }

  private registerRendezvous(setting: TransportSetting): void {
    const st = this.via;
    // The bound address cannot change while listening: read it once, not per connection.
    const bound = this.address();
    const name = rendezvousForServerAddress(bound as any);
    if (!name) return;
    for (const providerName of candidateProviders(setting)) {
      const provider = getProvider(providerName);
      let failure: string | null = null;
      if (!provider) {
        failure = unavailableReason(providerName) ?? 'provider not available';
      } else {
        try {
          const listener = provider.listen(name, { allowUids: st.allowUids, sharedBy: st.sharedBy }, (incoming) => this.onIncoming(incoming, provider, bound));
          if ((this as any)._unref) listener.unref();
          st.registrations.push({ provider, name, listener });
          debug('registered %s rendezvous %s%s', provider.name, name, st.sharedBy === undefined ? '' : ` with the workers of ${st.sharedBy}`);
        } catch (err) {
          failure = `cannot register ${name}: ${(err as Error).message}`;
        }
      }
      if (failure !== null) {
        if (isForced(setting)) {
          const err = transportUnavailable(setting, failure);
          process.nextTick(() => {
            this.close();
            this.emit('error', err);
          });
        } else {
          debug('%s rendezvous not registered: %s', providerName, failure);
        }
      }
    }
  }

  private unregisterRendezvous(): void {
    const st = this.via;
    for (const r of st.registrations) {
      try {
        r.listener.close();
      } catch (err) {
        debug('closing %s listener %s: %s', r.provider.name, r.name, (err as Error).message);
      }
    }
    st.registrations = [];
  }

  /**
   * child_process calls this when it first sends one of our sockets to a process, before it takes
   * the handle. A user-level socket's send fails after it (user-handle.ts): remember the list for
   * the rest of this synchronous send, so the failure can take it back.
   */
  _setupWorker(socketList: unknown): void {
    internals.setupWorker.call(this, socketList);
    this.workerJustSetUp = socketList;
    queueMicrotask(() => {
      this.workerJustSetUp = null;
    });
  }

  private workerJustSetUp: unknown = null;

  /** Undo what child_process did before a user-level socket refused to be sent. */
  [kUndoSocketSend](): void {
    const self = this as any;
    self._connections++;
    if (this.workerJustSetUp != null) {
      const workers: unknown[] = self._workers;
      const index = workers.indexOf(this.workerJustSetUp);
      if (index >= 0) workers.splice(index, 1);
      self._usingWorkers = workers.length > 0;
      this.workerJustSetUp = null;
    }
  }

  override close(callback?: (err?: Error) => void): this {
    this.unregisterRendezvous();
    return super.close(callback);
  }

  override ref(): this {
    for (const r of this.via.registrations) r.listener.ref();
    return super.ref();
  }

  override unref(): this {
    for (const r of this.via.registrations) r.listener.unref();
    return super.unref();
  }

  /**
   * node accepts TCP connections as plain net.Socket objects. They already pass `instanceof` for
   * via-net's Socket (see Socket[Symbol.hasInstance]); give them `transport` too. (Swapping their
   * prototype instead measurably slows every accepted connection down.)
   */
  override emit(event: string | symbol, ...args: any[]): boolean {
    if (event === 'connection') {
      const socket = args[0];
      if (socket !== null && typeof socket === 'object' && socket.transport === undefined) socket.transport = 'tcp';
    }
    return super.emit(event, ...args);
  }

  private onIncoming(incoming: IncomingVi, provider: ViProvider, bound: net.AddressInfo | string | null): void {
    const self = this as any;
    const payload = decodeConnectPayload(incoming.payload);
    if (typeof payload === 'string' || !this.listening) {
      debug('refusing %s connection: %s', provider.name, typeof payload === 'string' ? `bad payload (${payload})` : 'not listening');
      incoming.reject();
      return;
    }

    // Addresses: exactly what the TCP listener would have reported, or refuse so the client's TCP
    // fallback gets the kernel's genuine answer.
    let sockname: AddressInfoLike | null = null;
    let peername: AddressInfoLike | null = null;
    let targetIndex = -1;
    if (bound !== null && typeof bound === 'object') {
      for (let i = 0; i < payload.targets.length && !sockname; i++) {
        const local = acceptedLocalAddress(bound as AddressInfoLike, payload.targets[i]);
        if (local) {
          sockname = local;
          targetIndex = i;
        }
      }
      if (!sockname) {
        debug('refusing %s connection: no target matches %j', provider.name, bound);
        incoming.reject();
        return;
      }
      const clientAddress = sourceAddressFor(payload.targets[targetIndex], payload.localAddress);
      peername = peerAsSeenByServer(sockname, clientAddress, payload.localPort);
    }

    let params: SoviaParams;
    try {
      // The receive depth on each side depends on the window and ACK threshold: both ends use the client's.
      const shared = payload.sovia ?? {};
      params = resolveParams({ ...(this.via.soviaOptions ?? {}), ...shared }, process.env, provider.attrs.maxTransferSize);
    } catch (err) {
      debug('refusing %s connection: %s', provider.name, (err as Error).message);
      incoming.reject();
      return;
    }

    // A client that sent its WAKEUP with the connect gets ours with the accept (SoviaConnection's peerWakeup).
    const peerWakeup = payload.wakeup ?? undefined;
    let vi: Vi;
    try {
      const reply = encodeAcceptPayload({ target: targetIndex, wakeup: peerWakeup ? wakeupFor(params) : null });
      vi = incoming.accept({ recvDepth: recvDepthFor(params), payload: reply });
    } catch (err) {
      // Out of fds or memory (EMFILE, ENFILE, ENOMEM): the provider has answered the connector,
      // whose TCP fallback then fails or succeeds exactly as node:net would. Never our crash.
      debug('cannot accept %s connection: %s', provider.name, (err as Error).message);
      return;
    }

    if (self.maxConnections && self._connections >= self.maxConnections) {
      // Like node: accept, then close at once (the client sees 'connect', 'end', 'close'), and say so.
      dropConnection(vi, params, peerWakeup);
      if (sockname && peername) {
        this.emit('drop', {
          __proto__: null,
          localAddress: sockname.address, localPort: sockname.port, localFamily: sockname.family,
          remoteAddress: peername.address, remotePort: peername.port, remoteFamily: peername.family,
        });
      } else {
        this.emit('drop');
      }
      return;
    }

    const socket = new Socket({
      allowHalfOpen: self.allowHalfOpen,
      readable: true,
      writable: true,
      readableHighWaterMark: self.highWaterMark,
      writableHighWaterMark: self.highWaterMark,
    } as net.SocketConstructorOpts);
    try {
      attachEngine(socket, provider, vi, params, peername, sockname, peerWakeup);
    } catch (err) {
      debug('cannot start engine: %s', (err as Error).message);
      vi.close();
      return;
    }
    if (self.noDelay) socket.setNoDelay(true);
    if (self.keepAlive) socket.setKeepAlive(true, self.keepAliveInitialDelay * 1000);
    self._connections++;
    (socket as any).server = this;
    (socket as any)._server = this;
    if (self.pauseOnConnect) (socket as any).readableFlowing = false;
    else socket.read(0);
    this.emit('connection', socket);
  }
}
