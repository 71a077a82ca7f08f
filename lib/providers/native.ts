/**
 * Loads the native addon (build/Release/via_shm.node). If it is missing or broken, via-net keeps
 * working over TCP: the reason is logged once through debug('via-net:native') and kept for
 * `providerUnavailableReason()` and `via-net doctor`.
 */
import { logger } from '../log';
import * as path from 'node:path';

const debug = logger('via-net:native');

/** The raw binding's shape (see native/addon.cc). */
export interface NativeBinding {
  attrs(): { maxTransferSize: number; maxRecvDepth: number; maxSendDepth: number };
  /** The numbers the binding's records and statuses use (native/addon.cc Constants). */
  constants: NativeConstants;
  netns(): number;
  connect(
    cq: NativeCompletionQueue,
    path: string,
    depth: number,
    slotSize: number,
    payload: Buffer,
    allowUids: readonly number[] | undefined,
    callback: (err: (Error & { code: string }) | null, vi?: NativeVi, payload?: Buffer) => void,
  ): { cancel(): void };
  CompletionQueue: new (dispatch: () => void, meta: Int32Array, arena: Buffer) => NativeCompletionQueue;
  Listener: new (
    cq: NativeCompletionQueue,
    path: string,
    allowUids: readonly number[] | undefined,
    onRequest: (req: NativeIncomingRequest, payload: Buffer, pid: number, uid: number, gid: number) => void,
  ) => NativeListener;
}

export interface NativeConstants {
  /** Completion records: a header of `metaHeader` ints (count, flags), then `metaFields` ints each. */
  metaHeader: number;
  metaFields: number;
  kindRecv: number;
  kindError: number;
  flagArenaFull: number;
  send: { ok: number; broken: number; noDescriptor: number; corrupt: number; tooLong: number };
  reason: { peerGone: number; noDescriptor: number; corrupt: number; localClose: number; peerExited: number };
  pollMode: { event: number; adaptive: number; busy: number };
  /** What NativeCompletionQueue.probeEntry finds at a rendezvous entry. */
  entry: { none: number; process: number; other: number };
}

export interface NativeCompletionQueue {
  setArena(arena: Buffer): void;
  setPollMode(mode: number, spinMicros: number): void;
  /** Harvest into meta without dispatching; `force` also from inside a dispatch (exit path only). */
  poll(force?: boolean): number;
  stats(): CompletionQueueStats;
  /** The links to peer processes this queue serves (one per peer process, shared by its VIs). */
  links(): LinkInfo[];
  /** Could a listener answer at this rendezvous entry (there is one, and its process lives)? */
  entryLive(path: string): boolean;
  /**
   * What is at a rendezvous entry: `constants.entry.none` (no listener could answer), `process`
   * (a live process's entry), `other` (not ours to judge: a cluster's marker, or not an entry).
   */
  probeEntry(path: string): number;
  /** Removes this process's rendezvous files (for an exiting process). */
  removeRendezvousFiles(): void;
  close(): void;
}

/** One link: the peer process's socket name (`p-<pid>-<start>`), its credentials, its VIs. */
export interface LinkInfo {
  key: string;
  pid: number;
  uid: number;
  vis: number;
  up: boolean;
}

/** Counters and, for stall reports, what the queue is waiting for right now. */
export interface CompletionQueueStats {
  wakeups: number;
  sleeps: number;
  /** Time spent polling and finding nothing, in adaptive and busy mode (ns). */
  spinNs: number;
  /** Adaptive mode's spin budget now (ns): it shrinks while peers think, grows while they answer fast. */
  spinBudgetNs: number;
  completions: number;
  dispatches: number;
  /** Slot memory idle VIs gave back (bytes). */
  trimmedBytes: number;
  vis: number;
  /** Links to peer processes. */
  links: number;
  inDispatch: boolean;
  kickPending: boolean;
  idleRunning: boolean;
  doorbellReadable: boolean;
  mode: number;
  /** Open VIs with completions published and not yet harvested. */
  readyVis: number;
  /** Open VIs whose peer would ring the doorbell on its next send. */
  sleepingVis: number;
}

/** One VI's private counters next to the shared ones (diagnostics; shared values unvalidated). */
export interface ViInspection {
  posted: number;
  consumed: number;
  sent: number;
  ownCompTail: number;
  ownDescTail: number;
  ownSleeping: number;
  peerCompTail: number;
  peerDescTail: number;
  peerSleeping: number;
  broken: number;
  reported: boolean;
  peerGone: boolean;
  inCq: boolean;
  refed: boolean;
  /** The key of the VI's link. */
  link?: string;
}

export interface NativeVi {
  readonly id: number;
  readonly recvDepth: number;
  readonly sendSlotSize: number;
  postRecv(count: number): void;
  postSend(buf: Uint8Array, offset: number, length: number, imm: number, last?: boolean): number;
  stage(buf: Uint8Array, offset: number, length: number, imm: number): number;
  publishStaged(imm: number): void;
  markTaken(bytes: number): void;
  holdsUnread(): boolean;
  peerTookAll(): boolean;
  abort(): void;
  scribble(which: ScribbleTarget, seed: number): void;
  inspect(): ViInspection | Record<string, never>;
  ref(): void;
  unref(): void;
  /** `quiet`: the close handshake finished, so the peer may learn of the close late. */
  close(quiet?: boolean): void;
}

/** Test hook targets: this VI's ring on either side, or the link's region header on either side. */
export type ScribbleTarget = 'own' | 'peer' | 'link-own' | 'link-peer';

export interface NativeIncomingRequest {
  accept(depth: number, slotSize: number, payload: Buffer): NativeVi;
  reject(): void;
}

export interface NativeListener {
  close(): void;
  ref(): void;
  unref(): void;
}

type LoadResult = { binding: NativeBinding; error: null } | { binding: null; error: string };
let loaded: LoadResult | undefined;

/** Where the addon is looked for: VIA_NET_ADDON (a path, e.g. the ASan build), else build/Release. */
function addonPath(): string {
  return process.env.VIA_NET_ADDON || path.join(__dirname, '..', '..', 'build', 'Release', 'via_shm.node');
}

export function loadNative(): LoadResult {
  if (loaded) return loaded;
  if (process.env.VIA_NET_DISABLE_NATIVE === '1') {
    loaded = { binding: null, error: 'disabled by VIA_NET_DISABLE_NATIVE=1' };
  } else {
    const file = addonPath();
    try {
      loaded = { binding: require(file) as NativeBinding, error: null };
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0];
      loaded = { binding: null, error: `cannot load ${file}: ${reason}` };
    }
  }
  if (loaded.error) debug('native addon unavailable, only the TCP path is offered: %s', loaded.error);
  else debug('native addon loaded from %s', addonPath());
  return loaded;
}
