/**
 * The public surface of the SOVIA protocol engine (SOVIA paper, section 4), as the facade sees it.
 * The engine runs one connection over one provider VI and knows nothing of which provider it is.
 */
import type { PollMode } from '../providers/types';

/** Per-connection protocol parameters. Every field has an environment override (see params.ts). */
export interface SoviaParams {
  /** Credit window w: DATA packets the sender may have unacknowledged. */
  window: number;
  /** Delayed-ACK threshold t (1 <= t <= w): a standalone ACK goes out once t credits are pending. */
  ackThreshold: number;
  /** Nagle-like combining of small writes into one registered buffer (off with setNoDelay(true)). */
  combine: boolean;
  /** Writes up to this many bytes are copied into registered memory; larger ones are sent in place. */
  copyThreshold: number;
  /** Largest DATA payload; larger writes are split. At most the provider's maxTransferSize. */
  chunkSize: number;
  pollMode: PollMode;
  /** Adaptive mode's spin budget after activity, in microseconds. */
  spinMicros: number;
}

export type PresetName = 'BASE' | 'FLOWCNTL' | 'DACKS' | 'COMBINE';

/**
 * What a WAKEUP packet announces: the sender's receive window (its descriptors for our DATA), the
 * largest DATA it sends, and the descriptors it reserves for our standalone ACKs.
 */
export interface Wakeup {
  window: number;
  chunkSize: number;
  ackSlots: number;
}

/** What the engine tells its owner (the facade socket). */
export interface SoviaEvents {
  /**
   * In-order payload bytes. Return false to stop delivery (the Readable's push returned false):
   * the engine then withholds credits until `resumeReading()` is called.
   */
  onData(chunk: Buffer): boolean;
  /**
   * Optional (added later): the peer's WAKEUP arrived, so DATA can flow; writes made before were
   * queued. A facade may wait for this before emitting 'connect' so that the first writes
   * complete at once, as they do on TCP. Called once, before any onData; never when the connect
   * handshake carried the WAKEUP (the engine is established from its construction).
   */
  onEstablished?(): void;
  /**
   * Optional: delivery stopped (onData returned false, or pauseReading) or started again. Over
   * TCP a socket that is not reading holds no active handle and so does not keep its process
   * alive; a facade uses this to do the same.
   */
  onReadingChanged?(reading: boolean): void;
  /**
   * The peer sent FIN after its last byte; every byte has been passed to onData. As from a kernel
   * socket, never in the same event-loop turn as the onData of the bytes it arrived with.
   */
  onEnd(): void;
  /** The connection is fully closed: FIN and FINACK exchanged both ways, or it broke. */
  onClose(): void;
  /** The connection broke (ECONNRESET on peer RST or death, EPROTO on a protocol violation). Followed by onClose. */
  onError(err: Error & { code: string }): void;
}

export type WriteCallback = (err?: Error | null) => void;

export interface SoviaConnectionApi {
  /** Queue bytes. `cb` runs once the engine no longer needs `chunk` (sent, or copied into registered memory). */
  write(chunk: Buffer, cb: WriteCallback): void;
  /** Queue several chunks at once (Writable._writev). */
  writev(chunks: Buffer[], cb: WriteCallback): void;
  /** The reader wants more: deliver held data and return withheld credits. */
  resumeReading(): void;
  /** Deliver nothing (and return no credits) until resumeReading(), as a kernel readStop. */
  pauseReading(): void;
  /** Half-close: deliver every queued byte, then FIN. `cb` runs when FIN has been posted. */
  end(cb?: WriteCallback): void;
  /**
   * Full close with nothing unread (close(2) rather than shutdown(2)): as end(), and the FIN says
   * we read nothing more, so a peer that still had data for us sees ECONNRESET, not end of stream.
   */
  endAndClose(): void;
  /** Abortive close: RST to the peer (it gets ECONNRESET), drop everything queued. Idempotent. */
  destroy(): void;
  setNoDelay(noDelay: boolean): void;
  /**
   * The process is exiting: push out what write() accepted as far as credits allow, deliver
   * nothing more. True while output waits for credits the provider may still bring (poll, retry).
   */
  drainForExit(): boolean;
  /**
   * True while payload has arrived that the application has not been given (queued here, or
   * still in the provider): what a kernel socket holds as unread data when it is closed.
   */
  holdsUnread(): boolean;
  /** Bytes accepted by write() but not yet handed to the provider. */
  readonly pendingBytes: number;
  /** Close-state name (SOVIA paper figure 11), for debugging and tests. */
  readonly state: string;
  /** Protocol counters, for benchmarks and tests (optional: added after the first version). */
  readonly stats?: SoviaStats;
}

/** Counters of one connection (SoviaConnection.stats). */
export interface SoviaStats {
  dataPacketsSent: number;
  dataBytesSent: number;
  /** Standalone ACK packets. */
  acksSent: number;
  /** DATA or FIN packets that carried a non-zero credit count. */
  piggybackedAcks: number;
  /** DATA packets sent from a combine buffer holding more than one write. */
  combinedFlushes: number;
  controlPacketsSent: number;
  dataPacketsReceived: number;
  dataBytesReceived: number;
  acksReceived: number;
  /** Largest number of our DATA packets unacknowledged at once (never above the peer's window). */
  maxCreditsInFlight: number;
  /** Largest number of received DATA packets held for a paused reader. */
  maxQueuedReceived: number;
  /** Registered send buffers allocated. */
  sendBuffersAllocated: number;
}
