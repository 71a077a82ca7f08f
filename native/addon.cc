// N-API binding of the shm VI provider: a small, VIPL-like surface.
//
//   attrs()                                   provider attributes
//   new CompletionQueue(dispatch, meta, arena) completions of many VIs, readiness via libuv
//   new Listener(cq, path, allowUids, onRequest)   rendezvous listener; onRequest(req, payload, pid, uid, gid)
//   connect(cq, path, depth, slotSize, payload, allowUids, cb) -> ConnectRequest
//   Vi: postRecv(n), postSend(buf, off, len, imm) -> status, close(), ref(), unref()
//
// Everything here is argument checking and plumbing; the data path is in shm_vi.cc, the
// completion queue in cq.cc, the setup protocol in rendezvous.cc.
#include <napi.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cq.h"
#include "pin_library.h"
#include "rendezvous.h"
#include "shm_segment.h"
#include "shm_vi.h"

namespace via {
namespace {

uint32_t g_max_transfer_size = kDefaultMaxTransferSize;

Napi::Error CodedError(Napi::Env env, const char* code, const std::string& message, bool type_error = false) {
  Napi::Error err = type_error ? Napi::TypeError::New(env, message) : Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

Napi::Error ErrnoError(Napi::Env env, int err, const std::string& what) {
  const char* code = "EIO";
  switch (err) {
    case ENOENT: code = "ENOENT"; break;
    case ECONNREFUSED: code = "ECONNREFUSED"; break;
    case EADDRINUSE: code = "EADDRINUSE"; break;
    case EACCES: code = "EACCES"; break;
    case EPERM: code = "EPERM"; break;
    case EMFILE: code = "EMFILE"; break;
    case ENFILE: code = "ENFILE"; break;
    case ENOMEM: code = "ENOMEM"; break;
    case ENOSPC: code = "ENOSPC"; break;
    case ENAMETOOLONG: code = "ENAMETOOLONG"; break;
    case EBADMSG: code = "EBADMSG"; break;
    case EPROTO: code = "EPROTO"; break;
    case ECONNRESET: code = "ECONNRESET"; break;
    case EINVAL: code = "EINVAL"; break;
    default: break;
  }
  Napi::Error e = CodedError(env, code, what + ": " + std::strerror(err));
  e.Set("errno", Napi::Number::New(env, -err));
  return e;
}

bool CheckArgs(const Napi::CallbackInfo& info, size_t count, const char* usage) {
  if (info.Length() < count) {
    CodedError(info.Env(), "ERR_MISSING_ARGS", std::string("expected ") + usage, true).ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

bool GetUint32(const Napi::CallbackInfo& info, size_t i, const char* name, uint32_t* out) {
  if (!info[i].IsNumber()) {
    CodedError(info.Env(), "ERR_INVALID_ARG_TYPE", std::string("The \"") + name + "\" argument must be of type number",
               true)
        .ThrowAsJavaScriptException();
    return false;
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0 && v <= 4294967295.0) || v != static_cast<double>(static_cast<uint64_t>(v))) {
    CodedError(info.Env(), "ERR_OUT_OF_RANGE", std::string("The value of \"") + name + "\" is out of range")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<uint32_t>(v);
  return true;
}

bool GetUidList(const Napi::CallbackInfo& info, size_t i, std::set<uid_t>* out) {
  if (info[i].IsUndefined() || info[i].IsNull()) return true;
  if (!info[i].IsArray()) {
    CodedError(info.Env(), "ERR_INVALID_ARG_TYPE", "The \"allowUids\" argument must be an array", true)
        .ThrowAsJavaScriptException();
    return false;
  }
  Napi::Array arr = info[i].As<Napi::Array>();
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr.Get(k);
    if (!v.IsNumber()) {
      CodedError(info.Env(), "ERR_INVALID_ARG_TYPE", "allowUids must hold numbers", true).ThrowAsJavaScriptException();
      return false;
    }
    out->insert(static_cast<uid_t>(v.As<Napi::Number>().Uint32Value()));
  }
  return true;
}

bool GetPayload(const Napi::CallbackInfo& info, size_t i, WireMessage* msg) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    CodedError(info.Env(), "ERR_INVALID_ARG_TYPE", "The \"payload\" argument must be a Buffer", true)
        .ThrowAsJavaScriptException();
    return false;
  }
  Napi::Uint8Array p = info[i].As<Napi::Uint8Array>();
  if (p.ByteLength() > kMaxPayload) {
    CodedError(info.Env(), "ERR_OUT_OF_RANGE", "payload is larger than 1024 bytes").ThrowAsJavaScriptException();
    return false;
  }
  std::memcpy(msg->payload, p.Data(), p.ByteLength());
  msg->payload_length = static_cast<uint32_t>(p.ByteLength());
  return true;
}

// Calls into JavaScript from a libuv callback. An exception thrown by the callback becomes an
// uncaught exception of the process, as for a net.Socket listener. Returns false when the
// environment can no longer run JavaScript (it is being torn down at exit): the caller must stop
// delivering, and must not throw, which would abort the process.
bool CallIntoJs(Napi::Env env, napi_value recv, napi_value fn, const std::vector<napi_value>& args,
                Napi::AsyncContext& context) {
  napi_value result;
  napi_status status = napi_make_callback(env, context, recv, fn, args.size(), args.data(), &result);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
    return true;
  }
  return status == napi_ok;
}

bool UidAllowed(uid_t uid, const std::set<uid_t>& allowed) { return uid == geteuid() || allowed.count(uid) > 0; }

// The connector claims a network namespace in HELLO; where /proc lets us, check it for real.
bool SameNetns(pid_t pid, uint64_t claimed) {
  uint64_t ours = NetnsInode();
  if (claimed != ours) return false;
  struct stat st;
  std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
  if (stat(path.c_str(), &st) != 0) return true;  // another pid namespace: trust the hello
  return static_cast<uint64_t>(st.st_ino) == ours;
}

class Addon;

// ------------------------------------------------------------------------------------------
class CompletionQueueWrap : public Napi::ObjectWrap<CompletionQueueWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "CompletionQueue",
                       {InstanceMethod<&CompletionQueueWrap::SetArena>("setArena"),
                        InstanceMethod<&CompletionQueueWrap::SetPollMode>("setPollMode"),
                        InstanceMethod<&CompletionQueueWrap::Poll>("poll"),
                        InstanceMethod<&CompletionQueueWrap::Stats>("stats"),
                        InstanceMethod<&CompletionQueueWrap::Close>("close")});
  }

  // new CompletionQueue(dispatch(count), meta: Int32Array, arena: Buffer)
  explicit CompletionQueueWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CompletionQueueWrap>(info) {
    Napi::Env env = info.Env();
    if (!CheckArgs(info, 3, "(dispatch, meta, arena)")) return;
    if (!info[0].IsFunction() || !info[1].IsTypedArray() ||
        info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      CodedError(env, "ERR_INVALID_ARG_TYPE", "expected (function, Int32Array, Buffer)", true)
          .ThrowAsJavaScriptException();
      return;
    }
    dispatch_ = Napi::Persistent(info[0].As<Napi::Function>());
    Napi::Int32Array meta = info[1].As<Napi::Int32Array>();
    int batch = static_cast<int>((meta.ElementLength() - kMetaHeader) / kMetaFields);
    if (batch < 1) {
      CodedError(env, "ERR_OUT_OF_RANGE", "meta array too small").ThrowAsJavaScriptException();
      return;
    }
    meta_ref_ = Napi::Persistent(meta.As<Napi::Object>());
    async_context_ = std::make_unique<Napi::AsyncContext>(env, "via-net:cq");
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    core_ = std::make_unique<CompletionQueueCore>(loop, meta.Data(), batch, [this](int) { CallDispatch(); });
    int rc = core_->Init();
    if (rc != 0) {
      ErrnoError(env, rc < 0 ? -rc : EIO, "CompletionQueue").ThrowAsJavaScriptException();
      core_.reset();
      return;
    }
    SetArenaFrom(info[2]);
  }

  ~CompletionQueueWrap() override {
    if (core_) core_->Close();
  }

  CompletionQueueCore* core() { return core_.get(); }

 private:
  void CallDispatch() {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (!CallIntoJs(env, Value(), dispatch_.Value(), {}, *async_context_)) {
      // Exiting: nobody can take completions any more. Close the queue so its handles stop.
      core_->Close();
    }
  }

  bool SetArenaFrom(Napi::Value v) {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      CodedError(Env(), "ERR_INVALID_ARG_TYPE", "The \"arena\" argument must be a Buffer", true)
          .ThrowAsJavaScriptException();
      return false;
    }
    Napi::Uint8Array arena = v.As<Napi::Uint8Array>();
    arena_ref_ = Napi::Persistent(arena.As<Napi::Object>());
    core_->SetArena(arena.Data(), arena.ByteLength());
    return true;
  }

  Napi::Value SetArena(const Napi::CallbackInfo& info) {
    if (!core_ || !CheckArgs(info, 1, "(arena)")) return info.Env().Undefined();
    if (SetArenaFrom(info[0])) core_->Kick();
    return info.Env().Undefined();
  }

  // setPollMode(mode: 0 event | 1 adaptive | 2 busy, spinMicros)
  Napi::Value SetPollMode(const Napi::CallbackInfo& info) {
    uint32_t mode, spin;
    if (!core_ || !CheckArgs(info, 2, "(mode, spinMicros)") || !GetUint32(info, 0, "mode", &mode) ||
        !GetUint32(info, 1, "spinMicros", &spin))
      return info.Env().Undefined();
    if (mode > 2 || spin > 1000000) {
      CodedError(info.Env(), "ERR_OUT_OF_RANGE", "poll mode or spin budget out of range").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    core_->SetPollMode(static_cast<PollMode>(mode), spin);
    return info.Env().Undefined();
  }

  Napi::Value Poll(const Napi::CallbackInfo& info) {
    // poll(force): force only from the exit path (see CompletionQueueCore::PollOnce).
    bool force = info.Length() > 0 && info[0].ToBoolean().Value();
    return Napi::Number::New(info.Env(), core_ ? core_->PollOnce(force) : 0);
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    if (!core_) return o;
    o.Set("wakeups", Napi::Number::New(info.Env(), double(core_->stats.wakeups)));
    o.Set("sleeps", Napi::Number::New(info.Env(), double(core_->stats.sleeps)));
    o.Set("completions", Napi::Number::New(info.Env(), double(core_->stats.completions)));
    o.Set("dispatches", Napi::Number::New(info.Env(), double(core_->stats.dispatches)));
    o.Set("vis", Napi::Number::New(info.Env(), double(core_->vi_count())));
    CompletionQueueCore::WaitState w = core_->Inspect();
    o.Set("inDispatch", Napi::Boolean::New(info.Env(), w.in_dispatch));
    o.Set("kickPending", Napi::Boolean::New(info.Env(), w.kick_pending));
    o.Set("idleRunning", Napi::Boolean::New(info.Env(), w.idle_running));
    o.Set("doorbellReadable", Napi::Boolean::New(info.Env(), w.doorbell_readable));
    o.Set("mode", Napi::Number::New(info.Env(), w.mode));
    o.Set("readyVis", Napi::Number::New(info.Env(), w.ready_vis));
    o.Set("sleepingVis", Napi::Number::New(info.Env(), w.sleeping_vis));
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (core_) core_->Close();
    return info.Env().Undefined();
  }

  std::unique_ptr<CompletionQueueCore> core_;
  Napi::FunctionReference dispatch_;
  Napi::ObjectReference meta_ref_;
  Napi::ObjectReference arena_ref_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
};

