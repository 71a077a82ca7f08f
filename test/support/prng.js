'use strict';
/**
 * The tests' one seeded PRNG: xorshift32 (Marsaglia, "Xorshift RNGs", 2003; shifts 13, 17, 5).
 * A seed is any integer; it is spread over the 32-bit state by Knuth's multiplicative hash
 * (x 2654435761 mod 2^32), so neighbouring seeds start far apart, and a zero state (a fixed point
 * of xorshift) becomes 1.
 *
 * Everything that must regenerate what another process made (a peer's stream and the test's
 * check of it) uses this module on both sides, so they always run the same algorithm.
 */

/** The initial state for `seed`. */
function seedState(seed) {
  return Math.imul(seed, 0x9e3779b1) >>> 0 || 1;
}

/** A generator of uint32 values (never 0) for `seed`. */
function xorshift32(seed) {
  let x = seedState(seed);
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

/** A generator of floats in (0, 1) for `seed`, for use where Math.random would be. */
function random(seed) {
  const next = xorshift32(seed);
  return () => next() / 4294967296;
}

/** A generator of integers in [0, n) for `seed`: randomInt(seed)(n). */
function randomInt(seed) {
  const next = random(seed);
  return (n) => Math.floor(next() * n);
}

/** Fills `buf` with the low bytes of successive outputs of `seed`; returns `buf`. */
function fillBytes(buf, seed) {
  const next = xorshift32(seed);
  for (let i = 0; i < buf.length; i++) buf[i] = next() & 0xff;
  return buf;
}

/** `size` pseudo-random bytes of `seed` (a fresh Buffer). */
function bytes(size, seed) {
  return fillBytes(Buffer.allocUnsafe(size), seed);
}

module.exports = { xorshift32, random, randomInt, fillBytes, bytes };
