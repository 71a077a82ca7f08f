/**
 * A pure-TypeScript, in-process VI provider for tests. It emulates the VIA semantics the SOVIA
 * engine depends on, strictly, and lets a test control everything the real providers leave to
 * chance:
 *
 * - reliable, in order, exactly once; a fresh copy of the payload is handed to onRecv;
 * - the pre-posting constraint: a send that finds no receive descriptor posted at the peer breaks
 *   the VI on both sides (postSend throws EPROTO, both handlers get onBroken) and is counted in
 *   `stats.creditViolations`, so tests can assert the engine never does it;
 * - descriptors are consumed when the send is posted (the strictest moment: a real NIC checks
 *   later, when the bytes land), and postRecv beyond recvDepth throws;
 * - an asynchronous send (postSend returned false) reads the source buffer only when it
 *   "transfers", right before its onSendComplete, so an engine that reuses a buffer too early
 *   corrupts its own stream and the tests' hashes catch it;
 * - completions are never delivered re-entrantly: only from the scheduler (setImmediate, timers,
 *   or `runPending()` in 'manual' mode).
 *
 * Connection start: sends that reach a VI whose owner has not yet made its first postRecv are
 * held and checked against that first postRecv. This models a VIA connector that pre-posts its
 * descriptors before VipConnectRequest: the acceptor may send WAKEUP at once, and the connector
 * finds it queued when its connect completes.
 */
import { logger } from '../log';
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
import type { ProviderEntry } from './index';

const log = logger('via-net:memory');

/** How completions are scheduled. */
export type MemorySchedule =
  | 'immediate'
  | 'manual'
  | { kind: 'delayed'; ms: number }
  | { kind: 'random'; maxBatch?: number; maxDelayMs?: number };

export interface SendInfo {
  viId: number;
  length: number;
  imm: number;
}

/** Whether postSend completes synchronously (returns true) or asynchronously (returns false). */
export type MemorySendMode = 'sync' | 'async' | 'random' | ((info: SendInfo) => boolean);

export interface MemoryProviderOptions {
  maxTransferSize?: number;
  maxRecvDepth?: number;
  maxSendDepth?: number;
  schedule?: MemorySchedule;
  sendMode?: MemorySendMode;
  /**
   * Where the 'random' schedule and send mode draw from (floats in [0, 1)). A seeded generator
   * makes a run repeatable: the tests pass test/support/prng.js's. Math.random by default.
   */
  random?: () => number;
}

export interface MemoryProviderStats {
  /** Sends that found no receive descriptor posted at the peer (must stay 0 under SOVIA). */
  creditViolations: number;
  packetsSent: number;
  bytesSent: number;
  asyncSends: number;
  /** Largest number of descriptors ever consumed-but-not-reposted at one VI. */
  maxDescriptorsInUse: number;
}

/** One packet on its way from a sender's queue to a receiver's completion queue. */
interface InFlight {
  /** The receiver's copy; null until an asynchronous send has transferred. */
  data: Buffer | null;
  imm: number;
  /** Source of an asynchronous send, read at transfer time. */
  src: Uint8Array | null;
  offset: number;
  length: number;
}

class MemoryVi implements Vi {
  readonly id: number;
  readonly recvDepth: number;
  handler: ViHandler | null = null;
  peer: MemoryVi | null = null;
  /** Receive descriptors currently posted. */
  posted = 0;
  /** False until the first postRecv: arrivals before it are held and checked then. */
  armed = false;
  early = 0;
  closed = false;
  /** Set once the link is broken: postSend throws it. */
  broken: ViError | null = null;
  /** onBroken still to be delivered, after the ready part of `inbound`. */
  brokenNotice: ViError | null = null;
  /** Packets addressed to this VI, in order. */
  inbound: InFlight[] = [];
  /** This VI's asynchronous sends, in order, awaiting transfer + onSendComplete. */
  sendPending: InFlight[] = [];
  pollMode: PollMode = 'event';
  spinMicros = 0;
  refed = true;

  constructor(private readonly provider: MemoryProvider, id: number, recvDepth: number) {
    this.id = id;
    this.recvDepth = recvDepth;
  }

  setHandler(handler: ViHandler): void {
    this.handler = handler;
  }

