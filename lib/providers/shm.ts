/**
 * The shm provider: the software VIA emulator (native/), adapted to the ViProvider interface.
 *
 * One completion queue per process serves every shm VI. Its dispatch callback decodes the batch
 * of completions the native side wrote into a shared Int32Array and routes each to its VI's
 * handler. Received bytes are copied once, by native code, from shared memory into a JS-owned
 * arena; handlers get slices of it that are never written again (a fresh arena replaces a full one).
 */
import { logger } from '../log';
import { loadNative, type LinkInfo, type NativeBinding, type NativeCompletionQueue, type NativeConstants, type NativeVi } from './native';
import { allowedUidsFromEnv, entryPath, prepareEntry, shareEntry } from './rundir';
import { isMarked, memberPath, placeMarker, retireMarker, sweepMarkers } from './shared-name';
import { MemberTurns } from './member-turns';
import { connectInTurn, type OpenEntry } from './in-turn';
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

const debug = logger('via-net:shm');

/** Completions harvested per dispatch (the meta array's size follows). */
const BATCH = 64;
const ARENA_SIZE = 256 * 1024;

/** What each break reason (native BreakReason, numbered by the binding's constants) reads as. */
function reasonTable(r: NativeConstants['reason']): Record<number, { code: string; text: string }> {
  return {
    [r.peerGone]: { code: 'ECONNRESET', text: 'the peer closed the VI or its process exited, leaving data unread' },
    [r.noDescriptor]: { code: 'EPROTO', text: 'a send found no receive descriptor posted (pre-posting violation)' },
    [r.corrupt]: { code: 'EBADMSG', text: 'shared memory failed validation' },
    [r.localClose]: { code: 'ECONNRESET', text: 'the VI was closed' },
    [r.peerExited]: { code: 'EOF', text: 'the peer closed the VI or its process exited, with nothing left unread' },
  };
}

class ShmVi implements Vi {
  handler: ViHandler | null = null;
  /** Completions that arrived before setHandler: delivered, in order, once a handler is set. */
  private early: Array<{ data: Buffer; imm: number } | { err: ViError }> | null = null;
  pollMode: PollMode = 'adaptive';
  spinMicros = 50;
  private closed = false;
  /** Descriptors the native VI posted at creation that the owner has not yet claimed with postRecv. */
  private prePosted: number;

  /** The binding's send statuses. */
  private readonly send: NativeConstants['send'];

  constructor(
    private readonly provider: ShmProvider,
    private readonly native: NativeVi,
    readonly id: number,
  ) {
    this.prePosted = native.recvDepth;
    this.send = provider.constants.send;
  }

  get recvDepth(): number {
    return this.native.recvDepth;
  }

  setHandler(handler: ViHandler): void {
    this.handler = handler;
    const early = this.early;
    if (!early) return;
    this.early = null;
    // Not from inside this call (no re-entrant completions), but before any later dispatch.
    process.nextTick(() => {
      for (const c of early) {
        if (this.handler !== handler) return;
        if ('err' in c) {
          this.handler = null;
          handler.onBroken(c.err);
          return;
        }
        handler.onRecv(c.data, c.imm);
      }
    });
  }

  /** A completion for a VI whose owner has not set its handler yet. */
  holdEarly(c: { data: Buffer; imm: number } | { err: ViError }): void {
    (this.early ??= []).push(c);
  }

  postRecv(count: number): void {
    const claimed = Math.min(count, this.prePosted);
    this.prePosted -= claimed;
    if (count > claimed) this.native.postRecv(count - claimed);
  }

  postSend(buf: Uint8Array, offset: number, length: number, imm: number, last = false): boolean {
    const status = this.native.postSend(buf, offset, length, imm, last);
    if (status !== this.send.ok) throw this.sendError(status, length);
    return true;
  }

  stage(buf: Uint8Array, offset: number, length: number, imm: number): boolean {
    const status = this.native.stage(buf, offset, length, imm);
    if (status === this.send.ok) return true;
    if (status === this.send.tooLong) return false;
    throw this.sendError(status, length);
  }

  publishStaged(imm: number): void {
    this.native.publishStaged(imm);
  }

  markTaken(bytes: number): void {
    this.native.markTaken(bytes);
  }

  holdsUnread(): boolean {
    return this.native.holdsUnread();
  }

  peerTookAll(): boolean {
    return this.native.peerTookAll();
  }

  abort(): void {
    this.native.abort();
  }

