/**
 * Credit accounting for one SOVIA connection (SOVIA paper section 4.2), both directions.
 *
 * Sending: one credit per DATA packet the peer has a descriptor for. The peer's WAKEUP grants w
 * (its window); each DATA spends one; credits come back piggybacked on the peer's DATA/FIN or in
 * standalone ACKs.
 *
 * Receiving: a DATA packet's credit is "pending" (counted in d) once its descriptor has been
 * re-posted, which happens only when the application accepted its bytes. Every packet we send
 * that can carry a count (DATA, FIN) takes all of d with it; a standalone ACK goes out only when
 * d >= t.
 *
 * Why a standalone ACK never stalls the peer: let U be the peer's DATA packets not yet
 * acknowledged to it. The peer is blocked only when U = w. Each of those w packets is in flight
 * to us, queued here (the reader paused: that stall is the intended backpressure), counted in d,
 * or travelling back to the peer in one of our packets. If the reader is not paused and nothing
 * is travelling back, then d = w >= t, so we send an ACK; if something is travelling back, the
 * peer gets those credits and is no longer blocked. So the peer waits only for a paused reader.
 *
 * Why the peer's S = ceil(w'/t') ACK descriptors suffice (w', t': the peer's own parameters,
 * which sized its receive queue; S arrives in its WAKEUP): the peer re-posts an ACK's descriptor
 * when it processes the ACK, which is also when it gains the ACK's credits, and it sends new DATA
 * only after that. Every standalone ACK of ours not yet processed carries >= T credits for
 * distinct DATA packets among the peer's at most w unacknowledged ones (w: our window, what we
 * granted), so there are at most floor(w/T) of them. We use T = max(t, ceil(w/S)), hence
 * floor(w/T) <= S. With equal parameters on both sides T = t. T <= w always (S >= 1), so the
 * stall argument above holds with T in place of t. Control packets (WAKEUP, FIN, FINACK, RST)
 * go at most once each, hence the four extra slots, and DATA never exceeds w by the sender's
 * own accounting.
 */
export class CreditLedger {
  /** DATA packets we may send now. */
  private available = 0;
  /** DATA packets sent whose credit has not come back. */
  private unackedSent = 0;
  private peerWindowValue = 0;
  /** d: credits re-posted here and not yet sent back to the peer. */
  private pending = 0;
  /** DATA packets received whose credit has not yet been sent back (queued, delivered or in d). */
  private unackedReceived = 0;
  /** Largest number of our DATA packets ever unacknowledged at once. */
  maxInFlight = 0;

  /** Effective standalone-ACK threshold T (see above); t until the peer's WAKEUP says otherwise. */
  private ackThreshold: number;

  constructor(
    /** Our receive window w: what we promised the peer in our WAKEUP. */
    readonly window: number,
    /** Delayed-ACK threshold t. */
    readonly threshold: number,
  ) {
    this.ackThreshold = threshold;
  }

  /** ACK descriptors a receive queue with window w and threshold t reserves: ceil(w/t). */
  static ackSlotsFor(window: number, threshold: number): number {
    return Math.ceil(window / threshold);
  }

  /** ACK descriptors our own receive queue reserves. Announced in our WAKEUP. */
  get ackSlots(): number {
    return CreditLedger.ackSlotsFor(this.window, this.threshold);
  }

  /** The peer reserved `slots` descriptors for our standalone ACKs. */
  setPeerAckSlots(slots: number): void {
    this.ackThreshold = Math.max(this.threshold, Math.ceil(this.window / Math.max(1, slots)));
  }

  get effectiveThreshold(): number {
    return this.ackThreshold;
  }

  /** The peer's WAKEUP: it has `peerWindow` descriptors for our DATA. */
  open(peerWindow: number): void {
    this.peerWindowValue = peerWindow;
    this.available = peerWindow;
  }

  get peerWindow(): number {
    return this.peerWindowValue;
  }

  get sendCredits(): number {
    return this.available;
  }

  get inFlight(): number {
    return this.unackedSent;
  }

  /** One DATA packet is being sent. */
  consume(): void {
    if (this.available <= 0) throw new Error('SOVIA bug: DATA sent without a credit');
    this.available--;
    this.unackedSent++;
    if (this.unackedSent > this.maxInFlight) this.maxInFlight = this.unackedSent;
  }

  /** The peer returned `count` credits. False when it returned more than were outstanding. */
  receive(count: number): boolean {
    if (count > this.unackedSent) return false;
    this.unackedSent -= count;
    this.available += count;
    return true;
  }

  /** A DATA packet arrived. False when the peer exceeded the window we granted it. */
  dataArrived(): boolean {
    if (this.unackedReceived >= this.window) return false;
    this.unackedReceived++;
    return true;
  }

  /** `count` DATA descriptors were re-posted: their credits may now be returned. */
  returned(count: number): void {
    this.pending += count;
  }

  get pendingAcks(): number {
    return this.pending;
  }

  /** A standalone ACK is due: d >= T. */
  ackDue(): boolean {
    return this.pending >= this.ackThreshold;
  }

  /** Take all of d, to send it on a packet now. */
  takePending(): number {
    const d = this.pending;
    this.pending = 0;
    this.unackedReceived -= d;
    return d;
  }
}