  postRecv(count: number): void {
    if (this.closed || this.broken) return;
    if (!Number.isInteger(count) || count < 0) throw codedError('EINVAL', `bad postRecv count ${count}`);
    if (this.posted + count > this.recvDepth) {
      throw codedError('EOVERFLOW', `postRecv(${count}) would exceed recvDepth ${this.recvDepth} (posted ${this.posted})`);
    }
    if (!this.handler) throw codedError('EINVAL', 'setHandler must be called before postRecv');
    this.posted += count;
    if (!this.armed) {
      this.armed = true;
      this.posted -= this.early;
      this.early = 0;
      if (this.posted < 0) {
        this.posted = 0;
        this.provider.stats.creditViolations++;
        this.provider.breakLink(this, 'EPROTO', 'packets arrived before any receive descriptor was posted');
        return;
      }
      this.provider.noteInUse(this);
    }
    this.provider.kick();
  }

  postSend(buf: Uint8Array, offset: number, length: number, imm: number): boolean {
    if (this.closed) throw codedError('EBADF', 'VI is closed');
    if (this.broken) throw this.broken;
    if (length > this.provider.attrs.maxTransferSize) {
      throw codedError('EMSGSIZE', `send of ${length} bytes exceeds maxTransferSize ${this.provider.attrs.maxTransferSize}`);
    }
    if (offset < 0 || length < 0 || offset + length > buf.length) throw codedError('EINVAL', 'send range outside the buffer');
    const peer = this.peer;
    if (!peer || peer.closed) throw codedError('ECONNRESET', 'peer is gone');
    if (peer.armed) {
      if (peer.posted === 0) {
        this.provider.stats.creditViolations++;
        this.provider.breakLink(this, 'EPROTO', 'send found no receive descriptor posted at the peer');
        throw this.broken ?? codedError('EPROTO', 'pre-posting constraint violated');
      }
      peer.posted--;
      this.provider.noteInUse(peer);
    } else {
      peer.early++;
    }
    this.provider.stats.packetsSent++;
    this.provider.stats.bytesSent += length;
    const sync = this.provider.chooseSync({ viId: this.id, length, imm: imm >>> 0 });
    const packet: InFlight = sync
      ? { data: Buffer.from(buf.subarray(offset, offset + length)), imm: imm >>> 0, src: null, offset: 0, length }
      : { data: null, imm: imm >>> 0, src: buf, offset, length };
    peer.inbound.push(packet);
    if (!sync) {
      this.provider.stats.asyncSends++;
      this.sendPending.push(packet);
    }
    this.provider.kick();
    return sync;
  }

  allocSendBuffer(size: number): Buffer {
    return Buffer.alloc(size);
  }

  setPollMode(mode: PollMode, spinMicros: number): void {
    this.pollMode = mode;
    this.spinMicros = spinMicros;
  }

  ref(): void {
    this.refed = true;
  }

  unref(): void {
    this.refed = false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inbound = [];
    this.sendPending = [];
    this.brokenNotice = null;
    const peer = this.peer;
    if (peer && !peer.closed && !peer.broken) {
      peer.markBroken(codedError('ECONNRESET', 'peer closed the VI'));
    }
    this.provider.forget(this);
  }

  /** Break this side: sends not yet transferred are lost, and onBroken follows the ready packets. */
  markBroken(err: ViError): void {
    if (this.closed || this.broken) return;
    this.broken = err;
    this.brokenNotice = err;
    this.sendPending = [];
    // In order and without gaps: nothing after the first untransferred packet may be delivered.
    const firstUnready = this.inbound.findIndex((p) => p.data === null);
    if (firstUnready >= 0) this.inbound.length = firstUnready;
    this.provider.kick();
  }

  /** Kinds of work this VI has for the scheduler. */
  canDeliverRecv(): boolean {
    return !this.closed && this.armed && this.inbound.length > 0 && this.inbound[0].data !== null;
  }

  canCompleteSend(): boolean {
    return !this.closed && this.handler !== null && this.sendPending.length > 0;
  }

  canDeliverBroken(): boolean {
    return !this.closed && this.brokenNotice !== null && this.inbound.length === 0 && this.handler !== null;
  }

  hasWork(): boolean {
    return this.canDeliverRecv() || this.canCompleteSend() || this.canDeliverBroken();
  }

  deliverRecv(): void {
    const packet = this.inbound.shift()!;
    this.handler!.onRecv(packet.data!, packet.imm);
  }

  completeSend(): void {
    const packet = this.sendPending.shift()!;
    // The transfer happens now: this is when the source buffer is read.
    packet.data = Buffer.from(packet.src!.subarray(packet.offset, packet.offset + packet.length));
    packet.src = null;
    this.handler!.onSendComplete();
  }

  deliverBroken(): void {
    const err = this.brokenNotice!;
    this.brokenNotice = null;
    this.handler!.onBroken(err);
  }
}

