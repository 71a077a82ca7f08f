// N-API binding of the shm VI provider: a small, VIPL-like surface.
//
//   attrs()                                   provider attributes
//   new CompletionQueue(dispatch, meta, arena) completions of many VIs, readiness via libuv
//   new Listener(cq, path, allowUids, onRequest)   rendezvous listener; onRequest(req, payload, pid, uid, gid)
//   connect(cq, path, depth, slotSize, payload, allowUids, cb) -> ConnectRequest
//   netns()                                   this process's network namespace (inode number)
//   constants                                 the numbers of the records and statuses below
//   a Vi (made here, handed to onRequest and cb): postRecv(n), postSend(buf, off, len, imm) ->
//     status, close(), ref(), unref(); scribble() in the test build only (via_shm_testing)
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
#include "link_registry.h"
#include "napi_helpers.h"
#ifdef VIA_TESTING
#include "scribbler.h"  // the test build only (binding.gyp via_shm_testing)
#endif
#include "pin_library.h"
#include "rendezvous.h"
#include "shm_segment.h"
#include "shm_vi.h"

namespace via {
namespace {

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
  // An empty Buffer's data may be null, and memcpy from null is undefined even for 0 bytes.
  if (p.ByteLength()) std::memcpy(msg->payload, p.Data(), p.ByteLength());
  msg->payload_length = static_cast<uint32_t>(p.ByteLength());
  return true;
}

class Addon;
// The registries whose rendezvous files the environment's teardown removes (defined after Addon).
void TrackRegistry(Napi::Env env, LinkRegistry* registry, bool add);

// ------------------------------------------------------------------------------------------
class CompletionQueueWrap : public Napi::ObjectWrap<CompletionQueueWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "CompletionQueue",
                       {InstanceMethod<&CompletionQueueWrap::SetArena>("setArena"),
                        InstanceMethod<&CompletionQueueWrap::SetPollMode>("setPollMode"),
                        InstanceMethod<&CompletionQueueWrap::Poll>("poll"),
                        InstanceMethod<&CompletionQueueWrap::Stats>("stats"),
                        InstanceMethod<&CompletionQueueWrap::Links>("links"),
                        InstanceMethod<&CompletionQueueWrap::EntryLive>("entryLive"),
                        InstanceMethod<&CompletionQueueWrap::ProbeEntry>("probeEntry"),
                        InstanceMethod<&CompletionQueueWrap::RemoveRendezvousFiles>("removeRendezvousFiles"),
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
    registry_ = std::make_unique<LinkRegistry>(loop, core_.get());
    TrackRegistry(env, registry_.get(), true);
    SetArenaFrom(info[2]);
  }

  ~CompletionQueueWrap() override {
    if (registry_) TrackRegistry(Env(), registry_.get(), false);
    CloseAll();
  }

  CompletionQueueCore* core() { return core_.get(); }
  LinkRegistry* registry() { return registry_.get(); }
  bool usable() const { return core_ && !core_->closed() && registry_; }

 private:
  void CallDispatch() {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (!CallIntoJs(env, Value(), dispatch_.Value(), {}, *async_context_)) {
      // Exiting: nobody can take completions any more. Close the queue so its handles stop.
      CloseAll();
    }
  }

  void CloseAll() {
    // The VIs first (each tells its peer), then the links and the process socket.
    if (core_) core_->Close();
    if (registry_) registry_->Close();
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
    o.Set("spinNs", Napi::Number::New(info.Env(), double(core_->stats.spin_ns)));
    o.Set("spinBudgetNs", Napi::Number::New(info.Env(), double(core_->spin_budget_ns())));
    o.Set("completions", Napi::Number::New(info.Env(), double(core_->stats.completions)));
    o.Set("dispatches", Napi::Number::New(info.Env(), double(core_->stats.dispatches)));
    o.Set("trimmedBytes", Napi::Number::New(info.Env(), double(core_->stats.trimmed_bytes)));
    o.Set("vis", Napi::Number::New(info.Env(), double(core_->vi_count())));
    o.Set("links", Napi::Number::New(info.Env(), double(registry_ ? registry_->link_count() : 0)));
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
    CloseAll();
    return info.Env().Undefined();
  }

  // entryLive(path): could a listener answer at this rendezvous entry? (LinkRegistry::EntryLive)
  Napi::Value EntryLive(const Napi::CallbackInfo& info) {
    if (!PathArg(info)) return info.Env().Undefined();
    return Napi::Boolean::New(info.Env(), !registry_ || registry_->EntryLive(info[0].As<Napi::String>().Utf8Value()));
  }

