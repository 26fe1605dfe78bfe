import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { API_MD } from '../foundation/contract';
import { ROOT } from './paths';

/**
 * Tests that need something outside the repository are skipped with a one-line reason when it is
 * missing, so a lone clone's `npm test` passes on Node and npm alone. CI sets
 * PARLEY_TEST_REQUIRE_ALL=1, under which a missing prerequisite fails the run instead.
 */
const REQUIRE_ALL = process.env.PARLEY_TEST_REQUIRE_ALL === '1';

/** The title prefix of a skipped block; the summary reporter reads the reason from it. */
export const SKIP_PREFIX = 'skipped:';
/** Separates the reason from the block's own title. */
export const SKIP_SEPARATOR = ' | ';

/** Something a test needs from outside the repository: `missing()` says why it is absent, or undefined. */
export interface Prerequisite {
  missing(): string | undefined;
}

function onPath(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Debian's redis-server, for the two-instance tests. */
export const REDIS_SERVER: Prerequisite = {
  missing: () => (onPath('redis-server') ? undefined : 'redis-server is not installed (apt-get install redis-server)'),
};

/** The public contract, ../shared/API.md beside the clone. */
export const CONTRACT_FILE: Prerequisite = {
  missing: () => (fs.existsSync(API_MD) ? undefined : `the contract file ${API_MD} is not beside the clone`),
};

/** The browser the browser tests drive: PARLEY_CHROMIUM, or Debian's `chromium` package. */
export const CHROMIUM_PATH = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium';

/** A Chromium to run headless (test/helpers/browser.ts). */
export const CHROMIUM: Prerequisite = {
  missing: () => (fs.existsSync(CHROMIUM_PATH) ? undefined : 'no chromium browser (apt-get install chromium)'),
};

/** The built reference client, `web/dist` (what `npm run web:build` writes and .ci/run builds). */
export const WEB_DIST = path.join(ROOT, 'web', 'dist');

/** The reference client built, for browser tests of the real app. */
export const WEB_BUILD: Prerequisite = {
  missing: () => (fs.existsSync(path.join(WEB_DIST, 'index.html')) ? undefined : 'the web client is not built (npm run web:build)'),
};

/** `describe` when every prerequisite is there; otherwise skipped with its reason, or failed under PARLEY_TEST_REQUIRE_ALL=1. */
export function describeWith(prerequisites: Prerequisite[], title: string, fn: () => void): void {
  const missing = prerequisites.map((p) => p.missing()).find((m) => m !== undefined);
  if (!missing) {
    describe(title, fn);
  } else if (REQUIRE_ALL) {
    describe(title, () => {
      it('has its prerequisites', () => {
        throw new Error(`${missing}; PARLEY_TEST_REQUIRE_ALL=1 forbids skipping`);
      });
    });
  } else {
    describe.skip(`${SKIP_PREFIX} ${missing}${SKIP_SEPARATOR}${title}`, fn);
  }
}
