// Lint for the TypeScript runtime (lib/): ESLint's and typescript-eslint's recommended rules.
// Run with `npm run lint`; CI runs it before the tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', '.ci/**', 'test/**', 'benchmarks/**', 'scripts/**', 'native/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['lib/**/*.ts', 'lib/**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', Buffer: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setImmediate: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', queueMicrotask: 'readonly', globalThis: 'readonly', require: 'readonly', module: 'readonly', __dirname: 'readonly', __filename: 'readonly' },
    },
    rules: {
      // The facade subclasses and patches node's untyped internals (net.Socket's private fields,
      // handles, http2's and tls's hooks): `any` there is the honest type, not a shortcut.
      '@typescript-eslint/no-explicit-any': 'off',
      // Loading on first use is deliberate here: the native addons by path (they may be absent),
      // and modules the preload must not load before it has patched net (register.ts), or that
      // most processes never need (cluster, tls, undici's parts).
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
);
