import { login, refresh, registerUser } from '../helpers/auth';
import { spawnServer, type ServerProcess } from '../helpers/process';
import { createTestDatabase, startTestServer } from '../helpers/server';

// Whole server processes (and their embedded PostgreSQL) per case: slow on a loaded 2-core machine.
jest.setTimeout(180_000);

describe('the audit chain across two processes', () => {
  let child: ServerProcess | undefined;
  afterAll(async () => {
    await child?.kill();
  });

  it('stays valid under 200 audited operations from ten concurrent chains split across two server processes', async () => {
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
      // 200 audited operations, the users' chains running at once on both servers: every fifth a
      // login (every tenth with a wrong password), the rest refreshes, which rotate the user's
      // token (so each chain is sequential) and write an audit event without an argon2 hash.
      const chains = users.map(async (u, n) => {
        const outcomes: { code?: string }[] = [];
        let token = u.refreshToken;
        for (let j = 0; j < 20; j++) {
          const url = (n + j) % 2 ? childUrl : inProcess.graphqlUrl;
          if (j % 5 === 0) {
            const res = await login(url, u.email, j % 10 === 5 ? 'a wrong password here' : u.password);
            outcomes.push({ code: res.body.errors?.[0].extensions.code });
            if (!res.body.errors) token = res.body.data.login.refreshToken;
          } else {
            const res = await refresh(url, token);
            outcomes.push({ code: res.body.errors?.[0].extensions.code });
            if (!res.body.errors) token = res.body.data.refreshSession.refreshToken;
          }
        }
        return outcomes;
      });
      const results = (await Promise.all(chains)).flat();
      expect(results).toHaveLength(200);
      const unexpected = results.filter((r) => r.code && !['UNAUTHENTICATED', 'ACCOUNT_LOCKED'].includes(r.code));
      expect(unexpected).toHaveLength(0);
      expect(results.filter((r) => !r.code).length).toBeGreaterThanOrEqual(180);
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
