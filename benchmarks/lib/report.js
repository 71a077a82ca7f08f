'use strict';
/**
 * Turns raw samples into per-transport results (medians over trials), key figures with their
 * ratio to the baseline measured in the same run, the plain-text table, and the two plots.
 */
const path = require('node:path');
const { median, fitThroughputModel } = require('./stats');
const { formatSize } = require('./sizes');
const { logLogChart } = require('./svg-plot');
const { idleResults } = require('./idle');
const { THINK_US, STREAM_BYTES } = require('./args');

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

/** Median per call of `amount(sample, worker)` for each worker, and of both together. */
function perCall(samples, amount) {
  const side = (s, w) => amount(s, w) / s.count;
  return {
    client: median(samples.map((s) => side(s, 'client'))),
    server: median(samples.map((s) => side(s, 'server'))),
    total: median(samples.map((s) => side(s, 'client') + side(s, 'server'))),
  };
}

/** Median CPU µs per call of each worker (user + system), and of both together. */
function cpuPerCall(samples) {
  return perCall(samples, (s, w) => s.cpu[w].user + s.cpu[w].system);
}

/**
 * Median µs per call each worker's provider spent polling with nothing found, and both together;
 * null for a transport that does not poll (its samples carry no `spin`).
 */
function spinPerCall(samples) {
  return samples.every((s) => s.spin) ? perCall(samples, (s, w) => s.spin[w]) : null;
}

/** One phase of the stream test (cold or warm): its bytes, median bandwidth and CPU per GB. */
function streamResult(m) {
  if (!m) return null;
  return {
    size: m.size,
    bytes: m.size * m.samples[0].count,
    bytesPerSec: median(m.samples.map((s) => (m.size * s.count) / (s.elapsedNs / 1e9))),
    cpuSecondsPerGB: cpuPer(m.samples, (s) => (m.size * s.count) / GB),
  };
}

/** @param {object[]} [idleConnections]  the raw idle-test records (report.idleConnections) */
function resultsFor(transport, measurements, idleConnections = []) {
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
  const think = of('think').sort((a, b) => a.workUs - b.workUs).map((m) => ({
    workUs: m.workUs,
    size: m.size,
    us: median(m.samples.map((s) => s.elapsedNs / s.count / 1000)),
    cpuUsPerCall: cpuPerCall(m.samples),
    spinUsPerCall: spinPerCall(m.samples),
  }));
  const idle = idleResults(idleConnections.find((r) => r.transport === transport) || null);
  return {
    transport, latency, bandwidth, rate, connect,
    coldStream: streamResult(of('coldStream')[0]), warmStream: streamResult(of('warmStream')[0]), think,
    idle, fit: fitThroughputModel(bandwidth),
  };
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
  { id: 'coldStream', label: 'cold stream', unit: 'bytes/s', lowerIsBetter: false, get: (r) => (r.coldStream ? r.coldStream.bytesPerSec : null) },
  { id: 'warmStream', label: 'warm stream', unit: 'bytes/s', lowerIsBetter: false, get: (r) => (r.warmStream ? r.warmStream.bytesPerSec : null) },
  { id: 'rssPerConnClient', label: 'RSS/conn client', unit: 'KB', lowerIsBetter: true, get: (r) => idleFigure(r, 'client', 'rssKBPerConnection') },
  { id: 'rssPerConnServer', label: 'RSS/conn server', unit: 'KB', lowerIsBetter: true, get: (r) => idleFigure(r, 'server', 'rssKBPerConnection') },
  { id: 'fdsPerConnClient', label: 'fds/conn client', unit: 'fds', lowerIsBetter: true, get: (r) => idleFigure(r, 'client', 'fdsPerConnection') },
  { id: 'fdsPerConnServer', label: 'fds/conn server', unit: 'fds', lowerIsBetter: true, get: (r) => idleFigure(r, 'server', 'fdsPerConnection') },
  ...THINK_US.flatMap((w) => [
    { id: `think${w}`, label: `W=${w} µs: call`, unit: 'us', lowerIsBetter: true, get: (r) => thinkFigure(r, w, (t) => t.us) },
    { id: `thinkCpu${w}`, label: `W=${w} µs: CPU/call`, unit: 'us', lowerIsBetter: true, get: (r) => thinkFigure(r, w, (t) => t.cpuUsPerCall.total) },
  ]),
];

