'use strict';
/** Message-size lists. */

const MAX_SIZE = 8 * 1024 * 1024;

/** NetPIPE's list: every power of two from 1 B to 8 MB, each also perturbed by -3 and +3 bytes. */
function netpipeSizes(max = MAX_SIZE) {
  const set = new Set();
  for (let p = 1; p <= max; p *= 2) {
    for (const s of [p - 3, p, p + 3]) if (s >= 1) set.add(s);
  }
  return [...set].sort((a, b) => a - b);
}

/** The --quick list: powers of four from 1 B to 4 MB, unperturbed. */
function quickSizes() {
  const out = [];
  for (let p = 1; p <= 4 * 1024 * 1024; p *= 4) out.push(p);
  return out;
}

/** Parse "1,64,4K,1M" (K/M/G are binary multiples). Throws a coded error on bad input. */
function parseSizes(text) {
  const out = new Set();
  for (const part of String(text).split(',')) {
    const m = /^\s*(\d+)\s*([kKmMgG]?)[bB]?\s*$/.exec(part);
    if (!m) throw Object.assign(new Error(`bad size "${part}" in --sizes`), { code: 'ERR_INVALID_ARG_VALUE' });
    const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase()];
    const size = Number(m[1]) * mult;
    if (!(size >= 1 && size <= 64 * 1024 * 1024)) {
      throw Object.assign(new Error(`size ${part} out of range 1 B..64 MB`), { code: 'ERR_OUT_OF_RANGE' });
    }
    out.add(size);
  }
  return [...out].sort((a, b) => a - b);
}

/** "65536" -> "64 KB", "1048579" -> "1 MB+3", 2^30 -> "1 GB": compact labels for tables and plots. */
function formatSize(size) {
  const units = [[1024 ** 3, 'GB'], [1024 ** 2, 'MB'], [1024, 'KB']];
  for (const [u, name] of units) {
    if (size + 3 >= u) { // 1 MB-3 reads better than 1023.99 KB
      const base = Math.round(size / u) * u;
      const off = size - base;
      if (Math.abs(off) <= 3 && base > 0) return `${base / u} ${name}${off ? (off > 0 ? `+${off}` : `${off}`) : ''}`;
      return `${+(size / u).toFixed(2)} ${name}`;
    }
  }
  return `${size} B`;
}

module.exports = { netpipeSizes, quickSizes, parseSizes, formatSize, MAX_SIZE };
