'use strict';
// One line of internals for a stalled via-net socket: stream flags and the SOVIA engine's state,
// so a soak that hangs says where (which side, which half of the close) instead of just "stalled".

function engineOf(sock) {
  const sym = Object.getOwnPropertySymbols(sock).find((s) => s.description === 'via-net.socket');
  return sym ? sock[sym]?.conn?.engine : undefined;
}

function describeSocket(sock) {
  const flags = [
    `destroyed ${sock.destroyed}`,
    `readableEnded ${sock.readableEnded}`,
    `readableLength ${sock.readableLength}`,
    `flowing ${sock.readableFlowing}`,
    `writableEnded ${sock.writableEnded}`,
    `writableFinished ${sock.writableFinished}`,
    `writableLength ${sock.writableLength}`,
    `bytesRead ${sock.bytesRead}`,
    `bytesWritten ${sock.bytesWritten}`,
  ];
  const e = engineOf(sock);
  if (e) {
    const c = e.credits;
    flags.push(
      `engine ${e.state}`,
      `finRequested ${e.finRequested} finSent ${e.finSent} finAcked ${e.finAcked} peerFin ${e.peerFin} endDelivered ${e.endDelivered} peerGone ${e.peerGone}`,
      `paused ${e.paused} withheld ${e.withheld} recvQueue ${e.recvQueue.length} sendq ${e.sendq.length} sendFifo ${e.sendFifo.length} writes ${e.writes.length}`,
      `credits avail ${c.available} unackedSent ${c.unackedSent} pending ${c.pending} unackedReceived ${c.unackedReceived} T ${c.ackThreshold}`,
      `stats ${JSON.stringify(e.stats)}`,
    );
    const native = e.vi?.inspect?.();
    if (native) flags.push(`native ${JSON.stringify(native)}`);
    const cq = e.vi?.provider?.stats?.();
    if (cq) flags.push(`cq ${JSON.stringify(cq)}`);
  } else {
    flags.push('no engine');
  }
  return flags.join(', ');
}

module.exports = { describeSocket };
