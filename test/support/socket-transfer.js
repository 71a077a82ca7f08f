'use strict';
// Writing and receiving pattern streams over any net-compatible socket, honouring backpressure.
const { bytesAt, PrefixChecker } = require('./pattern-stream');

/**
 * Writes `total` bytes (Infinity: until the socket dies) of stream `seed` in chunks of 1..maxChunk
 * bytes, waiting for 'drain' when write() says so. Resolves with the bytes handed to write().
 * `end`: call end() after the last byte.
 */
function pump(socket, { seed, total, maxChunk = 65536, end = true, rand = Math.random }) {
  return new Promise((resolve) => {
    let sent = 0;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      socket.off('drain', more);
      resolve({ sent });
    };
    const more = () => {
      while (!finished && !socket.destroyed && sent < total) {
        const n = Math.min(total - sent, 1 + Math.floor(rand() * maxChunk));
        const ok = socket.write(bytesAt(seed, sent, n));
        sent += n;
        if (!ok) return; // wait for 'drain'
      }
      if (sent >= total && end && !socket.destroyed) socket.end();
      if (sent >= total || socket.destroyed) finish();
    };
    socket.on('drain', more);
    socket.once('close', finish);
    more();
  });
}

/** Checks everything `socket` delivers against stream `seed`; resolves at 'close'. */
function receive(socket, seed) {
  const checker = new PrefixChecker(seed);
  socket.on('data', (d) => checker.push(d));
  return new Promise((resolve) => socket.once('close', () => resolve(checker)));
}

/** Records the order and time of 'error' / 'end' / 'close' for a socket. */
function watch(socket) {
  const log = { events: [], error: null, errorAt: 0, closeAt: 0, ended: false };
  socket.on('error', (err) => {
    log.events.push('error');
    log.error = err;
    log.errorAt = performance.now();
  });
  socket.on('end', () => {
    log.events.push('end');
    log.ended = true;
  });
  log.closed = new Promise((resolve) =>
    socket.once('close', () => {
      log.events.push('close');
      log.closeAt = performance.now();
      resolve(log);
    }),
  );
  return log;
}

module.exports = { pump, receive, watch };
