/**
 * The outgoing byte stream of one connection, as a queue of segments (future DATA packets).
 *
 * Conditional sender-side buffering (SOVIA paper section 4.1): writes up to copyThreshold are copied
 * into registered send buffers, so the caller's buffer is free at once; larger writes are sent
 * from the caller's memory, split into chunkSize pieces.
 *
 * Combining (section 4.2, Nagle-like): with combining on, consecutive small copies share one
 * "open" segment that grows until it is flushed (the connection decides when) or its buffer is
 * full. The open segment, if any, is always the last one: whatever is queued behind it closes
 * it, so bytes never overtake each other.
 */

/** A registered send buffer, carved sequentially into copied segments. */
export interface SendBuffer {
  readonly buf: Buffer;
  used: number;
  /** Segments in this buffer not yet completed (queued, or posted and not completed). */
  refs: number;
  /** No further copies go here; it returns to the pool when refs reaches 0. */
  sealed: boolean;
}

/** Something that completes when its segment's send has completed. */
export interface SegmentWaiter {
  ready: boolean;
}

export interface Segment {
  buf: Uint8Array;
  offset: number;
  length: number;
  /** The registered buffer holding a copy, or null when sent from the caller's memory. */
  readonly reg: SendBuffer | null;
  /** Still accepting appended small writes (combining). */
  open: boolean;
  /** Writes combined into this segment. */
  writes: number;
  /** Marked ready when this segment's send completes (the last piece of an in-place write). */
  waiter: SegmentWaiter | null;
}

/** Free registered buffers. The provider cannot take memory back, so buffers are reused, not dropped. */
export class SendBufferPool {
  private readonly free: SendBuffer[] = [];
  allocated = 0;

  constructor(
    private readonly alloc: (size: number) => Buffer,
    readonly size: number,
  ) {}

  take(): SendBuffer {
    const b = this.free.pop();
    if (b) return b;
    this.allocated++;
    return { buf: this.alloc(this.size), used: 0, refs: 0, sealed: false };
  }

  give(b: SendBuffer): void {
    b.used = 0;
    b.refs = 0;
    b.sealed = false;
    this.free.push(b);
  }
}

export class SendQueue {
  private readonly segments: Segment[] = [];
  private current: SendBuffer | null = null;
  /** Monotonic byte and segment counters: pending = enqueued - posted. */
  bytesEnqueued = 0;
  bytesPosted = 0;
  segmentsEnqueued = 0;
  segmentsPosted = 0;

  constructor(
    private readonly pool: SendBufferPool,
    private readonly chunkSize: number,
  ) {}

  get length(): number {
    return this.segments.length;
  }

  front(): Segment | undefined {
    return this.segments[0];
  }

  get pendingBytes(): number {
    return this.bytesEnqueued - this.bytesPosted;
  }

  hasOpen(): boolean {
    const last = this.segments[this.segments.length - 1];
    return last !== undefined && last.open;
  }

  /** Stop appending to the open segment: it becomes an ordinary queued packet. */
  closeOpen(): void {
    const last = this.segments[this.segments.length - 1];
    if (last) last.open = false;
  }

  /** Copy a small write (<= the buffer size) into registered memory. */
  enqueueCopy(chunk: Buffer, combine: boolean): void {
    const len = chunk.length;
    let rb = this.current;
    if (!rb || rb.buf.length - rb.used < len) {
      this.sealCurrent();
      rb = this.current = this.pool.take();
    }
    chunk.copy(rb.buf, rb.used);
    const last = this.segments[this.segments.length - 1];
    if (combine && last && last.open && last.reg === rb && last.offset + last.length === rb.used) {
      last.length += len;
      last.writes++;
    } else {
      this.closeOpen();
      rb.refs++;
      this.segmentsEnqueued++;
      this.segments.push({ buf: rb.buf, offset: rb.used, length: len, reg: rb, open: combine, writes: 1, waiter: null });
    }
    rb.used += len;
    this.bytesEnqueued += len;
    // A full buffer cannot grow: close its segment so it goes out as soon as a credit allows.
    if (rb.used === rb.buf.length) this.closeOpen();
  }

  /** Queue a large write in place, split into chunkSize pieces; `waiter` is tied to the last piece. */
  enqueueInPlace(chunk: Buffer, waiter: SegmentWaiter): void {
    this.closeOpen();
    for (let off = 0; off < chunk.length; off += this.chunkSize) {
      const length = Math.min(this.chunkSize, chunk.length - off);
      const last = off + length >= chunk.length;
      this.segmentsEnqueued++;
      this.segments.push({ buf: chunk, offset: off, length, reg: null, open: false, writes: 1, waiter: last ? waiter : null });
    }
    this.bytesEnqueued += chunk.length;
  }

  /** Remove the front segment to post it. */
  shift(): Segment {
    const seg = this.segments.shift()!;
    seg.open = false;
    this.bytesPosted += seg.length;
    this.segmentsPosted++;
    return seg;
  }

  /** The provider no longer needs `seg`'s memory. */
  completed(seg: Segment): void {
    const rb = seg.reg;
    if (rb) {
      rb.refs--;
      if (rb.refs === 0) {
        if (rb.sealed) this.pool.give(rb);
        else if (rb === this.current) rb.used = 0; // nothing refers to it: reuse from the start
      }
    }
    if (seg.waiter) seg.waiter.ready = true;
  }

  /** Drop everything queued (connection closing); returns the dropped segments. */
  clear(): Segment[] {
    const dropped = this.segments.splice(0, this.segments.length);
    this.bytesPosted = this.bytesEnqueued;
    this.segmentsPosted = this.segmentsEnqueued;
    return dropped;
  }

  private sealCurrent(): void {
    const rb = this.current;
    if (!rb) return;
    this.closeOpen();
    rb.sealed = true;
    this.current = null;
    if (rb.refs === 0) this.pool.give(rb);
  }
}
