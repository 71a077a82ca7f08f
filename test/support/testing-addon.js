'use strict';
// The shm addon's test build (binding.gyp target via_shm_testing) has the hooks the fault tests
// need (Vi.scribble) and the production addon does not. A test process that scribbles requires
// this first, before via-net: it points VIA_NET_ADDON at the test build next to the addon it
// would have loaded (build/Release, or the AddressSanitizer build under test:asan).
const path = require('node:path');

const current = process.env.VIA_NET_ADDON || path.join(__dirname, '..', '..', 'build', 'Release', 'via_shm.node');
process.env.VIA_NET_ADDON = path.join(path.dirname(current), 'via_shm_testing.node');

/** Writes garbage into shared memory through a provider VI, as a hostile peer could. */
function scribble(vi, which, seed) {
  vi.native.scribble(which, seed);
}

module.exports = { scribble };