  // probeEntry(path) -> constants.entry.{none, process, other} (LinkRegistry::ProbeEntry): one
  // readlink tells a connect both whether to try and whether the entry is a plain one.
  Napi::Value ProbeEntry(const Napi::CallbackInfo& info) {
    if (!PathArg(info)) return info.Env().Undefined();
    auto state = registry_ ? registry_->ProbeEntry(info[0].As<Napi::String>().Utf8Value())
                           : LinkRegistry::EntryState::kOther;
    return Napi::Number::New(info.Env(), static_cast<int>(state));
  }

  // The (path) argument of entryLive and probeEntry, checked. False on a JS error.
  bool PathArg(const Napi::CallbackInfo& info) {
    if (!CheckArgs(info, 1, "(path)")) return false;
    if (info[0].IsString()) return true;
    CodedError(info.Env(), "ERR_INVALID_ARG_TYPE", "The \"path\" argument must be of type string", true)
        .ThrowAsJavaScriptException();
    return false;
  }

  // removeRendezvousFiles(): for process.exit(), which skips the environment's teardown.
  Napi::Value RemoveRendezvousFiles(const Napi::CallbackInfo& info) {
    if (registry_) registry_->UnlinkFiles();
    return info.Env().Undefined();
  }

  // links(): the links this queue serves, for diagnostics and tests: [{ key, pid, uid, vis, up }].
  Napi::Value Links(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    if (!registry_) return out;
    uint32_t i = 0;
    registry_->ForEachLink([&](const Link& link) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("key", Napi::String::New(env, link.key()));
      o.Set("pid", Napi::Number::New(env, link.peer().pid));
      o.Set("uid", Napi::Number::New(env, link.peer().uid));
      o.Set("vis", Napi::Number::New(env, double(link.vi_count())));
      o.Set("up", Napi::Boolean::New(env, link.up()));
      out.Set(i++, o);
    });
    return out;
  }

  std::unique_ptr<CompletionQueueCore> core_;
  std::unique_ptr<LinkRegistry> registry_;
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
#ifdef VIA_TESTING
                        InstanceMethod<&ViWrap::Scribble>("scribble"),