// ------------------------------------------------------------------------------------------
class ViWrap : public Napi::ObjectWrap<ViWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Vi",
                       {InstanceAccessor<&ViWrap::Id>("id"), InstanceAccessor<&ViWrap::RecvDepth>("recvDepth"),
                        InstanceAccessor<&ViWrap::SendSlotSize>("sendSlotSize"),
                        InstanceMethod<&ViWrap::PostRecv>("postRecv"), InstanceMethod<&ViWrap::PostSend>("postSend"),
                        InstanceMethod<&ViWrap::Stage>("stage"),
                        InstanceMethod<&ViWrap::PublishStaged>("publishStaged"),
                        InstanceMethod<&ViWrap::MarkTaken>("markTaken"),
                        InstanceMethod<&ViWrap::HoldsUnread>("holdsUnread"),
                        InstanceMethod<&ViWrap::PeerTookAll>("peerTookAll"),
                        InstanceMethod<&ViWrap::Abort>("abort"),
                        InstanceMethod<&ViWrap::Ref>("ref"), InstanceMethod<&ViWrap::Unref>("unref"),
                        InstanceMethod<&ViWrap::Scribble>("scribble"), InstanceMethod<&ViWrap::Close>("close"),
                        InstanceMethod<&ViWrap::Inspect>("inspect")});
  }

  // Constructed only from native code, with an External holding the entry.
  explicit ViWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ViWrap>(info) {
    if (info.Length() < 1 || !info[0].IsExternal()) {
      CodedError(info.Env(), "ERR_ILLEGAL_CONSTRUCTOR", "Illegal constructor", true).ThrowAsJavaScriptException();
      return;
    }
    auto* holder = info[0].As<Napi::External<std::shared_ptr<ViEntry>>>().Data();
    entry_ = *holder;
  }

  ~ViWrap() override {
    // A VI whose JS object is collected while open would leak its fds and mappings.
    if (entry_) entry_->Close();
  }

 private:
  bool Usable(Napi::Env env) {
    if (entry_ && !entry_->closed) return true;
    CodedError(env, "ERR_SOCKET_CLOSED", "VI is closed").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Value Id(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), entry_ ? entry_->id : 0); }
  Napi::Value RecvDepth(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), entry_ && entry_->vi ? entry_->vi->recv_depth() : 0);
  }
  Napi::Value SendSlotSize(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), entry_ && entry_->vi ? entry_->vi->send_slot_size() : 0);
  }

  Napi::Value PostRecv(const Napi::CallbackInfo& info) {
    uint32_t count;
    if (!CheckArgs(info, 1, "(count)") || !GetUint32(info, 0, "count", &count) || !Usable(info.Env()))
      return info.Env().Undefined();
    if (!entry_->vi->PostRecv(count)) {
      CodedError(info.Env(), "ERR_OUT_OF_RANGE", "posting would exceed the receive queue depth")
          .ThrowAsJavaScriptException();
    }
    return info.Env().Undefined();
  }

  // The (buf, offset, length, imm) arguments of postSend and stage, checked. False on a JS error
  // (*data may be null for an empty buffer).
  bool SendArgs(const Napi::CallbackInfo& info, const uint8_t** data, uint32_t* length, uint32_t* imm) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      CodedError(env, "ERR_INVALID_ARG_TYPE", "expected (Uint8Array, offset, length, imm)", true)
          .ThrowAsJavaScriptException();
      return false;
    }
    uint32_t offset;
    if (!GetUint32(info, 1, "offset", &offset) || !GetUint32(info, 2, "length", length) ||
        !GetUint32(info, 3, "imm", imm) || !Usable(env))
      return false;
    Napi::Uint8Array buf = info[0].As<Napi::Uint8Array>();
    if (uint64_t(offset) + *length > buf.ByteLength()) {
      CodedError(env, "ERR_OUT_OF_RANGE", "offset + length exceeds the buffer").ThrowAsJavaScriptException();
      return false;
    }
    *data = *length ? buf.Data() + offset : nullptr;
    return true;
  }

  // A failed send that broke the VI is reported to the peer too.
  Napi::Value SendResult(Napi::Env env, SendStatus status) {
    if (status == kSendNoDescriptor || status == kSendCorrupt) {
      entry_->Break(status == kSendNoDescriptor ? BreakReason::kNoDescriptor : BreakReason::kCorrupt);
    }
    return Napi::Number::New(env, status);
  }

  // postSend(buf: Uint8Array, offset, length, imm) -> 0 | negative SendStatus
  Napi::Value PostSend(const Napi::CallbackInfo& info) {
    uint32_t length, imm;
    const uint8_t* data;
    if (!SendArgs(info, &data, &length, &imm)) return info.Env().Undefined();
    return SendResult(info.Env(), entry_->vi->Send(data, length, imm));
  }

  // stage(buf, offset, length, imm) -> 0 | negative SendStatus: combine into the next send's slot.
  Napi::Value Stage(const Napi::CallbackInfo& info) {
    uint32_t length, imm;
    const uint8_t* data;
    if (!SendArgs(info, &data, &length, &imm)) return info.Env().Undefined();
    return SendResult(info.Env(), entry_->vi->Stage(data, length, imm));
  }

  // publishStaged(imm): the staged send goes out with its final immediate.
  Napi::Value PublishStaged(const Napi::CallbackInfo& info) {
    uint32_t imm;
    if (!CheckArgs(info, 1, "(imm)") || !GetUint32(info, 0, "imm", &imm) || !Usable(info.Env()))
      return info.Env().Undefined();
    entry_->vi->PublishStaged(imm);
    return info.Env().Undefined();
  }

  // markTaken(bytes): the application took that many more received payload bytes.
  Napi::Value MarkTaken(const Napi::CallbackInfo& info) {
    uint32_t bytes;
    if (!CheckArgs(info, 1, "(bytes)") || !GetUint32(info, 0, "bytes", &bytes)) return info.Env().Undefined();
    if (entry_ && !entry_->closed) entry_->vi->MarkTaken(bytes);
    return info.Env().Undefined();
  }

  // holdsUnread(): payload arrived that the application has not taken (ShmVi::HoldsUnread).
  Napi::Value HoldsUnread(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), entry_ && !entry_->closed && entry_->vi->HoldsUnread());
  }

  // peerTookAll(): the peer's application took every payload byte we sent (ShmVi::PeerTookAll).
  Napi::Value PeerTookAll(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), entry_ && !entry_->closed && entry_->vi->PeerTookAll());
  }

  // abort(): break the VI as a reset (the peer is told, by a BREAK, that it was closed), before
  // close(). A plain close reads at the peer as a hang-up, which may be end of stream.
  Napi::Value Abort(const Napi::CallbackInfo& info) {
    if (entry_ && !entry_->closed) entry_->Break(BreakReason::kLocalClose);
    return info.Env().Undefined();
  }

  Napi::Value Ref(const Napi::CallbackInfo& info) {
    if (entry_ && !entry_->closed && !entry_->refed && entry_->cq) {
      entry_->refed = true;
      entry_->cq->RefChanged(+1);
    }
    return info.Env().Undefined();
  }
  Napi::Value Unref(const Napi::CallbackInfo& info) {
    if (entry_ && !entry_->closed && entry_->refed && entry_->cq) {
      entry_->refed = false;
      entry_->cq->RefChanged(-1);
    }
    return info.Env().Undefined();
  }

  // Test hook: scribble(which: 'own' | 'peer', seed) writes garbage into shared memory, as a
  // hostile peer could. Only for the fault tests; harmless to everyone but this VI.
  Napi::Value Scribble(const Napi::CallbackInfo& info) {
    uint32_t seed;
    if (!CheckArgs(info, 2, "(which, seed)") || !GetUint32(info, 1, "seed", &seed) || !Usable(info.Env()))
      return info.Env().Undefined();
    std::string which = info[0].ToString().Utf8Value();
    if (which == "peer")
      entry_->vi->ScribblePeerSegment(seed);
    else
      entry_->vi->ScribbleOwnSegment(seed);
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (entry_) entry_->Close();
    return info.Env().Undefined();
  }

  // Diagnostics for stall reports: the VI's counters, shared and private, and its CQ flags.
  Napi::Value Inspect(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    if (!entry_ || !entry_->vi) return out;
    ShmVi::Snapshot s = entry_->vi->Snap();
    auto set = [&](const char* k, double v) { out.Set(k, Napi::Number::New(env, v)); };
    set("posted", s.posted);
    set("consumed", s.consumed);
    set("sent", s.sent);
    set("ownCompTail", s.own_comp_tail);
    set("ownDescTail", s.own_desc_tail);
    set("ownSleeping", s.own_sleeping);
    set("peerCompTail", s.peer_comp_tail);
    set("peerDescTail", s.peer_desc_tail);
    set("peerSleeping", s.peer_sleeping);
    set("broken", double(entry_->vi->reason()));
    out.Set("reported", Napi::Boolean::New(env, entry_->reported));
    out.Set("peerGone", Napi::Boolean::New(env, entry_->peer_gone));
    out.Set("inCq", Napi::Boolean::New(env, entry_->cq != nullptr));
    out.Set("refed", Napi::Boolean::New(env, entry_->refed));
    return out;
  }

  std::shared_ptr<ViEntry> entry_;
};

