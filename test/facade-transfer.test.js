'use strict';
// Data integrity, backpressure and half-close through the facade, over TCP and over the in-process
// memory provider. Every transfer is checked by sha256 of what was sent against what was received.
const crypto = require('crypto');
const { expect } = require('chai');
const { once, sha256, collect, connectedPair, closeServer } = require('./support/facade');

const { viaNet } = require('./support/facade');

// The native shm provider joins in when it is built and loads (in-process, same paths as across processes).
const TRANSPORTS = ['tcp', 'memory'];
if (viaNet.providerStatus().shm.available) TRANSPORTS.push('shm');
else console.log(`      (shm transfers skipped: ${viaNet.providerStatus().shm.reason})`);
const SIZES = [0, 1, 3, 1000, 2047, 2048, 32768 - 3, 32768, 32768 + 3, 65536 + 3, 1 << 20, 8 << 20];

/** Write `data` in pieces of varying size (small and large, to exercise combining and chunking), then end. */
function writeInPieces(socket, data, seed) {
  let offset = 0;
  let i = seed;
  const sizes = [1, 100, 2047, 5000, 32768, 65536, 200000];
  while (offset < data.length) {
    const n = Math.min(sizes[i++ % sizes.length], data.length - offset);
    socket.write(data.subarray(offset, offset + n));
    offset += n;
  }
  socket.end();
}

/**
 * Write (honouring 'drain') until a 'drain' does not come within 300 ms, i.e. until the writer is
 * held back by the paused reader; or until `cap` bytes were written without ever being held back.
 */
async function writeUntilBlocked(socket, chunk, cap) {
  const sent = [];
  let total = 0;
  for (;;) {
    let ok = true;
    while (ok && total < cap) {
      sent.push(chunk);
      total += chunk.length;
      ok = socket.write(chunk);
    }
    if (total >= cap) return { sent, blocked: false };
    const drained = await new Promise((resolve) => {
      const timer = setTimeout(() => { socket.off('drain', onDrain); resolve(false); }, 300);
      function onDrain() { clearTimeout(timer); resolve(true); }
      socket.once('drain', onDrain);
    });
    if (!drained) return { sent, blocked: true };
  }
}