#endif
                        InstanceMethod<&ViWrap::Close>("close"),
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

  // postSend(buf: Uint8Array, offset, length, imm, last?) -> 0 | negative SendStatus. `last`:
  // the VI's final packet, which need not wake the peer (see Vi.postSend).
  Napi::Value PostSend(const Napi::CallbackInfo& info) {
    uint32_t length, imm;
    const uint8_t* data;
    if (!SendArgs(info, &data, &length, &imm)) return info.Env().Undefined();
    bool last = info.Length() > 4 && info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
    return SendResult(info.Env(), entry_->vi->Send(data, length, imm, !last));
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

#ifdef VIA_TESTING
  // Test hook: scribble(which, seed) writes garbage into shared memory, as a hostile peer could:
  // 'own' / 'peer' this VI's ring on our side or the peer's, 'link-own' / 'link-peer' the region
  // header of our side or the peer's (shared by every VI of the link). Only for the fault tests;
  // harmless to everyone but this link.
  Napi::Value Scribble(const Napi::CallbackInfo& info) {
    uint32_t seed;
    if (!CheckArgs(info, 2, "(which, seed)") || !GetUint32(info, 1, "seed", &seed) || !Usable(info.Env()))
      return info.Env().Undefined();
    std::string which = info[0].ToString().Utf8Value();
    if (which == "peer") {
      ScribbleRing(entry_->vi->peer_ring(), seed);
    } else if (which == "own") {
      ScribbleRing(entry_->vi->own_ring(), seed);
    } else if ((which == "link-own" || which == "link-peer") && entry_->link) {
      ScribbleRegion(which == "link-own" ? entry_->link->own_region() : entry_->link->peer_region(), seed);
    } else {
      CodedError(info.Env(), "ERR_INVALID_ARG_VALUE", "which must be 'own', 'peer', 'link-own' or 'link-peer'", true)
          .ThrowAsJavaScriptException();
    }
    return info.Env().Undefined();
  }

#endif

  // close(quiet): `quiet` when the close handshake finished (the peer learns it lazily).
  Napi::Value Close(const Napi::CallbackInfo& info) {
    bool quiet = info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value();
    if (entry_) entry_->Close(quiet);
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
    if (entry_->link) out.Set("link", Napi::String::New(env, entry_->link->key()));
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
  std::set<LinkRegistry*> registries;  // their rendezvous files are removed at teardown

 private:
  Napi::Value Attrs(const Napi::CallbackInfo& info);
  Napi::Value Netns(const Napi::CallbackInfo& info);
  Napi::Value Connect(const Napi::CallbackInfo& info);
};

// ------------------------------------------------------------------------------------------
// A peer's OPEN, waiting for the listener's decision.
class IncomingRequestWrap : public Napi::ObjectWrap<IncomingRequestWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "IncomingRequest",
                       {InstanceMethod<&IncomingRequestWrap::Accept>("accept"),
                        InstanceMethod<&IncomingRequestWrap::Reject>("reject")});
  }
  explicit IncomingRequestWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IncomingRequestWrap>(info) {}
  ~IncomingRequestWrap() override { Answer(ECONNREFUSED); }

  void Init(const std::shared_ptr<Link>& link, const WireMessage& open, CompletionQueueWrap* cq, Napi::Object cq_obj) {
    link_ = link;
    open_ = open;
    cq_ = cq;
    cq_ref_ = Napi::Persistent(cq_obj);
  }

 private:
  // Refuses the request if it is still pending.
  void Answer(int status) {
    if (!link_) return;
    std::shared_ptr<Link> link = std::move(link_);
    link->Reject(open_, status);
  }

  // accept(depth, slotSize, payload) -> Vi
  Napi::Value Accept(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t depth, slot_size;
    WireMessage reply{};
    if (!CheckArgs(info, 3, "(depth, slotSize, payload)") || !GetUint32(info, 0, "depth", &depth) ||
        !GetUint32(info, 1, "slotSize", &slot_size) || !GetPayload(info, 2, &reply))
      return env.Undefined();
    if (!link_ || !cq_->usable()) {
      CodedError(env, "ERR_SOCKET_CLOSED", "connection request already answered").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!SegmentLayout::Valid(depth, slot_size)) {
      CodedError(env, "ERR_OUT_OF_RANGE", "invalid receive depth or slot size").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::shared_ptr<Link> link = std::move(link_);
    int err = 0;
    auto entry = link->Accept(open_, SegmentLayout{depth, slot_size}, reply.payload, reply.payload_length, &err);
    if (!entry) {
      ErrnoError(env, err, "accept").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return env.GetInstanceData<Addon>()->NewVi(env, entry);
  }

  Napi::Value Reject(const Napi::CallbackInfo& info) {
    Answer(ECONNREFUSED);
    return info.Env().Undefined();
  }

  std::shared_ptr<Link> link_;
  WireMessage open_{};
  CompletionQueueWrap* cq_ = nullptr;
  Napi::ObjectReference cq_ref_;
};

// ------------------------------------------------------------------------------------------
class ListenerWrap : public Napi::ObjectWrap<ListenerWrap>, public EntryListener {
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
    if (!cq_ || !cq_->usable()) {
      CodedError(env, "ERR_SOCKET_CLOSED", "completion queue is closed").ThrowAsJavaScriptException();
      return;
    }
    cq_ref_ = Napi::Persistent(info[0].As<Napi::Object>());
    path_ = info[1].As<Napi::String>().Utf8Value();
    on_request_ = Napi::Persistent(info[3].As<Napi::Function>());
    async_context_ = std::make_unique<Napi::AsyncContext>(env, "via-net:listener");
    int rc = cq_->registry()->Listen(path_, this);
    if (rc != 0) {
      ErrnoError(env, -rc, "listen " + path_).ThrowAsJavaScriptException();
      return;
    }
    listening_ = true;
    // A listener keeps the process alive until closed or unref'd, like a listening socket.
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    keepalive_ = new uv_async_t;
    uv_async_init(loop, keepalive_, nullptr);
    // Like a libuv handle wrap in Node: an open listener stays alive until closed, whether or
    // not JavaScript still holds it.
    self_ref_ = Napi::Persistent(Value());
  }

  ~ListenerWrap() override { Shutdown(); }

  bool Allows(uid_t uid) const override { return uid == geteuid() || allowed_.count(uid) > 0; }

  void OnOpen(const std::shared_ptr<Link>& link, const WireMessage& open) override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Object req = env.GetInstanceData<Addon>()->request_ctor.New({});
    IncomingRequestWrap::Unwrap(req)->Init(link, open, cq_, cq_ref_.Value());
    Napi::Buffer<uint8_t> payload = Napi::Buffer<uint8_t>::Copy(env, open.payload, open.payload_length);
    const Link::Peer& who = link->peer();
    if (!CallIntoJs(env, Value(), on_request_.Value(),
                    {req, payload, Napi::Number::New(env, who.pid), Napi::Number::New(env, who.uid),
                     Napi::Number::New(env, who.gid)},
                    *async_context_)) {
      Shutdown();  // exiting
    }
  }

 private:
  void Shutdown() {
    if (listening_ && cq_ && cq_->registry()) cq_->registry()->Unlisten(path_, this);
    listening_ = false;
    if (keepalive_) {
      uv_close(reinterpret_cast<uv_handle_t*>(keepalive_), [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
      keepalive_ = nullptr;
    }
    if (!self_ref_.IsEmpty()) self_ref_.Reset();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }
  Napi::Value Ref(const Napi::CallbackInfo& info) {
    if (keepalive_) uv_ref(reinterpret_cast<uv_handle_t*>(keepalive_));
    return info.Env().Undefined();
  }
  Napi::Value Unref(const Napi::CallbackInfo& info) {
    if (keepalive_) uv_unref(reinterpret_cast<uv_handle_t*>(keepalive_));
    return info.Env().Undefined();
  }

  CompletionQueueWrap* cq_ = nullptr;
  Napi::ObjectReference cq_ref_;
  Napi::ObjectReference self_ref_;
  Napi::FunctionReference on_request_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
  std::set<uid_t> allowed_;
  std::string path_;
  bool listening_ = false;
  uv_async_t* keepalive_ = nullptr;
};

// ------------------------------------------------------------------------------------------
// An outgoing connection: OPEN sent (or queued behind a new link's handshake), waiting for the
// listener's answer.
class ConnectRequestWrap : public Napi::ObjectWrap<ConnectRequestWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ConnectRequest", {InstanceMethod<&ConnectRequestWrap::Cancel>("cancel")});
  }
  explicit ConnectRequestWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ConnectRequestWrap>(info) {}
  ~ConnectRequestWrap() override { Finish(); }

  // Returns 0 or a positive errno (the connection attempt failed before it started).
  int Start(Napi::Env env, CompletionQueueWrap* cq, Napi::Object cq_obj, const std::string& path, uint32_t depth,
            uint32_t slot_size, const WireMessage& payload, const std::set<uid_t>& allowed, Napi::Function cb) {
    cq_ref_ = Napi::Persistent(cq_obj);
    callback_ = Napi::Persistent(cb);
    async_context_ = std::make_unique<Napi::AsyncContext>(env, "via-net:connect");
    int64_t token = cq->registry()->Open(
        path, SegmentLayout{depth, slot_size}, payload.payload, payload.payload_length, allowed,
        [this](int err, const std::shared_ptr<ViEntry>& entry, const WireMessage* accept) { Answered(err, entry, accept); },
        &link_);
    if (token < 0) {
      callback_.Reset();
      return int(-token);
    }
    token_ = token;
    self_ref_ = Napi::Persistent(Value());  // stay alive until the answer or cancel
    return 0;
  }

 private:
  void Answered(int err, const std::shared_ptr<ViEntry>& entry, const WireMessage* accept) {
    link_.reset();
    if (callback_.IsEmpty()) {
      if (entry) entry->Close();
      return;
    }
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Function cb = callback_.Value();
    Napi::Object recv = Value();
    std::vector<napi_value> args;
    if (err != 0 || !entry) {
      args = {ErrnoError(env, err ? err : ECONNREFUSED, "connect").Value()};
    } else {
      args = {env.Null(), env.GetInstanceData<Addon>()->NewVi(env, entry),
              Napi::Buffer<uint8_t>::Copy(env, accept->payload, accept->payload_length)};
    }
    std::unique_ptr<Napi::AsyncContext> context = std::move(async_context_);
    Finish();
    CallIntoJs(env, recv, cb, args, *context);
  }

  void Finish() {
    if (link_) {
      std::shared_ptr<Link> link = std::move(link_);
      link->CancelOpen(token_);
    }
    if (!self_ref_.IsEmpty()) self_ref_.Reset();
    // The callback's closure reaches the whole connection (socket, engine, buffers): a strong
    // reference kept after the answer would pin every connection ever made.
    if (!callback_.IsEmpty()) callback_.Reset();
  }

  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    Finish();
    return info.Env().Undefined();
  }

  std::shared_ptr<Link> link_;
  int64_t token_ = 0;
  Napi::ObjectReference cq_ref_;
  Napi::ObjectReference self_ref_;
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
};

