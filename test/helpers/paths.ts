import path from 'node:path';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '..', '..');
/** Where tests keep their databases and data folders (ignored by git). */
export const TEST_DATA = path.join(ROOT, '.test-data');
/** The compiled server, built once by the global setup. */
export const MAIN_JS = path.join(ROOT, 'dist', 'src', 'main.js');
/**
 * The key-encryption key every test server and process uses unless a test sets its own, so
 * servers sharing a database (two instances, a restart) open each other's data keys.
 */
export const TEST_DATA_ENCRYPTION_KEYS = `test:${Buffer.alloc(32, 7).toString('base64')}`;
