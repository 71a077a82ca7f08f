/**
 * The VI provider interface: the only thing the SOVIA engine knows about the layer below it.
 *
 * It follows the Virtual Interface Architecture's model, as the SOVIA paper (Kim, Kim, Jung:
 * "Building a High Performance Communication Layer over VIA on Linux Clusters") uses it:
 * - a VI is one connected, reliable, in-order endpoint with a receive queue of descriptors;
 * - every packet carries a 32-bit immediate delivered with the data;
 * - a packet that reaches a VI with no receive descriptor posted breaks the VI on both sides
 *   (the pre-posting constraint). Avoiding that is the engine's job, through credits.
 *
 * Providers: shm (native, same host), verbs (native, RDMA); the tests add memory (pure TS,
 * in one process). Each describes itself (name, reach, attrs); lib/providers/index.ts lists them.
 */
import type { NodeStyleError } from '../errors';

/**
 * How a process waits for completions: blocked on a doorbell in the event loop ('event'),
 * spinning briefly before blocking ('adaptive'), or spinning ('busy'). See docs/ARCHITECTURE.md.
 */
export type PollMode = 'event' | 'adaptive' | 'busy';

export interface ProviderAttributes {
  /** Largest payload one send may carry (MaxTransferSize). 32 KB by default. */
  readonly maxTransferSize: number;
  /** Largest receive queue depth a VI may ask for. */
  readonly maxRecvDepth: number;
  /** Largest number of sends that may be outstanding (posted, not yet completed) on a VI. */
  readonly maxSendDepth: number;
}

/**
 * Why a VI broke. `code` is node-style: ECONNRESET when the peer vanished or reset, EPROTO for a
 * protocol violation, and EOF when the peer's process went away having taken every byte we sent
 * (see `Vi.markTaken`): what a kernel socket shows as end of stream.
 */
export interface ViError extends NodeStyleError {
  /**
   * Set by providers that track what the peer took: true when a peer that vanished left some of
   * our bytes unread (the ECONNRESET is then TCP's RST). Absent when the provider cannot know.
   */
  peerUnread?: boolean;
}


/**
 * Receives the events of one VI. The provider calls these from its completion dispatch,
 * never re-entrantly from inside a call the engine made into the provider.
 */
export interface ViHandler {
  /**
   * A receive descriptor completed. `data` holds the payload (possibly empty) and is owned by
   * the handler from now on: the provider never writes to it again. The descriptor is consumed;
   * the handler re-posts descriptors with `postRecv` when it wants to return them.
   *
   * `more` is true when the provider is about to call onRecv again for this VI, within the same
   * dispatch (completions it harvested together): the handler may leave the work that follows a
   * batch (delivering to the reader, sending ACKs) until the call without it. A provider that
   * cannot tell leaves it out, and each completion is then a batch of its own.
   */
  onRecv(data: Buffer, imm: number, more?: boolean): void;
  /**
   * The oldest outstanding asynchronous send completed, so its source buffer may be reused.
   * Only called for sends whose `postSend` returned false. Sends complete in posting order.
   */
  onSendComplete(): void;
  /**
   * The VI broke or the peer disconnected. Every receive completion the peer posted before it
   * went away is delivered before this. Called at most once; nothing is delivered after it.
   */
  onBroken(err: ViError): void;
}

