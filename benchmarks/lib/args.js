'use strict';
/** Command-line options of benchmarks/run.js. Bad input is a coded error, not a guess. */
const path = require('node:path');
const { netpipeSizes, quickSizes, parseSizes } = require('./sizes');

const USAGE = `usage: npm run bench -- [options]    (or: node benchmarks/run.js [options])

  --quick              about 30 s: powers of 4 from 1 B to 4 MB, 3 trials, cold/warm streams
                       of 64 MB and 256 MB (instead of 256 MB and 1 GB)
  --sizes LIST         message sizes for the curves, e.g. 1,64,4K,1M (4 and 64K are always
                       added: the key figures need them)
  --transports LIST    e.g. net-tcp,net-unix,via-shm-busy (net-tcp, the baseline, is always run)
  --trials N           trials per point, the reported value is their median (default 5, quick 3)
  --budget SECONDS     wall-time target for the timed tests (default 170, quick 27)
  --idle-conns N       idle connections opened per transport to measure RSS and fds per
                       connection (default 2000, quick 500; 0 skips that test)
  --out DIR            where the JSON and SVG files go (default bench-results/)
  --json               print the JSON report on stdout instead of the table
  --list               list the transports and whether they are available
  -h, --help           this text
`;

const KEY_SIZES = [4, 65536];
/**
 * The cold/warm stream test: a new connection's first `coldBytes`, then the next `warmBytes` on
 * it, in 64 KB writes. Fixed sizes (the figure is about a connection's first bytes), so they run
 * on top of the budget; --quick scales them down.
 */
const STREAM_BYTES = { coldBytes: 256 * 1024 ** 2, warmBytes: 1024 ** 3 };
const STREAM_BYTES_QUICK = { coldBytes: 64 * 1024 ** 2, warmBytes: 256 * 1024 ** 2 };
/** The think-time test's server work per request, µs: at the edge of a poll mode's spin window (50 µs by default) and well outside it. */
const THINK_US = [50, 200, 1000];
const IDLE_CONNECTIONS = 2000;
const IDLE_CONNECTIONS_QUICK = 500;
const IDLE_CONNECTIONS_MAX = 100000;

function usageError(message) {
  return Object.assign(new Error(message), { code: 'ERR_INVALID_ARG_VALUE', usage: true });
}

function positiveInt(name, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw usageError(`${name} wants an integer 1..1000, got "${text}"`);
  return n;
}

function idleCount(text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > IDLE_CONNECTIONS_MAX) {
    throw usageError(`--idle-conns wants an integer 0..${IDLE_CONNECTIONS_MAX}, got "${text}"`);
  }
  return n;
}

/**
 * @param {string[]} argv  process.argv.slice(2)
 * @param {string[]} knownTransports  registry names, baseline first
 */
function parseArgs(argv, knownTransports, root) {
  const o = { quick: false, json: false, list: false, help: false, sizes: null, transports: null, trials: null, budgetSeconds: null, idleConnections: null, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw usageError(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case '--quick': o.quick = true; break;
      case '--json': o.json = true; break;
      case '--list': o.list = true; break;
      case '-h': case '--help': o.help = true; break;
      case '--sizes': o.sizes = parseSizes(value()); break;
      case '--transports': o.transports = value().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--trials': o.trials = positiveInt('--trials', value()); break;
      case '--budget': o.budgetSeconds = positiveInt('--budget', value()); break;
      case '--idle-conns': o.idleConnections = idleCount(value()); break;
      case '--out': o.out = value(); break;
      default: throw usageError(`unknown option ${a}`);
    }
  }
  const baseline = knownTransports[0];
  let transports = o.transports || knownTransports;
  for (const t of transports) {
    if (!knownTransports.includes(t)) throw usageError(`unknown transport ${t}; known: ${knownTransports.join(', ')}`);
  }
  transports = [baseline, ...transports.filter((t) => t !== baseline)];
  const curveSizes = o.sizes || (o.quick ? quickSizes() : netpipeSizes());
  return {
    quick: o.quick,
    json: o.json,
    list: o.list,
    help: o.help,
    requestedSizes: o.sizes,
    sizes: [...new Set([...curveSizes, ...KEY_SIZES])].sort((a, b) => a - b),
    transports,
    trials: o.trials || (o.quick ? 3 : 5),
    budgetSeconds: o.budgetSeconds || (o.quick ? 27 : 170),
    idleConnections: o.idleConnections !== null ? o.idleConnections : (o.quick ? IDLE_CONNECTIONS_QUICK : IDLE_CONNECTIONS),
    ...(o.quick ? STREAM_BYTES_QUICK : STREAM_BYTES),
    thinkUs: THINK_US,
    out: path.resolve(o.out || path.join(root, 'bench-results')),
  };
}

module.exports = { parseArgs, USAGE, KEY_SIZES, IDLE_CONNECTIONS, IDLE_CONNECTIONS_QUICK, STREAM_BYTES, STREAM_BYTES_QUICK, THINK_US };
