import { gql, useTestServer } from '../helpers/server';
import { AUTH_FIELDS, STRONG_PASSWORD, bearer, me, registerUser, solveCaptcha, uniqueEmail } from '../helpers/auth';

describe('register', () => {
  const t = useTestServer();

  const register = async (input: Record<string, unknown>) =>
    gql(t.graphqlUrl, `mutation R($input: RegisterInput!) { register(input: $input) { ${AUTH_FIELDS} } }`, {
      input: { captcha: await solveCaptcha(t.graphqlUrl), ...input },
    });

  it('creates a USER, signs it in and records auth.register without the email', async () => {
    const email = uniqueEmail('Mixed.Case');
    const res = await register({ email: `  ${email.toUpperCase()}  `, password: STRONG_PASSWORD, displayName: 'Ada' });
    expect(res.body.errors).toBeUndefined();
    const p = res.body.data.register;
    expect(p.user).toMatchObject({ email: email.toLowerCase(), role: 'USER', displayName: 'Ada' });
    expect(new Date(p.accessTokenExpiresAt).getTime()).toBeGreaterThan(Date.now());
    expect((await me(t.graphqlUrl, p.accessToken)).body.data.me.id).toBe(p.user.id);
    const rows = await t.db.orm.em.fork().getConnection().execute(`select * from audit_event where action = 'auth.register' and actor_id = ?`, [p.user.id]);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(email.toLowerCase());
    const stored = await t.db.orm.em.fork().getConnection().execute(`select password_hash from "user" where id = ?`, [p.user.id]);
    const params = /^\$argon2id\$v=19\$([^$]+)\$/.exec(stored[0].password_hash)![1].split(',').sort();
    expect(params).toEqual(['m=19456', 'p=1', 't=2']);
  });

  it.each([
    ['a common pattern', 'Password123!'],
    ['too short', 'Xk9#mQ2!'],
    ['too long', 'a'.repeat(129)],
    ['the email itself', 'weakling.person@example.com'],
  ])('refuses a weak password (%s) with BAD_USER_INPUT', async (_name, password) => {
    const res = await register({ email: 'weakling.person@example.com', password });
    expect(res.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(res.body.errors[0].extensions.field).toBe('password');
  });

  it('accepts a long passphrase', async () => {
    const res = await register({ email: uniqueEmail(), password: 'the quiet walrus hums under yellow bridges' });
    expect(res.body.errors).toBeUndefined();
  });

  it('refuses a duplicate email, whatever its case', async () => {
    const first = await registerUser(t.graphqlUrl);
    const res = await register({ email: first.email.toUpperCase(), password: STRONG_PASSWORD });
    expect(res.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(res.body.errors[0].message).toMatch(/already exists/);
  });

  it.each(['not-an-email', 'a@b', 'two@@example.com', 'spaces in@example.com', '<script>@example.com', `${'x'.repeat(250)}@example.com`])(
    'refuses a bad email (%s)',
    async (email) => {
      const res = await register({ email, password: STRONG_PASSWORD });
      const err = res.body.errors[0];
      expect(err.extensions.code).toBe('BAD_USER_INPUT');
      expect(err.extensions.field ?? err.extensions.validationErrors?.[0]?.property).toBe('email');
      expect(JSON.stringify(err)).not.toContain(STRONG_PASSWORD);
    },
  );

  it('strips tags from display names, refuses control characters, and refuses empty or long ones', async () => {
    const ok = await register({ email: uniqueEmail(), password: STRONG_PASSWORD, displayName: '  <b>Grace</b> Hopper<script>x</script> ' });
    expect(ok.body.data.register.user.displayName).toBe('Grace Hopperx');
    const bell = await register({ email: uniqueEmail(), password: STRONG_PASSWORD, displayName: 'Grace\u0007' });
    expect(bell.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const empty = await register({ email: uniqueEmail(), password: STRONG_PASSWORD, displayName: '<img src=x>' });
    expect(empty.body.errors[0].extensions.field).toBe('displayName');
    const long = await register({ email: uniqueEmail(), password: STRONG_PASSWORD, displayName: 'n'.repeat(65) });
    expect(long.body.errors[0].extensions.field).toBe('displayName');
  });

  it('creates nothing when refused', async () => {
    const email = uniqueEmail('refused');
    await register({ email, password: 'Password123!' });
    const rows = await t.db.orm.em.fork().getConnection().execute(`select id from "user" where email = ?`, [email]);
    expect(rows).toHaveLength(0);
  });

  it('me without a token is UNAUTHENTICATED', async () => {
    const res = await gql(t.graphqlUrl, '{ me { id } }');
    expect(res.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const bad = await gql(t.graphqlUrl, '{ me { id } }', undefined, bearer('nonsense'));
    expect(bad.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});
