'use strict';
/**
 * The app benchmark's figures (apps/run.js): per row and mode the medians over trials, the ratio
 * via-net / node:net of each figure with the range of its per-trial ratios, the transports both
 * ends used, and the table printed at the end. The JSON format is in benchmarks/SCHEMA.md.
 */
const { median } = require('../lib/stats');
const { human, table } = require('../lib/report');

const VIA = 'via-net';
const NET = 'node:net';
const METRICS = ['throughput', 'p50', 'p99', 'cpuClient', 'cpuServer'];

/** Adds connection counts `b` into `a` ({ transport: n }). */
function addCounts(a, b) {
  for (const [t, n] of Object.entries(b)) a[t] = (a[t] || 0) + n;
  return a;
}

/** Both ends of every connection on `path` (and at least one connection each). */
function allOn(transports, path) {
  return ['client', 'server'].every((side) => {
    const kinds = Object.keys(transports[side]);
    return kinds.length === 1 && kinds[0] === path;
  });
}

const describeCounts = (counts) => Object.entries(counts).map(([t, n]) => `${t}×${n}`).join(' ') || 'none';

/**
 * @param {object[]} cases  the cases run, each with its `rows` ({ name, label }) and `integrity` (how transfers are checked)
 * @param {object[]} trials  one record per trial, case and mode: { trial, case, mode, samples: { row: sample }, transports, detail, checks }
 * @param {object} ceilings  FTP case name -> the no-network ceiling per trial ({ readMs, writeMs, ceilingMs })
 * @returns {{ rows: object[], warnings: string[] }}
 */
function summarize(cases, trials, ceilings) {
  const rows = [];
  const warnings = [];
  for (const c of cases) {
    for (const r of c.rows) {
      const modes = {};
      for (const mode of [VIA, NET]) {
        const mine = trials.filter((x) => x.case === c.name && x.mode === mode).sort((a, b) => a.trial - b.trial);
        const samples = mine.map((x) => ({ trial: x.trial, ...x.samples[r.name] }));
        const transports = { client: {}, server: {} };
        for (const x of mine) for (const side of ['client', 'server']) addCounts(transports[side], x.transports[side]);
        modes[mode] = {
          median: Object.fromEntries(METRICS.map((m) => [m, median(samples.map((s) => s[m]))])),
          transports,
          trials: samples,
          ...(mine.length && mine[mine.length - 1].detail.http2Over ? { http2Over: mine[mine.length - 1].detail.http2Over } : {}),
        };
      }
      const ratios = {};
      for (const m of METRICS) {
        const v = modes[VIA].median[m];
        const n = modes[NET].median[m];
        const perTrial = modes[VIA].trials.map((s, i) => s[m] / (modes[NET].trials[i] || {})[m]).filter(Number.isFinite);
        ratios[m] = v !== null && n > 0
          ? { median: v / n, min: Math.min(...perTrial), max: Math.max(...perTrial) }
          : null;
      }
      const onPath = allOn(modes[VIA].transports, c.path);
      if (!onPath) {
        warnings.push(`${r.name}: via-net did NOT run over ${c.path} at both ends (client ${describeCounts(modes[VIA].transports.client)},`
          + ` server ${describeCounts(modes[VIA].transports.server)}): its via-net figures are not ${c.path} figures`);
      }
      const checks = trials.filter((x) => x.case === c.name).reduce((sum, x) => sum + x.checks, 0);
      // A mismatch stops the run, so a row that is reported passed every check.
      const integrity = { ok: true, checks, method: c.integrity };
      const row = { name: r.name, case: c.name, server: c.server, kind: c.kind, unit: c.unit, label: r.label, path: c.path, onPath, integrity, modes, ratios };
      if (ceilings[c.name]) {
        const per = ceilings[c.name];
        const ms = median(per.map((x) => x.ceilingMs));
        row.ceiling = {
          ms, throughput: c.bytes / (1 << 20) / (ms / 1000),
          readMs: median(per.map((x) => x.readMs)), writeMs: median(per.map((x) => x.writeMs)),
          trials: per.map((x) => x.ceilingMs),
        };
      }
      rows.push(row);
    }
  }
  return { rows, warnings };
}

// ---------------------------------------------------------------------------------------------
// Text

