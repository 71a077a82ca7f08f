// N-API helpers shared by both addons (shm and verbs): coded errors as node builds them, argument
// checks with node's codes, and the one way native code calls back into JavaScript.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace via {

// An Error (or TypeError) with node's `code` property.
inline Napi::Error CodedError(Napi::Env env, const char* code, const std::string& message, bool type_error = false) {
  Napi::Error err = type_error ? Napi::TypeError::New(env, message) : Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

// The one errno -> code mapping of both addons: libuv's name for a positive errno (on Linux a
// libuv error is -errno), the same name node gives it (util.getSystemErrorName; the verbs
// provider's connect errors, lib/providers/verbs.ts connectError, are named that way too).
// An errno libuv has no name for (EBADMSG, ETIME, ...) is an I/O error to the caller: "EIO".
inline std::string ErrnoCode(int err) {
  char name[64];
  // uv_err_name_r, not uv_err_name, which allocates (and leaks) the text for an unknown code.
  uv_err_name_r(-err, name, sizeof name);
  return name[0] == 'E' ? name : "EIO";
}

// A system error as node reports one: `code` from ErrnoCode, `errno` negative, the message
// "<what>: <strerror>". `err` is a positive errno.
inline Napi::Error ErrnoError(Napi::Env env, int err, const std::string& what) {
  Napi::Error e = CodedError(env, ErrnoCode(err).c_str(), what + ": " + std::strerror(err));
  e.Set("errno", Napi::Number::New(env, -err));
  return e;
}

inline bool CheckArgs(const Napi::CallbackInfo& info, size_t count, const char* usage) {
  if (info.Length() < count) {
    CodedError(info.Env(), "ERR_MISSING_ARGS", std::string("expected ") + usage, true).ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// A non-negative integer that fits 32 bits, or a thrown ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE.
inline bool GetUint32(const Napi::CallbackInfo& info, size_t i, const char* name, uint32_t* out) {
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

// Calls into JavaScript from a libuv callback. An exception thrown by the callback becomes an
// uncaught exception of the process, as for a net.Socket listener. Returns false when the
// environment can no longer run JavaScript (it is being torn down at exit): the caller must stop
// delivering, and must not throw, which would abort the process.
inline bool CallIntoJs(Napi::Env env, napi_value recv, napi_value fn, const std::vector<napi_value>& args,
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

}  // namespace via