// Per-instance state (the addon is context-aware: each worker thread gets its own).
class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);
  Napi::Object NewVi(Napi::Env env, const std::shared_ptr<ViEntry>& entry) {
    std::shared_ptr<ViEntry> copy = entry;
    return vi_ctor.New({Napi::External<std::shared_ptr<ViEntry>>::New(env, &copy)});
  }
  Napi::FunctionReference vi_ctor;
  Napi::FunctionReference request_ctor;
  Napi::FunctionReference connect_ctor_;
  std::set<std::string> listening_paths;  // unlinked at environment teardown

 private:
  Napi::Value Attrs(const Napi::CallbackInfo& info);
  Napi::Value SetMaxTransferSize(const Napi::CallbackInfo& info);
  Napi::Value Netns(const Napi::CallbackInfo& info);
  Napi::Value Connect(const Napi::CallbackInfo& info);
};

// Creates our segment, maps the peer's, checks its doorbell, and builds the VI. On success the
// caller owns *own_fd (to send it, then close it). Returns 0 or a positive errno.
int BuildVi(const WireMessage& peer_msg, const int* peer_fds, uint32_t depth, uint32_t slot_size,
            std::unique_ptr<ShmVi>* out, int* own_fd) {
  if (!SegmentLayout::Valid(peer_msg.depth, peer_msg.slot_size)) return EBADMSG;
  if (!CheckDoorbellFd(peer_fds[1])) return EBADMSG;
  SegmentLayout own_layout{depth, slot_size};
  SegmentLayout peer_layout{peer_msg.depth, peer_msg.slot_size};
  MappedSegment own, peer;
  int fd = CreateSegment(own_layout, &own);
  if (fd < 0) return -fd;
  int rc = MapPeerSegment(peer_fds[0], peer_layout, &peer);
  if (rc != 0) {
    UnmapSegment(&own);
    close(fd);
    return -rc;
  }
  int doorbell = dup(peer_fds[1]);
  if (doorbell < 0) {
    int err = errno;
    UnmapSegment(&own);
    UnmapSegment(&peer);
    close(fd);
    return err;
  }
  *out = std::make_unique<ShmVi>(own, peer, doorbell);
  *own_fd = fd;
  return 0;
}

