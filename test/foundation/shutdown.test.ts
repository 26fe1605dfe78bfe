import { SlowFixtureResolver, fixtureCalls } from '../helpers/fixture.resolver';
import { gql, startTestServer } from '../helpers/server';

describe('graceful stop', () => {
  it('lets an in-flight HTTP request finish, then refuses new connections', async () => {
    const t = await startTestServer({ extraResolvers: [SlowFixtureResolver] });
    try {
      const before = fixtureCalls.slowStarted;
      const inFlight = gql(t.graphqlUrl, '{ fixtureSlow(ms: 600) }');
      while (fixtureCalls.slowStarted === before) await new Promise((r) => setTimeout(r, 10)); // the resolver is running
      const stopped = t.server.stop();
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(res.body.data.fixtureSlow).toBe('finished');
      await stopped;
      await expect(fetch(`${t.url}/healthz`)).rejects.toThrow();
    } finally {
      await t.close();
    }
  });
});

describe('database connections', () => {
  it('carry the configured statement_timeout', async () => {
    const t = await startTestServer({ env: { DB_STATEMENT_TIMEOUT_MS: '1234' } });
    try {
      const rows = await t.db.orm.em.getConnection().execute<{ statement_timeout: string }[]>('show statement_timeout');
      expect(rows[0].statement_timeout).toBe('1234ms');
      await expect(t.db.orm.em.getConnection().execute('select pg_sleep(3)')).rejects.toThrow(/statement timeout/);
    } finally {
      await t.close();
    }
  });
});
