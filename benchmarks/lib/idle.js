'use strict';
/**
 * The idle-connection test: what one open, idle connection costs each side, in memory and in file
 * descriptors, and whether both sides return to where they were once the connections are closed.
 *
 * On a fresh worker pair (nothing left over from the timed tests): listen; warm up (open a few
 * connections and close them, so one-off costs such as loading the provider, its first shared
 * segment or the JIT are not counted per connection); snapshot both workers (`baseline`); open
 * `count` connections, each echoing 1 byte once and then idle; snapshot (`open`); close them all;
 * snapshot (`closed`). The connections (and the warm-up's, before `baseline`) are left idle for IDLE_MS before `open` is taken: a
 * user-level connection that has been quiet that long has given its ring memory back (via-net's
 * trim interval is 1 s), as an idle TCP socket holds no buffers. Every snapshot waits until the
 * server has accepted or let go of every connection and the number of descriptors has been steady
 * for STABLE_MS (closed connections give their descriptors back a little after 'close'); `closed`
 * also waits, up to SETTLE_MS, for the descriptors and the shared memory to be back at the
 * baseline (freed rings go back to the kernel at the next trim). A snapshot is taken after global.gc() in the worker and holds VmRSS with
 * RssAnon, RssFile and RssShmem from /proc/self/status, V8's heapUsed and external, and the
 * number of entries in /proc/self/fd (transports/worker-core.js, `memorySnapshot`).
 *
 * Running out of descriptors (EMFILE on either side) or any other failure ends the opening early:
 * it is reported in `error`, and the figures are those of the connections that did open.
 */

const WARMUP = 20;
const CONCURRENCY = 8;
const KB = 1024;
/** How long a snapshot may wait for the connections to be accepted or for closed ones to let go of their fds. */
const SETTLE_MS = 5000;
/** ... and the descriptors must have stayed the same this long (the warm-up's are released after 'close' too). */
const STABLE_MS = 150;
/** How long connections stay idle before a reading: via-net gives an idle ring's memory back within 2 s. */
const IDLE_MS = 2200;
/** Shared memory counted as back at the baseline within this much (a page or two of bookkeeping). */
const SHMEM_SLACK = 256 * KB;

/** Deadline for a request that handles `n` connections: generous, a wedged worker must still fail. */
const deadline = (n) => 20000 + 25 * n;

function describeError(side, e, opened) {
  return `${side}: ${e.code ? `${e.code}: ` : ''}${e.message}${opened === undefined ? '' : ` (${opened} connections open)`}`;
}

/**
 * Run the test on a started WorkerPair. Never throws for a failure of the transport under test
 * (that goes to `error`); the pair's listener is closed at the end.
 * @returns {Promise<object>} the raw record for report.idleConnections (SCHEMA.md)
 */
async function idleTest(pair, count, { warmup = Math.min(WARMUP, count), concurrency = CONCURRENCY } = {}) {
  const { client, server } = pair;
  const out = { requested: count, warmup, opened: 0, openElapsedNs: null, error: null, client: {}, server: {} };
  const note = (text) => { out.error = out.error ? `${out.error}; ${text}` : text; };
  const snapshot = async (label, connections, atMost = {}) => {
    const args = { waitMs: SETTLE_MS, stableMs: STABLE_MS };
    const [c, s] = await Promise.all([
      client.request('snapshot', { ...args, ...(atMost.client || {}) }, SETTLE_MS + 20000),
      server.request('snapshot', { ...args, connections, ...(atMost.server || {}) }, SETTLE_MS + 20000),
    ]);
    out.client[label] = { ...c.memory, connections: c.connections, settleMs: c.settleMs };
    out.server[label] = { ...s.memory, connections: s.connections, settleMs: s.settleMs };
    for (const e of c.errors) note(describeError(`client, before ${label}`, e));
    for (const e of s.errors) note(describeError(`server, before ${label}`, e));
  };
  try {
    await pair.open(false);
    const { address } = pair;
    if (warmup > 0) {
      const w = await client.request('openIdle', { address, count: warmup, concurrency }, deadline(warmup));
      await client.request('closeIdle', {}, deadline(warmup));
      if (w.error) throw Object.assign(new Error(`warm-up: ${describeError('client', w.error, w.opened)}`), { code: w.error.code });
    }
    // The warm-up's memory goes back as it would for the connections measured next.
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    await snapshot('baseline', 0);
    const r = await client.request('openIdle', { address, count, concurrency }, deadline(count));
    out.opened = r.opened;
    out.openElapsedNs = r.elapsedNs;
    if (r.error) note(describeError('client', r.error, r.opened));
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    await snapshot('open', r.opened);
    await client.request('closeIdle', {}, deadline(count));
    // Back to baseline: wait (up to SETTLE_MS) for the descriptors and shared memory to be given back, then read.
    const back = (b) => ({ fdsAtMost: b.fds, shmemAtMost: (b.rssShmemBytes ?? 0) + SHMEM_SLACK });
    await snapshot('closed', 0, { client: back(out.client.baseline), server: back(out.server.baseline) });
  } catch (err) {
    note(describeError('test', err));
  } finally {
    await pair.close().catch(() => {});
  }
  return out;
}

