// Pure conversions of the verbs provider: work requests, work completions and the rdma_cm
// private data. No libuv, no N-API, no device: everything here is testable on any machine
// (the test-only binding method `testing` in verbs_addon.cc exposes it to mocha).
//
// Data path choice: SEND with immediate into receive buffers the peer pre-posted, not RDMA WRITE
// with immediate into a remote ring as rsockets does. SEND keeps VIA's model exactly (one
// receive descriptor consumed per message, the pre-posting constraint enforced by the NIC when
// rnr_retry_count is 0), exposes no remote key so the peer can never write outside the buffers
// we posted, and needs no ring-credit protocol of its own: SOVIA's credit window already is one.
// rsockets needs the RDMA WRITE ring because it implements a byte stream without such a layer.
//
// Everything read from the peer (private data, handshake messages, completion lengths and
// immediates) is untrusted and validated here before it is used.
#pragma once

#include <infiniband/verbs.h>

#include <cstddef>
#include <cstdint>

namespace via {
namespace verbs {

constexpr uint32_t kConnMagic = 0x56494152;  // "VIAR"
constexpr uint16_t kConnVersion = 1;
constexpr uint32_t kMaxDepth = 4096;
constexpr uint32_t kMinSlotSize = 64;
constexpr uint32_t kMaxSlotSize = 1u << 20;
constexpr uint32_t kMaxPayload = 1024;
// The immediate that marks the one handshake message each side sends first (HELLO from the
// connector, REPLY from the listener). Type 7 is not a SOVIA packet type (lib/sovia/packet.ts),
// and handshake messages never reach the engine.
constexpr uint32_t kHandshakeImm = 0xFFFFFFFFu;
// rdma_cm private data on a connect request: at least 56 bytes fit on every transport.
constexpr size_t kConnHeaderSize = 16;
// The slot index of the one handshake receive each side posts before connecting.
constexpr uint32_t kHandshakeSlot = 0x7FFFFFFFu;

// The rdma_cm private data of a connect request or accept: the sender's receive layout.
struct ConnHeader {
  uint32_t magic = kConnMagic;
  uint16_t version = kConnVersion;
  uint16_t flags = 0;
  uint32_t recv_depth = 0;  // receive descriptors the sender will have posted (after the handshake)
  uint32_t slot_size = 0;   // bytes each of them takes
};

bool ValidLayout(uint32_t depth, uint32_t slot_size);
// Big-endian, fixed size. Encode returns kConnHeaderSize.
size_t EncodeConnHeader(const ConnHeader& h, uint8_t* out);
// False when the data is short, has the wrong magic or version, or an invalid layout.
bool DecodeConnHeader(const uint8_t* data, size_t length, ConnHeader* out);

// A handshake message: 4-byte big-endian status (0 = accepted, else a positive errno), then the
// opaque payload (at most kMaxPayload).
constexpr size_t kHandshakeHeader = 4;
bool DecodeHandshake(const uint8_t* data, size_t length, int32_t* status, const uint8_t** payload,
                     size_t* payload_length);

// Work request ids: the VI id in the high 32 bits, then one bit for send (1) or receive (0),
// then the slot index. Ids are ours (the NIC echoes them back), but they are still checked
// against the VI's private state before a slot is touched.
uint64_t MakeWrId(uint32_t vi_id, bool is_send, uint32_t slot);
void SplitWrId(uint64_t wr_id, uint32_t* vi_id, bool* is_send, uint32_t* slot);

// Fills a signaled SEND_WITH_IMM of one scatter/gather element. `imm` is host order: the NIC
// carries it in network order, as lib/sovia/packet.ts encodes it on every provider.
void FillSendWr(ibv_send_wr* wr, ibv_sge* sge, uint64_t wr_id, uint64_t addr, uint32_t length, uint32_t lkey,
                uint32_t imm, bool inline_data);
void FillRecvWr(ibv_recv_wr* wr, ibv_sge* sge, uint64_t wr_id, uint64_t addr, uint32_t length, uint32_t lkey);

// What a work completion means for the VI it names.
enum class CompletionKind : int { kRecv = 1, kSend = 2, kError = 3 };
// Why a VI broke (values shared with lib/providers/verbs.ts).
enum class BreakReason : int {
  kNone = 0,
  kPeerGone = 1,      // disconnected, or the peer's process exited
  kNoDescriptor = 2,  // receiver-not-ready: a send found no receive posted (pre-posting constraint)
  kCorrupt = 3,       // a completion failed validation (unexpected opcode, length, order)
  kLocalClose = 4,
  kTransport = 5,     // any other completion error (retry exceeded, flush, local protection...)
};

struct Completion {
  CompletionKind kind = CompletionKind::kError;
  uint32_t vi_id = 0;
  uint32_t slot = 0;
  uint32_t length = 0;
  uint32_t imm = 0;  // host order
  BreakReason reason = BreakReason::kNone;
};

// Checks a work completion against what the VI expects: receives complete in posting order, so
// `expected_recv_slot` is the only valid slot (kHandshakeSlot for the first one); a receive must
// carry an immediate and fit its buffer (`slot_size`); other slots must be below `recv_slots`.
Completion ClassifyCompletion(const ibv_wc& wc, uint32_t expected_recv_slot, uint32_t recv_slots,
                              uint32_t slot_size);

}  // namespace verbs
}  // namespace via
