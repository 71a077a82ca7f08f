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

module.exports = { underAddressSanitizer, checkRss };
