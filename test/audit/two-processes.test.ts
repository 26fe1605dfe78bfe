import { login, registerUser } from '../helpers/auth';
import { spawnServer, type ServerProcess } from '../helpers/process';
import { createTestDatabase, startTestServer } from '../helpers/server';

// Whole server processes (and their embedded PostgreSQL) per case: slow on a loaded 2-core machine.
jest.setTimeout(180_000);

describe('the audit chain across two processes', () => {
  let child: ServerProcess | undefined;
  afterAll(async () => {
    await child?.kill();
  });

  it('stays valid under 200 concurrent operations split across two server processes', async () => {
    const db = await createTestDatabase({ migrated: true }); // a template copy: neither server has migrations to run
    const secret = 'two-process-shared-secret-key-0123456789abcdef';
    const inProcess = await startTestServer({ databaseUrl: db.url, env: { SECRET_KEY: secret } });
    child = spawnServer({
      APP_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      SECRET_KEY: secret,
      CAPTCHA_DIFFICULTY: '1000',
      RATE_LIMIT_SCALE: '100',
    });
    const childUrl = `${(await child.waitFor((l) => l.message === 'ready')).url}/graphql`;
    try {
      const users = await Promise.all(Array.from({ length: 10 }, (_, i) => registerUser(i % 2 ? childUrl : inProcess.graphqlUrl)));
      const ops = Array.from({ length: 200 }, (_, i) => {
        const u = users[i % users.length];
        const url = i % 2 ? childUrl : inProcess.graphqlUrl;
        return login(url, u.email, i % 5 === 0 ? 'a wrong password here' : u.password);
      });
      const results = await Promise.all(ops);
      const unexpected = results.filter((r) => r.body.errors && !['UNAUTHENTICATED', 'ACCOUNT_LOCKED'].includes(r.body.errors[0].extensions.code));
      expect(unexpected).toHaveLength(0);
      const report = await inProcess.server.services.audit.verify(inProcess.db.orm.em.fork());
      expect(report).toMatchObject({ valid: true, firstBrokenSeq: null });
      expect(report.checked).toBeGreaterThanOrEqual(210);
    } finally {
      child.child.kill('SIGTERM');
      await child.exited;
      await inProcess.close();
    }
  });
});
