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

/**
 * Free registered buffers, shared by every connection of a provider: a connection holds one only
 * while it has copied bytes not yet sent, so thousands of idle connections hold none. Buffers are
 * reused rather than dropped (registering memory costs), up to MAX_FREE kept spare.
 */
export class SendBufferPool {
  private static readonly MAX_FREE = 64;
  private static readonly shared = new WeakMap<(size: number) => Buffer, Map<number, SendBufferPool>>();
  private readonly free: SendBuffer[] = [];
  allocated = 0;

  constructor(
    private readonly alloc: (size: number) => Buffer,
    readonly size: number,
  ) {}

  /**
   * The pool of buffers of `size` made by `alloc`: one per provider method and size, so connections
   * of one provider share it. `self` is the VI whose provider owns `alloc`.
   */
  static for(self: { allocSendBuffer(size: number): Buffer }, size: number): SendBufferPool {
    const alloc = self.allocSendBuffer;
    let bySize = SendBufferPool.shared.get(alloc);
    if (!bySize) SendBufferPool.shared.set(alloc, (bySize = new Map()));
    let pool = bySize.get(size);
    if (!pool) bySize.set(size, (pool = new SendBufferPool((n) => alloc.call(self, n), size)));
    return pool;
  }

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
    if (this.free.length < SendBufferPool.MAX_FREE) this.free.push(b);
  }
}

export class SendQueue {
  private readonly segments: Segment[] = [];
  private current: SendBuffer | null = null;
  /** Buffers the shared pool had to allocate for this queue (it needed more than were free). */
  buffersAllocated = 0;
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
      const before = this.pool.allocated;
      rb = this.current = this.pool.take();
      this.buffersAllocated += this.pool.allocated - before;
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
        if (rb === this.current) {
          // Nothing refers to it: back to the shared pool, so an idle connection holds no buffer.
          this.current = null;
          this.pool.give(rb);
        } else if (rb.sealed) {
          this.pool.give(rb);
        }
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
