// Two projects: `unit` (test/unit: pure functions, no database, no server, no global setup; runs in
// seconds, `npm run test:unit`) and `integration` (everything else, over one shared PostgreSQL).
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  setupFiles: ['reflect-metadata'],
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      roots: ['<rootDir>/test/unit'],
      testMatch: ['**/*.test.ts'],
    },
    {
      ...shared,
      displayName: 'integration',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/unit/', '<rootDir>/test/resilience/', '<rootDir>/test/browser/'],
      globalSetup: '<rootDir>/test/helpers/global-setup.ts',
      globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
    },
  ],
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.js'],
  testTimeout: 60_000,
  maxWorkers: 2,
  // Children spawned by lifecycle tests and sockets are all closed in afterAll; a hang is a bug to see.
  openHandlesTimeout: 5_000,
};
