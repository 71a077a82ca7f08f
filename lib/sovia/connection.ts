/**
 * One SOVIA connection over one VI (SOVIA paper section 4): the state machine that ties the packet
 * encoding, the credit ledger, the send queue (copying and combining) and the close handshake
 * together. It knows nothing of the provider under the VI.
 *
 * Re-entrancy: user code (events.onData, write callbacks) may call back into the connection
 * (write, end, destroy, resumeReading). All work happens in `pump()`, which a nested call only
 * asks to run again; onError and onClose are always emitted from process.nextTick, never from
 * inside a call the owner made.
 */
import { logger } from '../log';
import type { Vi, ViError, ViHandler } from '../providers/types';
import type { SoviaConnectionApi, SoviaEvents, SoviaParams, SoviaStats, Wakeup, WriteCallback } from './types';
import { encodeImmediate, FIN_CLOSED, immediateType, immediateValue, PacketType, packetTypeName } from './packet';
import { recvDepthFor, validateParams } from './params';
import { CreditLedger } from './credits';
import { Segment, SendBufferPool, SendQueue } from './combiner';
import { WriteRecord, WriteTracker } from './writes';
import { codedError, NodeStyleError as CodedError } from '../errors';

const log = logger('via-net:sovia');

/** Marks the peer's FIN in the receive queue: onEnd fires when delivery reaches it. */
const END = Symbol('END');

const noop = (): void => {};
/** writev's runs of small pieces are joined here before one Vi.stage copies them (see stageRun). */
let stageScratch = Buffer.allocUnsafe(0);

/** Provider error codes reported as they are; anything else becomes ECONNRESET, as net would say. */
const PASS_THROUGH_CODES = new Set(['ECONNRESET', 'EPROTO', 'ETIMEDOUT', 'ECONNABORTED', 'EPIPE']);

/** WAKEUP payload we send: u32 LE chunk size, u32 LE ACK descriptors reserved. */
const WAKEUP_PAYLOAD = 8;
/** Largest WAKEUP payload we accept (room for later fields). */
const MAX_WAKEUP_PAYLOAD = 64;

/**
 * Packets already queued when the reader asks for more are handed over as one chunk of up to
 * this many bytes. A reader that pauses after every chunk (a pipe into a file: one fs write per
 * 'data') then pays its per-chunk cost once per batch instead of once per 32 KB packet. Only
 * data that is already here is merged, so this never delays a byte.
 */
const MAX_DELIVERY_BYTES = 256 * 1024;

/**
 * One Buffer for several received payloads. Payloads that lie back to back in one memory block
 * (the shm provider's arena holds consecutive packets of a stream that way) become one view of
 * it, without a copy; otherwise they are copied together.
 */
export function joinPayloads(packets: Buffer[]): Buffer {
  const first = packets[0];
  if (packets.length === 1) return first;
  let end = first.byteOffset + first.length;
  for (let i = 1; i < packets.length; i++) {
    const p = packets[i];
    if (p.buffer !== first.buffer || p.byteOffset !== end) return Buffer.concat(packets);
    end += p.length;
  }
  return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
}

/** The WAKEUP an engine with these parameters announces (in its first packet or a handshake). */
export function wakeupFor(params: SoviaParams): Wakeup {
  return { window: params.window, chunkSize: params.chunkSize, ackSlots: CreditLedger.ackSlotsFor(params.window, params.ackThreshold) };
}

/** Why a peer's WAKEUP is unacceptable, or null. */
function wakeupProblem(w: Wakeup): string | null {
  if (!(w.window >= 1)) return 'WAKEUP with an empty window';
  if (!(w.chunkSize >= 1)) return 'WAKEUP with a zero chunk size';
  return null;
}

export class SoviaConnection implements SoviaConnectionApi, ViHandler {
  private readonly vi: Vi;
  private readonly params: SoviaParams;
  private readonly events: SoviaEvents;
  private readonly credits: CreditLedger;
  private readonly sendq: SendQueue;
  private readonly writes: WriteTracker;
  private readonly pool: SendBufferPool;
  /** Registered source of control packets: bytes 0..3 carry our chunk size in WAKEUP. */
  private readonly controlBuf: Buffer;
  private combine: boolean;

  /** Asynchronous sends awaiting onSendComplete, in order (null for control packets). */
  private readonly sendFifo: Array<Segment | null> = [];
  /** Received payloads (and the FIN marker) not yet passed to onData. */
  private readonly recvQueue: Array<Buffer | typeof END> = [];
  private paused = false;
  /** Inside events.onData (resumeReading from there means "keep going", whatever onData returns). */
  private delivering = false;
  private resumeDuringDelivery = false;
  /** Credit of the packet whose onData returned false: returned on resumeReading. */
  private withheld = 0;
  /** Descriptors consumed and processed, to re-post before the next send. */
  private repostPending = 0;

