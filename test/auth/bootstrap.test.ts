import { createTestDatabase, startTestServer } from '../helpers/server';
import { login } from '../helpers/auth';

describe('bootstrap admin', () => {
  it('creates the ADMIN at startup when missing, and never changes an existing one', async () => {
    const database = await createTestDatabase();
    const env = { BOOTSTRAP_ADMIN_EMAIL: 'Root@Example.com', BOOTSTRAP_ADMIN_PASSWORD: 'an admin passphrase nobody guesses' };
    const first = await startTestServer({ databaseUrl: database.url, env });
    try {
      const res = await login(first.graphqlUrl, 'root@example.com', env.BOOTSTRAP_ADMIN_PASSWORD);
      expect(res.body.data.login.user).toMatchObject({ email: 'root@example.com', role: 'ADMIN' });
      const audit = await first.db.orm.em.fork().getConnection().execute(`select * from audit_event where action = 'admin.user.bootstrap'`);
      expect(audit).toHaveLength(1);
    } finally {
      await first.server.stop();
      await first.db.close();
    }
    const second = await startTestServer({ databaseUrl: database.url, env: { ...env, BOOTSTRAP_ADMIN_PASSWORD: 'a different admin passphrase entirely' } });
    try {
      expect((await login(second.graphqlUrl, 'root@example.com', env.BOOTSTRAP_ADMIN_PASSWORD)).body.errors).toBeUndefined();
      expect((await login(second.graphqlUrl, 'root@example.com', 'a different admin passphrase entirely')).body.errors[0].extensions.code).toBe(
        'UNAUTHENTICATED',
      );
      const users = await second.db.orm.em.fork().getConnection().execute(`select count(*)::int as n from "user"`);
      expect(users[0].n).toBe(1);
    } finally {
      await second.close();
      await database.drop();
    }
  });

  it('refuses to start with a weak bootstrap password', async () => {
    await expect(startTestServer({ env: { BOOTSTRAP_ADMIN_EMAIL: 'root@example.com', BOOTSTRAP_ADMIN_PASSWORD: 'Password123!' } })).rejects.toThrow(/Password/);
  });
});