  private sendError(status: number, length: number): ViError {
    const reasons = this.provider.reasons;
    const reason = this.provider.constants.reason;
    switch (status) {
      case this.send.tooLong:
        return codedError('ERR_OUT_OF_RANGE', `send of ${length} bytes exceeds the peer's slot size ${this.native.sendSlotSize}`);
      case this.send.noDescriptor:
        return codedError('EPROTO', `shm VI ${this.id}: ${reasons[reason.noDescriptor].text}`);
      case this.send.corrupt:
        return codedError('EBADMSG', `shm VI ${this.id}: ${reasons[reason.corrupt].text}`);
      default:
        return codedError('EPIPE', `shm VI ${this.id} is broken`);
    }
  }

  allocSendBuffer(size: number): Buffer {
    // The emulator copies from any memory, so "registered" memory is just a stable Buffer; a
    // small one (each connection's control buffer) is a slice of node's pool, not an
    // ArrayBuffer of its own.
    return Buffer.allocUnsafe(size);
  }

  setPollMode(mode: PollMode, spinMicros: number): void {
    // Every engine sets its mode once; most ask for what the VI already has.
    if (this.closed || (mode === this.pollMode && spinMicros === this.spinMicros)) return;
    this.provider.countPollMode(this, -1);
    this.pollMode = mode;
    this.spinMicros = spinMicros;
    this.provider.countPollMode(this, +1);
    this.provider.updatePollMode();
  }

  /**
   * The native VI's ref state, mirrored (it starts ref'd and only these calls change it): the
   * facade says ref/unref several times per connection, mostly to confirm what is already so.
   */
  private refed = true;

  ref(): void {
    if (this.closed || this.refed) return;
    this.refed = true;
    this.native.ref();
  }

  unref(): void {
    if (this.closed || !this.refed) return;
    this.refed = false;
    this.native.unref();
  }

  /** Diagnostics: the native counters (completions published vs consumed, sleep flags). */
  inspect(): ReturnType<NativeVi['inspect']> | null {
    return this.closed ? null : this.native.inspect();
  }

