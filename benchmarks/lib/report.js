'use strict';
/**
 * Turns raw samples into per-transport results (medians over trials), key figures with their
 * ratio to the baseline measured in the same run, the plain-text table, and the two plots.
 */
const path = require('node:path');
const { median, fitThroughputModel } = require('./stats');
const { formatSize } = require('./sizes');
const { logLogChart } = require('./svg-plot');

const GB = 1e9;

const cpuSum = (cpu) => ({
  user: (cpu.client.user + cpu.server.user) / 1e6, // µs -> s, both workers
  system: (cpu.client.system + cpu.server.system) / 1e6,
});

/** Median CPU seconds per `unit` of work, user and system apart; `units(sample)` counts the work. */
function cpuPer(samples, units) {
  const per = samples.map((s) => {
    const c = cpuSum(s.cpu);
    const u = units(s);
    return { user: c.user / u, system: c.system / u };
  });
  const user = median(per.map((p) => p.user));
  const system = median(per.map((p) => p.system));
  return { user, system, total: user + system };
}

function resultsFor(transport, measurements) {
  const mine = measurements.filter((m) => m.transport === transport && m.samples.length);
  const of = (test) => mine.filter((m) => m.test === test).sort((a, b) => a.size - b.size);
  const latency = of('latency').map((m) => ({
    size: m.size,
    us: median(m.samples.map((s) => s.elapsedNs / s.count / 2 / 1000)),
  }));
  const bandwidth = of('bandwidth').map((m) => ({
    size: m.size,
    bytesPerSec: median(m.samples.map((s) => (m.size * s.count) / (s.elapsedNs / 1e9))),
    cpuSecondsPerGB: cpuPer(m.samples, (s) => (m.size * s.count) / GB),
  }));
  const [rateM] = of('rate');
  const rate = rateM ? {
    size: rateM.size,
    messagesPerSec: median(rateM.samples.map((s) => s.count / (s.elapsedNs / 1e9))),
    cpuSecondsPer1kMessages: cpuPer(rateM.samples, (s) => s.count / 1000),
  } : null;
  const [connM] = of('connect');
  const connect = connM ? { us: median(connM.samples.map((s) => s.elapsedNs / s.count / 1000)) } : null;
  return { transport, latency, bandwidth, rate, connect, fit: fitThroughputModel(bandwidth) };
}

/** The figures the table shows, in order. `get` reads one from a transport's results. */
const KEY_FIGURES = [
  { id: 'latency4', label: '4 B latency', unit: 'us', lowerIsBetter: true, get: (r) => pick(r.latency, 4, 'us') },
  { id: 'latency64K', label: '64 KB latency', unit: 'us', lowerIsBetter: true, get: (r) => pick(r.latency, 65536, 'us') },
  { id: 'bandwidth64K', label: '64 KB bandwidth', unit: 'bytes/s', lowerIsBetter: false, get: (r) => pick(r.bandwidth, 65536, 'bytesPerSec') },
  { id: 'rate64', label: '64 B rate', unit: 'messages/s', lowerIsBetter: false, get: (r) => (r.rate ? r.rate.messagesPerSec : null) },
  { id: 'connect', label: 'connect+1B+close', unit: 'us', lowerIsBetter: true, get: (r) => (r.connect ? r.connect.us : null) },
  {
    id: 'cpuPerGB', label: 'CPU per GB (64 KB)', unit: 's/GB', lowerIsBetter: true,
    get: (r) => { const b = r.bandwidth.find((p) => p.size === 65536); return b ? b.cpuSecondsPerGB.total : null; },
  },
];

function pick(list, size, field) {
  const p = list.find((x) => x.size === size);
  return p && Number.isFinite(p[field]) ? p[field] : null;
}

