/**
 * Write callbacks, released in write order.
 *
 * A copied write no longer needs the caller's buffer, but releasing its callback at once would
 * let a writer queue unbounded data behind a paused reader. So a copied write is released only
 * while the bytes and packets queued up to it stay within a small budget; a write sent in place
 * is released when its last piece's send has completed.
 */
import type { WriteCallback } from './types';
import type { SegmentWaiter } from './combiner';

export interface WriteRecord extends SegmentWaiter {
  readonly cb: WriteCallback;
  /** For copies: the send queue's byte and segment counters once this write was queued. */
  readonly bytesMark: number;
  readonly segmentsMark: number;
  readonly copied: boolean;
  error: (Error & { code: string }) | null;
}

export class WriteTracker {
  private readonly records: WriteRecord[] = [];

  constructor(
    /** Queued-but-unposted bytes a released copy may leave behind it. */
    private readonly byteBudget: number,
    /** Queued-but-unposted packets a released copy may leave behind it. */
    private readonly segmentBudget: number,
  ) {}

  get length(): number {
    return this.records.length;
  }

  addCopied(cb: WriteCallback, bytesMark: number, segmentsMark: number): WriteRecord {
    const r: WriteRecord = { cb, bytesMark, segmentsMark, copied: true, ready: false, error: null };
    this.records.push(r);
    return r;
  }

  addInPlace(cb: WriteCallback): WriteRecord {
    const r: WriteRecord = { cb, bytesMark: 0, segmentsMark: 0, copied: false, ready: false, error: null };
    this.records.push(r);
    return r;
  }

  addDone(cb: WriteCallback, error: (Error & { code: string }) | null = null): void {
    this.records.push({ cb, bytesMark: 0, segmentsMark: 0, copied: false, ready: true, error });
  }

  /**
   * Remove and return, in order, the records whose callbacks may run now. `budgetOpen` false:
   * no copy runs ahead of what was posted (before the peer's WAKEUP nothing can be posted, and a
   * callback must not claim the transport holds bytes that only this process's memory does).
   */
  release(bytesPosted: number, segmentsPosted: number, budgetOpen = true): WriteRecord[] {
    const byteBudget = budgetOpen ? this.byteBudget : 0;
    const segmentBudget = budgetOpen ? this.segmentBudget : 0;
    let n = 0;
    while (n < this.records.length) {
      const r = this.records[n];
      const ok = r.ready || r.error !== null
        || (r.copied && r.bytesMark - bytesPosted <= byteBudget && r.segmentsMark - segmentsPosted <= segmentBudget);
      if (!ok) break;
      n++;
    }
    return n === 0 ? [] : this.records.splice(0, n);
  }

  /** Remove every record, giving each the same outcome (close or failure). */
  drain(error: (Error & { code: string }) | null): WriteRecord[] {
    const all = this.records.splice(0, this.records.length);
    for (const r of all) if (r.error === null) r.error = error;
    return all;
  }
}
