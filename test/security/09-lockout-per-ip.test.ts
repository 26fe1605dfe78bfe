import http from 'node:http';
import WebSocket from 'ws';
import { AUTH_FIELDS, STRONG_PASSWORD, registerUser } from '../helpers/auth';
import { sql, useTestServer } from '../helpers/server';
import { wsClient, wsRun } from '../helpers/ws';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const altcha = require('altcha-lib/v1') as {
  solveChallenge(challenge: string, salt: string, algorithm?: string, max?: number): { promise: Promise<{ number: number } | null> };
};

type Body = { data?: any; errors?: any[] };

/** POSTs a GraphQL operation from the loopback address `ip` (Linux routes all of 127/8 on lo). */
function gqlFrom(ip: string, url: string, query: string, variables?: Record<string, unknown>): Promise<Body> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', localAddress: ip, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve(JSON.parse(text) as Body));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ query, variables }));
  });
}

/** Fetches a captcha from `ip` and solves it; returns the solution and the challenge's maxnumber. */
async function captchaFrom(ip: string, url: string): Promise<{ solution: string; maxnumber: number }> {
  const c = (await gqlFrom(ip, url, '{ captchaChallenge { challenge } }')).data.captchaChallenge.challenge;
  const s = await altcha.solveChallenge(c.challenge, c.salt, c.algorithm, c.maxnumber).promise;
  if (!s) throw new Error('captcha not solved');
  const solution = Buffer.from(
    JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number: s.number, salt: c.salt, signature: c.signature }),
  ).toString('base64');
  return { solution, maxnumber: c.maxnumber };
}

const LOGIN = `mutation L($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`;

async function loginFrom(ip: string, url: string, email: string, password: string): Promise<Body> {
  const { solution } = await captchaFrom(ip, url);
  return gqlFrom(ip, url, LOGIN, { input: { email, password, captcha: solution } });
}

const code = (b: Body) => b.errors?.[0]?.extensions?.code;

const ADMIN_EMAIL = 'root-admin@example.com';
const ADMIN_PASSWORD = 'bootstrap admin passphrase 7731';