function keyFigures(results, baseline) {
  const base = results.find((r) => r.transport === baseline);
  return KEY_FIGURES.map((f) => {
    const b = base ? f.get(base) : null;
    return {
      id: f.id,
      label: f.label,
      unit: f.unit,
      lowerIsBetter: f.lowerIsBetter,
      values: results.map((r) => {
        const value = f.get(r);
        return { transport: r.transport, value, ratio: value !== null && b ? value / b : null };
      }),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Text output

function human(value, unit) {
  if (value === null || value === undefined) return 'n/a';
  switch (unit) {
    case 'us': return value >= 1000 ? `${(value / 1000).toFixed(2)} ms` : `${value.toPrecision(3)} µs`;
    case 'bytes/s': return value >= 1e9 ? `${(value / 1e9).toFixed(2)} GB/s` : `${(value / 1e6).toPrecision(3)} MB/s`;
    case 'messages/s': return value >= 1e6 ? `${(value / 1e6).toFixed(2)} M/s` : `${(value / 1e3).toPrecision(3)} k/s`;
    case 's/GB': return `${value.toPrecision(3)} s/GB`;
    default: return value.toPrecision(3);
  }
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r, i) => {
    const line = r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
    return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

/** The end-of-run summary for stdout. */
function formatSummary(report) {
  const out = [];
  const figs = report.keyFigures;
  out.push(`via-net benchmark, ${report.startedAt}, ${report.options.trials} trials per point (median), node ${report.host.node}, ${report.host.cpus} CPUs`);
  out.push(`Ratios (×) are to ${report.baseline} in this run; for latency, connect and CPU lower is better.`);
  out.push('');
  const header = ['transport', ...figs.map((f) => f.label)];
  const rows = [header];
  for (const r of report.results) {
    rows.push([r.transport, ...figs.map((f) => {
      const v = f.values.find((x) => x.transport === r.transport);
      return v.value === null ? 'n/a' : `${human(v.value, f.unit)} ×${v.ratio === null ? '?' : v.ratio.toFixed(2)}`;
    })]);
  }
  out.push(table(rows));
  out.push('');
  out.push('Throughput model BW(L) = L / (alpha*L + beta) (LAN-emulation comparison paper), fitted to each bandwidth curve:');
  const fitRows = [['transport', 'alpha (ns/byte)', 'beta (µs/message)', 'asymptote', 'rms rel. error']];
  for (const r of report.results) {
    const f = r.fit;
    fitRows.push(f ? [r.transport, f.alphaNsPerByte.toFixed(4), f.betaUsPerMessage.toFixed(3),
      f.alphaNsPerByte > 0 ? human(1e9 / f.alphaNsPerByte, 'bytes/s') : 'n/a', `${(100 * f.rmsRelativeError).toFixed(1)} %`]
      : [r.transport, 'n/a', 'n/a', 'n/a', 'n/a']);
  }
  out.push(table(fitRows));
  const others = report.transports.filter((t) => t.status !== 'ok');
  if (others.length) {
    out.push('');
    out.push('Not measured:');
    for (const t of others) out.push(`  ${t.name}: ${t.status} (${t.reason})`);
  }
  if (report.files) {
    out.push('');
    const f = report.files;
    out.push(`Raw samples: ${path.join(f.dir, f.json)}  (schema: benchmarks/SCHEMA.md)`);
    out.push(`Plots: ${path.join(f.dir, f.latencyPlot)}, ${path.join(f.dir, f.bandwidthPlot)}`);
  }
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Plots

function plots(report) {
  const latency = logLogChart({
    title: `Latency (half round trip), ${report.startedAt}`,
    xLabel: 'message size (bytes)',
    yLabel: 'one-way latency (µs)',
    series: report.results.map((r) => ({ name: r.transport, points: r.latency.map((p) => [p.size, p.us]) })),
  });
  const bandwidth = logLogChart({
    title: `Streaming bandwidth, ${report.startedAt}`,
    xLabel: 'message size (bytes)',
    yLabel: 'bandwidth (MB/s)',
    series: report.results.map((r) => ({ name: r.transport, points: r.bandwidth.map((p) => [p.size, p.bytesPerSec / 1e6]) })),
  });
  return { latency, bandwidth };
}

module.exports = { resultsFor, keyFigures, formatSummary, plots, KEY_FIGURES, human, formatSize };