  private peerWakeup = false;
  private peerChunkLimit: number;
  private finRequested = false;
  private finSent = false;
  private finAcked = false;
  private peerFin = false;
  private peerFinFirst = false;
  private endDelivered = false;
  /** onData has run at least once: the end of stream then waits for a check phase (deliver()). */
  private dataDelivered = false;
  /** The peer's FIN is next for the reader, waiting for that check phase. */
  private endHeld = false;
  /** The VI broke after the peer's FIN: not an error, but nothing more can be sent. */
  private peerGone = false;
  /**
   * Over TCP a host learns that its peer's socket is gone only from the reset its next segment
   * draws: that write succeeds (its bytes are dropped) and only later ones fail with EPIPE.
   */
  private resetDrawn = false;
  /** endAndClose(): our FIN carries FIN_CLOSED. */
  private closeWithFin = false;
  private closed = false;
  private viClosed = false;
  /** Both FINs went out and were acknowledged: the peer expects nothing more from the VI. */
  private handshakeFinished = false;
  private readonly endCallbacks: WriteCallback[] = [];

  /** Small writes combined in place in the provider (Vi.stage): bytes and writes not yet published. */
  private stagedBytes = 0;
  private stagedWrites = 0;
  /** The process is exiting (drainForExit): nothing more is delivered to the application. */
  private exiting = false;

  private pumping = false;
  private pumpAgain = false;
  private tickFlushScheduled = false;
  /** The open combine segment must go out as soon as a credit allows. */
  private flushDue = false;
  private readonly callbacks: Array<{ cb: WriteCallback; err: CodedError | null }> = [];

  private readonly counters = {
    dataPacketsSent: 0,
    dataBytesSent: 0,
    acksSent: 0,
    piggybackedAcks: 0,
    combinedFlushes: 0,
    controlPacketsSent: 0,
    dataPacketsReceived: 0,
    dataBytesReceived: 0,
    acksReceived: 0,
    maxQueuedReceived: 0,
  };

  /**
   * `peerWakeup`: the WAKEUPs were exchanged in the connect handshake (a transport that carries a
   * payload with its connect request and its accept reply can do that), and this is the peer's;
   * ours went there too, so no WAKEUP packet is sent. Both ends must agree, or one would wait for
   * a packet the other never sends. Without it, each side's WAKEUP is its first packet, as in the
   * SOVIA paper.
   */
  constructor(vi: Vi, params: SoviaParams, events: SoviaEvents, peerWakeup?: Wakeup) {
    validateParams(params);
    const depth = recvDepthFor(params);
    if (vi.recvDepth < depth) {
      throw Object.assign(
        new RangeError(`VI recvDepth ${vi.recvDepth} is below the ${depth} descriptors window ${params.window} and threshold ${params.ackThreshold} need`),
        { code: 'ERR_INVALID_ARG_VALUE' },
      );
    }
    this.vi = vi;
    this.params = { ...params };
    this.events = events;
    this.combine = params.combine;
    this.peerChunkLimit = params.chunkSize;
    this.credits = new CreditLedger(params.window, params.ackThreshold);
    this.pool = SendBufferPool.for(vi, params.chunkSize);
    this.sendq = new SendQueue(this.pool, params.chunkSize);
    this.writes = new WriteTracker(params.chunkSize, params.window);
    // WAKEUP payload: our chunk size (the largest DATA we send) and the ACK descriptors we reserve.
    this.controlBuf = vi.allocSendBuffer(WAKEUP_PAYLOAD);
    this.controlBuf.writeUInt32LE(params.chunkSize, 0);
    this.controlBuf.writeUInt32LE(this.credits.ackSlots, 4);

    // The engine is its VI's handler itself (no closures: thousands of idle connections each
    // carried three, and an object for them).
    vi.setHandler(this);
    vi.setPollMode(params.pollMode, params.spinMicros);
    // Descriptors first, then WAKEUP(w) as our very first packet, unless the handshake carried it.
    vi.postRecv(depth);
    if (!peerWakeup) {
      this.postControl(PacketType.WAKEUP, params.window, WAKEUP_PAYLOAD);
      return;
    }
    const problem = wakeupProblem(peerWakeup);
    if (problem !== null) this.protocolError(problem);
    else this.acceptWakeup(peerWakeup);
  }

  /** The peer can take `w.window` DATA packets: sending may start. */
  private acceptWakeup(w: Wakeup): void {
    this.peerChunkLimit = w.chunkSize;
    this.credits.setPeerAckSlots(w.ackSlots);
    this.peerWakeup = true;
    this.credits.open(w.window);
    log('vi %d: peer WAKEUP window %d', this.vi.id, w.window);
  }

  // ---------------------------------------------------------------- public API

