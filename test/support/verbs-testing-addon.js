'use strict';
// The verbs addon's test build (binding.gyp target via_verbs_testing) exports `testing`: the pure
// conversions of native/verbs/wire.cc (native/verbs/testing_binding.cc), callable on machines
// without an RDMA device. The production addon (via_verbs) does not have them, and via-net never
// loads this build. It is looked for next to the addon via-net would load (VIA_NET_VERBS_ADDON,
// else build/Release).
//
// testing:
//   sendWr(viId, slot, addr, length, lkey, imm, inline)
//     -> { wrId: bigint, opcode, signaled, inline, numSge, sgeAddr, sgeLength, lkey, immWire: Buffer }
//   classify({ status, opcode: 'RECV'|'SEND'|'RDMA_WRITE', withImm, byteLen, immWire, viId, isSend, slot },
//            expectedSlot, recvSlots, slotSize)
//     -> { kind: 'recv'|'send'|'error', viId, slot, length, imm, reason }
//   encodeHeader(recvDepth, slotSize) -> Buffer
//   decodeHeader(data) -> { recvDepth, slotSize } | null
//   decodeHandshake(data) -> { status, payload: Buffer } | null
//   handshakeImm: number
//   wcStatus: { SUCCESS, RNR_RETRY_EXC_ERR, WR_FLUSH_ERR, RETRY_EXC_ERR }
const fs = require('node:fs');
const path = require('node:path');

/** { testing, error }: the test build's `testing` object, or why it is not there. */
function loadVerbsTesting() {
  const production = process.env.VIA_NET_VERBS_ADDON || path.join(__dirname, '..', '..', 'build', 'Release', 'via_verbs.node');
  const file = path.join(path.dirname(production), 'via_verbs_testing.node');
  if (!fs.existsSync(file)) {
    return { testing: null, error: `${file} does not exist (the rdma-core headers were missing when the addon was built)` };
  }
  try {
    return { testing: require(file).testing, error: null };
  } catch (err) {
    return { testing: null, error: `cannot load ${file}: ${err.message.split('\n')[0]}` };
  }
}

module.exports = { loadVerbsTesting };