for (const transport of TRANSPORTS) {
  describe(`facade transfers over ${transport}`, function () {
    this.timeout(60000);
    let pair;
    afterEach(async () => {
      if (pair) {
        pair.client.destroy();
        pair.accepted.destroy();
        await closeServer(pair.server);
      }
      pair = null;
    });

    for (const size of SIZES) {
      it(`moves ${size} bytes both ways intact`, async () => {
        pair = await connectedPair(transport);
        expect(pair.client.transport).to.equal(transport);
        expect(pair.accepted.transport).to.equal(transport);
        const up = crypto.randomBytes(size);
        const down = crypto.randomBytes(size);
        const gotUp = collect(pair.accepted);
        const gotDown = collect(pair.client);
        writeInPieces(pair.client, up, 0);
        writeInPieces(pair.accepted, down, 3);
        const [u, d] = await Promise.all([gotUp, gotDown]);
        expect(u.length).to.equal(size);
        expect(d.length).to.equal(size);
        expect(sha256(u)).to.equal(sha256(up));
        expect(sha256(d)).to.equal(sha256(down));
        expect(await pair.clientClosed).to.equal(false);
        expect(await pair.acceptedClosed).to.equal(false);
        expect(pair.client.bytesWritten).to.equal(size);
        expect(pair.client.bytesRead).to.equal(size);
        expect(pair.accepted.bytesWritten).to.equal(size);
        expect(pair.accepted.bytesRead).to.equal(size);
      });
    }

    it('moves a string with an encoding intact', async () => {
      pair = await connectedPair(transport);
      const text = 'héllo wörld ✓ '.repeat(1000);
      const got = collect(pair.accepted);
      pair.client.write(text, 'utf8');
      pair.client.end(Buffer.from(text, 'utf8').toString('hex'), 'hex');
      const received = await got;
      const expected = Buffer.concat([Buffer.from(text), Buffer.from(text)]);
      expect(sha256(received)).to.equal(sha256(expected));
    });

    it('stops the writer while the reader is paused, and resumes it (backpressure)', async () => {
      pair = await connectedPair(transport);
      const { client, accepted } = pair;
      accepted.pause();
      const chunk = crypto.randomBytes(64 * 1024);
      const CAP = 64 << 20; // far above any kernel or SOVIA buffering: reaching it means no backpressure
      const { sent, blocked } = await writeUntilBlocked(client, chunk, CAP);
      expect(blocked, 'the writer was never stopped').to.equal(true);
      // Memory stays bounded while paused: the reader holds at most a window's worth, not everything.
      expect(accepted.readableLength).to.be.below(16 << 20);
      const got = collect(accepted);
      const drained = once(client, 'drain');
      accepted.resume();
      await drained;
      client.end();
      const received = await got;
      expect(received.length).to.equal(sent.length * chunk.length);
      expect(sha256(received)).to.equal(sha256(Buffer.concat(sent)));
    });

    it('supports half-close: the allowHalfOpen side keeps writing after end', async () => {
      pair = await connectedPair(transport, { allowHalfOpen: true });
      const { client, accepted } = pair;
      const request = crypto.randomBytes(100000);
      const reply = crypto.randomBytes(300000);
      const gotRequest = collect(accepted);
      const gotReply = collect(client);
      client.end(request);
      const r = await gotRequest;
      expect(sha256(r)).to.equal(sha256(request));
      expect(accepted.writable).to.equal(true);
      accepted.end(reply);
      const back = await gotReply;
      expect(sha256(back)).to.equal(sha256(reply));
      expect(await pair.clientClosed).to.equal(false);
      expect(await pair.acceptedClosed).to.equal(false);
    });

    it('without allowHalfOpen, the peer\'s end ends our side too', async () => {
      pair = await connectedPair(transport);
      const { client, accepted } = pair;
      const finished = once(accepted, 'finish');
      client.end();
      await once(accepted, 'end');
      await finished;
      expect(await pair.clientClosed).to.equal(false);
    });

    it('resetAndDestroy() gives the peer ECONNRESET', async () => {
      pair = await connectedPair(transport);
      const { client, accepted } = pair;
      const events = [];
      accepted.on('error', (err) => events.push(['error', err.code]));
      client.resetAndDestroy();
      const hadError = await pair.acceptedClosed;
      expect(events).to.deep.equal([['error', 'ECONNRESET']]);
      expect(hadError).to.equal(true);
    });

    it('destroy(err) emits error then close(true) locally', async () => {
      pair = await connectedPair(transport);
      const { client } = pair;
      const events = [];
      client.on('error', (e) => events.push(`error:${e.message}`));
      client.on('close', (h) => events.push(`close:${h}`));
      client.destroy(new Error('boom'));
      await pair.clientClosed;
      expect(events).to.deep.equal(['error:boom', 'close:true']);
    });

    it('plain destroy() ends the peer gracefully (like a kernel close with nothing unread)', async () => {
      pair = await connectedPair(transport);
      const { client, accepted } = pair;
      const data = crypto.randomBytes(50000);
      const got = collect(accepted);
      client.write(data, () => client.destroy());
      const received = await got;
      expect(sha256(received)).to.equal(sha256(data));
      expect(await pair.acceptedClosed).to.equal(false);
    });

    it('setNoDelay/setKeepAlive/setTimeout behave as on net', async () => {
      pair = await connectedPair(transport);
      const { client, accepted } = pair;
      expect(client.setNoDelay(true)).to.equal(client);
      expect(client.setKeepAlive(true, 1000)).to.equal(client);
      const start = Date.now();
      client.setTimeout(50);
      await once(client, 'timeout');
      expect(Date.now() - start).to.be.at.least(40);
      client.setTimeout(0);
      // Traffic after setNoDelay still arrives intact.
      const got = collect(accepted);
      const small = Buffer.from('x'.repeat(10));
      for (let i = 0; i < 10; i++) client.write(small);
      client.end();
      expect((await got).length).to.equal(100);
    });
  });
}
