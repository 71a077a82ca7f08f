/**
 * The verbs provider: SOVIA over ibverbs RC queue pairs, with rdma_cm for connection setup
 * (native/verbs/). Same ViProvider semantics as shm:
 * - each VI's receives are pre-posted (the native VI posts `recvDepth` at creation, the owner's
 *   first postRecv calls claim them), and a SEND that finds none breaks the VI on both sides:
 *   the QP is connected with rnr_retry_count 0, so the NIC reports receiver-not-ready as an error;
 * - every packet is one SEND with immediate; the 32-bit immediate is the one lib/sovia/packet.ts
 *   encodes for every provider, carried in network byte order by the NIC;
 * - one CQ per process (per device) with a completion channel whose fd libuv watches.
 *
 * Why SEND with immediate and not RDMA WRITE with immediate into a ring (rsockets): see
 * native/verbs/wire.h. In short, SEND is VIA's own model, exposes no remote key to the peer,
 * and SOVIA's credits already do the ring accounting rsockets has to do itself.
 *
 * Rendezvous names (lib/transport/rendezvous.ts): `tcp:<port>` listens on every address at that
 * port, the TCP listener's own port number, so a client needs no discovery beyond the address it
 * would give TCP; a connector names the host too, `tcp:<port>@<ip>`. A name with no host means
 * this host's loopback address.
 */
import { logger } from '../log';
import { getSystemErrorName } from 'node:util';
import { parseTcpRendezvous } from '../transport/rendezvous';
import { loadVerbsBinding, VerbsEvent, VerbsSend, verbsStatus, type VerbsContext } from './verbs-native';
import type {
  ConnectCallback,
  ConnectOptions,
  ConnectRequest,
  IncomingVi,
  ListenOptions,
  PollMode,
  ProviderAttributes,
  Vi,
  ViError,
  ViHandler,
  ViListener,
  ViProvider,
} from './types';
import { codedError } from '../errors';

const debug = logger('via-net:verbs');

/** Break reasons (native/verbs/wire.h BreakReason) and what a socket sees. */
const REASONS: Record<number, { code: string; text: string }> = {
  1: { code: 'ECONNRESET', text: 'the peer disconnected or its process exited' },
  2: { code: 'EPROTO', text: 'a send found no receive descriptor posted (receiver not ready)' },
  3: { code: 'EBADMSG', text: 'a completion failed validation' },
  4: { code: 'ECONNRESET', text: 'the VI was closed' },
  5: { code: 'ECONNRESET', text: 'the RDMA transport reported an error' },
};

/** The error a broken VI reports for a native break reason. */
export function breakError(reason: number): ViError {
  const r = REASONS[reason] ?? REASONS[3];
  return codedError(r.code, `verbs VI broke: ${r.text}`);
}

/**
 * A connect failure from the native errno (ECONNREFUSED: the peer has no rdma_cm listener), named
 * as native/napi_helpers.h ErrnoCode names every native error: libuv's name (getSystemErrorName
 * is uv_err_name), EIO for an errno libuv has no name for.
 */
export function connectError(errno: number): ViError {
  const name = Number.isInteger(errno) && errno > 0 ? getSystemErrorName(-errno) : '';
  const code = name.startsWith('E') ? name : 'EIO';
  return codedError(code, `verbs connect failed (${code})`);
}