class MemoryListener implements ViListener {
  closed = false;
  constructor(
    private readonly provider: MemoryProvider,
    readonly name: string,
    readonly onConnection: (incoming: IncomingVi) => void,
  ) {}
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.provider.unlisten(this);
  }
  ref(): void {}
  unref(): void {}
}

export class MemoryProvider implements ViProvider {
  readonly name = 'memory' as const;
  readonly reach = 'host' as const;
  readonly attrs: ProviderAttributes;
  readonly stats: MemoryProviderStats = {
    creditViolations: 0,
    packetsSent: 0,
    bytesSent: 0,
    asyncSends: 0,
    maxDescriptorsInUse: 0,
  };
  private readonly schedule: MemorySchedule;
  private readonly sendMode: MemorySendMode;
  private readonly rng: () => number;
  private readonly listeners = new Map<string, MemoryListener>();
  private readonly vis = new Set<MemoryVi>();
  private nextId = 1;
  private scheduled = false;

  constructor(options: MemoryProviderOptions = {}) {
    this.attrs = {
      maxTransferSize: options.maxTransferSize ?? 32768,
      maxRecvDepth: options.maxRecvDepth ?? 4096,
      maxSendDepth: options.maxSendDepth ?? 4096,
    };
    this.schedule = options.schedule ?? 'immediate';
    this.sendMode = options.sendMode ?? 'sync';
    this.rng = options.random ?? Math.random;
  }

  listen(name: string, _options: ListenOptions, onConnection: (incoming: IncomingVi) => void): ViListener {
    const existing = this.listeners.get(name);
    if (existing && !existing.closed) throw codedError('EADDRINUSE', `memory listener "${name}" already exists`);
    const listener = new MemoryListener(this, name, onConnection);
    this.listeners.set(name, listener);
    return listener;
  }

  mayHaveListener(name: string): boolean {
    const listener = this.listeners.get(name);
    return listener !== undefined && !listener.closed;
  }

