'use strict';
// A deterministic byte stream both processes can regenerate, so a receiver can check that what
// arrived is exactly a prefix of what was sent (no loss in the middle, no duplicate, no reorder)
// without the sender having to report anything after it was killed. Stream `seed` is the bytes
// of prng.js's generator `seed`, repeating with period BLOCK.
const crypto = require('node:crypto');
const { fillBytes } = require('./prng');

// A prime length, so the pattern never lines up with chunk or slot boundaries.
const BLOCK = 1000003;
/** Largest slice `sliceAt` returns without copying. */
const MAX_SLICE = 256 * 1024;
const blocks = new Map();

/** BLOCK bytes of stream `seed`, then its first MAX_SLICE bytes again (so a slice never wraps). */
function block(seed) {
  let b = blocks.get(seed);
  if (!b) {
    b = Buffer.allocUnsafe(BLOCK + MAX_SLICE);
    fillBytes(b.subarray(0, BLOCK), seed);
    b.copy(b, BLOCK, 0, MAX_SLICE);
    blocks.set(seed, b);
  }
  return b;
}

/** Bytes [offset, offset + size) of stream `seed` (size <= MAX_SLICE) as a view of the cached block: no copy. */
function sliceAt(seed, offset, size) {
  if (size > MAX_SLICE) throw new RangeError(`sliceAt: ${size} > MAX_SLICE`);
  const start = offset % BLOCK;
  return block(seed).subarray(start, start + size);
}

/** `length` bytes of stream `seed` starting at `offset` (a fresh Buffer: safe to hand to write()). */
function bytesAt(seed, offset, length) {
  const b = block(seed);
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const at = (offset + done) % BLOCK;
    const n = Math.min(length - done, BLOCK - at);
    b.copy(out, done, at, at + n);
    done += n;
  }
  return out;
}

/** sha256 of the first `length` bytes of stream `seed`. */
function prefixHash(seed, length) {
  const h = crypto.createHash('sha256');
  const b = block(seed);
  let done = 0;
  while (done < length) {
    const n = Math.min(length - done, BLOCK);
    h.update(b.subarray(0, n));
    done += n;
  }
  return h.digest('hex');
}

/**
 * Receives a stream and checks it as it arrives: `ok` stays true only while every byte matches
 * the expected position. `hash` is the sha256 of everything received.
 */
class PrefixChecker {
  constructor(seed) {
    this.seed = seed;
    this.block = block(seed);
    this.bytes = 0;
    this.ok = true;
    this.firstBad = -1;
    this.h = crypto.createHash('sha256');
  }

  push(chunk) {
    this.h.update(chunk);
    if (this.ok) {
      let done = 0;
      while (done < chunk.length) {
        const at = (this.bytes + done) % BLOCK;
        const n = Math.min(chunk.length - done, BLOCK - at);
        if (Buffer.compare(chunk.subarray(done, done + n), this.block.subarray(at, at + n)) !== 0) {
          this.ok = false;
          this.firstBad = this.bytes + done;
          break;
        }
        done += n;
      }
    }
    this.bytes += chunk.length;
  }

  hash() {
    return this.h.copy().digest('hex');
  }

  /** True when the received hash equals the sha256 of the same-length prefix of the sent stream. */
  verify() {
    return this.ok && this.hash() === prefixHash(this.seed, this.bytes);
  }
}

module.exports = { bytesAt, sliceAt, prefixHash, PrefixChecker, BLOCK, MAX_SLICE };
