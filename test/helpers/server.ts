import type { ResolverClass } from '../../src/schema';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config';
import { TEST_DATA_ENCRYPTION_KEYS } from './paths';
import { cipherOf, type SealedColumn } from '../../src/crypto/cipher';
import { openDatabase, type Database } from '../../src/db/orm';
import { ENTITIES, SEALED_ENTITIES } from '../../src/entities';
import { createLogger } from '../../src/logging/logger';
import { startServer, type AppServer } from '../../src/server';
import { fixtureRules } from './fixture.resolver';
import { TEMPLATE_DATABASE } from './global-setup';

/** A log sink a test can read: every JSON line the server wrote. */
export class LogCapture {
  readonly stream = new PassThrough();
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];
  private buffer = '';

  constructor() {
    this.stream.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString();
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (!line.trim()) continue;
        this.raw.push(line);
        this.lines.push(JSON.parse(line) as Record<string, unknown>);
      }
    });
  }

  find(pred: (l: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
    return this.lines.find(pred);
  }

  /** Waits (briefly) for a line matching `pred`; log writes are asynchronous. */
  async waitFor(pred: (l: Record<string, unknown>) => boolean, timeoutMs = 3000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error('log line not seen');
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export interface TestServer {
  url: string;
  graphqlUrl: string;
  wsUrl: string;
  config: Config;
  db: Database;
  server: AppServer;
  logs: LogCapture;
  close(): Promise<void>;
}

function sharedPgUrl(): string {
  const url = process.env.PARLEY_TEST_PG_URL;
  if (!url) throw new Error('PARLEY_TEST_PG_URL is not set: run tests through jest (global setup starts PostgreSQL)');
  return url;
}

/**
 * Creates a database on the shared test cluster and returns its URL: empty, or with `migrated`
 * a copy of the template the global setup migrated (the server then finds nothing to apply).
 */
export async function createTestDatabase(opts: { migrated?: boolean } = {}): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = sharedPgUrl();
  const name = `t_${randomBytes(6).toString('hex')}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(opts.migrated ? `CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}` : `CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const d = new pg.Client({ connectionString: admin });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}

/**
 * Starts a real server on a free port over a fresh, migrated database of its own (a template copy).
 * `env` is applied on top of test defaults, exactly as the process environment would be.
 */
export async function startTestServer(
  opts: { env?: Record<string, string>; databaseUrl?: string; extraResolvers?: ResolverClass[] } = {},
): Promise<TestServer> {
  const database = opts.databaseUrl ? undefined : await createTestDatabase({ migrated: true });
  const config = loadConfig({
    APP_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    SECRET_KEY: randomBytes(32).toString('hex'),
    DATA_ENCRYPTION_KEYS: TEST_DATA_ENCRYPTION_KEYS,
    CAPTCHA_DIFFICULTY: '1000',
    RATE_LIMIT_SCALE: '100', // every test client is 127.0.0.1; limit tests set their own scale
    DATABASE_URL: opts.databaseUrl ?? database!.url,
    ...opts.env,
  });
  const logs = new LogCapture();
  const logger = createLogger({ level: config.logLevel, stream: logs.stream });
  const db = await openDatabase(config, logger, { entities: ENTITIES, sealed: SEALED_ENTITIES });
  let server: AppServer;
  try {
    server = await startServer({
      config,
      logger,
      db,
      extraResolvers: opts.extraResolvers,
      extraRules: opts.extraResolvers ? fixtureRules(opts.extraResolvers) : undefined,
    });
  } catch (err) {
    await db.close();
    await database?.drop();
    throw err;
  }
  return {
    url: server.url,
    graphqlUrl: `${server.url}/graphql`,
    wsUrl: `${server.url.replace(/^http/, 'ws')}/graphql`,
    config,
    db,
    server,
    logs,
    async close() {
      await server.stop();
      await db.close();
      await database?.drop();
    },
  };
}

/** POSTs a GraphQL operation as a browser app would (JSON), returning status, headers and body. */
export async function gql(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: { data?: any; errors?: any; extensions?: any } }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) };
}

/**
 * Starts a test server for the enclosing `describe` (beforeAll) and closes it (afterAll).
 * Returns a stand-in that forwards to the running server, for use inside tests.
 */
export function useTestServer(opts: Parameters<typeof startTestServer>[0] = {}): TestServer {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(opts);
  });
  afterAll(async () => {
    await server?.close();
  });
  return new Proxy({} as TestServer, {
    get(_target, prop) {
      if (!server) throw new Error('the test server is not running (use it inside a test)');
      return server[prop as keyof TestServer];
    },
  });
}

/** Runs SQL on the server's database, outside any request. */
export function sql(t: TestServer, query: string, params: unknown[] = []): Promise<any[]> {
  return t.db.orm.em.fork().getConnection().execute(query, params);
}

/** Polls `url` (e.g. /readyz) until it answers `status`, or fails after `timeoutMs` naming the last status. */
export async function waitForStatus(url: string, status: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    last = (await fetch(url)).status;
    if (last === status) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${new URL(url).pathname} stayed ${last}, wanted ${status}`);
}

/** A sealed column's stored value as the API reads it (src/crypto), for tests that check what was stored. */
export function unseal(t: TestServer, column: SealedColumn, rowId: string, stored: string | null): Promise<string | null> {
  return cipherOf(t.db.orm.em).openText(column, rowId, stored);
}

/** `plain` sealed as the server would store it in `column` of row `rowId` owned by `ownerId` (for tests that write rows directly). */
export function seal(t: TestServer, ownerId: string, column: SealedColumn, rowId: string, plain: string): Promise<string> {
  return cipherOf(t.db.orm.em).sealText(ownerId, column, rowId, plain);
}