// ------------------------------------------------------------------------------------------
// A connection request that has sent HELLO, waiting for the listener's decision.
class IncomingRequestWrap : public Napi::ObjectWrap<IncomingRequestWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "IncomingRequest",
                       {InstanceMethod<&IncomingRequestWrap::Accept>("accept"),
                        InstanceMethod<&IncomingRequestWrap::Reject>("reject")});
  }
  explicit IncomingRequestWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IncomingRequestWrap>(info) {}
  ~IncomingRequestWrap() override { Release(ECONNREFUSED); }

  void Init(int fd, const WireMessage& hello, int memfd, int doorbell, CompletionQueueWrap* cq, Napi::Object cq_obj) {
    fd_ = fd;
    hello_ = hello;
    peer_fds_[0] = memfd;
    peer_fds_[1] = doorbell;
    cq_ = cq;
    cq_ref_ = Napi::Persistent(cq_obj);
  }

 private:
  // Answers with an error status (if still pending) and frees the fds.
  void Release(int status) {
    if (fd_ < 0) return;
    WireMessage reply{};
    reply.magic = kWireMagic;
    reply.version = kWireVersion;
    reply.type = static_cast<uint16_t>(WireType::kReply);
    reply.status = status;
    SendWire(fd_, reply, nullptr, 0);
    close(fd_);
    fd_ = -1;
    CloseFds(peer_fds_, 2);
  }

  // accept(depth, slotSize, payload) -> Vi
  Napi::Value Accept(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t depth, slot_size;
    WireMessage reply{};
    if (!CheckArgs(info, 3, "(depth, slotSize, payload)") || !GetUint32(info, 0, "depth", &depth) ||
        !GetUint32(info, 1, "slotSize", &slot_size) || !GetPayload(info, 2, &reply))
      return env.Undefined();
    if (fd_ < 0 || !cq_->core() || cq_->core()->closed()) {
      CodedError(env, "ERR_SOCKET_CLOSED", "connection request already answered").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!SegmentLayout::Valid(depth, slot_size)) {
      CodedError(env, "ERR_OUT_OF_RANGE", "invalid receive depth or slot size").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::unique_ptr<ShmVi> vi;
    int own_fd = -1;
    int err = BuildVi(hello_, peer_fds_, depth, slot_size, &vi, &own_fd);
    if (err != 0) {
      Release(err);
      ErrnoError(env, err, "accept").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    reply.magic = kWireMagic;
    reply.version = kWireVersion;
    reply.type = static_cast<uint16_t>(WireType::kReply);
    reply.status = 0;
    reply.depth = depth;
    reply.slot_size = slot_size;
    int fds[2] = {own_fd, cq_->core()->doorbell_fd()};
    int rc = SendWire(fd_, reply, fds, 2);
    close(own_fd);
    CloseFds(peer_fds_, 2);
    if (rc != 0) {
      close(fd_);
      fd_ = -1;
      ErrnoError(env, -rc, "accept").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int fd = fd_;
    fd_ = -1;
    auto entry = cq_->core()->AddVi(std::move(vi), fd);
    return env.GetInstanceData<Addon>()->NewVi(env, entry);
  }

  Napi::Value Reject(const Napi::CallbackInfo& info) {
    Release(ECONNREFUSED);
    return info.Env().Undefined();
  }

  int fd_ = -1;
  WireMessage hello_{};
  int peer_fds_[2] = {-1, -1};
  CompletionQueueWrap* cq_ = nullptr;
  Napi::ObjectReference cq_ref_;
};

// ------------------------------------------------------------------------------------------
class ListenerWrap : public Napi::ObjectWrap<ListenerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Listener",
                       {InstanceMethod<&ListenerWrap::Close>("close"), InstanceMethod<&ListenerWrap::Ref>("ref"),
                        InstanceMethod<&ListenerWrap::Unref>("unref")});
  }

  // new Listener(cq, path, allowUids, onRequest(req, payload, pid, uid, gid))
  explicit ListenerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ListenerWrap>(info) {
    Napi::Env env = info.Env();
    if (!CheckArgs(info, 4, "(cq, path, allowUids, onRequest)")) return;
    if (!info[0].IsObject() || !info[1].IsString() || !info[3].IsFunction()) {
      CodedError(env, "ERR_INVALID_ARG_TYPE", "expected (CompletionQueue, string, array, function)", true)
          .ThrowAsJavaScriptException();
      return;
    }
    if (!GetUidList(info, 2, &allowed_)) return;
    cq_ = CompletionQueueWrap::Unwrap(info[0].As<Napi::Object>());
    cq_ref_ = Napi::Persistent(info[0].As<Napi::Object>());
    path_ = info[1].As<Napi::String>().Utf8Value();
    on_request_ = Napi::Persistent(info[3].As<Napi::Function>());
    async_context_ = std::make_unique<Napi::AsyncContext>(env, "via-net:listener");
    int fd = ListenAt(path_);
    if (fd < 0) {
      ErrnoError(env, -fd, "listen " + path_).ThrowAsJavaScriptException();
      return;
    }
    fd_ = fd;
    reserve_fd_ = open("/", O_RDONLY | O_CLOEXEC);  // see RefuseWithReserve
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    loop_ = loop;
    poll_ = new uv_poll_t;
    uv_poll_init(loop, poll_, fd_);
    poll_->data = this;
    uv_poll_start(poll_, UV_READABLE, OnAcceptable);
    env.GetInstanceData<Addon>()->listening_paths.insert(path_);
    // Like a libuv handle wrap in Node: an open listener stays alive until closed, whether or
    // not JavaScript still holds it.
    self_ref_ = Napi::Persistent(Value());
  }

  ~ListenerWrap() override { Shutdown(); }

 private:
  struct Pending {
    ListenerWrap* owner;
    int fd;
    uv_poll_t poll;
  };

  static void OnAcceptable(uv_poll_t* handle, int status, int) {
    auto* self = static_cast<ListenerWrap*>(handle->data);
    if (status < 0) return;
    for (int i = 0; i < 64; ++i) {
      int fd = accept4(self->fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if ((errno == EMFILE || errno == ENFILE) && !self->RefuseWithReserve()) {
          // Not even the reserve fd: leave the connector waiting rather than spin on readiness.
          self->BackOff();
        }
        return;
      }
      auto* p = new Pending{self, fd, {}};
      uv_poll_init(self->loop_, &p->poll, fd);
      p->poll.data = p;
      uv_unref(reinterpret_cast<uv_handle_t*>(&p->poll));
      uv_poll_start(&p->poll, UV_READABLE | UV_DISCONNECT, OnHello);
      self->pending_.insert(p);
      // The connector sends HELLO right after connect(), so it is usually queued already: read it
      // now rather than one event-loop turn later (EAGAIN leaves the poll to wait for it).
      OnHello(&p->poll, 0, UV_READABLE);
      if (self->fd_ < 0) return;  // the JS callback closed the listener
    }
  }

  // Out of fds, as libuv does for a TCP listener: give up the reserve fd, accept every waiting
  // connector with it and answer EMFILE (its TCP fallback then meets the kernel's own answer),
  // then take the reserve back. False if the reserve is gone too.
  bool RefuseWithReserve() {
    if (reserve_fd_ < 0) return false;
    close(reserve_fd_);
    reserve_fd_ = -1;
    for (;;) {
      int fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) break;
      Refuse(fd, EMFILE);
    }
    reserve_fd_ = open("/", O_RDONLY | O_CLOEXEC);
    return true;
  }

  void BackOff() {
    uv_poll_stop(poll_);
    if (!backoff_) {
      backoff_ = new uv_timer_t;
      uv_timer_init(loop_, backoff_);
      backoff_->data = this;
      uv_unref(reinterpret_cast<uv_handle_t*>(backoff_));
    }
    uv_timer_start(
        backoff_,
        [](uv_timer_t* t) {
          auto* self = static_cast<ListenerWrap*>(t->data);
          if (self->poll_) uv_poll_start(self->poll_, UV_READABLE, OnAcceptable);
        },
        50, 0);
  }

  void Refuse(int fd, int status) {
    WireMessage reply{};
    reply.magic = kWireMagic;
    reply.version = kWireVersion;
    reply.type = static_cast<uint16_t>(WireType::kReply);
    reply.status = status;
    SendWire(fd, reply, nullptr, 0);
    close(fd);
  }

  void DropPending(Pending* p, bool close_fd) {
    pending_.erase(p);
    uv_poll_stop(&p->poll);
    if (close_fd) {
      int fd = p->fd;
      p->fd = -1;
      close(fd);
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&p->poll), [](uv_handle_t* h) { delete static_cast<Pending*>(h->data); });
  }

  static void OnHello(uv_poll_t* handle, int status, int events) {
    auto* p = static_cast<Pending*>(handle->data);
    ListenerWrap* self = p->owner;
    if (status < 0 || (events & UV_DISCONNECT && !(events & UV_READABLE))) {
      self->DropPending(p, true);
      return;
    }
    WireMessage hello;
    int fds[2] = {-1, -1};
    int nfds = 0;
    ssize_t n = RecvWire(p->fd, &hello, fds, 2, &nfds);
    if (n == -EAGAIN) return;
    int fd = p->fd;
    self->DropPending(p, false);
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    // Checked once HELLO has been read: refusing earlier would close the socket with the HELLO
    // unread, and the connector would see ECONNRESET instead of our answer.
    if (!PeerCredentials(fd, &pid, &uid, &gid) || !UidAllowed(uid, self->allowed_)) {
      CloseFds(fds, nfds);
      self->Refuse(fd, EACCES);
      return;
    }
    if (n <= 0 || !ValidWire(hello, n, WireType::kHello) || nfds != 2) {
      CloseFds(fds, nfds);
      self->Refuse(fd, EBADMSG);
      return;
    }
    if (!SameNetns(pid, hello.netns)) {
      CloseFds(fds, nfds);
      self->Refuse(fd, ECONNREFUSED);
      return;
    }
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    Napi::Object req = env.GetInstanceData<Addon>()->request_ctor.New({});
    IncomingRequestWrap::Unwrap(req)->Init(fd, hello, fds[0], fds[1], self->cq_, self->cq_ref_.Value());
    Napi::Buffer<uint8_t> payload = Napi::Buffer<uint8_t>::Copy(env, hello.payload, hello.payload_length);
    if (!CallIntoJs(env, self->Value(), self->on_request_.Value(),
                    {req, payload, Napi::Number::New(env, pid), Napi::Number::New(env, uid), Napi::Number::New(env, gid)},
                    *self->async_context_)) {
      self->Shutdown();  // exiting
    }
  }

  void Shutdown() {
    if (fd_ < 0) return;
    for (Pending* p : std::set<Pending*>(pending_)) DropPending(p, true);
    if (poll_) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (backoff_) {
      uv_timer_stop(backoff_);
      uv_close(reinterpret_cast<uv_handle_t*>(backoff_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
      backoff_ = nullptr;
    }
    close(fd_);
    fd_ = -1;
    if (reserve_fd_ >= 0) close(reserve_fd_);
    reserve_fd_ = -1;
    unlink(path_.c_str());
    if (Addon* addon = Env().GetInstanceData<Addon>()) addon->listening_paths.erase(path_);
    if (!self_ref_.IsEmpty()) self_ref_.Reset();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }
  Napi::Value Ref(const Napi::CallbackInfo& info) {
    if (poll_) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }
  Napi::Value Unref(const Napi::CallbackInfo& info) {
    if (poll_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  CompletionQueueWrap* cq_ = nullptr;
  Napi::ObjectReference cq_ref_;
  Napi::ObjectReference self_ref_;
  Napi::FunctionReference on_request_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
  std::set<uid_t> allowed_;
  std::set<Pending*> pending_;
  std::string path_;
  int fd_ = -1;
  uv_loop_t* loop_ = nullptr;
  uv_poll_t* poll_ = nullptr;
  uv_timer_t* backoff_ = nullptr;
  int reserve_fd_ = -1;  // given up when accept() meets EMFILE, so connectors get an answer
};

// ------------------------------------------------------------------------------------------
// An outgoing connection: HELLO sent, waiting for REPLY.
class ConnectRequestWrap : public Napi::ObjectWrap<ConnectRequestWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ConnectRequest", {InstanceMethod<&ConnectRequestWrap::Cancel>("cancel")});
  }
  explicit ConnectRequestWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ConnectRequestWrap>(info) {}
  ~ConnectRequestWrap() override { Finish(); }

  // Returns 0 or a positive errno (the connection attempt failed before it started).
  int Start(Napi::Env env, CompletionQueueWrap* cq, Napi::Object cq_obj, const std::string& path, uint32_t depth,
            uint32_t slot_size, const WireMessage& hello_template, std::set<uid_t> allowed, Napi::Function cb) {
    int fd = ConnectTo(path);
    if (fd < 0) return -fd;
    SegmentLayout layout{depth, slot_size};
    int memfd = CreateSegment(layout, &own_);
    if (memfd < 0) {
      close(fd);
      return -memfd;
    }
    WireMessage hello = hello_template;
    hello.magic = kWireMagic;
    hello.version = kWireVersion;
    hello.type = static_cast<uint16_t>(WireType::kHello);
    hello.depth = depth;
    hello.slot_size = slot_size;
    hello.netns = NetnsInode();
    int fds[2] = {memfd, cq->core()->doorbell_fd()};
    int rc = SendWire(fd, hello, fds, 2);
    close(memfd);
    if (rc != 0) {
      close(fd);
      UnmapSegment(&own_);
      return rc == -EAGAIN ? ECONNREFUSED : -rc;
    }
    fd_ = fd;
    layout_ = layout;
    cq_ = cq;
    cq_ref_ = Napi::Persistent(cq_obj);
    allowed_ = std::move(allowed);
    callback_ = Napi::Persistent(cb);
    async_context_ = std::make_unique<Napi::AsyncContext>(env, "via-net:connect");
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    uv_poll_init(loop, poll_, fd_);
    poll_->data = this;
    uv_poll_start(poll_, UV_READABLE | UV_DISCONNECT, OnReply);
    self_ref_ = Napi::Persistent(Value());  // stay alive until the reply or cancel
    return 0;
  }

 private:
  static void OnReply(uv_poll_t* handle, int status, int) {
    auto* self = static_cast<ConnectRequestWrap*>(handle->data);
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    WireMessage reply;
    int fds[2] = {-1, -1};
    int nfds = 0;
    ssize_t n = status < 0 ? -ECONNRESET : RecvWire(self->fd_, &reply, fds, 2, &nfds);
    if (n == -EAGAIN) return;
    int err = 0;
    std::unique_ptr<ShmVi> vi;
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    if (n <= 0 || !ValidWire(reply, n, WireType::kReply)) {
      err = n < 0 ? int(-n) : ECONNREFUSED;
    } else if (reply.status != 0) {
      err = reply.status > 0 && reply.status < 4096 ? reply.status : ECONNREFUSED;
    } else if (nfds != 2 || !PeerCredentials(self->fd_, &pid, &uid, &gid) || !UidAllowed(uid, self->allowed_)) {
      err = nfds != 2 ? EBADMSG : EACCES;
    } else {
      SegmentLayout peer_layout{reply.depth, reply.slot_size};
      MappedSegment peer;
      if (!SegmentLayout::Valid(reply.depth, reply.slot_size) || !CheckDoorbellFd(fds[1])) {
        err = EBADMSG;
      } else if (int rc = MapPeerSegment(fds[0], peer_layout, &peer); rc != 0) {
        err = -rc;
      } else {
        int doorbell = dup(fds[1]);
        if (doorbell < 0) {
          err = errno;
          UnmapSegment(&peer);
        } else {
          vi = std::make_unique<ShmVi>(self->own_, peer, doorbell);
          self->own_ = MappedSegment{};  // now owned by the VI
        }
      }
    }
    CloseFds(fds, nfds);
    Napi::Function cb = self->callback_.Value();
    Napi::Object recv = self->Value();
    // Hand the fd over to the VI only after our poll handle on it is closed: libuv keeps one
    // watcher per fd, and closing the old handle later would unregister the VI's.
    int fd = self->fd_;
    self->fd_ = -1;
    self->Finish();
    std::vector<napi_value> args;
    if (err != 0) {
      close(fd);
      args = {ErrnoError(env, err, "connect").Value()};
    } else {
      auto entry = self->cq_->core()->AddVi(std::move(vi), fd);  // the fd stays open for liveness
      args = {env.Null(), env.GetInstanceData<Addon>()->NewVi(env, entry),
              Napi::Buffer<uint8_t>::Copy(env, reply.payload, reply.payload_length)};
    }
    CallIntoJs(env, recv, cb, args, *self->async_context_);
  }

  void Finish() {
    if (poll_) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    UnmapSegment(&own_);
    if (!self_ref_.IsEmpty()) self_ref_.Reset();
    // The callback's closure reaches the whole connection (socket, engine, buffers): a strong
    // reference kept after the answer would pin every connection ever made.
    if (!callback_.IsEmpty()) callback_.Reset();
  }

  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    Finish();
    return info.Env().Undefined();
  }

  int fd_ = -1;
  SegmentLayout layout_;
  MappedSegment own_;
  CompletionQueueWrap* cq_ = nullptr;
  Napi::ObjectReference cq_ref_;
  Napi::ObjectReference self_ref_;
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
  std::set<uid_t> allowed_;
  uv_poll_t* poll_ = nullptr;
};

