'use strict';
// Tests are plain CommonJS that exercise the compiled package in dist/ (npm test builds it first).
module.exports = {
  timeout: 60000,
  reporter: 'spec',
  exit: false,
};
