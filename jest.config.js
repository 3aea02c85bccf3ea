// Three layers (docs/testing.md): unit specs beside the code, integration specs
// against real servers, e2e through the running processes. All share one transform
// that keeps decorator metadata (ts-jest, full compiler, same tsconfig as the build).
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('./tsconfig.json');

const shared = {
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
  testEnvironment: 'node',
  rootDir: __dirname,
};

module.exports = {
  // Integration and e2e hooks start real servers; on a busy 2-core machine that can take a while.
  testTimeout: 60_000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: [
        '<rootDir>/{apps,libs}/**/*.int-spec.ts',
        '<rootDir>/{scripts,tools}/**/*.int-spec.ts',
      ],
    },
    { ...shared, displayName: 'e2e', testMatch: ['<rootDir>/test/standalone/**/*.e2e-spec.ts'] },
    // The split deployment's fault suite (nginx, Redis shards, worker, MongoDB-wire;
    // Cassandra with STORE=cassandra). `npm test` runs it on both stores (scripts/test.sh);
    // `npm run test:split` / `npm run test:split:cassandra` run it alone. The global setup
    // installs the servers once, before any spec's beforeAll starts a stack.
    {
      ...shared,
      displayName: 'e2e-split',
      testMatch: ['<rootDir>/test/split/**/*.e2e-spec.ts'],
      // Specs that only mean something on one store are left out on the other,
      // rather than skipped inside: ingest-without-event-store stops the separate
      // event store, which exists only with STORE=cassandra (with STORE=mongo events
      // and metadata share one server). scripts/test.sh runs the project once per store.
      testPathIgnorePatterns: [
        '/node_modules/',
        ...(process.env.STORE === 'cassandra' ? [] : ['/test/split/ingest-without-event-store\\.']),
      ],
      globalSetup: '<rootDir>/test/support/split-global-setup.ts',
    },
  ],
};