/** The timed figures (first table), the per-connection ones (second table) and the think-time ones (third). */
const TIMED_FIGURES = ['latency4', 'latency64K', 'bandwidth64K', 'rate64', 'connect', 'cpuPerGB', 'coldStream', 'warmStream'];
const CONNECTION_FIGURES = ['connect', 'rssPerConnClient', 'rssPerConnServer', 'fdsPerConnClient', 'fdsPerConnServer'];
const THINK_FIGURES = THINK_US.flatMap((w) => [`think${w}`, `thinkCpu${w}`]);

function thinkFigure(r, workUs, field) {
  const t = r.think && r.think.find((x) => x.workUs === workUs);
  const v = t ? field(t) : null;
  return Number.isFinite(v) ? v : null;
}

function idleFigure(r, side, field) {
  const s = r.idle && r.idle[side];
  return s && Number.isFinite(s[field]) ? s[field] : null;
}

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
        // No ratio to a baseline of zero or less (an RSS growth lost in the noise of a tiny run).
        return { transport: r.transport, value, ratio: value !== null && b > 0 ? value / b : null };
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
    case 'KB': return Math.abs(value) >= 1000 ? `${(value / 1024).toFixed(2)} MB` : `${value.toPrecision(3)} KB`;
    case 'fds': return value.toFixed(2);
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

function cell(f, transport, extra = '') {
  const v = f.values.find((x) => x.transport === transport);
  if (!v || v.value === null) return 'n/a';
  return `${human(v.value, f.unit)}${extra} ×${v.ratio === null ? '?' : v.ratio.toFixed(2)}`;
}

/** "after close" of the idle test: back to the baseline on both sides, or what was left. */
function afterClose(idle) {
  if (!idle || !idle.client || !idle.server || !idle.client.afterClose || !idle.server.afterClose) return 'n/a';
  if (idle.leak === false) return 'back to baseline';
  const left = ['client', 'server'].filter((side) => idle[side].afterClose.backToBaseline === false).map((side) => {
    const a = idle[side].afterClose;
    const parts = [];
    if (a.fds) parts.push(`${a.fds > 0 ? '+' : ''}${a.fds} fds`);
    if (a.rssShmemKB > 0) parts.push(`shm +${human(a.rssShmemKB, 'KB')}`);
    if (a.heapKB > 0) parts.push(`heap +${human(a.heapKB, 'KB')}`);
    return `${side} ${parts.join(', ')}`;
  });
  return `NOT back: ${left.join('; ')}`;
}

/** What the cold and warm stream columns are, with this run's sizes. */
function streamNote(options) {
  const { coldStreamBytes: cold, warmStreamBytes: warm } = options;
  if (!cold || !warm) return [];
  const full = cold === STREAM_BYTES.coldBytes && warm === STREAM_BYTES.warmBytes ? ''
    : ` (${options.quick ? '--quick ' : ''}sizes; the full run streams ${formatSize(STREAM_BYTES.coldBytes)} and ${formatSize(STREAM_BYTES.warmBytes)})`;
  return [`cold stream: a new connection's first ${formatSize(cold)} (64 KB writes), from connect() to the receiver's 1 B acknowledgement of the last byte;`,
    `warm stream: the next ${formatSize(warm)} on that connection, timed the same way${full}.`];
}