  get pendingBytes(): number {
    return this.sendq.pendingBytes;
  }

  get state(): string {
    if (this.closed) return 'CLOSED';
    if (!this.peerWakeup) return 'WAKEUP_SENT';
    if (!this.finSent) return this.peerFin ? 'CLOSE_WAIT' : 'ESTABLISHED';
    if (!this.peerFin) return this.finAcked ? 'FIN_WAIT_2' : 'FIN_WAIT_1';
    if (this.finAcked) return 'TIME_WAIT';
    return this.peerFinFirst ? 'LAST_ACK' : 'CLOSING';
  }

  get stats(): SoviaStats {
    return {
      ...this.counters,
      maxCreditsInFlight: this.credits.maxInFlight,
      sendBuffersAllocated: this.sendq.buffersAllocated,
    };
  }

  write(chunk: Buffer, cb: WriteCallback): void {
    if (this.peerGone && !this.closed && !this.finRequested && !this.resetDrawn) {
      this.resetDrawn = true;
      this.callbacks.push({ cb, err: null });
      this.pump();
      return;
    }
    if (this.closed || this.finRequested || this.peerGone) {
      process.nextTick(cb, codedError('EPIPE', 'This socket has been ended by the other party or closed'));
      return;
    }
    const len = chunk.length;
    if (len === 0) {
      this.writes.addDone(cb);
    } else if (len <= this.params.copyThreshold && this.stage(chunk)) {
      // In the transport already (a killed process still delivers it); published at tick end.
      if (this.closed || this.peerGone) {
        process.nextTick(cb, codedError('EPIPE', 'This socket has been ended by the other party or closed'));
        return;
      }
      this.writes.addDone(cb);
      this.scheduleTickFlush();
    } else if (len <= this.params.copyThreshold && this.sendNow(chunk, cb)) {
      // Posted straight from the caller's buffer; the callback follows the send's completion.
    } else if (len <= this.params.copyThreshold) {
      this.sendq.enqueueCopy(chunk, this.combine);
      this.writes.addCopied(cb, this.sendq.bytesEnqueued, this.sendq.segmentsEnqueued);
      if (this.sendq.hasOpen()) this.scheduleTickFlush();
    } else {
      // A large write flushes the combine buffer (enqueueInPlace closes it) and goes in place.
      const record = this.writes.addInPlace(cb);
      this.sendq.enqueueInPlace(chunk, record);
    }
    this.pump();
  }

  writev(chunks: Buffer[], cb: WriteCallback): void {
    if (chunks.length === 0) {
      this.write(Buffer.alloc(0), cb);
      return;
    }
    // Records are released in order, so the last callback runs after every earlier piece.
    const last = chunks.length - 1;
    let i = 0;
    while (i <= last) {
      // A run of small pieces (what the stream buffered while a write was pending) is staged
      // with one provider call instead of one per piece: the same bytes in the same slot, in
      // order, and in the transport before any callback, as write() stages them one by one.
      const end = this.stageRun(chunks, i);
      if (end === i) {
        this.write(chunks[i], i === last ? cb : noop);
        i++;
        continue;
      }
      i = end;
      if (end > last) {
        if (this.closed || this.peerGone) {
          process.nextTick(cb, codedError('EPIPE', 'This socket has been ended by the other party or closed'));
          return;
        }
        this.writes.addDone(cb);
      }
      // Combining off (setNoDelay): the run was one batch of the writer's, sent now as one packet.
      if (this.combine) this.scheduleTickFlush();
      else this.publishStaged();
      this.pump();
    }
  }

  pauseReading(): void {
    if (!this.closed) this.setPaused(true);
  }

  resumeReading(): void {
    if (this.delivering) this.resumeDuringDelivery = true;
    if (this.closed || !this.paused) return;
    this.setPaused(false);
    if (this.withheld > 0) {
      this.returnCredits(this.withheld);
      this.withheld = 0;
    }
    this.pump();
  }

  end(cb?: WriteCallback): void {
    if (this.closed) {
      if (cb) process.nextTick(cb, this.peerGone ? null : codedError('EPIPE', 'The connection is closed'));
      return;
    }
    if (this.finSent || this.peerGone) {
      this.finRequested = true;
      if (cb) this.callbacks.push({ cb, err: null });
    } else {
      this.finRequested = true;
      this.flushDue = true;
      if (cb) this.endCallbacks.push(cb);
    }
    this.pump();
  }

  endAndClose(): void {
    this.closeWithFin = true;
    this.end();
  }

  destroy(): void {
    if (this.closed) return;
    log('vi %d: destroy in state %s', this.vi.id, this.state);
    this.sendReset();
    this.terminate(codedError('ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed'), false);
  }

  setNoDelay(noDelay: boolean): void {
    this.combine = !noDelay;
    if (noDelay && !this.closed) {
      this.publishStaged();
      this.sendq.closeOpen();
      this.pump();
    }
  }