/** 3 significant digits, with k or M. */
function si(v) {
  if (v >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (v >= 1e3) return `${(v / 1e3).toPrecision(3)}k`;
  return v.toPrecision(3);
}

function throughputCell(row, v) {
  if (v === null) return 'n/a';
  return row.unit === 'MB/s' ? `${v.toPrecision(3)} MB/s` : `${si(v)} ${row.unit}`;
}

/** CPU per request (µs) or per MB (ms). */
function cpuCell(row, v) {
  if (v === null) return 'n/a';
  return row.kind === 'requests' ? human(v, 'us') : `${v.toPrecision(3)} ms`;
}

const ratioText = (r) => (r ? ` ×${r.median.toFixed(2)}` : '');

function ends(row, mode) {
  const t = row.modes[mode].transports;
  const side = (counts) => Object.keys(counts).join('+') || 'none';
  const text = `${side(t.client)}/${side(t.server)}`;
  return mode === VIA && !row.onPath ? `${text} !! NOT ${row.path.toUpperCase()}` : text;
}

/** The end-of-run table: two lines per row (via-net with its ratios, node:net). */
function formatTable(report) {
  const out = [];
  const o = report.options;
  out.push(`via-net app benchmark, ${report.startedAt}, median of ${o.trials} trial${o.trials === 1 ? '' : 's'}${o.quick ? ' (--quick sizes)' : ''},`
    + ` node ${report.host.node}, ${report.host.cpus} CPUs, load ${report.host.loadAverage.map((x) => x.toFixed(2)).join(' ')}`);
  out.push('Each app with both ends under -r dist/register.js (via-net) and both ends on plain node:net, trials of the two interleaved.');
  out.push('× = via-net / node:net in this run; throughput: higher is better, (min-max of the per-trial ratios); latency and CPU: lower is better.');
  out.push(`Request rows: ${o.seconds} s timed after ${o.warmupSeconds} s of warm-up per trial; latency per request (message: its echo);`
    + ' CPU per request (µs) or per MB (ms) of each process, process.cpuUsage() over the timed phase.');
  out.push('ends: the transports of the client\'s / the server\'s connections (the socket under TLS and http2).');
  out.push('');
  const rows = [['row', 'mode', 'throughput', '× (per trial)', 'p50', 'p99', 'CPU client', 'CPU server', 'ends']];
  for (const row of report.rows) {
    for (const mode of [VIA, NET]) {
      const m = row.modes[mode].median;
      const via = mode === VIA;
      const tr = row.ratios.throughput;
      rows.push([
        via ? row.name : '', mode, throughputCell(row, m.throughput),
        via && tr ? `×${tr.median.toFixed(2)} (${tr.min.toFixed(2)}-${tr.max.toFixed(2)})` : '',
        ...['p50', 'p99'].map((k) => (m[k] === null ? '' : `${human(m[k], 'us')}${via ? ratioText(row.ratios[k]) : ''}`)),
        ...['cpuClient', 'cpuServer'].map((k) => `${cpuCell(row, m[k])}${via ? ratioText(row.ratios[k]) : ''}`),
        ends(row, mode),
      ]);
    }
  }
  out.push(table(rows));
  out.push('');
  for (const row of report.rows) out.push(`${row.name.padEnd(20)} ${row.label}`);
  const h2 = report.rows.filter((r) => r.modes[VIA].http2Over);
  if (h2.length) {
    const over = (mode) => [...new Set(h2.map((r) => r.modes[mode].http2Over))].join('/');
    out.push('');
    out.push(`HTTP/2: http2 wrapped a ${over(VIA)} under via-net, a ${over(NET)} under node:net`
      + `${over(VIA).includes('JSStreamSocket') ? ' (an shm socket has no native handle for http2 to take: it runs as a JS stream)' : ''}.`);
  }
  const ftp = report.rows.filter((r) => r.ceiling && r.name.endsWith('-upload'));
  if (ftp.length) {
    const one = (r) => `${r.case} ${r.ceiling.throughput.toPrecision(3)} MB/s (read ${r.ceiling.readMs.toFixed(0)} ms, write ${r.ceiling.writeMs.toFixed(0)} ms)`;
    out.push(`FTP ceiling, the slower of the file's read and write run at once in two processes, no network (benchmarks/ftp/ceiling.js): ${ftp.map(one).join(', ')}.`);
  }
  if (report.warnings.length) {
    out.push('');
    out.push('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!');
    for (const w of report.warnings) out.push(`!! ${w}`);
    out.push('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!');
  }
  return `${out.join('\n')}\n`;
}

module.exports = { summarize, formatTable, allOn };
