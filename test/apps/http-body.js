'use strict';
// The deterministic bodies the HTTP apps exchange, shared by the server app, the client app and the test.
const crypto = require('crypto');

/** Body of GET /small?i=<i>: short, varying in length, unique per request. */
function smallBody(i) {
  return `small:${i}:${'abcdefghij'.repeat(i % 13)}\n`;
}

/** sha256 over the small bodies of requests 0..n-1, in order. */
function smallBodiesSha(n) {
  const h = crypto.createHash('sha256');
  for (let i = 0; i < n; i++) h.update(smallBody(i));
  return h.digest('hex');
}

/** Body of request `i` of `size` bytes: sha256 blocks of "<i>:<block>", so every request differs. */
function sizedBody(i, size) {
  const blocks = [];
  for (let k = 0; k * 32 < size; k++) blocks.push(crypto.createHash('sha256').update(`${i}:${k}`).digest());
  return Buffer.concat(blocks).subarray(0, size);
}

module.exports = { smallBody, smallBodiesSha, sizedBody };