const diff = (a, b, field) => (a && b && Number.isFinite(a[field]) && Number.isFinite(b[field]) ? a[field] - b[field] : null);

/**
 * After closing, a side is back at its baseline when its descriptors are (exactly), its shared
 * memory has given back all but 10 % of what the connections had taken (at least 256 KB: page
 * granularity), and its JS heap after GC all but 10 % (at least 1 MB: code optimised while the
 * connections were opened and tables grown for them stay, a few hundred KB whatever N is).
 * Anonymous RSS is reported but not judged: malloc and V8 keep freed pages for reuse, which is
 * not a leak.
 */
function backToBaseline(side) {
  const { baseline: b, open: o, closed: c } = side;
  if (!b || !o || !c) return null;
  const slack = (field, floor) => Math.max(floor, 0.1 * Math.max(0, diff(o, b, field) || 0));
  return diff(c, b, 'fds') <= 0
    && (diff(c, b, 'rssShmemBytes') === null || diff(c, b, 'rssShmemBytes') <= slack('rssShmemBytes', 256 * KB))
    && diff(c, b, 'heapUsedBytes') <= slack('heapUsedBytes', 1024 * KB);
}

/** Per-connection figures of one side: growth from `baseline` to `open`, divided by the connections opened. */
function sideResults(side, n) {
  const { baseline: b, open: o, closed: c } = side;
  if (!b || !o) return null;
  const per = (field, unit) => {
    const d = diff(o, b, field);
    return n > 0 && d !== null ? d / n / unit : null;
  };
  const left = (field, unit) => {
    const d = diff(c, b, field);
    return d === null ? null : d / unit;
  };
  return {
    rssKBPerConnection: per('vmRssBytes', KB),
    rssAnonKBPerConnection: per('rssAnonBytes', KB),
    rssShmemKBPerConnection: per('rssShmemBytes', KB),
    heapKBPerConnection: per('heapUsedBytes', KB),
    fdsPerConnection: per('fds', 1),
    afterClose: c ? {
      rssKB: left('vmRssBytes', KB),
      rssAnonKB: left('rssAnonBytes', KB),
      rssShmemKB: left('rssShmemBytes', KB),
      heapKB: left('heapUsedBytes', KB),
      fds: left('fds', 1),
      backToBaseline: backToBaseline(side),
    } : null,
  };
}

/** results[].idle from the raw record (null when the test did not run for this transport). */
function idleResults(raw) {
  if (!raw) return null;
  const client = sideResults(raw.client, raw.opened);
  const server = sideResults(raw.server, raw.opened);
  const back = [client, server].map((s) => (s && s.afterClose ? s.afterClose.backToBaseline : null));
  return {
    connections: raw.opened,
    requested: raw.requested,
    error: raw.error,
    client,
    server,
    leak: back.includes(null) ? null : back.includes(false),
  };
}

module.exports = { idleTest, idleResults, WARMUP };
