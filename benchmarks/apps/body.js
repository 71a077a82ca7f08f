'use strict';
/**
 * The deterministic bodies of the app benchmarks: what GET /<size>/<seed> answers on the HTTP/1.1
 * (benchmarks/http/server.js) and HTTP/2 (h2-server.js) servers, and the WebSocket client's
 * messages. A client computes the same bytes to check each body it gets.
 */
const crypto = require('crypto');

/** Seeds per size: a client asks for /<size>/1 .. /<size>/SEEDS in turn. */
const SEEDS = 8;

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

const cache = new Map();

/** The body of the path /<size>/<seed> (made once per process), or null for any other path. */
function forPath(path) {
  let entry = cache.get(path);
  if (entry) return entry;
  const m = /^\/(\d{1,8})\/(\d{1,10})$/.exec(path || '');
  if (!m) return null;
  entry = body(Number(m[1]), Number(m[2]));
  cache.set(path, entry);
  return entry;
}

/** The path of request `i` (from 0) of a client that asks for `sizes`: each size with seeds 1..SEEDS, the sizes in turn. */
function pathOf(sizes, i) {
  return `/${sizes[Math.floor(i / SEEDS) % sizes.length]}/${1 + (i % SEEDS)}`;
}

/**
 * Makes the bodies of requests 0..count-1 (every distinct one when `count` is Infinity) before
 * anything is timed, so no body is computed inside a timed phase. Returns the distinct paths.
 */
function prepare(sizes, count = Infinity) {
  const paths = [];
  for (let i = 0; i < Math.min(count, sizes.length * SEEDS); i++) {
    paths.push(pathOf(sizes, i));
    forPath(paths[i]);
  }
  return paths;
}

module.exports = { body, forPath, pathOf, prepare, SEEDS };
