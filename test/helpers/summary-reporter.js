// Writes the run's totals to test-results.json, from which .ci/run prints its closing line.
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const summary = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
      suites: results.numTotalTestSuites,
    };
    fs.writeFileSync(path.join(__dirname, '..', '..', 'test-results.json'), `${JSON.stringify(summary)}\n`);
  }
}

module.exports = SummaryReporter;