  /**
   * The process is exiting. Bytes write() accepted belong to the transport, so push out what
   * this engine still holds (staged bytes, queued data, a FIN end() asked for) as far as credits
   * allow, bypassing the pump (exit may come from inside a delivery). From now on nothing is
   * delivered: data that still arrives stays unread, as it would in a dying process. Returns
   * true while output is left that more credits (or the peer's WAKEUP) would let out; the
   * caller polls the provider for them and calls again.
   */
  drainForExit(): boolean {
    if (this.closed || this.peerGone) return false;
    this.exiting = true;
    this.flushDue = true;
    this.publishStaged();
    this.flushReposts();
    this.sendData();
    this.maybeSendFin();
    return !this.closed && !this.peerGone && this.sendq.length > 0;
  }

  holdsUnread(): boolean {
    // Until the peer's WAKEUP is processed, what the provider holds is that WAKEUP (protocol, not
    // data; a DATA right behind it is the rare race that TCP would lose to as well).
    if (this.closed || !this.peerWakeup) return false;
    if (this.recvQueue.some((item) => item !== END && item.length > 0)) return true;
    return this.vi.holdsUnread?.() ?? false;
  }

  // ---------------------------------------------------------------- VI events (ViHandler: the VI alone calls these)

  /** One completion; `more` says another of this VI's follows in the same dispatch. */
  onRecv(data: Buffer, imm: number, more?: boolean): void {
    if (this.closed) return;
    const type = immediateType(imm);
    const value = immediateValue(imm);
    if (!this.peerWakeup && type !== PacketType.WAKEUP) {
      this.protocolError(`${packetTypeName(type)} before WAKEUP`);
      return;
    }
    if (type !== PacketType.DATA && type !== PacketType.WAKEUP && data.length !== 0) {
      this.protocolError(`${packetTypeName(type)} with a ${data.length}-byte payload`);
      return;
    }
    switch (type) {
      case PacketType.WAKEUP: {
        if (this.peerWakeup) return this.protocolError('second WAKEUP');
        if (data.length > MAX_WAKEUP_PAYLOAD) return this.protocolError('oversized WAKEUP');
        // Without the fields: our own chunk size, and the fewest ACK slots (ACK only once the whole
        // window is pending).
        const wakeup: Wakeup = {
          window: value,
          chunkSize: data.length >= 4 ? data.readUInt32LE(0) : this.peerChunkLimit,
          ackSlots: data.length >= 8 ? data.readUInt32LE(4) : 1,
        };
        const problem = wakeupProblem(wakeup);
        if (problem !== null) return this.protocolError(problem);
        this.vi.markTaken?.(data.length);
        this.acceptWakeup(wakeup);
        // WAKEUP, FIN and FINACK each arrive at most once, in a slot reserved for them
        // (recvDepthFor, credits.ts): their descriptors are never needed again, so not re-posted.
        if (this.events.onEstablished) {
          this.events.onEstablished();
          if (this.closed) return;
        }
        break;
      }
      case PacketType.DATA:
        if (this.peerFin) return this.protocolError('DATA after FIN');
        if (data.length > this.peerChunkLimit) return this.protocolError(`DATA of ${data.length} bytes above chunk size ${this.peerChunkLimit}`);
        if (!this.credits.receive(value)) return this.protocolError('DATA returned more credits than outstanding');
        if (!this.credits.dataArrived()) return this.protocolError('DATA beyond the granted window');
        this.counters.dataPacketsReceived++;
        this.counters.dataBytesReceived += data.length;
        this.recvQueue.push(data);
        if (this.recvQueue.length > this.counters.maxQueuedReceived) this.counters.maxQueuedReceived = this.recvQueue.length;
        break;
      case PacketType.ACK:
        if (value === 0) return this.protocolError('ACK without credits');
        if (!this.credits.receive(value)) return this.protocolError('ACK returned more credits than outstanding');
        this.counters.acksReceived++;
        this.repostPending++;
        break;
      case PacketType.FIN: {
        if (this.peerFin) return this.protocolError('second FIN');
        if (!this.credits.receive(value & ~FIN_CLOSED)) return this.protocolError('FIN returned more credits than outstanding');
        // The peer closed its socket (close(2), not shutdown(2)) while data of ours was unread
        // or still to come: over TCP its kernel answers that with RST.
        if ((value & FIN_CLOSED) !== 0 && this.peerMissedData()) {
          log('vi %d: peer closed with our data unread: reset', this.vi.id);
          this.sendReset();
          this.terminate(codedError('ECONNRESET', 'Connection reset by peer'), true);
          return;
        }
        this.peerFin = true;
        this.peerFinFirst = !this.finSent;
        this.recvQueue.push(END);
        log('vi %d: FIN received in state %s', this.vi.id, this.state);
        // FIN is acknowledged at once, after the descriptors freed so far are re-posted. When our
        // own FIN was acknowledged already, this FINACK is the last packet of the connection: the
        // peer's socket closed when its FIN went out (its engine lingers detached for this), so
        // it need not be woken for it; it finds it on its next wake-up, at the latest when the
        // provider tells it that we closed the VI.
        this.flushReposts();
        if (this.closed) return;
        this.postControl(PacketType.FINACK, 0, 0, this.finSent && this.finAcked);
        break;
      }
      case PacketType.FINACK:
        if (!this.finSent || this.finAcked) return this.protocolError('unexpected FINACK');
        this.finAcked = true;
        break;
      case PacketType.RST:
        log('vi %d: RST received', this.vi.id);
        this.terminate(codedError('ECONNRESET', 'Connection reset by peer'), true);
        return;
      default:
        this.protocolError(`unknown packet type ${type}`);
        return;
    }
    // The rest of the batch is on its way: one pump after it delivers the payloads as one chunk
    // (contiguous in the provider's memory, so without a copy) and decides ACKs once.
    if (!more) this.pump();
  }

