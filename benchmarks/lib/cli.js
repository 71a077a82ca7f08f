'use strict';
/** What the app benchmarks (ftp, http, apps) share: where register is, and `--name value` options. */
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const REGISTER = path.join(ROOT, 'dist', 'register.js');

/** The value after `--name` on the command line, or `dflt`. */
function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

module.exports = { ROOT, REGISTER, arg };
