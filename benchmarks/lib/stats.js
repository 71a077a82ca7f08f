'use strict';
/** Small statistics: medians over trials, and the throughput model fit of the LAN-emulation comparison paper. */

function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * Fit BW(L) = L / (alpha*L + beta) (LAN-emulation comparison paper, eq. 8) to measured points by least squares on the
 * linear form 1/BW = alpha + beta * (1/L).
 *
 * Each point is weighted by BW^2, i.e. the fit minimises the *relative* error of 1/BW. Unweighted,
 * the 1-byte points (whose 1/BW is a million times that of the 1 MB points) would decide alpha
 * as well as beta, and the fitted curve would miss the large-message plateau entirely.
 *
 * @param {{size: number, bytesPerSec: number}[]} points
 * @returns {{alphaNsPerByte: number, betaUsPerMessage: number, rmsRelativeError: number, points: number} | null}
 */
function fitThroughputModel(points) {
  const pts = points.filter((p) => p.size > 0 && p.bytesPerSec > 0);
  if (pts.length < 2) return null;
  let sw = 0; let sx = 0; let sy = 0; let sxx = 0; let sxy = 0;
  for (const p of pts) {
    const x = 1 / p.size;           // 1/L  (1/byte)
    const y = 1 / p.bytesPerSec;    // 1/BW (s/byte)
    const w = 1 / (y * y);
    sw += w; sx += w * x; sy += w * y; sxx += w * x * x; sxy += w * x * y;
  }
  const det = sw * sxx - sx * sx;
  if (!(Math.abs(det) > 0)) return null;
  const beta = (sw * sxy - sx * sy) / det;   // s/message
  const alpha = (sy - beta * sx) / sw;       // s/byte
  let se = 0;
  for (const p of pts) {
    const model = 1 / (alpha + beta / p.size);
    se += ((model - p.bytesPerSec) / p.bytesPerSec) ** 2;
  }
  return {
    alphaNsPerByte: alpha * 1e9,
    betaUsPerMessage: beta * 1e6,
    rmsRelativeError: Math.sqrt(se / pts.length),
    points: pts.length,
  };
}

/** Model bandwidth (bytes/s) at `size` for a fit returned above. */
function modelBandwidth(fit, size) {
  return size / (fit.alphaNsPerByte * 1e-9 * size + fit.betaUsPerMessage * 1e-6);
}

module.exports = { median, fitThroughputModel, modelBandwidth };
