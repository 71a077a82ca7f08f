// Keeps an addon's shared library mapped for the life of the process.
//
// A worker thread that loaded an addon unloads it when the thread ends, but libuv runs the close
// callbacks of the addon's handles (closed by the finalizers at teardown) after that: they would
// jump into unmapped code. Pinning the library with RTLD_NODELETE prevents that; calling it from
// each addon's init is enough, since it only adds a reference once per process.
#pragma once

#include <dlfcn.h>

#include <mutex>

namespace via {

inline void PinThisLibrary(const void* address_in_library) {
  static std::once_flag once;
  std::call_once(once, [address_in_library] {
    Dl_info info;
    if (dladdr(address_in_library, &info) != 0 && info.dli_fname != nullptr)
      dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
  });
}

}  // namespace via