export interface Vi {
  /** Small integer, unique among this provider's open VIs. */
  readonly id: number;
  /** Number of receive descriptors this VI may have posted at once. */
  readonly recvDepth: number;
  /** Set before posting anything; completions for this VI go here. */
  setHandler(handler: ViHandler): void;
  /**
   * Post `count` receive descriptors, each able to take maxTransferSize bytes. Throws on overflow.
   * As VIA requires, a provider may post all `recvDepth` descriptors when it creates the VI,
   * before the peer can send; the owner's first posts (up to recvDepth) then claim those.
   */
  postRecv(count: number): void;
  /**
   * Send `length` bytes of `buf` from `offset`, with the 32-bit immediate `imm`.
   * Returns true when the send completed synchronously (the provider copied the bytes and `buf`
   * may be reused at once), false when `onSendComplete` will report it later.
   * Throws a ViError when the VI is broken (including when this send found no receive descriptor
   * posted at the peer, which breaks the VI on both sides).
   * `last`: the VI's final packet, after which the owner closes it as `close(true)`; nothing in
   * the peer waits for it promptly, so a provider may deliver it without waking a sleeping peer,
   * provided the peer still gets it before it learns of the close.
   */
  postSend(buf: Uint8Array, offset: number, length: number, imm: number, last?: boolean): boolean;
  /**
   * Optional: combine small writes in place, in the memory of the next send, without sending it
   * yet. Bytes staged are the transport's: if this process dies before `publishStaged`, the peer
   * still receives them (with `imm`). Needs a receive descriptor at the peer as a send does.
   * Returns false when the staged send has no room for `length` more bytes (publish first).
   * Throws a ViError as postSend does. Any other send publishes the staged one first.
   */
  stage?(buf: Uint8Array, offset: number, length: number, imm: number): boolean;
  /** Optional (with `stage`): send what is staged, now with the immediate `imm`. */
  publishStaged?(imm: number): void;
  /**
   * Optional: the owner has handed `bytes` more received payload bytes to its application. A
   * provider that keeps this count where the peer can read it after this process dies lets the
   * peer tell "exited with nothing unread" (EOF) from "exited with unread data" (ECONNRESET).
   */
  markTaken?(bytes: number): void;
  /**
   * Optional (with `markTaken`): payload has arrived, in the provider or already handed to the
   * owner, that the application has not taken. Closing then resets the peer, as close(2) does
   * on a kernel socket whose receive buffer is not empty.
   */
  holdsUnread?(): boolean;
  /** Optional (with `markTaken`): the peer's application took every payload byte we sent. */
  peerTookAll?(): boolean;
  /**
   * Optional: break the VI as a reset before `close()`, so the peer sees ECONNRESET even where
   * a plain close would read as end of stream (a peer that took everything we sent).
   */
  abort?(): void;
  /** Memory the provider can send from without registering it again (for small-write copies). */
  allocSendBuffer(size: number): Buffer;
  /** How this VI's completions should be waited for (the provider combines the VIs of one CQ). */
  setPollMode(mode: PollMode, spinMicros: number): void;
  /** An unref'd VI does not keep the event loop alive. */
  ref(): void;
  unref(): void;
  /**
   * Disconnect. Idempotent. No handler call is made after close() returns. `finished`: the
   * owner completed the close handshake with the peer (both FINs sent and acknowledged), so
   * the peer expects nothing more from this VI; a provider may then tell it lazily, batched with
   * other messages, rather than wake it for a notice that only frees its resources.
   */
  close(finished?: boolean): void;
}

/** A connection request waiting for the listener's decision. */
export interface IncomingVi {
  /** The connector's opaque payload (at most 1 KB). */
  readonly payload: Buffer;
  /** Credentials of the connecting process, where the provider can know them. */
  readonly peer: { pid: number; uid: number; gid: number } | null;
  accept(options: { recvDepth: number; payload: Buffer }): Vi;
  reject(): void;
}

export interface ViListener {
  close(): void;
  ref(): void;
  unref(): void;
}

export interface ListenOptions {
  /** Uids besides our own that may connect. Default: only our own uid. */
  allowUids?: readonly number[];
  /**
   * This listener is one of several processes that serve `name` together: the workers of the
   * node:cluster primary with this pid, which holds the listening TCP socket and hands its
   * connections to them. Each registers alongside the others instead of holding the name alone,
   * and clients spread their connections over them. Providers that cannot share ignore it.
   */
  sharedBy?: number;
}

export interface ConnectOptions {
  recvDepth: number;
  /** Opaque payload handed to the listener (at most 1 KB). */
  payload: Buffer;
}

export type ConnectCallback = (err: ViError | null, vi?: Vi, payload?: Buffer) => void;

export interface ConnectRequest {
  /** Abandon the attempt; the callback is not called afterwards. */
  cancel(): void;
}

/**
 * Which peers a provider can reach: processes on this host only ('host', e.g. shared memory),
 * or other hosts too ('network', e.g. RDMA). Path choice offers a remote address only to the
 * latter.
 */
export type ProviderReach = 'host' | 'network';

export interface ViProvider {
  /** The name users select it by (the `transport` option, VIA_NET_TRANSPORT). */
  readonly name: string;
  readonly reach: ProviderReach;
  readonly attrs: ProviderAttributes;
  /** Register a listener under a rendezvous name. Throws EADDRINUSE when a live listener holds it. */
  listen(name: string, options: ListenOptions, onConnection: (incoming: IncomingVi) => void): ViListener;
  /** Connect to a rendezvous name. Fails with ENOENT (no listener) or ECONNREFUSED (stale or refused). */
  connect(name: string, options: ConnectOptions, callback: ConnectCallback): ConnectRequest;
  /**
   * Optional: deliver waiting completions now, synchronously, even from inside a handler call.
   * Only for a process that is exiting (the handler call it interrupts never resumes). Returns
   * the number of completions delivered.
   */
  pollNow?(): number;
  /**
   * Optional: a local, synchronous look for a listener under `name`. False means there is
   * certainly none right now (a connect would fail with ENOENT), so a client in 'auto' mode may
   * take TCP in the same tick: node's http2 and TLS look at `socket._handle` as soon as connect()
   * returns, and only a kernel handle there spares them a JS stream wrapper. True (or a provider
   * without this method) means "maybe": the asynchronous connect decides.
   */
  mayHaveListener?(name: string): boolean;
}
