// N-API binding of the verbs VI provider (ibverbs + rdma_cm). Compiled only when the rdma-core
// headers exist (binding.gyp), loaded only when a device exists (lib/providers/verbs-native.ts).
//
//   devices()              names of the RDMA devices (ibv_get_device_list)
//   attrs()                provider attributes
//   testing                only in the test build (via_verbs_testing, VIA_TESTING): the pure
//                          conversions of wire.cc, for tests on machines without a device
//   new Context(onEvent)   the process's rdma_cm event channel and, per device, one PD and one CQ
//                          with a completion channel; both fds are watched by libuv (uv_poll)
//     listen(port, slotSize) -> listenerId      connect(host, port, depth, slotSize, payload) -> viId
//     accept(viId, depth, payload)  reject(viId)  postRecv(viId, n)  postSend(viId, buf, off, len, imm)
//     closeVi(viId)  closeListener(id)  setRef(id, ref)  close()  stats()
//   onEvent(kind, id, a, b, data): see the Event enum below (mirrored in lib/providers/verbs.ts).
//
// VIs and listeners are named by small integer ids that are never reused, so a late completion
// for a VI that is gone is recognised and dropped.
//
// Each side posts one handshake receive before connecting. The connector's first SEND (HELLO)
// carries the connection payload, the listener's answer (REPLY) carries its status and payload:
// rdma_cm private data is too small (56 bytes) for the 1 KB payload of the ViProvider contract.
// The rdma_cm private data itself only carries each side's layout (wire.h ConnHeader).
#include <arpa/inet.h>
#include <fcntl.h>
#include <infiniband/verbs.h>
#include <napi.h>
#include <netinet/in.h>
#include <rdma/rdma_cma.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../napi_helpers.h"
#include "../pin_library.h"
#include "memory.h"
#include "wire.h"
#ifdef VIA_TESTING
#include "testing_binding.h"
#endif

namespace via {
namespace verbs {
namespace {

constexpr uint32_t kDefaultSlotSize = 32 * 1024;
constexpr uint32_t kMaxRecvDepth = 256;
constexpr uint32_t kSendSlots = 64;              // copies in flight per VI; JS queues beyond this
constexpr uint32_t kZeroCopyMin = 16 * 1024;     // sends this large may go zero-copy...
constexpr size_t kRegisterMinBuffer = 256 * 1024;  // ...from user buffers at least this large
constexpr size_t kCacheBytes = 64 * 1024 * 1024;
constexpr int kCqSize = 4096;
constexpr int kResolveTimeoutMs = 2000;
constexpr uint32_t kHandshakeSlotSize = 1088;  // 4-byte status + 1 KB payload, rounded to 64

enum Event : int {
  kEvRecv = 1,        // (viId, length, imm, data)
  kEvSend = 2,        // (viId, zeroCopy 0/1)
  kEvBroken = 3,      // (viId, reason)
  kEvConnected = 4,   // (viId, peerSlotSize, 0, payload)
  kEvConnectFailed = 5,  // (viId, errno)
  kEvRequest = 6,     // (listenerId, viId, peerSlotSize, payload)
};

// Send statuses returned to JS.
constexpr int kSendOk = 0, kSendAsync = 1, kSendBroken = -1, kSendTooLong = -4, kSendBusy = -5;

struct Device {
  ibv_context* verbs = nullptr;
  ibv_pd* pd = nullptr;
  ibv_comp_channel* channel = nullptr;
  ibv_cq* cq = nullptr;
  uv_poll_t* poll = nullptr;
  std::unique_ptr<RegistrationCache> cache;
};

enum class ViState { kConnecting, kHandshake, kOpen, kDone };

struct Vi {
  uint32_t id = 0;
  bool passive = false;  // created by a listener
  uint32_t listener_id = 0;
  ViState state = ViState::kConnecting;
  rdma_cm_id* cm = nullptr;
  Device* dev = nullptr;
  uint32_t depth = 0;  // connector: its requested depth; listener side: set at accept
  uint32_t slot_size = 0;
  uint32_t peer_slot_size = 0;
  uint32_t max_inline = 0;
  std::vector<uint8_t> hello;  // connector: the status + payload to send once established
  SlotPool handshake, recv, send;
  bool handshake_received = false;
  uint32_t recv_posted = 0, recv_consumed = 0;
  uint32_t send_posted = 0, send_completed = 0;
  RegistrationCache::Entry* zero_copy[kSendSlots] = {};
  bool disconnect_after_send = false;
  bool refed = true;
};

class Context : public Napi::ObjectWrap<Context> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Context",
                       {InstanceMethod("listen", &Context::Listen), InstanceMethod("connect", &Context::Connect),
                        InstanceMethod("accept", &Context::Accept), InstanceMethod("reject", &Context::Reject),
                        InstanceMethod("postRecv", &Context::PostRecvJs), InstanceMethod("postSend", &Context::PostSendJs),
                        InstanceMethod("closeVi", &Context::CloseViJs),
                        InstanceMethod("closeListener", &Context::CloseListener),
                        InstanceMethod("setRef", &Context::SetRef), InstanceMethod("close", &Context::CloseJs),
                        InstanceMethod("stats", &Context::Stats)});
  }

