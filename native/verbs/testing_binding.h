// The test-only `testing` object of the verbs addon: the pure conversions of wire.cc, callable
// from mocha on machines without an RDMA device (test/verbs-wire.test.js). Compiled only into the
// test build (binding.gyp target via_verbs_testing, which defines VIA_TESTING); via-net loads the
// production build (via_verbs), which does not have it.
#pragma once

#include <napi.h>

namespace via {
namespace verbs {

Napi::Object MakeTestingBinding(Napi::Env env);

}  // namespace verbs
}  // namespace via
