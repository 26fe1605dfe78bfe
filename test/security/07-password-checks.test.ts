import { STRONG_PASSWORD, bearer, login, me, registerUser, solveCaptcha } from '../helpers/auth';
import { Argon2Gate } from '../../src/auth/argon2-gate';
import { gql, sql, useTestServer } from '../helpers/server';

const CHANGE = 'mutation C($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }';
const DELETE = 'mutation D($p: String!) { deleteMyAccount(password: $p) }';
const NEW_PASSWORD = 'an entirely different passphrase 913';

const code = (res: { body: { errors?: any[] } }) => res.body.errors?.[0]?.extensions?.code;

describe('attack 7: guessing the password with a stolen access token', () => {
  const t = useTestServer({ env: { LOGIN_MAX_FAILURES: '3', RATE_LIMIT_SCALE: '1', RATE_LIMIT_PASSWORD_CHECK: '5/600' } });

  const failures = (action: string, userId: string) =>
    sql(t, `select metadata->>'reason' as reason from audit_event where action = ? and outcome = 'FAILURE' and actor_id = ? order by seq`, [action, userId]);

  it('changePassword: wrong guesses lock this IP out like failed logins, then the per-user rate limit stops them, each audited', async () => {
    const u = await registerUser(t.graphqlUrl);
    const guess = (current: string) => gql(t.graphqlUrl, CHANGE, { c: current, n: NEW_PASSWORD }, bearer(u.accessToken));
    for (let i = 0; i < 3; i++) expect(code(await guess(`guess number ${i}`))).toBe('BAD_USER_INPUT');
    // Three wrong guesses count as three failed logins: locked, even for the right password...
    const locked = await guess(u.password);
    expect(code(locked)).toBe('ACCOUNT_LOCKED');
    expect(locked.body.errors![0].extensions.retryAfterSeconds).toBeGreaterThan(0);
    // ...and login from this IP is locked too (the same lockout).
    expect(code(await login(t.graphqlUrl, u.email, u.password))).toBe('ACCOUNT_LOCKED');
    expect(code(await guess('guess number 4'))).toBe('ACCOUNT_LOCKED');
    const limited = await guess('guess number 5');
    expect(code(limited)).toBe('RATE_LIMITED');
    expect(limited.body.errors![0].extensions.retryAfterSeconds).toBeGreaterThan(0);
    expect((await failures('auth.password_change', u.userId)).map((r) => r.reason)).toEqual([
      'bad_password',
      'bad_password',
      'bad_password',
      'locked',
      'locked',
    ]);
    // The password never changed.
    const [row] = await sql(t, `select count(*)::int as n from audit_event where action = 'auth.password.change' and actor_id = ?`, [u.userId]);
    expect(row.n).toBe(0);
  });

  it('deleteMyAccount: the same brakes; the account survives', async () => {
    const u = await registerUser(t.graphqlUrl);
    const guess = (password: string) => gql(t.graphqlUrl, DELETE, { p: password }, bearer(u.accessToken));
    for (let i = 0; i < 3; i++) expect(code(await guess(`guess number ${i}`))).toBe('BAD_USER_INPUT');
    expect(code(await guess(u.password))).toBe('ACCOUNT_LOCKED');
    expect(code(await guess('guess number 4'))).toBe('ACCOUNT_LOCKED');
    expect(code(await guess('guess number 5'))).toBe('RATE_LIMITED');
    expect((await me(t.graphqlUrl, u.accessToken)).body.data.me.id).toBe(u.userId);
    expect((await failures('privacy.account_delete', u.userId)).map((r) => r.reason)).toEqual([
      'bad_password',
      'bad_password',
      'bad_password',
      'locked',
      'locked',
    ]);
    const logged = JSON.stringify(t.logs.lines);
    expect(logged).not.toContain('guess number');
  });

  it('counts the limit per user: another user is not held back', async () => {
    const v = await registerUser(t.graphqlUrl);
    const res = await gql(t.graphqlUrl, CHANGE, { c: v.password, n: NEW_PASSWORD }, bearer(v.accessToken));
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.changePassword).toBe(true);
  });
});

describe('attack 7: a flood of password re-checks against the argon2 pool', () => {
  // One argon2 at a time and four waiting, so the flood overflows at once.
  const t = useTestServer({ env: { ARGON2_MAX_CONCURRENT: '1', ARGON2_MAX_QUEUE: '4', LOGIN_MAX_FAILURES: '1000', RATE_LIMIT_PASSWORD_CHECK: '1000/60' } });

  it('refuses the overflow with RATE_LIMITED (bounded queue) while a login sent during the flood succeeds', async () => {
    const attacker = await registerUser(t.graphqlUrl);
    const victim = await registerUser(t.graphqlUrl);
    const captcha = await solveCaptcha(t.graphqlUrl);
    const flood = Array.from({ length: 30 }, (_, i) => gql(t.graphqlUrl, DELETE, { p: `flood guess ${i}` }, bearer(attacker.accessToken)));
    const signIn = login(t.graphqlUrl, victim.email, STRONG_PASSWORD, captcha);
    const [results, signedIn] = await Promise.all([Promise.all(flood), signIn]);
    const codes = results.map(code);
    expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThan(0);
    expect(codes.every((c) => c === 'RATE_LIMITED' || c === 'BAD_USER_INPUT')).toBe(true);
    for (const r of results.filter((x) => code(x) === 'RATE_LIMITED')) expect(r.body.errors![0].extensions.retryAfterSeconds).toBeGreaterThan(0);
    expect(signedIn.body.errors).toBeUndefined();
    expect(signedIn.body.data.login.user.id).toBe(victim.userId);
  });
});

describe('attack 7: the argon2 gate itself', () => {
  it('serves waiting logins before waiting re-checks, and re-checks may fill only half the queue', async () => {
    const gate = new Argon2Gate(1, 4);
    const order: string[] = [];
    let release!: () => void;
    const busy = gate.run('recheck', () => new Promise<void>((r) => (release = r)));
    const job = (name: string) => async () => {
      order.push(name);
    };
    const waiting = [gate.run('recheck', job('recheck 1')), gate.run('recheck', job('recheck 2'))];
    await expect(gate.run('recheck', job('recheck 3'))).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 1 } });
    waiting.push(gate.run('login', job('login 1')), gate.run('login', job('login 2')));
    await expect(gate.run('login', job('login 3'))).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
    release();
    await Promise.all([busy, ...waiting]);
    expect(order).toEqual(['login 1', 'login 2', 'recheck 1', 'recheck 2']);
    // Everything released: the gate admits work again at once.
    expect(await gate.run('recheck', async () => 'free')).toBe('free');
  });
});