Addon::Addon(Napi::Env env, Napi::Object exports) {
  // Worker threads unload addons before libuv runs our handles' close callbacks.
  via::PinThisLibrary(reinterpret_cast<const void*>(&ViWrap::Define));
  Napi::Function vi = ViWrap::Define(env);
  Napi::Function req = IncomingRequestWrap::Define(env);
  vi_ctor = Napi::Persistent(vi);
  request_ctor = Napi::Persistent(req);
  connect_ctor_ = Napi::Persistent(ConnectRequestWrap::Define(env));
  DefineAddon(exports, {
                           InstanceMethod("attrs", &Addon::Attrs),
                           InstanceMethod("setMaxTransferSize", &Addon::SetMaxTransferSize),
                           InstanceMethod("netns", &Addon::Netns),
                           InstanceMethod("connect", &Addon::Connect),
                           InstanceValue("CompletionQueue", CompletionQueueWrap::Define(env)),
                           InstanceValue("Listener", ListenerWrap::Define(env)),
                           InstanceValue("Vi", vi),
                       });
  env.AddCleanupHook([this]() {
    // Rendezvous entries of listeners still open at exit would look stale to the next process;
    // remove them now (a SIGKILLed process cannot, and the next listener replaces the entry).
    for (const std::string& path : listening_paths) unlink(path.c_str());
  });
}

