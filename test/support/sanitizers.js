'use strict';
// True when the native addon runs under AddressSanitizer (npm run test:asan preloads it). ASan's
// quarantine keeps freed memory resident on purpose, so RSS bounds say nothing there.
function underAddressSanitizer() {
  return (process.env.LD_PRELOAD || '').includes('libasan');
}

/** Runs `check` unless under ASan, where it prints why the RSS bound is skipped. */
function checkRss(check) {
  if (underAddressSanitizer()) {
    console.log('      RSS bound not checked under AddressSanitizer (its quarantine keeps freed memory resident)');
  } else {
    check();
  }
}

/**
 * A time bound for a check that is about speed, not memory: `ms` normally; three times that
 * under ASan, whose instrumented addon runs several times slower. The bound itself (e.g. peer
 * death seen within 100 ms) is asserted at full strength by the ordinary run on every Node line.
 */
function timeBound(ms) {
  return underAddressSanitizer() ? 3 * ms : ms;
}

module.exports = { underAddressSanitizer, checkRss, timeBound };
