// The test-only `testing` object of the verbs addon: the pure conversions of wire.cc, callable
// from mocha on machines without an RDMA device (test/verbs-wire.test.js). Not used by via-net.
#pragma once

#include <napi.h>

namespace via {
namespace verbs {

Napi::Object MakeTestingBinding(Napi::Env env);

}  // namespace verbs
}  // namespace via
