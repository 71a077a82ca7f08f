'use strict';
// Property-based tests of the SOVIA engine over the in-memory provider: random schedules
// (synchronous and asynchronous sends, random batches and delays), random write sizes and
// parameters, a randomly pausing reader, both directions at once. Seeded: FC_SEED=<n> replays.

const { expect } = require('chai');
const fc = require('fast-check');
const { connectedPair, patternBuffer } = require('./support/sovia-memory-pair');
const { random } = require('./support/prng');

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 20261121;
const RUNS = process.env.FC_RUNS !== undefined ? Number(process.env.FC_RUNS) : 300;

const writeSize = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 128 }) },
  { weight: 3, arbitrary: fc.integer({ min: 129, max: 4096 }) },
  { weight: 2, arbitrary: fc.integer({ min: 4097, max: 200 * 1024 }) },
);

const engineParams = fc
  .record({
    window: fc.integer({ min: 1, max: 40 }),
    tFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    combine: fc.boolean(),
    chunkSize: fc.constantFrom(512, 4096, 32768),
    copyFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ window, tFraction, combine, chunkSize, copyFraction }) => ({
    window,
    ackThreshold: Math.max(1, Math.min(window, Math.ceil(tFraction * window))),
    combine,
    chunkSize,
    copyThreshold: Math.floor(copyFraction * Math.min(chunkSize, 4096)),
  }));

const scenario = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  sendMode: fc.constantFrom('sync', 'async', 'random'),
  maxBatch: fc.integer({ min: 1, max: 16 }),
  maxDelayMs: fc.constantFrom(0, 0, 0, 1),
  a: engineParams,
  b: engineParams,
  writesA: fc.array(writeSize, { maxLength: 12 }),
  writesB: fc.array(writeSize, { maxLength: 12 }),
  /** Writable-like (one write at a time) or everything at once. */
  burstA: fc.boolean(),
  burstB: fc.boolean(),
  pauseA: fc.double({ min: 0, max: 0.5, noNaN: true }),
  pauseB: fc.double({ min: 0, max: 0.5, noNaN: true }),
  noDelayA: fc.boolean(),
});

/** A reader that says "stop" with probability p and resumes on a later turn of the event loop. */
function pausingReader(endpoint, p, rng) {
  endpoint.accept = () => {
    if (rng() >= p) return true;
    setImmediate(() => endpoint.conn.resumeReading());
    return false;
  };
}

/** Write all pieces, Writable-style or in one burst; resolves when every callback has run. */
async function writeAll(endpoint, pieces, burst) {
  if (burst) {
    const results = await Promise.all(pieces.map((p) => endpoint.write(p)));
    return results.find((e) => e) || null;
  }
  for (const p of pieces) {
    const err = await endpoint.write(p);
    if (err) return err;
  }
  return null;
}

function makePieces(sizes, seed) {
  return sizes.map((n, i) => patternBuffer(n, seed + i));
}

/** A connected pair on a randomly scheduled memory provider, as scenario `s` describes. */
function pairForScenario(s) {
  return connectedPair({
    providerOptions: { random: random(s.seed), sendMode: s.sendMode, schedule: { kind: 'random', maxBatch: s.maxBatch, maxDelayMs: 0 } },
    a: s.a,
    b: s.b,
  });
}