Napi::Object Constants(Napi::Env env);

void TrackRegistry(Napi::Env env, LinkRegistry* registry, bool add) {
  Addon* addon = env.GetInstanceData<Addon>();
  if (!addon) return;
  if (add)
    addon->registries.insert(registry);
  else
    addon->registries.erase(registry);
}

Addon::Addon(Napi::Env env, Napi::Object exports) {
  // Worker threads unload addons before libuv runs our handles' close callbacks.
  via::PinThisLibrary(reinterpret_cast<const void*>(&ViWrap::Define));
  Napi::Function vi = ViWrap::Define(env);
  Napi::Function req = IncomingRequestWrap::Define(env);
  vi_ctor = Napi::Persistent(vi);
  request_ctor = Napi::Persistent(req);
  connect_ctor_ = Napi::Persistent(ConnectRequestWrap::Define(env));
  env.AddCleanupHook([this]() {
    // Rendezvous files of listeners still open at exit would look stale to the next process;
    // remove them now (a SIGKILLed process cannot, and the next listener replaces its entries).
    for (LinkRegistry* registry : registries) registry->UnlinkFiles();
  });
  DefineAddon(exports, {
                           InstanceMethod("attrs", &Addon::Attrs),
                           InstanceMethod("netns", &Addon::Netns),
                           InstanceMethod("connect", &Addon::Connect),
                           InstanceValue("CompletionQueue", CompletionQueueWrap::Define(env)),
                           InstanceValue("Listener", ListenerWrap::Define(env)),
                           InstanceValue("constants", Constants(env)),
                       });
}

