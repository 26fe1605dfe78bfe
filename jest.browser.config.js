// The browser tests (test/browser: Chromium driving the built web client against real servers),
// run by `npm test` after the rest. One worker, apart from the other tests: a browser and its
// server load both cores, which would starve the concurrency tests of the main run.
const base = require('./jest.config.js');

const integration = base.projects.find((p) => p.displayName === 'integration');

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...integration,
      displayName: 'browser',
      roots: ['<rootDir>/test/browser'],
      testPathIgnorePatterns: ['/node_modules/'],
    },
  ],
  reporters: base.reporters,
  testTimeout: 120_000,
  maxWorkers: 1,
  openHandlesTimeout: base.openHandlesTimeout,
};
