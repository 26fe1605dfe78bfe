import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { STRONG_PASSWORD, uniqueEmail } from '../helpers/auth';
import { gql, startTestServer, type TestServer } from '../helpers/server';

/**
 * A stand-in for Google's siteverify. The token chooses the answer: `score=0.1&hostname=x`
 * becomes `{ success: true, score: 0.1, hostname: 'x' }` (a missing key is left out), as a
 * bot-farm's or a phishing page's genuinely solved reCAPTCHA v3 tokens would verify.
 */
function fakeRecaptcha(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const token = new URLSearchParams(new URLSearchParams(body).get('response') ?? '');
      const answer: Record<string, unknown> = { success: true, challenge_ts: new Date().toISOString(), action: 'login' };
      if (token.has('score')) answer.score = Number(token.get('score'));
      if (token.has('hostname')) answer.hostname = token.get('hostname');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(answer));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}/recaptcha/api/siteverify`, close: () => new Promise((r) => server.close(() => r())) });
    }),
  );
}

const REGISTER = 'mutation R($i: RegisterInput!) { register(input: $i) { user { id } } }';

describe('attack 18: reCAPTCHA v3 answers accepted whatever their score and hostname', () => {
  let t: TestServer;
  let fake: Awaited<ReturnType<typeof fakeRecaptcha>>;
  beforeAll(async () => {
    fake = await fakeRecaptcha();
    // No CAPTCHA_HOSTNAMES: the hosts of CORS_ORIGINS are the allowed ones. CAPTCHA_MIN_SCORE defaults to 0.5.
    t = await startTestServer({
      env: { CAPTCHA_PROVIDER: 'recaptcha', CAPTCHA_SECRET: 'test-secret', CAPTCHA_VERIFY_URL: fake.url, CORS_ORIGINS: 'https://app.example.com' },
    });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  const register = (captcha: string) => gql(t.graphqlUrl, REGISTER, { i: { email: uniqueEmail(), password: STRONG_PASSWORD, captcha } });

  it.each([
    ['a bot score (0.1)', 'score=0.1&hostname=app.example.com'],
    ['a score just under the minimum (0.49)', 'score=0.49&hostname=app.example.com'],
    ['no score at all', 'hostname=app.example.com'],
    ["another site's hostname", 'score=0.9&hostname=evil.example.net'],
    ['no hostname', 'score=0.9'],
  ])('refuses %s with CAPTCHA_INVALID and creates no account', async (_name, token) => {
    const res = await register(token);
    expect(res.body.errors[0].extensions.code).toBe('CAPTCHA_INVALID');
    expect(res.body.data ?? null).toBeNull();
  });

  it.each([
    ['a human score on our host', 'score=0.9&hostname=app.example.com'],
    ['exactly the minimum score', 'score=0.5&hostname=APP.example.com'],
  ])('accepts %s', async (_name, token) => {
    const res = await register(token);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.register.user.id).toEqual(expect.any(String));
  });
});
