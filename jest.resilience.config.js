// The resilience suite (`npm run test:resilience`, run by .ci/run after `npm test`): long tests that
// break parts of the system under load (PostgreSQL, Redis, the upstream provider, hundreds of
// streams, fuzzed inputs). One worker: several of them stop shared services or load both cores.
const base = require('./jest.config.js');

const integration = base.projects.find((p) => p.displayName === 'integration');

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...integration,
      displayName: 'resilience',
      roots: ['<rootDir>/test/resilience'],
      testPathIgnorePatterns: ['/node_modules/'],
    },
  ],
  reporters: base.reporters,
  testTimeout: 240_000,
  maxWorkers: 1,
  openHandlesTimeout: base.openHandlesTimeout,
};