// The numbers JavaScript decodes: completion records, send statuses, break reasons. Exported
// once from here so the TypeScript side never retypes them.
Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  auto set = [&](Napi::Object o, const char* key, int value) { o.Set(key, Napi::Number::New(env, value)); };
  set(c, "metaHeader", kMetaHeader);
  set(c, "metaFields", kMetaFields);
  set(c, "kindRecv", kKindRecv);
  set(c, "kindError", kKindError);
  set(c, "flagArenaFull", kFlagArenaFull);
  Napi::Object send = Napi::Object::New(env);
  set(send, "ok", kSendOk);
  set(send, "broken", kSendBroken);
  set(send, "noDescriptor", kSendNoDescriptor);
  set(send, "corrupt", kSendCorrupt);
  set(send, "tooLong", kSendTooLong);
  c.Set("send", send);
  Napi::Object reason = Napi::Object::New(env);
  set(reason, "peerGone", int(BreakReason::kPeerGone));
  set(reason, "noDescriptor", int(BreakReason::kNoDescriptor));
  set(reason, "corrupt", int(BreakReason::kCorrupt));
  set(reason, "localClose", int(BreakReason::kLocalClose));
  set(reason, "peerExited", int(BreakReason::kPeerExited));
  c.Set("reason", reason);
  Napi::Object entry = Napi::Object::New(env);
  set(entry, "none", int(LinkRegistry::EntryState::kNone));
  set(entry, "process", int(LinkRegistry::EntryState::kProcess));
  set(entry, "other", int(LinkRegistry::EntryState::kOther));
  c.Set("entry", entry);
  c.Set("pollMode", [&] {
    Napi::Object m = Napi::Object::New(env);
    set(m, "event", int(PollMode::kEvent));
    set(m, "adaptive", int(PollMode::kAdaptive));
    set(m, "busy", int(PollMode::kBusy));
    return m;
  }());
  return c;
}

Napi::Value Addon::Attrs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("maxTransferSize", Napi::Number::New(env, kDefaultMaxTransferSize));
  o.Set("maxRecvDepth", Napi::Number::New(env, kMaxDepth));
  // Sends complete synchronously (the emulator copies at post time), so no send queue builds up.
  o.Set("maxSendDepth", Napi::Number::New(env, kMaxDepth));
  return o;
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
  if (!cq || !cq->usable()) {
    CodedError(env, "ERR_SOCKET_CLOSED", "completion queue is closed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object req = connect_ctor_.New({});
  int err = ConnectRequestWrap::Unwrap(req)->Start(env, cq, info[0].As<Napi::Object>(), info[1].As<Napi::String>(),
                                                   depth, slot_size, hello, allowed,
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
