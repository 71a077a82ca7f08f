'use strict';
/**
 * A minimal log-log line chart written as standalone SVG (no dependency): axes with labelled
 * ticks, a grid, one coloured <path class="series"> per series, a legend, a title, axis labels.
 * Only series paths are <path> elements, so a reader can count series by counting paths.
 */

// Enough distinct colours for every transport of a full run (12), so no two lines share one.
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22', '#222222', '#6b6ecf', '#a6761d', '#b5cf6b'];

function escapeXml(s) {
  return String(s).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' }[c]));
}

const fmt = (n) => (Math.round(n * 100) / 100).toString();

/** Binary-size tick labels: 1, 4, 16, ..., 1K, 4K, ..., 1M. */
function sizeLabel(v) {
  if (v >= 1024 ** 3) return `${v / 1024 ** 3}G`;
  if (v >= 1024 ** 2) return `${v / 1024 ** 2}M`;
  if (v >= 1024) return `${v / 1024}K`;
  return `${v}`;
}

/** Decimal tick labels: 0.01, 0.1, 1, 10, 100, 1k, 10k, ... */
function decimalLabel(v) {
  if (v >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}

/** Ticks at powers of `base` covering [lo, hi], thinned to at most `maxTicks`. */
function logTicks(lo, hi, base, maxTicks) {
  const e0 = Math.floor(Math.log(lo) / Math.log(base) + 1e-9);
  const e1 = Math.ceil(Math.log(hi) / Math.log(base) - 1e-9);
  let step = 1;
  while ((e1 - e0) / step + 1 > maxTicks) step++;
  const ticks = [];
  // Start at or below lo, and go on until a tick is at or above hi: every point is inside the axes.
  for (let e = Math.floor(e0 / step) * step; ; e += step) {
    ticks.push(base ** e);
    if (e >= e1) break;
  }
  return ticks;
}

/**
 * @param {object} o
 * @param {string} o.title
 * @param {string} o.xLabel
 * @param {string} o.yLabel
 * @param {{name: string, points: [number, number][]}[]} o.series  positive x and y only are drawn
 * @param {'binary'|'decimal'} [o.xTicks]
 * @returns {string} SVG document
 */
function logLogChart(o) {
  const W = 960; const H = 560;
  const m = { left: 80, right: 230, top: 50, bottom: 60 };
  const pw = W - m.left - m.right; const ph = H - m.top - m.bottom;
  const series = o.series.map((s, i) => ({
    name: s.name,
    color: PALETTE[i % PALETTE.length],
    points: s.points.filter(([x, y]) => x > 0 && y > 0 && Number.isFinite(x) && Number.isFinite(y)).sort((a, b) => a[0] - b[0]),
  }));
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]); const ys = all.map((p) => p[1]);
  const xTicks = o.xTicks === 'decimal'
    ? logTicks(xs.length ? Math.min(...xs) : 1, xs.length ? Math.max(...xs) : 10, 10, 12)
    : logTicks(xs.length ? Math.min(...xs) : 1, xs.length ? Math.max(...xs) : 1024, 2, 13);
  const yTicks = logTicks(ys.length ? Math.min(...ys) : 1, ys.length ? Math.max(...ys) : 10, 10, 10);
  const x0 = Math.log(xTicks[0]); const x1 = Math.log(Math.max(xTicks[xTicks.length - 1], xTicks[0] * 2));
  const y0 = Math.log(yTicks[0]); const y1 = Math.log(Math.max(yTicks[yTicks.length - 1], yTicks[0] * 10));
  const px = (x) => m.left + ((Math.log(x) - x0) / (x1 - x0)) * pw;
  const py = (y) => m.top + ph - ((Math.log(y) - y0) / (y1 - y0)) * ph;
  const xLab = o.xTicks === 'decimal' ? decimalLabel : sizeLabel;

  const out = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<title>${escapeXml(o.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="28" text-anchor="middle" font-size="17" font-weight="bold">${escapeXml(o.title)}</text>`);
  out.push('<g class="grid" stroke="#e3e3e3" stroke-width="1">');
  for (const t of xTicks) out.push(`<line x1="${fmt(px(t))}" y1="${m.top}" x2="${fmt(px(t))}" y2="${m.top + ph}"/>`);
  for (const t of yTicks) out.push(`<line x1="${m.left}" y1="${fmt(py(t))}" x2="${m.left + pw}" y2="${fmt(py(t))}"/>`);
  out.push('</g>');
  out.push(`<rect class="frame" x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333333"/>`);
  out.push('<g class="x-ticks" text-anchor="middle">');
  for (const t of xTicks) {
    out.push(`<line x1="${fmt(px(t))}" y1="${m.top + ph}" x2="${fmt(px(t))}" y2="${m.top + ph + 5}" stroke="#333333"/>`);
    out.push(`<text x="${fmt(px(t))}" y="${m.top + ph + 19}">${escapeXml(xLab(t))}</text>`);
  }
  out.push('</g>');
  out.push('<g class="y-ticks" text-anchor="end">');
  for (const t of yTicks) {
    out.push(`<line x1="${m.left - 5}" y1="${fmt(py(t))}" x2="${m.left}" y2="${fmt(py(t))}" stroke="#333333"/>`);
    out.push(`<text x="${m.left - 8}" y="${fmt(py(t) + 4)}">${escapeXml(decimalLabel(t))}</text>`);
  }
  out.push('</g>');
  out.push(`<text x="${m.left + pw / 2}" y="${H - 15}" text-anchor="middle" font-size="14">${escapeXml(o.xLabel)}</text>`);
  out.push(`<text transform="translate(22 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="14">${escapeXml(o.yLabel)}</text>`);
  for (const s of series) {
    const d = s.points.map(([x, y], i) => `${i ? 'L' : 'M'}${fmt(px(x))} ${fmt(py(y))}`).join(' ');
    // An empty series still gets its (empty) path, so every transport is accounted for.
    out.push(`<path class="series" data-transport="${escapeXml(s.name)}" d="${d || 'M0 0'}" fill="none" stroke="${s.color}" stroke-width="2"${d ? '' : ' visibility="hidden"'}/>`);
    for (const [x, y] of s.points) out.push(`<circle cx="${fmt(px(x))}" cy="${fmt(py(y))}" r="2.2" fill="${s.color}"/>`);
  }
  out.push(`<g class="legend" transform="translate(${m.left + pw + 18} ${m.top + 8})">`);
  series.forEach((s, i) => {
    out.push(`<line x1="0" y1="${i * 22}" x2="24" y2="${i * 22}" stroke="${s.color}" stroke-width="3"/>`);
    out.push(`<text x="32" y="${i * 22 + 4}">${escapeXml(s.name)}</text>`);
  });
  out.push('</g>');
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

module.exports = { logLogChart, escapeXml, logTicks, PALETTE };