  explicit Context(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Context>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      CodedError(env, "ERR_INVALID_ARG_TYPE", "new Context(onEvent)").ThrowAsJavaScriptException();
      return;
    }
    on_event_ = Napi::Persistent(info[0].As<Napi::Function>());
    async_context_ = std::make_unique<Napi::AsyncContext>(env, "via-net:verbs");
    napi_get_uv_event_loop(env, &loop_);
    channel_ = rdma_create_event_channel();
    if (channel_ == nullptr) {
      ErrnoError(env, errno ? errno : ENODEV, "rdma_create_event_channel").ThrowAsJavaScriptException();
      return;
    }
    fcntl(channel_->fd, F_SETFL, fcntl(channel_->fd, F_GETFL) | O_NONBLOCK);
    cm_poll_ = new uv_poll_t;
    uv_poll_init(loop_, cm_poll_, channel_->fd);
    cm_poll_->data = this;
    uv_poll_start(cm_poll_, UV_READABLE, &Context::OnCmReadable);
    uv_unref(reinterpret_cast<uv_handle_t*>(cm_poll_));
    env.AddCleanupHook([this]() { Shutdown(); });
  }

  ~Context() override { Shutdown(); }

 private:
  // ---- JS-facing methods ----

  Napi::Value Listen(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env) || info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
      if (!env.IsExceptionPending()) CodedError(env, "ERR_INVALID_ARG_TYPE", "listen(port, slotSize)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint32_t port = info[0].As<Napi::Number>().Uint32Value();
    uint32_t slot_size = info[1].As<Napi::Number>().Uint32Value();
    if (port == 0 || port > 0xFFFF || !ValidLayout(1, slot_size)) {
      CodedError(env, "ERR_OUT_OF_RANGE", "invalid port or slot size").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    rdma_cm_id* id = nullptr;
    if (rdma_create_id(channel_, &id, nullptr, RDMA_PS_TCP) != 0) {
      ErrnoError(env, errno, "rdma_create_id").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    // The IPv6 wildcard also takes IPv4 connections unless the system forbids it; fall back to IPv4.
    sockaddr_in6 any6{};
    any6.sin6_family = AF_INET6;
    any6.sin6_port = htons(static_cast<uint16_t>(port));
    sockaddr_in any4{};
    any4.sin_family = AF_INET;
    any4.sin_port = htons(static_cast<uint16_t>(port));
    int rc = rdma_bind_addr(id, reinterpret_cast<sockaddr*>(&any6));
    if (rc != 0) rc = rdma_bind_addr(id, reinterpret_cast<sockaddr*>(&any4));
    if (rc == 0) rc = rdma_listen(id, 64);
    if (rc != 0) {
      int err = errno;
      rdma_destroy_id(id);
      ErrnoError(env, err, "rdma_cm listen").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint32_t lid = next_id_++;
    listeners_[lid] = Listener{id, slot_size, true};
    id->context = reinterpret_cast<void*>(uintptr_t(lid));
    Ref(+1);
    return Napi::Number::New(env, lid);
  }

  // connect(host, port, depth, slotSize, payload): host is a numeric IPv4 or IPv6 address.
  Napi::Value Connect(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Undefined();
    if (info.Length() < 5 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber() ||
        !info[3].IsNumber() || !info[4].IsBuffer()) {
      CodedError(env, "ERR_INVALID_ARG_TYPE", "connect(host, port, depth, slotSize, payload)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::string host = info[0].As<Napi::String>();
    uint32_t port = info[1].As<Napi::Number>().Uint32Value();
    uint32_t depth = info[2].As<Napi::Number>().Uint32Value();
    uint32_t slot_size = info[3].As<Napi::Number>().Uint32Value();
    Napi::Buffer<uint8_t> payload = info[4].As<Napi::Buffer<uint8_t>>();
    if (port == 0 || port > 0xFFFF || depth > kMaxRecvDepth || !ValidLayout(depth, slot_size) ||
        payload.Length() > kMaxPayload) {
      CodedError(env, "ERR_OUT_OF_RANGE", "invalid port, depth, slot size or payload").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    sockaddr_storage dst{};
    auto* d4 = reinterpret_cast<sockaddr_in*>(&dst);
    auto* d6 = reinterpret_cast<sockaddr_in6*>(&dst);
    if (inet_pton(AF_INET, host.c_str(), &d4->sin_addr) == 1) {
      d4->sin_family = AF_INET;
      d4->sin_port = htons(static_cast<uint16_t>(port));
    } else if (inet_pton(AF_INET6, host.c_str(), &d6->sin6_addr) == 1) {
      d6->sin6_family = AF_INET6;
      d6->sin6_port = htons(static_cast<uint16_t>(port));
    } else {
      CodedError(env, "ERR_INVALID_IP_ADDRESS", "host must be a numeric address").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto vi = std::make_unique<Vi>();
    vi->id = next_id_++;
    vi->depth = depth;
    vi->slot_size = slot_size;
    vi->hello.resize(kHandshakeHeader + payload.Length());  // status 0, then the payload
    if (payload.Length()) std::memcpy(vi->hello.data() + kHandshakeHeader, payload.Data(), payload.Length());
    if (rdma_create_id(channel_, &vi->cm, reinterpret_cast<void*>(uintptr_t(vi->id)), RDMA_PS_TCP) != 0) {
      ErrnoError(env, errno, "rdma_create_id").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (rdma_resolve_addr(vi->cm, nullptr, reinterpret_cast<sockaddr*>(&dst), kResolveTimeoutMs) != 0) {
      int err = errno;
      rdma_destroy_id(vi->cm);
      ErrnoError(env, err, "rdma_resolve_addr").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint32_t id = vi->id;
    vis_[id] = std::move(vi);
    Ref(+1);
    return Napi::Number::New(env, id);
  }

  // accept(viId, depth, payload): post `depth` receives, then answer HELLO with REPLY.
  Napi::Value Accept(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Vi* vi = ViArg(info, 0);
    if (!vi) {
      CodedError(env, "ECONNRESET", "the connecting peer went away").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info.Length() < 3 || !info[1].IsNumber() || !info[2].IsBuffer()) {
      CodedError(env, "ERR_INVALID_ARG_TYPE", "accept(viId, depth, payload)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint32_t depth = info[1].As<Napi::Number>().Uint32Value();
    auto payload = info[2].As<Napi::Buffer<uint8_t>>();
    if (vi->state != ViState::kHandshake || !vi->passive || !vi->handshake_received) {
      CodedError(env, "ERR_INVALID_STATE", "the VI is not waiting for accept").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (depth > kMaxRecvDepth || !ValidLayout(depth, vi->slot_size) || payload.Length() > kMaxPayload) {
      CodedError(env, "ERR_OUT_OF_RANGE", "invalid depth or payload").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    vi->depth = depth;
    int rc = vi->recv.Create(vi->dev->pd, depth, vi->slot_size, IBV_ACCESS_LOCAL_WRITE);
    if (rc == 0) rc = PostRecv(vi, depth);
    std::vector<uint8_t> reply(kHandshakeHeader + payload.Length());
    if (payload.Length()) std::memcpy(reply.data() + kHandshakeHeader, payload.Data(), payload.Length());
    if (rc == 0 && Send(vi, reply.data(), uint32_t(reply.size()), kHandshakeImm) != kSendOk) rc = -EPIPE;
    if (rc != 0) {
      ErrnoError(env, -rc, "accept").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    vi->state = ViState::kOpen;
    return env.Undefined();
  }

  Napi::Value Reject(const Napi::CallbackInfo& info) {
    Vi* vi = ViArg(info, 0);
    if (vi && vi->passive && vi->state == ViState::kHandshake) {
      uint8_t reply[kHandshakeHeader] = {0, 0, 0, uint8_t(ECONNREFUSED)};
      // Disconnect once REPLY has left, so the connector learns why instead of seeing a reset.
      vi->state = ViState::kDone;
      if (Send(vi, reply, sizeof reply, kHandshakeImm) == kSendOk) vi->disconnect_after_send = true;
      else Destroy(vi->id);
    }
    return info.Env().Undefined();
  }

  Napi::Value PostRecvJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Vi* vi = ViArg(info, 0);
    if (!vi) {
      CodedError(env, "EPIPE", "verbs VI is closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint32_t n = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
    if (vi->state != ViState::kOpen) {
      CodedError(env, "EPIPE", "verbs VI is broken").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int rc = PostRecv(vi, n);
    if (rc == -ENOSPC) CodedError(env, "ERR_OUT_OF_RANGE", "more receives than the VI's depth").ThrowAsJavaScriptException();
    else if (rc != 0) ErrnoError(env, -rc, "ibv_post_recv").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  // postSend(viId, buf, offset, length, imm) -> status (kSend*)
  Napi::Value PostSendJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Vi* vi = ViArg(info, 0);
    if (!vi) return Napi::Number::New(env, kSendBroken);
    if (info.Length() < 5 || !info[1].IsTypedArray() || !info[2].IsNumber() || !info[3].IsNumber() ||
        !info[4].IsNumber()) {
      CodedError(env, "ERR_INVALID_ARG_TYPE", "postSend(viId, buf, offset, length, imm)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto arr = info[1].As<Napi::TypedArray>();
    double off = info[2].As<Napi::Number>().DoubleValue(), len = info[3].As<Napi::Number>().DoubleValue();
    if (!(off >= 0 && len >= 0 && off + len <= double(arr.ByteLength()))) {
      CodedError(env, "ERR_OUT_OF_RANGE", "offset/length outside the buffer").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint32_t imm = info[4].As<Napi::Number>().Uint32Value();
    if (vi->state != ViState::kOpen) return Napi::Number::New(env, kSendBroken);
    if (len > vi->peer_slot_size) return Napi::Number::New(env, kSendTooLong);
    Napi::ArrayBuffer ab = arr.ArrayBuffer();
    uint8_t* data = static_cast<uint8_t*>(ab.Data()) + arr.ByteOffset() + size_t(off);
    uint32_t length = uint32_t(len);
    if (length >= kZeroCopyMin && ab.ByteLength() >= kRegisterMinBuffer) {
      uint8_t* base = static_cast<uint8_t*>(ab.Data());
      RegistrationCache::Entry* e = vi->dev->cache->Find(data, length);
      if (!e) {
        auto* keep = new Napi::Reference<Napi::ArrayBuffer>(Napi::Persistent(ab));
        e = vi->dev->cache->Add(vi->dev->pd, base, ab.ByteLength(), [keep]() { delete keep; });
      }
      if (e) return SendResult(env, vi, Send(vi, data, length, imm, e));
    }
    return SendResult(env, vi, Send(vi, data, length, imm));
  }

  Napi::Value SendResult(Napi::Env env, Vi* vi, int status) {
    if (status == kSendBroken) Break(vi, BreakReason::kTransport);  // reported through onBroken
    return Napi::Number::New(env, status);
  }

  Napi::Value CloseViJs(const Napi::CallbackInfo& info) {
    if (info.Length() > 0 && info[0].IsNumber()) Destroy(info[0].As<Napi::Number>().Uint32Value());
    return info.Env().Undefined();
  }

  Napi::Value CloseListener(const Napi::CallbackInfo& info) {
    if (info.Length() > 0 && info[0].IsNumber()) {
      auto it = listeners_.find(info[0].As<Napi::Number>().Uint32Value());
      if (it != listeners_.end()) {
        rdma_destroy_id(it->second.cm);
        if (it->second.refed) Ref(-1);
        listeners_.erase(it);
      }
    }
    return info.Env().Undefined();
  }

  // setRef(id, bool): an unref'd VI or listener does not keep the loop alive.
  Napi::Value SetRef(const Napi::CallbackInfo& info) {
    Vi* vi = ViArg(info, 0);
    bool want = info.Length() > 1 && info[1].ToBoolean();
    bool* refed = vi ? &vi->refed : nullptr;
    if (!vi && info.Length() > 0 && info[0].IsNumber()) {
      auto it = listeners_.find(info[0].As<Napi::Number>().Uint32Value());
      if (it != listeners_.end()) refed = &it->second.refed;
    }
    if (refed && *refed != want) {
      *refed = want;
      Ref(want ? +1 : -1);
    }
    return info.Env().Undefined();
  }

  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("vis", Napi::Number::New(env, double(vis_.size())));
    o.Set("listeners", Napi::Number::New(env, double(listeners_.size())));
    o.Set("devices", Napi::Number::New(env, double(devices_.size())));
    size_t cached = 0;
    for (auto& d : devices_) cached += d.second->cache->bytes();
    o.Set("registeredBytes", Napi::Number::New(env, double(cached)));
    return o;
  }

  // ---- helpers ----

  bool Usable(Napi::Env env) {
    if (channel_ == nullptr) {
      CodedError(env, "ERR_SOCKET_CLOSED", "the verbs context is closed").ThrowAsJavaScriptException();
      return false;
    }
    return true;
  }

  Vi* ViArg(const Napi::CallbackInfo& info, size_t i) {
    if (info.Length() <= i || !info[i].IsNumber()) return nullptr;
    auto it = vis_.find(info[i].As<Napi::Number>().Uint32Value());
    return it == vis_.end() ? nullptr : it->second.get();
  }

  void Ref(int delta) {
    refs_ += delta;
    if (!cm_poll_) return;
    auto* h = reinterpret_cast<uv_handle_t*>(cm_poll_);
    if (refs_ > 0) uv_ref(h);
    else uv_unref(h);
  }

  void Emit(int kind, uint32_t id, double a, double b, const uint8_t* data = nullptr, size_t length = 0) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    std::vector<napi_value> args = {Napi::Number::New(env, kind), Napi::Number::New(env, id), Napi::Number::New(env, a),
                                    Napi::Number::New(env, b)};
    if (data) args.push_back(Napi::Buffer<uint8_t>::Copy(env, data, length));
    CallIntoJs(env, Value(), on_event_.Value(), args, *async_context_);
  }

  // The device's PD and CQ, created on first use: one CQ per device per process.
  Device* DeviceFor(ibv_context* verbs) {
    auto it = devices_.find(verbs);
    if (it != devices_.end()) return it->second.get();
    auto dev = std::make_unique<Device>();
    dev->verbs = verbs;
    dev->pd = ibv_alloc_pd(verbs);
    dev->channel = dev->pd ? ibv_create_comp_channel(verbs) : nullptr;
    dev->cq = dev->channel ? ibv_create_cq(verbs, kCqSize, nullptr, dev->channel, 0) : nullptr;
    if (!dev->cq || ibv_req_notify_cq(dev->cq, 0) != 0) {
      ReleaseDevice(dev.get());
      return nullptr;
    }
    dev->cache = std::make_unique<RegistrationCache>(kCacheBytes);
    fcntl(dev->channel->fd, F_SETFL, fcntl(dev->channel->fd, F_GETFL) | O_NONBLOCK);
    dev->poll = new uv_poll_t;
    uv_poll_init(loop_, dev->poll, dev->channel->fd);
    dev->poll->data = this;
    uv_poll_start(dev->poll, UV_READABLE, &Context::OnCqReadable);
    // The CQ never keeps the loop alive by itself: the cm channel's handle carries the refs.
    uv_unref(reinterpret_cast<uv_handle_t*>(dev->poll));
    Device* raw = dev.get();
    devices_[verbs] = std::move(dev);
    return raw;
  }

  static void ReleaseDevice(Device* dev) {
    if (dev->poll) {
      uv_poll_stop(dev->poll);
      uv_close(reinterpret_cast<uv_handle_t*>(dev->poll), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      dev->poll = nullptr;
    }
    if (dev->cache) dev->cache->Clear();
    if (dev->cq) ibv_destroy_cq(dev->cq);
    if (dev->channel) ibv_destroy_comp_channel(dev->channel);
    if (dev->pd) ibv_dealloc_pd(dev->pd);
    dev->cq = nullptr;
    dev->channel = nullptr;
    dev->pd = nullptr;
  }

  // Creates the QP on the shared CQ and posts the handshake receive (and, for a connector, its
  // `depth` receives: the listener's first SOVIA packet may follow REPLY at once). 0 or -errno.
  int SetupQp(Vi* vi) {
    vi->dev = DeviceFor(vi->cm->verbs);
    if (!vi->dev) return -ENODEV;
    ibv_qp_init_attr attr{};
    attr.send_cq = attr.recv_cq = vi->dev->cq;
    attr.qp_type = IBV_QPT_RC;
    attr.cap.max_send_wr = kSendSlots;
    attr.cap.max_recv_wr = kMaxRecvDepth + 1;
    attr.cap.max_send_sge = attr.cap.max_recv_sge = 1;
    attr.cap.max_inline_data = 64;
    if (rdma_create_qp(vi->cm, vi->dev->pd, &attr) != 0) return -errno;
    vi->max_inline = attr.cap.max_inline_data;
    int rc = vi->handshake.Create(vi->dev->pd, 1, kHandshakeSlotSize, IBV_ACCESS_LOCAL_WRITE);
    // Send slots also carry the handshake message, which may be larger than a small slot size.
    if (rc == 0)
      rc = vi->send.Create(vi->dev->pd, kSendSlots, std::max(vi->slot_size, kHandshakeSlotSize), IBV_ACCESS_LOCAL_WRITE);
    if (rc != 0) return rc;
    ibv_recv_wr wr, *bad = nullptr;
    ibv_sge sge;
    FillRecvWr(&wr, &sge, MakeWrId(vi->id, false, kHandshakeSlot), uint64_t(uintptr_t(vi->handshake.slot(0))),
               kHandshakeSlotSize, vi->handshake.lkey());
    if (ibv_post_recv(vi->cm->qp, &wr, &bad) != 0) return -EIO;
    if (!vi->passive) {
      rc = vi->recv.Create(vi->dev->pd, vi->depth, vi->slot_size, IBV_ACCESS_LOCAL_WRITE);
      if (rc == 0) rc = PostRecv(vi, vi->depth);
    }
    return rc;
  }

  // Posts `count` receives in ring order (slot = n % depth). -ENOSPC beyond the depth.
  int PostRecv(Vi* vi, uint32_t count) {
    if (count > vi->depth - (vi->recv_posted - vi->recv_consumed)) return -ENOSPC;
    for (uint32_t i = 0; i < count; i++) {
      uint32_t slot = vi->recv_posted % vi->depth;
      ibv_recv_wr wr, *bad = nullptr;
      ibv_sge sge;
      FillRecvWr(&wr, &sge, MakeWrId(vi->id, false, slot), uint64_t(uintptr_t(vi->recv.slot(slot))), vi->slot_size,
                 vi->recv.lkey());
      if (ibv_post_recv(vi->cm->qp, &wr, &bad) != 0) return -EIO;
      vi->recv_posted++;
    }
    return 0;
  }

  // Copies into a registered send slot (or, with `zc`, sends straight from a cached registration).
  int Send(Vi* vi, const uint8_t* data, uint32_t length, uint32_t imm, RegistrationCache::Entry* zc = nullptr) {
    if (vi->send_posted - vi->send_completed >= kSendSlots) return kSendBusy;
    uint32_t slot = vi->send_posted % kSendSlots;
    uint64_t addr;
    uint32_t lkey;
    if (zc) {
      addr = uint64_t(uintptr_t(data));
      lkey = zc->mr->lkey;
    } else {
      if (length > vi->send.slot_size()) return kSendTooLong;
      if (length) std::memcpy(vi->send.slot(slot), data, length);
      addr = uint64_t(uintptr_t(vi->send.slot(slot)));
      lkey = vi->send.lkey();
    }
    ibv_send_wr wr, *bad = nullptr;
    ibv_sge sge;
    FillSendWr(&wr, &sge, MakeWrId(vi->id, true, slot), addr, length, lkey, imm, !zc && length <= vi->max_inline);
    if (ibv_post_send(vi->cm->qp, &wr, &bad) != 0) return kSendBroken;  // the caller breaks the VI
    vi->zero_copy[slot] = zc;
    if (zc) zc->inflight++;
    vi->send_posted++;
    return zc ? kSendAsync : kSendOk;
  }

  // The VI stops working; JS hears why (onBroken or a failed connect) exactly once.
  // A VI that was not yet open fails its connect (and is destroyed); an open one stays until JS
  // closes it, so that closeVi after onBroken finds it.
  void Break(Vi* vi, BreakReason reason) {
    if (vi->disconnect_after_send) return Destroy(vi->id);
    if (vi->state == ViState::kDone) return;
    if (vi->state != ViState::kOpen) {
      return FailConnect(vi, reason == BreakReason::kPeerGone ? ECONNREFUSED : EPROTO);
    }
    vi->state = ViState::kDone;
    if (vi->cm) rdma_disconnect(vi->cm);
    Emit(kEvBroken, vi->id, double(reason), 0);
  }

  void Destroy(uint32_t id) {
    auto it = vis_.find(id);
    if (it == vis_.end()) return;
    std::unique_ptr<Vi> vi = std::move(it->second);
    vis_.erase(it);
    if (vi->refed) Ref(-1);
    for (uint32_t n = vi->send_completed; n != vi->send_posted; n++) {
      RegistrationCache::Entry* e = vi->zero_copy[n % kSendSlots];
      if (e) e->inflight--;
    }
    if (vi->cm) {
      rdma_disconnect(vi->cm);
      if (vi->cm->qp) rdma_destroy_qp(vi->cm);
      rdma_destroy_id(vi->cm);
    }
    // Pools are deregistered by their destructors, after the QP that used them is gone.
  }

  void Shutdown() {
    std::vector<uint32_t> ids;
    for (auto& v : vis_) ids.push_back(v.first);
    for (uint32_t id : ids) Destroy(id);
    for (auto& l : listeners_) rdma_destroy_id(l.second.cm);
    listeners_.clear();
    for (auto& d : devices_) ReleaseDevice(d.second.get());
    devices_.clear();
    if (cm_poll_) {
      uv_poll_stop(cm_poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(cm_poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      cm_poll_ = nullptr;
    }
    if (channel_) rdma_destroy_event_channel(channel_);
    channel_ = nullptr;
  }

  // ---- rdma_cm events ----

  static void OnCmReadable(uv_poll_t* handle, int status, int) {
    auto* self = static_cast<Context*>(handle->data);
    while (self->channel_) {
      rdma_cm_event* ev = nullptr;
      if (rdma_get_cm_event(self->channel_, &ev) != 0) break;  // EAGAIN: drained
      // Copy what we need, then ack at once: rdma_destroy_id waits for unacked events.
      rdma_cm_event_type type = ev->event;
      rdma_cm_id* id = ev->id;
      rdma_cm_id* listen_id = ev->listen_id;
      int ev_status = ev->status;
      uint8_t priv[64] = {};
      size_t priv_len = 0;
      if (ev->param.conn.private_data && ev->param.conn.private_data_len > 0) {
        priv_len = std::min<size_t>(ev->param.conn.private_data_len, sizeof priv);
        std::memcpy(priv, ev->param.conn.private_data, priv_len);
      }
      rdma_ack_cm_event(ev);
      self->HandleCm(type, id, listen_id, ev_status, priv, priv_len);
    }
  }

  void HandleCm(rdma_cm_event_type type, rdma_cm_id* id, rdma_cm_id* listen_id, int status, const uint8_t* priv,
                size_t priv_len) {
    if (type == RDMA_CM_EVENT_CONNECT_REQUEST) {
      OnConnectRequest(id, listen_id, priv, priv_len);
      return;
    }
    auto it = vis_.find(uint32_t(uintptr_t(id->context)));
    if (it == vis_.end()) return;  // a listener's own event, or a VI already closed
    Vi* vi = it->second.get();
    if (vi->disconnect_after_send && type == RDMA_CM_EVENT_DISCONNECTED) return Destroy(vi->id);
    if (vi->state == ViState::kDone) return;
    switch (type) {
      case RDMA_CM_EVENT_ADDR_RESOLVED:
        if (rdma_resolve_route(id, kResolveTimeoutMs) != 0) FailConnect(vi, errno);
        break;
      case RDMA_CM_EVENT_ROUTE_RESOLVED: {
        int rc = SetupQp(vi);
        if (rc != 0) {
          FailConnect(vi, -rc);
          break;
        }
        uint8_t header[kConnHeaderSize];
        ConnHeader h;
        h.recv_depth = vi->depth;
        h.slot_size = vi->slot_size;
        EncodeConnHeader(h, header);
        rdma_conn_param param{};
        param.private_data = header;
        param.private_data_len = sizeof header;
        param.retry_count = 7;
        param.rnr_retry_count = 0;  // a send with no receive posted breaks the VI, as VIA requires
        if (rdma_connect(id, &param) != 0) FailConnect(vi, errno);
        break;
      }
      case RDMA_CM_EVENT_ESTABLISHED:
        if (!vi->passive) {
          ConnHeader peer;
          if (!DecodeConnHeader(priv, priv_len, &peer)) {
            FailConnect(vi, EPROTO);
            break;
          }
          vi->peer_slot_size = peer.slot_size;
          vi->state = ViState::kHandshake;
          // HELLO lands in the listener's handshake buffer (kHandshakeSlotSize), whatever its slot size.
          if (Send(vi, vi->hello.data(), uint32_t(vi->hello.size()), kHandshakeImm) != kSendOk)
            FailConnect(vi, EPROTO);
        }
        break;
      case RDMA_CM_EVENT_REJECTED:  // includes "no rdma_cm listener on that port"
        FailConnect(vi, ECONNREFUSED);
        break;
      case RDMA_CM_EVENT_ADDR_ERROR:
      case RDMA_CM_EVENT_ROUTE_ERROR:
      case RDMA_CM_EVENT_UNREACHABLE:
      case RDMA_CM_EVENT_CONNECT_ERROR:
        FailConnect(vi, status == -ETIMEDOUT ? ETIMEDOUT : EHOSTUNREACH);
        break;
      case RDMA_CM_EVENT_DISCONNECTED:
      case RDMA_CM_EVENT_DEVICE_REMOVAL:
        Break(vi, BreakReason::kPeerGone);
        break;
      default:
        break;
    }
  }

  void FailConnect(Vi* vi, int err) {
    uint32_t id = vi->id;
    bool passive = vi->passive;
    vi->state = ViState::kDone;
    if (!passive) Emit(kEvConnectFailed, id, err, 0);
    Destroy(id);
  }

  void OnConnectRequest(rdma_cm_id* id, rdma_cm_id* listen_id, const uint8_t* priv, size_t priv_len) {
    auto lit = listeners_.find(uint32_t(uintptr_t(listen_id->context)));
    ConnHeader peer;
    if (lit == listeners_.end() || !DecodeConnHeader(priv, priv_len, &peer)) {
      rdma_reject(id, nullptr, 0);
      rdma_destroy_id(id);
      return;
    }
    auto vi = std::make_unique<Vi>();
    vi->id = next_id_++;
    vi->passive = true;
    vi->listener_id = lit->first;
    vi->cm = id;
    vi->slot_size = lit->second.slot_size;
    vi->peer_slot_size = peer.slot_size;
    vi->state = ViState::kHandshake;
    id->context = reinterpret_cast<void*>(uintptr_t(vi->id));
    Vi* raw = vi.get();
    vis_[vi->id] = std::move(vi);
    Ref(+1);
    uint8_t header[kConnHeaderSize];
    ConnHeader h;
    h.recv_depth = kMaxRecvDepth;  // informational: the real depth is chosen at accept
    h.slot_size = raw->slot_size;
    EncodeConnHeader(h, header);
    rdma_conn_param param{};
    param.private_data = header;
    param.private_data_len = sizeof header;
    param.rnr_retry_count = 0;
    if (SetupQp(raw) != 0 || rdma_accept(id, &param) != 0) {
      rdma_reject(id, nullptr, 0);
      Destroy(raw->id);
    }
  }

  // ---- completions ----

  static void OnCqReadable(uv_poll_t* handle, int status, int) {
    auto* self = static_cast<Context*>(handle->data);
    for (auto& d : self->devices_) {
      Device* dev = d.second.get();
      if (dev->poll != handle) continue;
      ibv_cq* cq = nullptr;
      void* ctx = nullptr;
      unsigned events = 0;
      while (ibv_get_cq_event(dev->channel, &cq, &ctx) == 0) events++;
      if (events) ibv_ack_cq_events(dev->cq, events);
      // Re-arm first, then drain: a completion arriving in between raises a new event.
      ibv_req_notify_cq(dev->cq, 0);
      self->Drain(dev);
      return;
    }
  }

  void Drain(Device* dev) {
    ibv_wc wcs[32];
    for (;;) {
      int n = ibv_poll_cq(dev->cq, 32, wcs);
      if (n <= 0) break;
      for (int i = 0; i < n; i++) HandleWc(wcs[i]);
      if (devices_.empty()) return;  // closed from a handler
    }
  }

  void HandleWc(const ibv_wc& wc) {
    uint32_t vi_id, slot;
    bool is_send;
    SplitWrId(wc.wr_id, &vi_id, &is_send, &slot);
    auto it = vis_.find(vi_id);
    if (it == vis_.end()) return;  // the VI is gone: a flushed work request
    Vi* vi = it->second.get();
    if (vi->disconnect_after_send) return Destroy(vi->id);  // REPLY of a reject has left (or failed)
    if (vi->state == ViState::kDone) return;
    bool handshake = !vi->handshake_received;
    uint32_t expected = handshake ? kHandshakeSlot : vi->recv_consumed % std::max<uint32_t>(vi->depth, 1);
    Completion c = ClassifyCompletion(wc, expected, vi->depth, handshake ? kHandshakeSlotSize : vi->slot_size);
    if (c.kind == CompletionKind::kSend) {
      if (slot != vi->send_completed % kSendSlots) return Break(vi, BreakReason::kCorrupt);
      RegistrationCache::Entry* zc = vi->zero_copy[slot];
      vi->zero_copy[slot] = nullptr;
      if (zc) zc->inflight--;
      vi->send_completed++;
      if (vi->state == ViState::kOpen) Emit(kEvSend, vi->id, zc ? 1 : 0, 0);
      return;
    }
    if (c.kind == CompletionKind::kError) return Break(vi, c.reason);
    const uint8_t* data = handshake ? vi->handshake.slot(0) : vi->recv.slot(c.slot);
    if (handshake) {
      vi->handshake_received = true;
      int32_t st;
      const uint8_t* payload;
      size_t plen;
      if (c.imm != kHandshakeImm || !DecodeHandshake(data, c.length, &st, &payload, &plen) ||
          vi->state != ViState::kHandshake) {
        return Break(vi, BreakReason::kCorrupt);
      }
      if (vi->passive) {
        Emit(kEvRequest, vi->listener_id, vi->id, vi->peer_slot_size, payload, plen);
      } else if (st != 0) {
        FailConnect(vi, ECONNREFUSED);
      } else {
        vi->state = ViState::kOpen;
        Emit(kEvConnected, vi->id, vi->peer_slot_size, 0, payload, plen);
      }
      return;
    }
    if (vi->state != ViState::kOpen || c.imm == kHandshakeImm) return Break(vi, BreakReason::kCorrupt);
    vi->recv_consumed++;
    Emit(kEvRecv, vi->id, c.length, c.imm, data, c.length);
  }

  struct Listener {
    rdma_cm_id* cm;
    uint32_t slot_size;
    bool refed;
  };

  Napi::FunctionReference on_event_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
  uv_loop_t* loop_ = nullptr;
  rdma_event_channel* channel_ = nullptr;
  uv_poll_t* cm_poll_ = nullptr;
  std::map<ibv_context*, std::unique_ptr<Device>> devices_;
  std::map<uint32_t, std::unique_ptr<Vi>> vis_;
  std::map<uint32_t, Listener> listeners_;
  uint32_t next_id_ = 1;
  int refs_ = 0;
};

// ---- module functions ----

Napi::Value Devices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int n = 0;
  ibv_device** list = ibv_get_device_list(&n);
  Napi::Array out = Napi::Array::New(env);
  if (list == nullptr) {
    // No kernel support (no /sys/class/infiniband_verbs) reports as an error: an empty list.
    return out;
  }
  for (int i = 0; i < n; i++) out.Set(uint32_t(i), Napi::String::New(env, ibv_get_device_name(list[i])));
  ibv_free_device_list(list);
  return out;
}

Napi::Value Attrs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("maxTransferSize", Napi::Number::New(env, kDefaultSlotSize));
  o.Set("maxRecvDepth", Napi::Number::New(env, kMaxRecvDepth));
  o.Set("maxSendDepth", Napi::Number::New(env, kSendSlots));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Worker threads unload addons before libuv runs our handles' close callbacks.
  PinThisLibrary(reinterpret_cast<const void*>(&Attrs));
  exports.Set("devices", Napi::Function::New(env, Devices));
  exports.Set("attrs", Napi::Function::New(env, Attrs));
  exports.Set("Context", Context::Define(env));
#ifdef VIA_TESTING
  exports.Set("testing", MakeTestingBinding(env));
#endif
  return exports;
}

}  // namespace
}  // namespace verbs
}  // namespace via

static Napi::Object InitVerbs(Napi::Env env, Napi::Object exports) { return via::verbs::Init(env, exports); }
NODE_API_MODULE(via_verbs, InitVerbs)