Napi::Value Addon::Attrs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("maxTransferSize", Napi::Number::New(env, g_max_transfer_size));
  o.Set("maxRecvDepth", Napi::Number::New(env, kMaxDepth));
  // Sends complete synchronously (the emulator copies at post time), so no send queue builds up.
  o.Set("maxSendDepth", Napi::Number::New(env, kMaxDepth));
  o.Set("maxPayload", Napi::Number::New(env, kMaxPayload));
  return o;
}

Napi::Value Addon::SetMaxTransferSize(const Napi::CallbackInfo& info) {
  uint32_t size;
  if (!CheckArgs(info, 1, "(size)") || !GetUint32(info, 0, "size", &size)) return info.Env().Undefined();
  if (!SegmentLayout::Valid(1, size)) {
    CodedError(info.Env(), "ERR_OUT_OF_RANGE", "maxTransferSize must be a multiple of 64 in [64, 1 MiB]")
        .ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  g_max_transfer_size = size;
  return info.Env().Undefined();
}

Napi::Value Addon::Netns(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(NetnsInode()));
}

// connect(cq, path, depth, slotSize, payload, allowUids, callback(err, vi, payload)) -> ConnectRequest
// Throws synchronously (with an errno code) when the attempt cannot even start: ENOENT when no
// listener is registered, ECONNREFUSED for a stale entry. Nothing blocks.
Napi::Value Addon::Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t depth, slot_size;
  WireMessage hello{};
  std::set<uid_t> allowed;
  if (!CheckArgs(info, 7, "(cq, path, depth, slotSize, payload, allowUids, callback)")) return env.Undefined();
  if (!info[0].IsObject() || !info[1].IsString() || !info[6].IsFunction()) {
    CodedError(env, "ERR_INVALID_ARG_TYPE", "expected (CompletionQueue, string, ..., function)", true)
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!GetUint32(info, 2, "depth", &depth) || !GetUint32(info, 3, "slotSize", &slot_size) ||
      !GetPayload(info, 4, &hello) || !GetUidList(info, 5, &allowed))
    return env.Undefined();
  if (!SegmentLayout::Valid(depth, slot_size)) {
    CodedError(env, "ERR_OUT_OF_RANGE", "invalid receive depth or slot size").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* cq = CompletionQueueWrap::Unwrap(info[0].As<Napi::Object>());
  if (!cq || !cq->core() || cq->core()->closed()) {
    CodedError(env, "ERR_SOCKET_CLOSED", "completion queue is closed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object req = connect_ctor_.New({});
  int err = ConnectRequestWrap::Unwrap(req)->Start(env, cq, info[0].As<Napi::Object>(), info[1].As<Napi::String>(),
                                                   depth, slot_size, hello, std::move(allowed),
                                                   info[6].As<Napi::Function>());
  if (err != 0) {
    ErrnoError(env, err, "connect").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return req;
}

}  // namespace
}  // namespace via

using ViaShmAddon = via::Addon;
NODE_API_ADDON(ViaShmAddon)