/**
 * The budget of one rdma_cm attempt: the TCP connect timeout (VIA_NET_CONNECT_TIMEOUT_MS,
 * default 3000 ms). A client whose verbs attempt has not connected by then falls back to TCP,
 * so a peer without an rdma_cm listener costs at most 1 x that timeout (usually far less: rdma_cm
 * answers a connect to a port with no listener with a reject at once).
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 3000;
export function connectTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.VIA_NET_CONNECT_TIMEOUT_MS);
  return Number.isInteger(v) && v > 0 ? v : DEFAULT_CONNECT_TIMEOUT_MS;
}

class VerbsVi implements Vi {
  handler: ViHandler | null = null;
  pollMode: PollMode = 'adaptive';
  private closed = false;
  private prePosted: number;
  /** Sends copied here while every native send slot is in flight; flushed as sends complete. */
  private backlog: { data: Buffer; imm: number }[] = [];

  constructor(
    private readonly provider: VerbsProvider,
    private readonly ctx: VerbsContext,
    readonly id: number,
    readonly recvDepth: number,
  ) {
    this.prePosted = recvDepth;
  }

  setHandler(handler: ViHandler): void {
    this.handler = handler;
  }

  postRecv(count: number): void {
    if (this.closed) throw codedError('EPIPE', `verbs VI ${this.id} is closed`);
    const claimed = Math.min(count, this.prePosted);
    this.prePosted -= claimed;
    if (count > claimed) this.ctx.postRecv(this.id, count - claimed);
  }

  postSend(buf: Uint8Array, offset: number, length: number, imm: number): boolean {
    if (this.closed) throw codedError('EPIPE', `verbs VI ${this.id} is closed`);
    if (this.backlog.length > 0) return this.queue(buf, offset, length, imm); // keep the order
    const status = this.ctx.postSend(this.id, buf, offset, length, imm);
    switch (status) {
      case VerbsSend.OK:
        return true;
      case VerbsSend.ASYNC:
        return false; // zero-copy from a registered user buffer: onSendComplete follows
      case VerbsSend.BUSY:
        return this.queue(buf, offset, length, imm);
      case VerbsSend.TOO_LONG:
        throw codedError('ERR_OUT_OF_RANGE', `send of ${length} bytes exceeds the peer's slot size`);
      default:
        throw codedError('EPIPE', `verbs VI ${this.id} is broken`);
    }
  }

  private queue(buf: Uint8Array, offset: number, length: number, imm: number): boolean {
    this.backlog.push({ data: Buffer.from(buf.subarray(offset, offset + length)), imm });
    return true;
  }

  /** A native send slot came free: move queued sends to the NIC. */
  flushBacklog(): void {
    while (this.backlog.length > 0 && !this.closed) {
      const { data, imm } = this.backlog[0];
      const status = this.ctx.postSend(this.id, data, 0, data.length, imm);
      if (status === VerbsSend.BUSY) return;
      this.backlog.shift();
      if (status === VerbsSend.ASYNC) throw new Error('unreachable: backlog copies are never registered');
      if (status !== VerbsSend.OK) return; // broken: onBroken follows from the native side
    }
  }

  allocSendBuffer(size: number): Buffer {
    // The native side copies small sends into registered slots, so any stable Buffer will do.
    return Buffer.allocUnsafeSlow(size);
  }

  setPollMode(mode: PollMode): void {
    // The completion channel wakes the process; the CQ is drained completely on each wake-up.
    // Polling modes are accepted but do not spin (yet): see docs/VERBS.md.
    this.pollMode = mode;
  }

  ref(): void {
    if (!this.closed) this.ctx.setRef(this.id, true);
  }

  unref(): void {
    if (!this.closed) this.ctx.setRef(this.id, false);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler = null;
    this.backlog = [];
    this.ctx.closeVi(this.id);
    this.provider.forget(this.id);
  }
}

type PendingConnect = { callback: ConnectCallback; recvDepth: number; timer: NodeJS.Timeout };

export class VerbsProvider implements ViProvider {
  readonly name = 'verbs' as const;
  readonly reach = 'network' as const;
  readonly attrs: ProviderAttributes;
  private readonly vis = new Map<number, VerbsVi>();
  private readonly listeners = new Map<number, (incoming: IncomingVi) => void>();
  private readonly connects = new Map<number, PendingConnect>();
  private readonly slotSize: number;

  constructor(
    private readonly ctx: VerbsContext,
    attrs: { maxTransferSize: number; maxRecvDepth: number; maxSendDepth: number },
  ) {
    this.attrs = { maxTransferSize: attrs.maxTransferSize, maxRecvDepth: attrs.maxRecvDepth, maxSendDepth: attrs.maxSendDepth };
    this.slotSize = attrs.maxTransferSize;
  }

  /** Every native event arrives here (installed by verbsProvider()). */
  dispatch(kind: number, id: number, a: number, b: number, data?: Buffer): void {
    switch (kind) {
      case VerbsEvent.RECV: {
        const vi = this.vis.get(id);
        if (vi?.handler && data) {
          if (debug.enabled) debug('VI %d recv %d bytes, immediate 0x%s', id, data.length, (b >>> 0).toString(16));
          vi.handler.onRecv(data, b >>> 0);
        }
        return;
      }
      case VerbsEvent.SEND: {
        const vi = this.vis.get(id);
        if (!vi) return;
        if (a === 1) vi.handler?.onSendComplete();
        vi.flushBacklog();
        return;
      }
      case VerbsEvent.BROKEN: {
        const vi = this.vis.get(id);
        const handler = vi?.handler;
        if (!vi || !handler) return;
        vi.handler = null; // nothing is delivered after onBroken
        handler.onBroken(breakError(a));
        return;
      }
      case VerbsEvent.CONNECTED:
      case VerbsEvent.CONNECT_FAILED: {
        const pending = this.connects.get(id);
        if (!pending) return;
        this.connects.delete(id);
        clearTimeout(pending.timer);
        if (kind === VerbsEvent.CONNECT_FAILED) pending.callback(connectError(a));
        else pending.callback(null, this.adopt(id, pending.recvDepth), data ?? Buffer.alloc(0));
        return;
      }
      case VerbsEvent.REQUEST:
        this.onRequest(id, a, data ?? Buffer.alloc(0));
        return;
      default:
        debug('unknown native event %d', kind);
    }
  }