describe('sovia properties (fast-check)', function () {
  this.timeout(120000);

  before(() => {
    // Printed so a failure can be replayed with FC_SEED=<seed>.
    console.log(`      fast-check seed ${SEED}, ${RUNS} runs per property (FC_SEED / FC_RUNS to change)`);
  });

  it('delivers both directions exactly once and in order, with no credit violation, and both sides reach CLOSED', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const rng = random(s.seed ^ 0x5eed);
        const { provider, a, b, pa, pb } = connectedPair({
          providerOptions: { random: random(s.seed), sendMode: s.sendMode, schedule: { kind: 'random', maxBatch: s.maxBatch, maxDelayMs: s.maxDelayMs } },
          a: s.a,
          b: s.b,
        });
        pausingReader(a, s.pauseA, rng);
        pausingReader(b, s.pauseB, rng);
        if (s.noDelayA) a.conn.setNoDelay(true);
        const piecesA = makePieces(s.writesA, s.seed);
        const piecesB = makePieces(s.writesB, s.seed + 1000);
        const side = async (ep, pieces, burst) => {
          expect(await writeAll(ep, pieces, burst)).to.equal(null);
          expect(await ep.end()).to.equal(null);
        };
        await Promise.all([side(a, piecesA, s.burstA), side(b, piecesB, s.burstB)]);
        await a.until(() => a.closed, 'A closed');
        await b.until(() => b.closed, 'B closed');
        expect(a.error).to.equal(null);
        expect(b.error).to.equal(null);
        expect(a.log.filter((e) => e !== 'data')).to.deep.equal(['end', 'close']);
        expect(b.log.filter((e) => e !== 'data')).to.deep.equal(['end', 'close']);
        expect(a.conn.state).to.equal('CLOSED');
        expect(b.conn.state).to.equal('CLOSED');
        expect(b.bytes).to.equal(a.sentBytes);
        expect(a.bytes).to.equal(b.sentBytes);
        expect(b.receivedDigest()).to.equal(a.sentHash.digest('hex'));
        expect(a.receivedDigest()).to.equal(b.sentHash.digest('hex'));
        expect(provider.stats.creditViolations).to.equal(0);
        expect(a.conn.stats.maxCreditsInFlight).to.be.at.most(pb.window);
        expect(b.conn.stats.maxCreditsInFlight).to.be.at.most(pa.window);
        expect(b.conn.stats.maxQueuedReceived).to.be.at.most(pb.window + 1); // + the FIN marker
        expect(a.conn.stats.maxQueuedReceived).to.be.at.most(pa.window + 1);
        expect(a.conn.pendingBytes).to.equal(0);
        expect(provider.busyVis).to.equal(0);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  });

  it('a killed link makes both sides error and close, delivering a prefix of the stream with no duplicate or reordering', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, fc.integer({ min: 0, max: 60 }), async (s, killAfterTurns) => {
        const rng = random(s.seed ^ 0xdead);
        const { provider, a, b, viA } = pairForScenario(s);
        pausingReader(a, s.pauseA, rng);
        pausingReader(b, s.pauseB, rng);
        const piecesA = makePieces(s.writesA, s.seed);
        const piecesB = makePieces(s.writesB, s.seed + 1000);
        const callbacks = { a: 0, b: 0 };
        const fire = (ep, pieces, key) => Promise.all(pieces.map((p) => ep.write(p).then((err) => {
          callbacks[key]++;
          if (err) expect(['ECONNRESET', 'ERR_STREAM_DESTROYED', 'EPIPE']).to.include(err.code);
        })));
        const writesDone = Promise.all([fire(a, piecesA, 'a'), fire(b, piecesB, 'b')]);
        for (let i = 0; i < killAfterTurns; i++) await new Promise((resolve) => setImmediate(resolve));
        provider.killLink(viA);
        await a.until(() => a.closed, 'A closed');
        await b.until(() => b.closed, 'B closed');
        await writesDone;
        expect(callbacks).to.deep.equal({ a: piecesA.length, b: piecesB.length });
        for (const ep of [a, b]) {
          expect(ep.error, ep.log.join(',')).to.have.property('code', 'ECONNRESET');
          expect(ep.log.filter((e) => e !== 'data')).to.deep.equal(['error:ECONNRESET', 'close']);
        }
        const sentA = Buffer.concat(piecesA);
        const sentB = Buffer.concat(piecesB);
        const gotB = b.received();
        const gotA = a.received();
        expect(gotB.length).to.be.at.most(sentA.length);
        expect(gotA.length).to.be.at.most(sentB.length);
        expect(gotB.equals(sentA.subarray(0, gotB.length))).to.equal(true);
        expect(gotA.equals(sentB.subarray(0, gotA.length))).to.equal(true);
        expect(provider.stats.creditViolations).to.equal(0);
        expect(provider.busyVis).to.equal(0);
      }),
      { seed: SEED + 1, numRuns: RUNS, endOnFailure: true },
    );
  });

  it('destroy() at a random moment: the peer errors with ECONNRESET, the destroyer closes quietly, streams stay prefixes', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, fc.integer({ min: 0, max: 60 }), async (s, destroyAfterTurns) => {
        const rng = random(s.seed ^ 0xd00d);
        const { provider, a, b } = pairForScenario(s);
        pausingReader(a, s.pauseA, rng);
        pausingReader(b, s.pauseB, rng);
        const piecesA = makePieces(s.writesA, s.seed);
        const piecesB = makePieces(s.writesB, s.seed + 1000);
        let callbacks = 0;
        const fire = (ep, pieces) => Promise.all(pieces.map((p) => ep.write(p).then(() => { callbacks++; })));
        const writesDone = Promise.all([fire(a, piecesA), fire(b, piecesB)]);
        for (let i = 0; i < destroyAfterTurns; i++) await new Promise((resolve) => setImmediate(resolve));
        a.conn.destroy();
        expect(a.conn.state).to.equal('CLOSED');
        await a.until(() => a.closed, 'A closed');
        await b.until(() => b.closed, 'B closed');
        await writesDone;
        expect(callbacks).to.equal(piecesA.length + piecesB.length);
        expect(a.log.filter((e) => e !== 'data')).to.deep.equal(['close']);
        expect(b.log.filter((e) => e !== 'data')).to.deep.equal(['error:ECONNRESET', 'close']);
        const sentA = Buffer.concat(piecesA);
        const sentB = Buffer.concat(piecesB);
        expect(b.received().equals(sentA.subarray(0, b.bytes))).to.equal(true);
        expect(a.received().equals(sentB.subarray(0, a.bytes))).to.equal(true);
        expect(provider.stats.creditViolations).to.equal(0);
        expect(provider.busyVis).to.equal(0);
      }),
      { seed: SEED + 2, numRuns: RUNS, endOnFailure: true },
    );
  });

  it('a peer that ends and then vanishes is not an error once its FIN was delivered', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, fc.integer({ min: 0, max: 40 }), async (s, vanishAfterTurns) => {
        const { provider, a, b, viA } = pairForScenario(s);
        const piecesA = makePieces(s.writesA, s.seed);
        const sentA = Buffer.concat(piecesA);
        await writeAll(a, piecesA, s.burstA);
        await a.end();
        for (let i = 0; i < vanishAfterTurns; i++) await new Promise((resolve) => setImmediate(resolve));
        const finDelivered = b.ended;
        viA.close(); // A's process "exits" without waiting for B
        await b.until(() => b.ended || b.closed, 'B end or close');
        if (!b.closed) {
          // B got everything: it may still end its side, which closes without error
          expect(await b.end()).to.equal(null);
          await b.until(() => b.closed, 'B closed');
          expect(b.error).to.equal(null);
          expect(b.received().equals(sentA)).to.equal(true);
        } else {
          expect(finDelivered).to.equal(false);
          expect(b.error).to.have.property('code', 'ECONNRESET');
          expect(b.received().equals(sentA.subarray(0, b.bytes))).to.equal(true);
        }
        if (finDelivered) expect(b.error).to.equal(null);
        expect(provider.stats.creditViolations).to.equal(0);
      }),
      { seed: SEED + 3, numRuns: RUNS, endOnFailure: true },
    );
  });
});
