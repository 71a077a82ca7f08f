'use strict';
/**
 * A node:net-like socket over one raw shm VI, with the least protocol that can stream safely:
 * credits only (no delayed-ACK tuning, no combining, no close handshake). It is the ceiling the
 * SOVIA layer is judged against, so it does as little as possible per message.
 *
 * imm bit 31 set = credit return of (imm & 0x7fffffff); otherwise a data message.
 */
const { EventEmitter } = require('node:events');

const WINDOW = 64;
const SPARE = 4; // credit messages in flight (each returns WINDOW/2)
const CREDIT_FLAG = 0x80000000;
const EMPTY = Buffer.alloc(0);

class RawViSocket extends EventEmitter {
  constructor(vi, slotSize) {
    super();
    this.vi = vi;
    this.slot = slotSize;
    this.credits = WINDOW;
    this.pending = 0;
    this.queue = [];
    this.closed = false;
    vi.setHandler({
      onRecv: (data, imm) => {
        vi.postRecv(1);
        if (imm & CREDIT_FLAG) {
          this.credits += imm & 0x7fffffff;
          if (this.queue.length) this.pump();
          return;
        }
        if (++this.pending >= WINDOW / 2) {
          vi.postSend(EMPTY, 0, 0, (CREDIT_FLAG | this.pending) >>> 0);
          this.pending = 0;
        }
        this.emit('data', data);
      },
      onSendComplete() {},
      onBroken: () => this.finish(),
    });
    vi.postRecv(WINDOW + SPARE);
  }

  write(buf) {
    if (this.queue.length === 0 && this.credits > 0 && buf.length <= this.slot) {
      this.credits--;
      this.vi.postSend(buf, 0, buf.length, 0);
      return true;
    }
    for (let off = 0; off < buf.length; off += this.slot) this.queue.push(buf.subarray(off, Math.min(buf.length, off + this.slot)));
    this.pump();
    return this.queue.length === 0;
  }

  pump() {
    const q = this.queue;
    while (q.length && this.credits > 0) {
      const chunk = q.shift();
      this.credits--;
      this.vi.postSend(chunk, 0, chunk.length, 0);
    }
    if (!q.length) this.emit('drain');
  }

  setNoDelay() {}

  end() {
    this.destroy();
  }

  destroy() {
    this.vi.close();
    this.finish();
  }

  finish() {
    if (this.closed) return;
    this.closed = true;
    this.vi.close(); // also when the peer hung up: a broken VI left open would still be polled
    process.nextTick(() => this.emit('close'));
  }
}

RawViSocket.DEPTH = WINDOW + SPARE;
module.exports = { RawViSocket };
