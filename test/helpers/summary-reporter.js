// Writes the run's totals to test-results.json, from which .ci/run prints its closing line, and
// ends the output with what was skipped for a missing prerequisite, and why (see prereq.ts).
const fs = require('node:fs');
const path = require('node:path');

const SKIP_PREFIX = 'skipped: ';
const SKIP_SEPARATOR = ' | ';

/** Counts skipped tests by the reason their skipped block's title gives. */
function skipReasons(results) {
  const reasons = new Map();
  for (const file of results.testResults) {
    for (const test of file.testResults) {
      if (test.status !== 'pending') continue;
      const title = test.ancestorTitles.find((t) => t.startsWith(SKIP_PREFIX));
      const reason = title ? title.slice(SKIP_PREFIX.length).split(SKIP_SEPARATOR)[0] : 'skipped in the test file';
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
  }
  return reasons;
}

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const reasons = skipReasons(results);
    const summary = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
      suites: results.numTotalTestSuites,
      skipReasons: Object.fromEntries(reasons),
    };
    // `npm run test:browser` and `npm run test:resilience` write their own files, so .ci/run can add the runs up.
    const file = process.env.PARLEY_TEST_RESULTS || 'test-results.json';
    fs.writeFileSync(path.join(__dirname, '..', '..', file), `${JSON.stringify(summary)}\n`);
    const named = [...reasons].map(([reason, n]) => `${n} skipped: ${reason}`).join('; ');
    // Printed as the very last line, after Jest's own summary (stdout writes are synchronous on exit).
    process.once('exit', () => process.stdout.write(`${summary.passed} passed, ${summary.failed} failed${named ? `; ${named}` : ''}\n`));
  }
}

module.exports = SummaryReporter;