  onSendComplete(): void {
    if (this.closed) return;
    if (this.sendFifo.length === 0) {
      log('vi %d: onSendComplete with no asynchronous send outstanding', this.vi.id);
      return;
    }
    const seg = this.sendFifo.shift()!;
    if (seg) this.sendq.completed(seg);
    this.pump();
  }

  onBroken(err: ViError): void {
    if (this.closed) return;
    log('vi %d: broken (%s) in state %s', this.vi.id, err.code, this.state);
    this.handleBroken(err);
  }

  /**
   * The VI can no longer be used. Before the peer's FIN this is a failure. After it, the peer
   * has said everything and may simply have gone away after end(): we still deliver what we hold,
   * and only our own further output fails (EPIPE), unless it was all acknowledged already.
   */
  private handleBroken(err: ViError | CodedError): void {
    if (this.closed || this.peerGone) return;
    // Only our WAKEUP unread (the peer went before it took it): protocol, not data, so nothing
    // of the byte stream was left unread.
    const onlyWakeupUnread = (err as ViError).peerUnread === true && this.counters.dataBytesSent === 0 && this.stagedBytes === 0;
    this.stagedBytes = 0;
    this.stagedWrites = 0;
    // A peer whose process went away with nothing of ours unread: over TCP its kernel sends FIN.
    const exitedClean = err.code === 'EOF' || onlyWakeupUnread
      // A provider that cannot tell: we had finished writing and the peer acknowledged it, so
      // none of our data can be lost, and its disappearance reads as the end of its stream.
      || (err.code === 'ECONNRESET' && (err as ViError).peerUnread === undefined && this.finSent && this.finAcked);
    if (!this.peerFin && exitedClean) {
      log('vi %d: peer gone with nothing unread (%s): treated as its FIN', this.vi.id, err.code);
      this.peerFin = true;
      this.peerFinFirst = !this.finSent;
      this.recvQueue.push(END);
    }
    if (!this.peerFin) {
      const code = PASS_THROUGH_CODES.has(err.code) ? err.code : 'ECONNRESET';
      this.terminate(codedError(code, err.message || 'Connection reset'), true);
      return;
    }
    this.peerGone = true;
    this.closeVi();
    // Our output is safe only if the peer acknowledged our FIN; otherwise anything still queued,
    // or posted without a completion, may not have arrived: those writes (and end) get EPIPE.
    const allAcknowledged = this.finSent && this.finAcked;
    const maybeLost = !allAcknowledged
      && (this.sendq.length > 0 || this.writes.length > 0 || this.sendFifo.some((seg) => seg !== null));
    const outcome = maybeLost ? codedError('EPIPE', 'The peer is gone: ' + (err.message || err.code)) : null;
    this.resetDrawn = maybeLost; // what we had in flight drew the reset already
    for (const seg of this.sendFifo.splice(0)) if (seg) this.sendq.completed(seg);
    this.sendq.clear();
    for (const r of this.writes.drain(outcome)) this.callbacks.push({ cb: r.cb, err: r.error });
    for (const cb of this.endCallbacks.splice(0)) this.callbacks.push({ cb, err: outcome });
    this.pump();
  }

