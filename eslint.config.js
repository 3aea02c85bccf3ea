// Flat config: typescript-eslint's recommended rules over the whole workspace, and
// the repository's boundary rules (tools/eslint/boundaries.js; docs/testing.md).
const tseslint = require('typescript-eslint');
const boundaries = require('./tools/eslint/boundaries');

module.exports = tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.stack/**',
      'data/**',
      'tools/mongo-server/**',
      'tools/no-native-msgpackr/**',
      // Snippets that break the boundary rules on purpose.
      'tools/eslint/fixtures/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    plugins: { boundaries },
    rules: {
      'boundaries/no-relative-cross-unit': 'error',
      'boundaries/driver-in-adapter': 'error',
      'boundaries/no-nest-in-pure-libs': 'error',
      'boundaries/ingest-no-event-store': 'error',
      'boundaries/libs-no-app-imports': 'error',
    },
  },
  {
    // Request, beacon, parameter and stored JSON goes through the one safe
    // parser (libs/events/src/json-text.ts), which refuses a `__proto__` key;
    // a bare JSON.parse would build objects from tenant text unchecked.
    files: ['apps/**/*.ts', 'libs/**/*.ts'],
    ignores: ['**/*.spec.ts', '**/*.int-spec.ts', '**/testing/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'JSON',
          property: 'parse',
          message: 'Parse JSON with parseJsonText (@app/events): it refuses __proto__ keys.',
        },
      ],
    },
  },
);
