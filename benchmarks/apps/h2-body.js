'use strict';
/** The deterministic response bodies of h2-server.js, shared with the client that checks them. */
const crypto = require('crypto');

/** `size` pseudo-random bytes from `seed` (xorshift32) and their sha256. */
function body(size, seed) {
  const data = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    data[i] = x & 0xff;
  }
  return { data, sha256: crypto.createHash('sha256').update(data).digest('hex') };
}

module.exports = { body };