  // ---------------------------------------------------------------- the pump

  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        if (!this.closed) this.deliver();
        if (!this.closed && !this.peerGone) {
          this.flushReposts();
          this.sendData();
          this.maybeSendFin();
          this.maybeSendAck();
        }
        if (!this.closed) this.releaseWrites();
        this.runCallbacks();
        if (!this.closed) this.maybeClose();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  /** Pass queued payloads to the reader until it pushes back. */
  private deliver(): void {
    const queue = this.recvQueue;
    if (this.exiting) return;
    while (!this.paused && queue.length > 0 && !this.closed) {
      if (queue[0] === END) {
        // A kernel socket reports EOF from a later read than the one that returned the last
        // bytes, after the check phase. Apps depend on that: an answer built in a setImmediate
        // (or a promise library's) after the last 'data' still finds the socket writable. DATA
        // and FIN often come in one batch here, or in two dispatches of one spinning drive.
        if (this.dataDelivered && !this.endHeld) {
          this.dataDelivered = false;
          this.endHeld = true;
          setImmediate(() => {
            this.endHeld = false;
            if (this.closed) return;
            this.pump();
            // What the reader answered meanwhile goes out now, in the same tick as the FIN an
            // 'end' handler usually sends: the peer then wakes once for both, not twice.
            this.scheduleTickFlush();
          });
        }
        if (this.endHeld) return;
        queue.shift();
        this.endDelivered = true;
        this.events.onEnd();
        continue;
      }
      const packets = this.takeQueuedPayloads();
      const chunk = joinPayloads(packets);
      let accepted = true;
      if (chunk.length > 0) {
        // Taken before the application sees it: a reader that exits from its 'data' handler
        // has read everything, so its peer must see end of stream, not a reset.
        this.vi.markTaken?.(chunk.length);
        this.delivering = true;
        this.resumeDuringDelivery = false;
        try {
          accepted = this.events.onData(chunk);
        } finally {
          this.delivering = false;
        }
        this.dataDelivered = true;
      }
      if (this.closed) return;
      // The reader asked for more while taking this chunk (a synchronous _read): not a pause.
      if (accepted || this.resumeDuringDelivery) {
        this.returnCredits(packets.length);
      } else {
        this.setPaused(true);
        this.withheld += packets.length;
      }
    }
  }

  /** The head of the receive queue and the payloads right behind it, up to MAX_DELIVERY_BYTES. */
  private takeQueuedPayloads(): Buffer[] {
    const queue = this.recvQueue;
    let count = 1;
    let bytes = (queue[0] as Buffer).length;
    while (count < queue.length) {
      const next = queue[count];
      if (next === END || bytes + next.length > MAX_DELIVERY_BYTES) break;
      bytes += next.length;
      count++;
    }
    return queue.splice(0, count) as Buffer[];
  }

  /** DATA descriptors freed by the reader: re-post them and count their credits in d. */
  private returnCredits(count: number): void {
    this.repostPending += count;
    this.credits.returned(count);
  }

  private flushReposts(): void {
    if (this.repostPending === 0 || this.viClosed) return;
    const n = this.repostPending;
    this.repostPending = 0;
    try {
      this.vi.postRecv(n);
    } catch (err) {
      this.handleBroken(err as ViError);
    }
  }

  private sendData(): void {
    if (!this.peerWakeup || this.finSent) return;
    while (this.credits.sendCredits > 0 && !this.closed && !this.peerGone) {
      const seg = this.sendq.front();
      if (!seg) break;
      if (seg.open && !this.flushDue && this.combine) break;
      this.sendq.shift();
      this.postData(seg);
    }
    if (!this.sendq.hasOpen()) this.flushDue = false;
  }

  /**
   * A small write with combining off (setNoDelay), nothing queued or staged ahead of it and a
   * credit free goes to the provider at once, from the caller's buffer: every provider copies a
   * small send synchronously, so the copy into a send buffer and the trip through the queue would
   * only add a second copy. A provider that sends it asynchronously after all keeps the buffer
   * until its completion, as for a large write.
   */
  private sendNow(chunk: Buffer, cb: WriteCallback): boolean {
    if (this.combine || !this.peerWakeup || this.finRequested || this.finSent || this.closed || this.peerGone
      || this.sendq.length > 0 || this.stagedBytes > 0 || this.credits.sendCredits === 0) return false;
    const record = this.writes.addInPlace(cb);
    this.postData({ buf: chunk, offset: 0, length: chunk.length, reg: null, open: false, writes: 1, waiter: record });
    return true;
  }

  /** Send one DATA packet, spending a credit and carrying the credits we owe the peer. */
  private postData(seg: Segment): void {
    const piggy = this.credits.takePending();
    if (piggy > 0) this.counters.piggybackedAcks++;
    this.credits.consume();
    this.counters.dataPacketsSent++;
    this.counters.dataBytesSent += seg.length;
    if (seg.writes > 1) this.counters.combinedFlushes++;
    this.post(encodeImmediate(PacketType.DATA, piggy), seg.buf, seg.offset, seg.length, seg);
  }