/** The think-time table: per W, µs per call and client + server CPU µs per call, each with its ratio. */
function thinkTable(report, byId) {
  const us = report.options.thinkUs;
  if (!us || !us.length) return [];
  const figs = THINK_FIGURES.map((id) => byId.get(id)).filter(Boolean);
  const rows = [['transport', ...figs.map((f) => f.label)]];
  for (const r of report.results) rows.push([r.transport, ...figs.map((f) => cell(f, r.transport))]);
  return ['',
    `Request/response with think time: a 64 B request, the server busy-works W µs (CPU, not a timer), then a 64 B reply; the next request`,
    `on the reply; each transport in its own poll mode. call: µs per request/response; CPU/call: client + server CPU µs per call. Lower is better.`,
    '', table(rows), ...spinTable(report, us)];
}

/** Of that CPU, what the polling transports spent spinning with nothing found (both workers, clock time). */
function spinTable(report, us) {
  const polling = report.results.filter((r) => r.think && r.think.some((t) => t.spinUsPerCall));
  if (!polling.length) return [];
  const fmt = (t) => (t && t.spinUsPerCall ? `${t.spinUsPerCall.total.toFixed(1)} µs` : '-');
  const rows = [['transport', ...us.map((w) => `W=${w} µs: spin/call`)]];
  for (const r of polling) rows.push([r.transport, ...us.map((w) => fmt(r.think.find((t) => t.workUs === w)))]);
  return ['', 'Of that CPU, the time the polling transports spent spinning with nothing found (client + server µs per call):', '', table(rows)];
}

/** The end-of-run summary for stdout. */
function formatSummary(report) {
  const out = [];
  const byId = new Map(report.keyFigures.map((f) => [f.id, f]));
  const figs = TIMED_FIGURES.map((id) => byId.get(id)).filter(Boolean);
  out.push(`via-net benchmark, ${report.startedAt}, ${report.options.trials} trials per point (median), node ${report.host.node}, ${report.host.cpus} CPUs`);
  out.push(`Ratios (×) are to ${report.baseline} in this run; for latency, connect and CPU lower is better.`);
  out.push(...streamNote(report.options));
  out.push('');
  const header = ['transport', ...figs.map((f) => f.label)];
  const rows = [header];
  for (const r of report.results) rows.push([r.transport, ...figs.map((f) => cell(f, r.transport))]);
  out.push(table(rows));
  out.push(...thinkTable(report, byId));

  const n = report.options.idleConnections;
  if (n > 0) {
    const conn = CONNECTION_FIGURES.map((id) => byId.get(id)).filter(Boolean);
    out.push('');
    out.push(`Per connection, lower is better; × = this transport / ${report.baseline}. connect: connect, 1 B echoed, close (µs per cycle).`);
    out.push(`RSS and fds: growth of each worker process (after GC) with ${n} idle connections open (1 B echoed once each), per connection;`);
    out.push('RSS is VmRSS, shared memory included (the part in RssShmem in parentheses). After close: descriptors, shared memory and heap back at the baseline?');
    out.push('');
    const connRows = [['transport', ...conn.map((f) => (f.id === 'connect' ? 'connect' : f.label)), 'after close']];
    const notes = [];
    for (const r of report.results) {
      const idle = r.idle;
      const shm = (side) => {
        const v = idle && idle[side] && idle[side].rssShmemKBPerConnection;
        return v ? ` (shm ${v.toPrecision(3)})` : '';
      };
      connRows.push([r.transport, ...conn.map((f) => {
        if (f.id === 'rssPerConnClient') return cell(f, r.transport, shm('client'));
        if (f.id === 'rssPerConnServer') return cell(f, r.transport, shm('server'));
        return cell(f, r.transport);
      }), afterClose(idle)]);
      if (idle && idle.error) notes.push(`  ${r.transport}: ${idle.connections} of ${idle.requested} connections opened: ${idle.error}`);
    }
    out.push(table(connRows));
    if (notes.length) {
      out.push('Idle test failures (figures above are over the connections that opened):');
      out.push(...notes);
    }
  }
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

module.exports = { resultsFor, keyFigures, formatSummary, plots, KEY_FIGURES, TIMED_FIGURES, CONNECTION_FIGURES, THINK_FIGURES, human, table, formatSize };