  private onRequest(listenerId: number, viId: number, payload: Buffer): void {
    const onConnection = this.listeners.get(listenerId);
    if (!onConnection) {
      this.ctx.reject(viId);
      return;
    }
    let answered = false;
    onConnection({
      payload,
      peer: null, // rdma_cm does not tell who the remote process is
      accept: ({ recvDepth, payload: reply }) => {
        if (answered) throw codedError('ERR_INVALID_STATE', 'connection request already answered');
        answered = true;
        this.ctx.accept(viId, recvDepth, reply);
        return this.adopt(viId, recvDepth);
      },
      reject: () => {
        if (answered) return;
        answered = true;
        this.ctx.reject(viId);
      },
    });
  }

  private adopt(id: number, recvDepth: number): VerbsVi {
    const vi = new VerbsVi(this, this.ctx, id, recvDepth);
    this.vis.set(id, vi);
    return vi;
  }

  forget(id: number): void {
    this.vis.delete(id);
  }

  listen(name: string, _options: ListenOptions, onConnection: (incoming: IncomingVi) => void): ViListener {
    const where = parseTcpRendezvous(name);
    if (!where) throw codedError('EAFNOSUPPORT', `verbs cannot listen on ${name}: only TCP ports have an rdma_cm listener`);
    const id = this.ctx.listen(where.port, this.slotSize);
    this.listeners.set(id, onConnection);
    debug('rdma_cm listening on port %d', where.port);
    let closed = false;
    return {
      close: () => {
        if (closed) return;
        closed = true;
        this.listeners.delete(id);
        this.ctx.closeListener(id);
      },
      ref: () => {
        if (!closed) this.ctx.setRef(id, true);
      },
      unref: () => {
        if (!closed) this.ctx.setRef(id, false);
      },
    };
  }

  connect(name: string, options: ConnectOptions, callback: ConnectCallback): ConnectRequest {
    let cancelled = false;
    const fail = (err: ViError): ConnectRequest => {
      process.nextTick(() => {
        if (!cancelled) callback(err);
      });
      return { cancel: () => (cancelled = true) };
    };
    const where = parseTcpRendezvous(name);
    if (!where) return fail(codedError('ENOENT', `no verbs path to ${name}`));
    let id: number;
    try {
      id = this.ctx.connect(where.host ?? '127.0.0.1', where.port, options.recvDepth, this.slotSize, options.payload);
    } catch (err) {
      return fail(err as ViError);
    }
    const budget = connectTimeoutMs();
    const timer = setTimeout(() => {
      if (!this.connects.delete(id)) return;
      this.ctx.closeVi(id);
      callback(codedError('ETIMEDOUT', `rdma_cm connect to ${name} did not complete within ${budget} ms`));
    }, budget);
    timer.unref();
    this.connects.set(id, { callback, recvDepth: options.recvDepth, timer });
    return {
      cancel: () => {
        if (!this.connects.delete(id)) return;
        cancelled = true;
        clearTimeout(timer);
        this.ctx.closeVi(id);
      },
    };
  }
}

let instance: VerbsProvider | null | undefined;

/** The process's verbs provider, or null (see verbsUnavailableReason). */
export function verbsProvider(): VerbsProvider | null {
  if (instance === undefined) {
    let provider: VerbsProvider | null = null;
    const status = verbsStatus((kind, id, a, b, data) => provider?.dispatch(kind, id, a, b, data));
    const binding = loadVerbsBinding().binding;
    if (status.context && binding) {
      provider = new VerbsProvider(status.context, binding.attrs());
    }
    instance = provider;
  }
  return instance;
}

export function verbsUnavailableReason(): string | null {
  return verbsStatus().reason;
}