  private maybeSendFin(): void {
    if (!this.finRequested || this.finSent || !this.peerWakeup || this.sendq.length > 0 || this.closed || this.peerGone) return;
    const piggy = this.credits.takePending();
    if (piggy > 0) this.counters.piggybackedAcks++;
    this.finSent = true;
    log('vi %d: FIN%s sent, state %s', this.vi.id, this.closeWithFin ? ' (closed)' : '', this.state);
    this.postControl(PacketType.FIN, piggy | (this.closeWithFin ? FIN_CLOSED : 0), 0);
    for (const cb of this.endCallbacks.splice(0)) this.callbacks.push({ cb, err: null });
  }

  /** A standalone ACK only when d >= t (see credits.ts); never after the peer's FIN. */
  private maybeSendAck(): void {
    if (this.closed || this.peerGone || this.peerFin || !this.credits.ackDue()) return;
    const n = this.credits.takePending();
    this.counters.acksSent++;
    this.postControl(PacketType.ACK, n, 0);
  }

  private releaseWrites(): void {
    // Until the peer's WAKEUP nothing is in the transport: a write callback then would promise
    // bytes that a process killed (or a worker terminated) right after it would lose.
    const released: WriteRecord[] = this.writes.release(this.sendq.bytesPosted, this.sendq.segmentsPosted, this.peerWakeup);
    for (const r of released) this.callbacks.push({ cb: r.cb, err: r.error });
  }

  /** Run collected callbacks. One that throws leaves the rest queued for the next pump. */
  private runCallbacks(): void {
    while (this.callbacks.length > 0) {
      const { cb, err } = this.callbacks.shift()!;
      cb(err);
    }
  }

  /** Both FINs sent and acknowledged, every byte delivered, no send outstanding: CLOSED. */
  private maybeClose(): void {
    if (!this.endDelivered || this.sendFifo.length > 0) return;
    const graceful = this.finSent && this.finAcked && this.peerFin;
    const peerGoneAndEnded = this.peerGone && this.finRequested;
    if (!graceful && !peerGoneAndEnded) return;
    log('vi %d: CLOSED', this.vi.id);
    this.handshakeFinished = graceful;
    this.terminate(null, false);
  }

  // ---------------------------------------------------------------- sending helpers

  private postControl(type: number, value: number, payloadLength: number, last = false): void {
    this.counters.controlPacketsSent++;
    this.post(encodeImmediate(type, value), this.controlBuf, 0, payloadLength, null, last);
  }

  /**
   * writev: stage chunks[from..] that are small and fit the staged packet's room, as one copy.
   * Returns the index past them, or `from` when fewer than two qualify or staging is not
   * possible now (the caller then writes the piece alone, which queues it as before).
   */
  private stageRun(chunks: Buffer[], from: number): number {
    if (!this.vi.stage || !this.peerWakeup || this.finRequested || this.sendq.length > 0
      || this.closed || this.peerGone) return from;
    const limit = this.params.copyThreshold;
    const chunkSize = this.params.chunkSize;
    const first = chunks[from].length;
    if (first === 0 || first > limit) return from;
    // Fill what is left of the open staged packet; a piece that does not fit starts a new one.
    let room = chunkSize - this.stagedBytes;
    if (first > room) room = chunkSize;
    let end = from;
    let bytes = 0;
    while (end < chunks.length) {
      const len = chunks[end].length;
      if (len === 0 || len > limit || bytes + len > room) break;
      bytes += len;
      end++;
    }
    if (end - from < 2) return from;
    if (stageScratch.length < bytes) stageScratch = Buffer.allocUnsafe(Math.max(bytes, chunkSize));
    let off = 0;
    for (let k = from; k < end; k++) off += chunks[k].copy(stageScratch, off);
    // The provider copies synchronously, so the shared scratch is free again on return.
    return this.stage(stageScratch.subarray(0, bytes), end - from, true) ? end : from;
  }

  /**
   * Combine a small write in place (Vi.stage), if the provider can and nothing is queued ahead of
   * it. Opening a staged packet takes a credit, as sending it would. False: queue it instead.
   * `batch`: a writev run, handed over at once, so it shares a packet even with combining off.
   */
  private stage(chunk: Buffer, writes = 1, batch = false): boolean {
    const vi = this.vi;
    if (!vi.stage || (!this.combine && !batch) || !this.peerWakeup || this.finRequested || this.sendq.length > 0) return false;
    // A staged packet is one DATA: never above our chunk size, which our WAKEUP announced.
    if (this.stagedBytes > 0 && this.stagedBytes + chunk.length > this.params.chunkSize) this.publishStaged();
    if (this.stagedBytes === 0 && this.credits.sendCredits === 0) return false;
    try {
      if (!vi.stage(chunk, 0, chunk.length, encodeImmediate(PacketType.DATA, 0))) {
        if (this.stagedBytes === 0) return false;
        this.publishStaged();
        if (this.credits.sendCredits === 0 || !vi.stage(chunk, 0, chunk.length, encodeImmediate(PacketType.DATA, 0))) return false;
      }
    } catch (err) {
      this.handleBroken(err as ViError);
      return true;
    }
    if (this.stagedBytes === 0) this.credits.consume();
    this.stagedBytes += chunk.length;
    this.stagedWrites += writes;
    return true;
  }