  connect(name: string, options: ConnectOptions, callback: ConnectCallback): ConnectRequest {
    let cancelled = false;
    let done = false;
    const finish = (err: ViError | null, vi?: Vi, payload?: Buffer): void => {
      if (cancelled || done) {
        if (vi) vi.close();
        return;
      }
      done = true;
      callback(err, vi, payload);
    };
    if (options.payload.length > 1024) throw codedError('EINVAL', 'connect payload larger than 1 KB');
    this.checkDepth(options.recvDepth);
    const connectorPayload = Buffer.from(options.payload);
    setImmediate(() => {
      if (cancelled) return;
      const listener = this.listeners.get(name);
      if (!listener || listener.closed) {
        finish(codedError('ENOENT', `no memory listener "${name}"`));
        return;
      }
      let decided = false;
      const incoming: IncomingVi = {
        payload: connectorPayload,
        peer: { pid: process.pid, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
        accept: (acceptOptions) => {
          if (decided) throw codedError('EINVAL', 'connection request already decided');
          decided = true;
          if (acceptOptions.payload.length > 1024) throw codedError('EINVAL', 'accept payload larger than 1 KB');
          this.checkDepth(acceptOptions.recvDepth);
          const [acceptorVi, connectorVi] = this.createPair(acceptOptions.recvDepth, options.recvDepth);
          const acceptPayload = Buffer.from(acceptOptions.payload);
          setImmediate(() => finish(null, connectorVi, acceptPayload));
          return acceptorVi;
        },
        reject: () => {
          if (decided) return;
          decided = true;
          setImmediate(() => finish(codedError('ECONNREFUSED', `memory listener "${name}" refused the connection`)));
        },
      };
      listener.onConnection(incoming);
    });
    return {
      cancel: () => {
        cancelled = true;
      },
    };
  }

  /** Two connected VIs without any rendezvous, for engine tests. */
  createPair(recvDepthA: number, recvDepthB: number): [Vi, Vi] {
    this.checkDepth(recvDepthA);
    this.checkDepth(recvDepthB);
    const a = new MemoryVi(this, this.nextId++, recvDepthA);
    const b = new MemoryVi(this, this.nextId++, recvDepthB);
    a.peer = b;
    b.peer = a;
    this.vis.add(a);
    this.vis.add(b);
    return [a, b];
  }

  /** Kill the link under `vi`: both sides get onBroken(ECONNRESET) after the data already delivered. */
  killLink(vi: Vi, code = 'ECONNRESET'): void {
    const mvi = vi as MemoryVi;
    this.breakLink(mvi, code, 'link killed by the test');
  }

  /** Manual schedule: run up to `max` completion steps now. Returns how many ran. */
  runPending(max = Infinity): number {
    let steps = 0;
    while (steps < max) {
      const work = this.pickWork(false);
      if (!work) break;
      work();
      steps++;
    }
    return steps;
  }

  /** Number of VIs with completions waiting to be delivered. */
  get busyVis(): number {
    let n = 0;
    for (const vi of this.vis) if (vi.hasWork()) n++;
    return n;
  }

  // ---- internals used by MemoryVi ----

  breakLink(vi: MemoryVi, code: string, message: string): void {
    log('link of VI %d broken: %s %s', vi.id, code, message);
    vi.markBroken(codedError(code, message));
    if (vi.peer) vi.peer.markBroken(codedError(code, message));
  }

  noteInUse(vi: MemoryVi): void {
    const inUse = vi.recvDepth - vi.posted;
    if (inUse > this.stats.maxDescriptorsInUse) this.stats.maxDescriptorsInUse = inUse;
  }

  chooseSync(info: SendInfo): boolean {
    const mode = this.sendMode;
    if (mode === 'sync') return true;
    if (mode === 'async') return false;
    if (mode === 'random') return this.rng() < 0.5;
    return mode(info);
  }

  forget(vi: MemoryVi): void {
    this.vis.delete(vi);
  }

  unlisten(listener: MemoryListener): void {
    if (this.listeners.get(listener.name) === listener) this.listeners.delete(listener.name);
  }

  /** Something may be deliverable: make sure a dispatch round is scheduled. */
  kick(): void {
    if (this.scheduled) return;
    const schedule = this.schedule;
    if (schedule === 'manual') return;
    this.scheduled = true;
    if (schedule === 'immediate') {
      setImmediate(() => this.round(Infinity, false));
    } else if (schedule.kind === 'delayed') {
      setTimeout(() => this.round(Infinity, false), schedule.ms);
    } else {
      const maxDelay = schedule.maxDelayMs ?? 2;
      const batch = 1 + Math.floor(this.rng() * (schedule.maxBatch ?? 8));
      const run = (): void => this.round(batch, true);
      if (maxDelay > 0 && this.rng() < 0.25) setTimeout(run, Math.floor(this.rng() * (maxDelay + 1)));
      else setImmediate(run);
    }
  }

  private round(limit: number, random: boolean): void {
    this.scheduled = false;
    // Bound a round by the work present at its start, so a ping-pong cannot spin here forever.
    let budget = Math.min(limit, this.countWork());
    while (budget-- > 0) {
      const work = this.pickWork(random);
      if (!work) break;
      work();
    }
    if (this.busyVis > 0) this.kick();
  }

  /** Upper bound of the completions deliverable now or once earlier ones ran. */
  private countWork(): number {
    let n = 0;
    for (const vi of this.vis) {
      if (vi.closed) continue;
      n += vi.sendPending.length + (vi.armed ? vi.inbound.length : 0) + (vi.brokenNotice ? 1 : 0);
    }
    return n;
  }

  private pickWork(random: boolean): (() => void) | null {
    const candidates: Array<() => void> = [];
    for (const vi of this.vis) {
      if (vi.canCompleteSend()) candidates.push(() => vi.completeSend());
      if (vi.canDeliverRecv()) candidates.push(() => vi.deliverRecv());
      if (vi.canDeliverBroken()) candidates.push(() => vi.deliverBroken());
      if (!random && candidates.length) break;
    }
    if (candidates.length === 0) return null;
    return random ? candidates[Math.floor(this.rng() * candidates.length)] : candidates[0];
  }

  private checkDepth(depth: number): void {
    if (!Number.isInteger(depth) || depth < 1 || depth > this.attrs.maxRecvDepth) {
      throw codedError('EINVAL', `recvDepth ${depth} outside 1..${this.attrs.maxRecvDepth}`);
    }
  }
}

let shared: MemoryProvider | null = null;

/**
 * The memory provider's entry for the provider table (lib/providers/index.ts). The production
 * table leaves it out; tests add it, so `transport: 'memory'` names one in-process instance
 * through which a server and a client in the same process meet. 'auto' does not try it.
 */
export const memoryProviderEntry: ProviderEntry = {
  name: 'memory',
  auto: false,
  provider: () => (shared ??= new MemoryProvider()),
  unavailableReason: () => null,
  diagnose: () => ({ reason: null, checks: { provider: 'in-process (tests)' } }),
};
