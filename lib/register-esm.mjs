// via-net/register for `node --import via-net/register`: the same preload as the CommonJS one.
// Copied to dist/register.mjs by scripts/copy-esm.js. The CommonJS module does the work (it patches
// node:net's exports object and then calls module.syncBuiltinESMExports(), so named ESM imports of
// node:net see the patched functions too).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { report } = require('./register.js');

export { report };
