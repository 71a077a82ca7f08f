#include "wire.h"

#include <arpa/inet.h>

#include <cstring>

namespace via {
namespace verbs {
namespace {

void Put32(uint8_t* p, uint32_t v) {
  uint32_t be = htonl(v);
  std::memcpy(p, &be, 4);
}
void Put16(uint8_t* p, uint16_t v) {
  uint16_t be = htons(v);
  std::memcpy(p, &be, 2);
}
uint32_t Get32(const uint8_t* p) {
  uint32_t be;
  std::memcpy(&be, p, 4);
  return ntohl(be);
}
uint16_t Get16(const uint8_t* p) {
  uint16_t be;
  std::memcpy(&be, p, 2);
  return ntohs(be);
}

}  // namespace

bool ValidLayout(uint32_t depth, uint32_t slot_size) {
  return depth >= 1 && depth <= kMaxDepth && slot_size >= kMinSlotSize && slot_size <= kMaxSlotSize &&
         slot_size % 64 == 0;
}

size_t EncodeConnHeader(const ConnHeader& h, uint8_t* out) {
  Put32(out, h.magic);
  Put16(out + 4, h.version);
  Put16(out + 6, h.flags);
  Put32(out + 8, h.recv_depth);
  Put32(out + 12, h.slot_size);
  return kConnHeaderSize;
}

bool DecodeConnHeader(const uint8_t* data, size_t length, ConnHeader* out) {
  // rdma_cm may pad private data with zeros up to the transport's size: longer is fine.
  if (data == nullptr || length < kConnHeaderSize) return false;
  ConnHeader h;
  h.magic = Get32(data);
  h.version = Get16(data + 4);
  h.flags = Get16(data + 6);
  h.recv_depth = Get32(data + 8);
  h.slot_size = Get32(data + 12);
  if (h.magic != kConnMagic || h.version != kConnVersion) return false;
  if (!ValidLayout(h.recv_depth, h.slot_size)) return false;
  *out = h;
  return true;
}

bool DecodeHandshake(const uint8_t* data, size_t length, int32_t* status, const uint8_t** payload,
                     size_t* payload_length) {
  if (data == nullptr || length < kHandshakeHeader || length - kHandshakeHeader > kMaxPayload) return false;
  uint32_t raw = Get32(data);
  if (raw > 0xFFFF) return false;  // a positive errno, or 0
  *status = static_cast<int32_t>(raw);
  *payload = data + kHandshakeHeader;
  *payload_length = length - kHandshakeHeader;
  return true;
}

uint64_t MakeWrId(uint32_t vi_id, bool is_send, uint32_t slot) {
  return (uint64_t(vi_id) << 32) | (is_send ? 0x80000000u : 0u) | (slot & 0x7FFFFFFFu);
}

void SplitWrId(uint64_t wr_id, uint32_t* vi_id, bool* is_send, uint32_t* slot) {
  *vi_id = static_cast<uint32_t>(wr_id >> 32);
  *is_send = (wr_id & 0x80000000u) != 0;
  *slot = static_cast<uint32_t>(wr_id & 0x7FFFFFFFu);
}

void FillSendWr(ibv_send_wr* wr, ibv_sge* sge, uint64_t wr_id, uint64_t addr, uint32_t length, uint32_t lkey,
                uint32_t imm, bool inline_data) {
  std::memset(wr, 0, sizeof(*wr));
  std::memset(sge, 0, sizeof(*sge));
  sge->addr = addr;
  sge->length = length;
  sge->lkey = lkey;
  wr->wr_id = wr_id;
  wr->sg_list = length > 0 ? sge : nullptr;  // a zero-length SEND carries only the immediate
  wr->num_sge = length > 0 ? 1 : 0;
  wr->opcode = IBV_WR_SEND_WITH_IMM;
  wr->send_flags = IBV_SEND_SIGNALED | (inline_data ? IBV_SEND_INLINE : 0);
  wr->imm_data = htonl(imm);
}

void FillRecvWr(ibv_recv_wr* wr, ibv_sge* sge, uint64_t wr_id, uint64_t addr, uint32_t length, uint32_t lkey) {
  std::memset(wr, 0, sizeof(*wr));
  std::memset(sge, 0, sizeof(*sge));
  sge->addr = addr;
  sge->length = length;
  sge->lkey = lkey;
  wr->wr_id = wr_id;
  wr->sg_list = sge;
  wr->num_sge = 1;
}

Completion ClassifyCompletion(const ibv_wc& wc, uint32_t expected_recv_slot, uint32_t recv_slots,
                              uint32_t slot_size) {
  Completion c;
  bool is_send = false;
  SplitWrId(wc.wr_id, &c.vi_id, &is_send, &c.slot);
  c.kind = CompletionKind::kError;
  if (wc.status != IBV_WC_SUCCESS) {
    // Receiver-not-ready retries exhausted: the peer had no receive posted (rnr_retry_count 0).
    c.reason = wc.status == IBV_WC_RNR_RETRY_EXC_ERR ? BreakReason::kNoDescriptor
               : wc.status == IBV_WC_WR_FLUSH_ERR    ? BreakReason::kPeerGone
                                                     : BreakReason::kTransport;
    return c;
  }
  if (is_send) {
    if (wc.opcode != IBV_WC_SEND) {
      c.reason = BreakReason::kCorrupt;
      return c;
    }
    c.kind = CompletionKind::kSend;
    return c;
  }
  if (wc.opcode != IBV_WC_RECV || (wc.wc_flags & IBV_WC_WITH_IMM) == 0 ||
      (c.slot != kHandshakeSlot && c.slot >= recv_slots) ||
      c.slot != expected_recv_slot || wc.byte_len > slot_size) {
    c.reason = BreakReason::kCorrupt;
    return c;
  }
  c.kind = CompletionKind::kRecv;
  c.length = wc.byte_len;
  c.imm = ntohl(wc.imm_data);
  return c;
}

}  // namespace verbs
}  // namespace via
