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
);
