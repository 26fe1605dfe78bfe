import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createLogger } from '../../src/logging/logger';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded-postgres';
import { ROOT, TEST_DATA, TEST_DATA_ENCRYPTION_KEYS } from './paths';

declare global {
  var __PARLEY_TEST_PG__: EmbeddedPostgres | undefined;
}

/** The migrated database test servers are cloned from (CREATE DATABASE … TEMPLATE): migrations run once per run, not once per file. */
export const TEMPLATE_DATABASE = 'parley_test_template';

/**
 * Creates the template database on the shared cluster and brings it to the latest migration with
 * the compiled `npm run migrate` (in a child: the ORM must not load into Jest's own process, which
 * in-band test files share). Nothing connects to it afterwards.
 */
async function createTemplateDatabase(adminUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${TEMPLATE_DATABASE}`;
  const env = {
    PATH: process.env.PATH ?? '',
    APP_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATABASE_URL: url.toString(),
    SECRET_KEY: randomBytes(32).toString('hex'),
    DATA_ENCRYPTION_KEYS: TEST_DATA_ENCRYPTION_KEYS,
  };
  execFileSync(process.execPath, [path.join(ROOT, 'dist', 'src', 'migrate-cli.js'), 'up'], { cwd: ROOT, env, stdio: 'inherit' });
}

/**
 * Builds the server once (lifecycle tests run the compiled `npm start` artifact) and starts one
 * embedded PostgreSQL for the whole run with a migrated template database; each test file makes
 * its own database inside it.
 */
export default async function globalSetup(): Promise<void> {
  // `npm test` has just type-checked and emitted everything (src and test) in one tsc pass; a
  // direct `npx jest …` builds src here. Incremental: after no source change it takes seconds.
  if (process.env.PARLEY_TEST_BUILT !== '1') {
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--incremental', '--tsBuildInfoFile', path.join(ROOT, 'dist', '.tsbuildinfo')], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  }
  fs.rmSync(TEST_DATA, { recursive: true, force: true });
  fs.mkdirSync(TEST_DATA, { recursive: true, mode: 0o711 });
  const logger = createLogger({ level: 'warn' });
  const cluster = await startEmbeddedPostgres({ dataDir: path.join(TEST_DATA, 'shared-pg'), logger });
  globalThis.__PARLEY_TEST_PG__ = cluster;
  process.env.PARLEY_TEST_PG_URL = cluster.url;
  await createTemplateDatabase(cluster.url);
}
