#include "testing_binding.h"

#include <infiniband/verbs.h>

#include <cstring>
#include <string>

#include "wire.h"

namespace via {
namespace verbs {
namespace {

// Test-only, yet misuse must throw rather than abort the process.
bool Expect(const Napi::CallbackInfo& info, const char* types) {
  bool ok = info.Length() >= std::strlen(types);
  for (size_t i = 0; ok && types[i]; i++) {
    switch (types[i]) {
      case 'n': ok = info[i].IsNumber(); break;
      case 'b': ok = info[i].IsBuffer(); break;
      case 'o': ok = info[i].IsObject(); break;
      case '*': break;  // anything
      default: ok = false;  // 'x': always a misuse (a malformed object argument)
    }
  }
  if (!ok) {
    Napi::TypeError e = Napi::TypeError::New(info.Env(), std::string("testing: expected arguments ") + types);
    e.Set("code", Napi::String::New(info.Env(), "ERR_INVALID_ARG_TYPE"));
    e.ThrowAsJavaScriptException();
  }
  return ok;
}


Napi::Value TestSendWr(const Napi::CallbackInfo& info) {
  // (viId, slot, addr, length, lkey, imm, inline) -> the work request's fields
  Napi::Env env = info.Env();
  if (!Expect(info, "nnnnnn*")) return env.Undefined();
  ibv_send_wr wr;
  ibv_sge sge;
  auto u = [&](size_t i) { return info[i].As<Napi::Number>().Uint32Value(); };
  FillSendWr(&wr, &sge, MakeWrId(u(0), true, u(1)), uint64_t(info[2].As<Napi::Number>().Int64Value()), u(3), u(4),
             u(5), info[6].ToBoolean());
  Napi::Object o = Napi::Object::New(env);
  o.Set("wrId", Napi::BigInt::New(env, uint64_t(wr.wr_id)));
  o.Set("opcode", wr.opcode == IBV_WR_SEND_WITH_IMM ? "SEND_WITH_IMM" : "OTHER");
  o.Set("signaled", (wr.send_flags & IBV_SEND_SIGNALED) != 0);
  o.Set("inline", (wr.send_flags & IBV_SEND_INLINE) != 0);
  o.Set("numSge", wr.num_sge);
  o.Set("sgeAddr", Napi::Number::New(env, double(sge.addr)));
  o.Set("sgeLength", sge.length);
  o.Set("lkey", sge.lkey);
  // The immediate exactly as it leaves the NIC: the 4 bytes of imm_data in memory order.
  o.Set("immWire", Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(&wr.imm_data), 4));
  return o;
}

Napi::Value TestClassify(const Napi::CallbackInfo& info) {
  // ({status, opcode: 'RECV'|'SEND'|'RDMA_WRITE', withImm, byteLen, immWire: Buffer(4), viId, isSend, slot},
  //  expectedSlot, recvSlots, slotSize) -> {kind, viId, slot, length, imm, reason}
  Napi::Env env = info.Env();
  if (!Expect(info, "onnn")) return env.Undefined();
  Napi::Object w = info[0].As<Napi::Object>();
  for (const char* key : {"status", "byteLen", "viId", "slot"}) {
    if (!w.Get(key).IsNumber()) return Expect(info, "x"), env.Undefined();
  }
  if (!w.Get("opcode").IsString() || !w.Get("immWire").IsBuffer()) return Expect(info, "x"), env.Undefined();
  ibv_wc wc{};
  wc.status = static_cast<ibv_wc_status>(w.Get("status").As<Napi::Number>().Uint32Value());
  std::string op = w.Get("opcode").As<Napi::String>();
  wc.opcode = op == "RECV" ? IBV_WC_RECV : op == "SEND" ? IBV_WC_SEND : IBV_WC_RDMA_WRITE;
  wc.wc_flags = w.Get("withImm").ToBoolean() ? IBV_WC_WITH_IMM : 0;
  wc.byte_len = w.Get("byteLen").As<Napi::Number>().Uint32Value();
  auto immWire = w.Get("immWire").As<Napi::Buffer<uint8_t>>();
  if (immWire.Length() == 4) std::memcpy(&wc.imm_data, immWire.Data(), 4);
  wc.wr_id = MakeWrId(w.Get("viId").As<Napi::Number>().Uint32Value(), w.Get("isSend").ToBoolean(),
                      w.Get("slot").As<Napi::Number>().Uint32Value());
  Completion c = ClassifyCompletion(wc, info[1].As<Napi::Number>().Uint32Value(),
                                    info[2].As<Napi::Number>().Uint32Value(), info[3].As<Napi::Number>().Uint32Value());
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", c.kind == CompletionKind::kRecv ? "recv" : c.kind == CompletionKind::kSend ? "send" : "error");
  o.Set("viId", c.vi_id);
  o.Set("slot", c.slot);
  o.Set("length", c.length);
  o.Set("imm", Napi::Number::New(env, c.imm));
  o.Set("reason", static_cast<int>(c.reason));
  return o;
}

Napi::Value TestEncodeHeader(const Napi::CallbackInfo& info) {
  if (!Expect(info, "nn")) return info.Env().Undefined();
  ConnHeader h;
  h.recv_depth = info[0].As<Napi::Number>().Uint32Value();
  h.slot_size = info[1].As<Napi::Number>().Uint32Value();
  uint8_t out[kConnHeaderSize];
  EncodeConnHeader(h, out);
  return Napi::Buffer<uint8_t>::Copy(info.Env(), out, sizeof out);
}

Napi::Value TestDecodeHeader(const Napi::CallbackInfo& info) {
  if (!Expect(info, "b")) return info.Env().Undefined();
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  ConnHeader h;
  if (!DecodeConnHeader(buf.Data(), buf.Length(), &h)) return info.Env().Null();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("recvDepth", h.recv_depth);
  o.Set("slotSize", h.slot_size);
  return o;
}

Napi::Value TestDecodeHandshake(const Napi::CallbackInfo& info) {
  if (!Expect(info, "b")) return info.Env().Undefined();
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  int32_t status;
  const uint8_t* payload;
  size_t len;
  if (!DecodeHandshake(buf.Data(), buf.Length(), &status, &payload, &len)) return info.Env().Null();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("status", status);
  o.Set("payload", Napi::Buffer<uint8_t>::Copy(info.Env(), payload, len));
  return o;
}

}  // namespace

Napi::Object MakeTestingBinding(Napi::Env env) {
  Napi::Object testing = Napi::Object::New(env);
  testing.Set("sendWr", Napi::Function::New(env, TestSendWr));
  testing.Set("classify", Napi::Function::New(env, TestClassify));
  testing.Set("encodeHeader", Napi::Function::New(env, TestEncodeHeader));
  testing.Set("decodeHeader", Napi::Function::New(env, TestDecodeHeader));
  testing.Set("decodeHandshake", Napi::Function::New(env, TestDecodeHandshake));
  testing.Set("handshakeImm", Napi::Number::New(env, kHandshakeImm));
  testing.Set("wcStatus", [&] {
    Napi::Object s = Napi::Object::New(env);
    s.Set("SUCCESS", int(IBV_WC_SUCCESS));
    s.Set("RNR_RETRY_EXC_ERR", int(IBV_WC_RNR_RETRY_EXC_ERR));
    s.Set("WR_FLUSH_ERR", int(IBV_WC_WR_FLUSH_ERR));
    s.Set("RETRY_EXC_ERR", int(IBV_WC_RETRY_EXC_ERR));
    return s;
  }());
  return testing;
}

}  // namespace verbs
}  // namespace via