  close(finished = false): void {
    if (this.closed) return;
    this.closed = true;
    this.handler = null;
    this.native.close(finished);
    this.provider.forget(this);
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

export class ShmProvider implements ViProvider {
  readonly name = 'shm' as const;
  readonly reach = 'host' as const;
  readonly attrs: ProviderAttributes;
  /** The binding's numbers, and what its break reasons read as. */
  readonly constants: NativeConstants;
  readonly reasons: Record<number, { code: string; text: string }>;
  private readonly pollModes: Record<PollMode, number>;
  private cq: NativeCompletionQueue | null = null;
  private readonly meta: Int32Array;
  private arena = Buffer.allocUnsafeSlow(ARENA_SIZE);
  private readonly vis = new Map<number, ShmVi>();
  private readonly netns: number;
  private readonly pollModeCounts = new Map<number, number>();
  private cqMode = -1;
  private cqSpin = -1;
  /** Names this process serves as one of a cluster's workers: plain entry path -> primary's pid. */
  private readonly sharedNames = new Map<string, number>();
  /** Which worker of each cluster-served name this process connects to next. */
  private readonly turns = new MemberTurns();
  private markersSwept = false;

  constructor(private readonly binding: NativeBinding) {
    const a = binding.attrs();
    this.attrs = { maxTransferSize: a.maxTransferSize, maxRecvDepth: a.maxRecvDepth, maxSendDepth: a.maxSendDepth };
    this.constants = binding.constants;
    this.reasons = reasonTable(binding.constants.reason);
    this.pollModes = binding.constants.pollMode;
    this.meta = new Int32Array(binding.constants.metaHeader + BATCH * binding.constants.metaFields);
    this.netns = binding.netns();
  }

  /** The completion queue, created on first use and kept for the life of the process. */
  private queue(): NativeCompletionQueue {
    if (!this.cq) {
      this.cq = new this.binding.CompletionQueue(() => this.dispatch(), this.meta, this.arena);
      this.updatePollMode();
      // process.exit() skips the teardown that removes them otherwise: a listener's entry left
      // behind would send the next client to a dead process (it falls back, but only after a try).
      const cq = this.cq;
      process.once('exit', () => {
        cq.removeRendezvousFiles();
        // Our member entries are gone: the last live worker also takes the marker away.
        for (const [file, primary] of this.sharedNames) retireMarker(file, primary, (f) => cq.entryLive(f));
      });
    }
    return this.cq;
  }

  /** Called by native code with a batch of completions in `meta`. */
  private dispatch(): void {
    const meta = this.meta;
    const c = this.constants;
    const count = meta[0];
    const arena = this.arena;
    let arenaEnd = 0;
    for (let i = 0; i < count; i++) {
      const base = c.metaHeader + i * c.metaFields;
      const vi = this.vis.get(meta[base] >>> 0);
      const kind = meta[base + 1];
      if (kind === c.kindRecv) {
        const length = meta[base + 2];
        const offset = meta[base + 4];
        arenaEnd = offset + length;
        const data = arena.subarray(offset, offset + length);
        const imm = meta[base + 3] >>> 0;
        // The native side harvests each VI's completions back to back: another of this VI's
        // right behind means the engine can deliver them as one chunk (one 'data' event).
        const next = base + c.metaFields;
        const more = i + 1 < count && meta[next] === meta[base] && meta[next + 1] === c.kindRecv;
        if (vi?.handler) vi.handler.onRecv(data, imm, more);
        else vi?.holdEarly({ data, imm });
      } else if (kind === c.kindError && vi && !vi.isClosed) {
        const reason = this.reasons[meta[base + 2]] ?? this.reasons[c.reason.corrupt];
        const where = meta[base + 3] === 1 ? 'here' : 'at the peer';
        const err: ViError = codedError(reason.code, `shm VI broke: ${reason.text} (found ${where})`);
        // The provider counts what the peer took, so a hang-up reads as EOF or as this reset.
        if (meta[base + 2] === c.reason.peerGone) err.peerUnread = true;
        debug('VI %d broke (%s, found %s)', vi.id, reason.code, where);
        const handler = vi.handler;
        vi.handler = null; // nothing is delivered after onBroken
        if (handler) handler.onBroken(err);
        else vi.holdEarly({ err });
      }
    }
    // Slices already handed out keep the old arena alive; native code writes only to the new one.
    if ((meta[1] & c.flagArenaFull) !== 0 || arenaEnd > ARENA_SIZE - this.attrs.maxTransferSize) {
      this.arena = Buffer.allocUnsafeSlow(ARENA_SIZE);
      this.cq?.setArena(this.arena);
    }
  }

  pollNow(): number {
    if (!this.cq) return 0;
    const n = this.cq.poll(true);
    if (n > 0 || (this.meta[1] & this.constants.flagArenaFull) !== 0) this.dispatch();
    return n;
  }

  /**
   * Open VIs per (poll mode, spin budget): what the queue must serve, kept as VIs come and go.
   * The key packs both numbers (mode in the low 2 bits): this runs twice per connection.
   */
  countPollMode(vi: ShmVi, delta: number): void {
    const key = this.pollModes[vi.pollMode] + vi.spinMicros * 4;
    const n = (this.pollModeCounts.get(key) ?? 0) + delta;
    if (n > 0) this.pollModeCounts.set(key, n);
    else this.pollModeCounts.delete(key);
  }

  /**
   * The queue waits as eagerly as its most eager VI asks (busy > adaptive > event). A handful of
   * distinct (mode, spin) pairs are open at once, so this costs nothing per connection.
   */
  updatePollMode(): void {
    if (!this.cq) return;
    let mode = 0;
    let spin = 0;
    for (const key of this.pollModeCounts.keys()) {
      mode = Math.max(mode, key & 3);
      spin = Math.max(spin, key >>> 2);
    }
    if (this.pollModeCounts.size === 0) {
      mode = this.pollModes.adaptive;
      spin = 50;
    }
    if (mode !== this.cqMode || spin !== this.cqSpin) {
      this.cqMode = mode;
      this.cqSpin = spin;
      this.cq.setPollMode(mode, spin);
    }
  }

  private adopt(native: NativeVi): ShmVi {
    const vi = new ShmVi(this, native, native.id);
    this.vis.set(vi.id, vi);
    this.countPollMode(vi, +1);
    this.updatePollMode();
    return vi;
  }

  forget(vi: ShmVi): void {
    this.vis.delete(vi.id);
    this.countPollMode(vi, -1);
    this.updatePollMode();
  }

  get openVis(): number {
    return this.vis.size;
  }

  stats(): ReturnType<NativeCompletionQueue['stats']> | null {
    return this.cq ? this.cq.stats() : null;
  }

  /** The links to peer processes (one per peer process, shared by all its connections). */
  links(): LinkInfo[] {
    return this.cq ? this.cq.links() : [];
  }

  listen(name: string, options: ListenOptions, onConnection: (incoming: IncomingVi) => void): ViListener {
    const file = prepareEntry(name, this.netns);
    if (!this.markersSwept) {
      // As the native side sweeps dead processes' entries when a process first listens.
      this.markersSwept = true;
      sweepMarkers(file, (f) => this.queue().entryLive(f));
    }
    const own = options.sharedBy === undefined ? file : memberPath(file);
    const slotSize = this.attrs.maxTransferSize;
    const allowUids = [...allowedUidsFromEnv(), ...(options.allowUids ?? [])];
    const listener = new this.binding.Listener(this.queue(), own, allowUids, (req, payload, pid, uid, gid) => {
      let answered = false;
      const incoming: IncomingVi = {
        payload,
        peer: { pid, uid, gid },
        accept: ({ recvDepth, payload: reply }) => {
          answered = true;
          return this.adopt(req.accept(recvDepth, slotSize, reply));
        },
        reject: () => {
          answered = true;
          req.reject();
        },
      };
      onConnection(incoming);
      if (!answered) debug('listener %s left a request pending', name);
    });
    if (allowUids.length > 0) shareEntry(own);
    debug('listening on %s (%s)%s', name, own, allowUids.length ? `, also for uids ${allowUids.join(',')}` : '');
    return options.sharedBy === undefined ? listener : this.joinCluster(file, options.sharedBy, listener);
  }

  /**
   * A worker's member entry is registered: mark the name as a cluster's (shared-name.ts), and
   * retire the mark with the last worker's listener.
   */
  private joinCluster(file: string, primary: number, listener: ViListener): ViListener {
    const live = (f: string): boolean => this.queue().entryLive(f);
    try {
      placeMarker(file, primary, live);
    } catch (err) {
      listener.close();
      throw err;
    }
    this.sharedNames.set(file, primary);
    let closed = false;
    return {
      close: () => {
        if (closed) return;
        closed = true;
        listener.close();
        this.sharedNames.delete(file);
        retireMarker(file, primary, live);
      },
      ref: () => listener.ref(),
      unref: () => listener.unref(),
    };
  }

  /**
   * A listener of this namespace has an entry in the rendezvous directory: no entry, no listener.
   * Behind a cluster's marker, some worker's entry must be live.
   */
  mayHaveListener(name: string): boolean {
    const file = entryPath(name, this.netns);
    const cq = this.queue();
    const state = cq.probeEntry(file);
    const kinds = this.constants.entry;
    if (state === kinds.none) return false;
    if (state === kinds.process) return true; // a process's own entry is never a marker
    return !isMarked(file) || this.turns.anyLive(file, (f) => cq.entryLive(f));
  }

  connect(name: string, options: ConnectOptions, callback: ConnectCallback): ConnectRequest {
    const file = entryPath(name, this.netns);
    const open: OpenEntry = (entry, done) => this.openEntry(entry, options, done);
    const planned = this.turns.takePlanned(file);
    if (planned) return this.connectToWorkers(name, planned, open, callback, codedError('ECONNREFUSED', `no worker serves ${name}`));
    try {
      return open(file, callback);
    } catch (err) {
      // No listener (ENOENT), a stale entry (ECONNREFUSED), or bad arguments; but a refused entry
      // may be a cluster's marker, and then its workers' entries are the ones to try.
      const refusal = err as ViError;
      const files = refusal.code === 'ECONNREFUSED' && isMarked(file) ? this.turns.next(file) : [];
      return this.connectToWorkers(name, files, open, callback, refusal);
    }
  }

  /** Tries a cluster's workers in turn; with none to try, reports `refusal` (asynchronously). */
  private connectToWorkers(name: string, files: string[], open: OpenEntry, callback: ConnectCallback, refusal: ViError): ConnectRequest {
    if (files.length > 0) debug('%s is served by a cluster: %d workers, first %s', name, files.length, files[0]);
    return connectInTurn(files, open, callback, refusal);
  }

  /** Starts a connect to one entry; throws (ENOENT, ECONNREFUSED, ...) when it cannot start. */
  private openEntry(file: string, options: ConnectOptions, callback: ConnectCallback): ConnectRequest {
    let cancelled = false;
    const req = this.binding.connect(
      this.queue(),
      file,
      options.recvDepth,
      this.attrs.maxTransferSize,
      options.payload,
      allowedUidsFromEnv(),
      (err, native, payload) => {
        if (cancelled) {
          native?.close();
          return;
        }
        if (err || !native) callback(err ?? codedError('ECONNREFUSED', 'connect failed'));
        else callback(null, this.adopt(native), payload);
      },
    );
    return {
      cancel: () => {
        cancelled = true;
        req.cancel();
      },
    };
  }
}

let instance: ShmProvider | null | undefined;

/** The process's shm provider, or null when the native addon is unavailable. */
export function shmProvider(): ShmProvider | null {
  if (instance === undefined) {
    const { binding } = loadNative();
    instance = binding ? new ShmProvider(binding) : null;
  }
  return instance;
}

export function shmUnavailableReason(): string | null {
  return loadNative().error;
}
