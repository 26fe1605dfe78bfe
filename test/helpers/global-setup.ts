import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createLogger } from '../../src/logging/logger';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded-postgres';
import { ROOT, TEST_DATA } from './paths';

declare global {
  // eslint-disable-next-line no-var
  var __PARLEY_TEST_PG__: EmbeddedPostgres | undefined;
}

/**
 * Builds the server once (lifecycle tests run the compiled `npm start` artifact) and starts one
 * embedded PostgreSQL for the whole run; each test file makes its own database inside it.
 */
export default async function globalSetup(): Promise<void> {
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  fs.rmSync(TEST_DATA, { recursive: true, force: true });
  fs.mkdirSync(TEST_DATA, { recursive: true, mode: 0o711 });
  const logger = createLogger({ level: 'warn' });
  const pg = await startEmbeddedPostgres({ dataDir: path.join(TEST_DATA, 'shared-pg'), logger });
  globalThis.__PARLEY_TEST_PG__ = pg;
  process.env.PARLEY_TEST_PG_URL = pg.url;
}