describe('attack 9: locking someone else out with bad passwords', () => {
  const t = useTestServer({ env: { LOGIN_MAX_FAILURES: '3', BOOTSTRAP_ADMIN_EMAIL: ADMIN_EMAIL, BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD } });

  it('locks out only the failing IP (127.0.0.2), even for the right password, while the owner logs in from 127.0.0.3', async () => {
    const u = await registerUser(t.graphqlUrl);
    for (let i = 0; i < 3; i++) expect(code(await loginFrom('127.0.0.2', t.graphqlUrl, u.email, `wrong guess ${i}`))).toBe('UNAUTHENTICATED');
    const attacker = await loginFrom('127.0.0.2', t.graphqlUrl, u.email, u.password);
    expect(code(attacker)).toBe('ACCOUNT_LOCKED');
    expect(attacker.errors![0].extensions.retryAfterSeconds).toBeGreaterThan(0);
    expect(attacker.data).toBeNull();

    const owner = await loginFrom('127.0.0.3', t.graphqlUrl, u.email, u.password);
    expect(owner.errors).toBeUndefined();
    expect(owner.data.login.user.id).toBe(u.userId);
    // The owner's success does not unlock the attacker.
    expect(code(await loginFrom('127.0.0.2', t.graphqlUrl, u.email, u.password))).toBe('ACCOUNT_LOCKED');
  });

  it('keeps the bootstrap admin usable while failures from many IPs raise its captcha difficulty x10', async () => {
    for (const ip of ['127.0.0.4', '127.0.0.5']) {
      for (let i = 0; i < 3; i++) expect(code(await loginFrom(ip, t.graphqlUrl, ADMIN_EMAIL, `admin guess ${ip} ${i}`))).toBe('UNAUTHENTICATED');
      expect(code(await loginFrom(ip, t.graphqlUrl, ADMIN_EMAIL, ADMIN_PASSWORD))).toBe('ACCOUNT_LOCKED');
    }
    // Six failures across IPs: an ordinary captcha is no longer enough for this account...
    const easy = await captchaFrom('127.0.0.6', t.graphqlUrl);
    expect(easy.maxnumber).toBe(t.config.captcha.difficulty);
    const refused = await gqlFrom('127.0.0.6', t.graphqlUrl, LOGIN, { input: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, captcha: easy.solution } });
    expect(code(refused)).toBe('CAPTCHA_INVALID');
    // ...the next challenge for that client is ten times harder, and with it the admin gets in.
    const hard = await captchaFrom('127.0.0.6', t.graphqlUrl);
    expect(hard.maxnumber).toBe(t.config.captcha.difficulty * 10);
    const admin = await gqlFrom('127.0.0.6', t.graphqlUrl, LOGIN, { input: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, captcha: hard.solution } });
    expect(admin.errors).toBeUndefined();
    expect(admin.data.login.user.role).toBe('ADMIN');
  });

  it('applies the same per-IP lock to logins over WebSocket', async () => {
    const u = await registerUser(t.graphqlUrl);
    for (let i = 0; i < 3; i++) await loginFrom('127.0.0.7', t.graphqlUrl, u.email, `ws guess ${i}`);
    const from = (ip: string) =>
      class extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols, { localAddress: ip });
        }
      };
    const run = async (ip: string) => {
      const client = wsClient(t.wsUrl, { webSocketImpl: from(ip) });
      try {
        const { solution } = await captchaFrom(ip, t.graphqlUrl);
        const [r] = await wsRun<Body>(client, LOGIN, { input: { email: u.email, password: u.password, captcha: solution } });
        return r;
      } finally {
        await client.dispose();
      }
    };
    expect(code(await run('127.0.0.7'))).toBe('ACCOUNT_LOCKED');
    expect((await run('127.0.0.8')).data?.login.user.id).toBe(u.userId);
  });

  it('forgets one doubling of the lock per day', async () => {
    const u = await registerUser(t.graphqlUrl);
    for (let i = 0; i < 3; i++) await loginFrom('127.0.0.9', t.graphqlUrl, u.email, `first round ${i}`);
    // The first lock ended two days ago (as if time passed): the next lock is not doubled.
    await sql(
      t,
      `update login_throttle set locked_until = now() - interval '2 days', last_locked_at = now() - interval '2 days', window_started_at = now() - interval '2 days' where client_key = encode(sha256(convert_to('client:127.0.0.9', 'UTF8')), 'hex')`,
    );
    for (let i = 0; i < 3; i++) await loginFrom('127.0.0.9', t.graphqlUrl, u.email, `second round ${i}`);
    const res = await loginFrom('127.0.0.9', t.graphqlUrl, u.email, u.password);
    expect(code(res)).toBe('ACCOUNT_LOCKED');
    expect(res.errors![0].extensions.retryAfterSeconds).toBeLessThanOrEqual(t.config.auth.loginLockMinutes * 60);
  });
});

describe('attack 9: no IP address is stored with a lock', () => {
  const t = useTestServer({ env: { LOGIN_MAX_FAILURES: '2' } });

  it('keys locks by hashes only', async () => {
    const u = await registerUser(t.graphqlUrl);
    for (let i = 0; i < 2; i++) await loginFrom('127.0.0.10', t.graphqlUrl, u.email, `guess ${i}`);
    const rows = JSON.stringify(await sql(t, 'select * from login_throttle'));
    expect(rows).not.toContain('127.0.0.10');
    expect(rows).not.toContain(u.email);
    expect(code(await loginFrom('127.0.0.10', t.graphqlUrl, u.email, STRONG_PASSWORD))).toBe('ACCOUNT_LOCKED');
  });
});