  /** Send the staged packet, carrying the credits we owe the peer. */
  private publishStaged(): void {
    if (this.stagedBytes === 0) return;
    const piggy = this.credits.takePending();
    if (piggy > 0) this.counters.piggybackedAcks++;
    this.counters.dataPacketsSent++;
    this.counters.dataBytesSent += this.stagedBytes;
    if (this.stagedWrites > 1) this.counters.combinedFlushes++;
    this.stagedBytes = 0;
    this.stagedWrites = 0;
    try {
      this.vi.publishStaged!(encodeImmediate(PacketType.DATA, piggy));
    } catch (err) {
      this.handleBroken(err as ViError);
    }
  }

  private post(imm: number, buf: Uint8Array, offset: number, length: number, seg: Segment | null, last = false): void {
    // Whatever is staged was written before this packet, so it goes first.
    this.publishStaged();
    let sync: boolean;
    try {
      sync = this.vi.postSend(buf, offset, length, imm, last);
    } catch (err) {
      if (seg) this.sendq.completed(seg);
      this.handleBroken(err as ViError);
      return;
    }
    if (sync) {
      if (seg) this.sendq.completed(seg);
    } else {
      this.sendFifo.push(seg);
    }
  }

  private scheduleTickFlush(): void {
    if (this.tickFlushScheduled) return;
    this.tickFlushScheduled = true;
    process.nextTick(() => {
      this.tickFlushScheduled = false;
      // The peer's FIN is about to be delivered (deliver()): its setImmediate flushes instead.
      if (this.closed || this.endHeld) return;
      this.flushDue = true;
      this.publishStaged();
      this.pump();
    });
  }

  // ---------------------------------------------------------------- closing

  private protocolError(message: string): void {
    log('vi %d: protocol violation: %s', this.vi.id, message);
    this.sendReset(true);
    this.terminate(codedError('EPROTO', `SOVIA protocol violation by the peer: ${message}`), true);
  }

  /** Reading stops or starts again: the facade lets the event loop go while it is stopped. */
  private setPaused(paused: boolean): void {
    if (this.paused === paused) return;
    this.paused = paused;
    this.events.onReadingChanged?.(!paused);
  }

  /**
   * Tell the peer we reset the connection (it gets ECONNRESET); terminate() follows. Before the
   * peer's WAKEUP it may have no descriptor for an RST: the provider breaks the VI as a reset
   * instead where it can (or the peer would read our going away as end of stream), and only a
   * protocol violation risks the RST anyway.
   */
  private sendReset(evenBeforeWakeup = false): void {
    if (this.viClosed) return;
    if (!this.peerWakeup && this.vi.abort) {
      this.vi.abort();
      return;
    }
    if (!this.peerWakeup && !evenBeforeWakeup) return;
    try {
      this.vi.postSend(this.controlBuf, 0, 0, encodeImmediate(PacketType.RST, 0));
      this.counters.controlPacketsSent++;
    } catch {
      // The VI is already broken: the peer learns of it from the provider.
    }
  }

  /**
   * Data of ours the peer never took: still queued or staged here, or sent but not taken by its
   * application (where the provider can tell; otherwise sent and not yet completed).
   */
  private peerMissedData(): boolean {
    if (this.sendq.length > 0 || this.stagedBytes > 0) return true;
    if (this.vi.peerTookAll) return !this.vi.peerTookAll();
    return this.sendFifo.some((seg) => seg !== null);
  }

  private closeVi(): void {
    if (this.viClosed) return;
    this.viClosed = true;
    this.vi.close(this.handshakeFinished);
  }

  /**
   * Enter CLOSED. `err` null: graceful (write callbacks succeed). Otherwise pending callbacks
   * fail with `err`, and onError(err) precedes onClose when `report` is set (not for destroy()).
   */
  private terminate(err: CodedError | null, report: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.stagedBytes = 0;
    this.stagedWrites = 0;
    this.closeVi();
    this.recvQueue.length = 0;
    this.sendFifo.length = 0;
    this.sendq.clear();
    const outcomes: Array<{ cb: WriteCallback; err: CodedError | null }> = this.callbacks.splice(0);
    for (const r of this.writes.drain(err)) outcomes.push({ cb: r.cb, err: r.error });
    for (const cb of this.endCallbacks.splice(0)) outcomes.push({ cb, err });
    process.nextTick(() => {
      for (const o of outcomes) o.cb(o.err);
      if (err && report) this.events.onError(err);
      this.events.onClose();
    });
  }
}
