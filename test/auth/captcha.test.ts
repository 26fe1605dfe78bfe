import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { deriveKey } from '../../src/auth/tokens';
import { gql, startTestServer, useTestServer, type TestServer } from '../helpers/server';
import { STRONG_PASSWORD, login, registerUser, solveCaptcha, uniqueEmail } from '../helpers/auth';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const altcha = require('altcha-lib/v1') as {
  createChallenge(o: {
    hmacKey: string;
    maxNumber: number;
    expires?: Date;
    algorithm?: string;
  }): Promise<{ algorithm: string; challenge: string; maxnumber: number; salt: string; signature: string }>;
  solveChallenge(challenge: string, salt: string, algorithm?: string, max?: number): { promise: Promise<{ number: number } | null> };
};

describe('ALTCHA captcha', () => {
  const t = useTestServer();

  it('serves the SHA-256 challenge in the documented shape', async () => {
    const res = await gql(t.graphqlUrl, '{ captchaChallenge { provider challenge } }');
    const { provider, challenge } = res.body.data.captchaChallenge;
    expect(provider).toBe('altcha');
    expect(Object.keys(challenge).sort()).toEqual(['algorithm', 'challenge', 'maxnumber', 'salt', 'signature']);
    expect(challenge.algorithm).toBe('SHA-256');
    expect(challenge.maxnumber).toBe(1000);
    expect(challenge.salt).toMatch(/expires=\d+/);
  });

  it.each([
    ['missing', ''],
    ['garbled', '%%%not base64 json%%%'],
    ['valid base64 of nonsense', Buffer.from('{"x":1}').toString('base64')],
  ])('refuses a %s captcha with CAPTCHA_INVALID', async (_name, captcha) => {
    const res = await login(t.graphqlUrl, uniqueEmail(), STRONG_PASSWORD, captcha);
    expect(res.body.errors[0].extensions.code).toBe('CAPTCHA_INVALID');
  });

  it('refuses a huge captcha as bad input before looking at it', async () => {
    const res = await login(t.graphqlUrl, uniqueEmail(), STRONG_PASSWORD, 'A'.repeat(100_000));
    expect(res.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(res.body.errors[0].extensions.validationErrors).toEqual([{ property: 'captcha', constraints: { maxLength: expect.any(String) } }]);
  });

  it('refuses a wrong number', async () => {
    const good = JSON.parse(Buffer.from(await solveCaptcha(t.graphqlUrl), 'base64').toString());
    const wrong = Buffer.from(JSON.stringify({ ...good, number: good.number + 1 })).toString('base64');
    expect((await login(t.graphqlUrl, uniqueEmail(), STRONG_PASSWORD, wrong)).body.errors[0].extensions.code).toBe('CAPTCHA_INVALID');
  });

  it('accepts a solution once: a replay is refused', async () => {
    const u = await registerUser(t.graphqlUrl);
    const captcha = await solveCaptcha(t.graphqlUrl);
    expect((await login(t.graphqlUrl, u.email, u.password, captcha)).body.errors).toBeUndefined();
    const replay = await login(t.graphqlUrl, u.email, u.password, captcha);
    expect(replay.body.errors[0].extensions.code).toBe('CAPTCHA_INVALID');
  });

  it('refuses an expired challenge, even correctly solved and signed', async () => {
    const hmacKey = deriveKey(t.config.secretKey, 'altcha').toString('hex');
    const c = await altcha.createChallenge({ hmacKey, maxNumber: 1000, algorithm: 'SHA-256', expires: new Date(Date.now() - 1000) });
    const solved = await altcha.solveChallenge(c.challenge, c.salt, c.algorithm, c.maxnumber).promise;
    const captcha = Buffer.from(
      JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number: solved!.number, salt: c.salt, signature: c.signature }),
    ).toString('base64');
    const u = await registerUser(t.graphqlUrl);
    expect((await login(t.graphqlUrl, u.email, u.password, captcha)).body.errors[0].extensions.code).toBe('CAPTCHA_INVALID');
  });

  it('refuses a challenge signed with another key', async () => {
    const c = await altcha.createChallenge({ hmacKey: 'someone else', maxNumber: 1000, algorithm: 'SHA-256', expires: new Date(Date.now() + 60_000) });
    const solved = await altcha.solveChallenge(c.challenge, c.salt, c.algorithm, c.maxnumber).promise;
    const captcha = Buffer.from(
      JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number: solved!.number, salt: c.salt, signature: c.signature }),
    ).toString('base64');
    expect((await login(t.graphqlUrl, uniqueEmail(), STRONG_PASSWORD, captcha)).body.errors[0].extensions.code).toBe('CAPTCHA_INVALID');
  });

  it('makes challenges harder for an IP with recent failures', async () => {
    for (let i = 0; i < 3; i++) await login(t.graphqlUrl, uniqueEmail(), STRONG_PASSWORD, 'bad');
    const res = await gql(t.graphqlUrl, '{ captchaChallenge { challenge } }');
    expect(res.body.data.captchaChallenge.challenge.maxnumber).toBe(10_000);
  });

  it('guards register too', async () => {
    const res = await gql(t.graphqlUrl, 'mutation { register(input: { email: "a@example.com", password: "x", captcha: "" }) { accessToken } }');
    expect(res.body.errors[0].extensions.code).toBe('CAPTCHA_INVALID');
  });
});

/** A local stand-in for a siteverify endpoint, answering the providers' documented JSON. */
function fakeSiteverify(): Promise<{ url: string; requests: URLSearchParams[]; close(): Promise<void> }> {
  const requests: URLSearchParams[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      requests.push(form);
      const ok = form.get('response') === 'good-token' && form.get('secret') === 'test-secret';
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify(
          ok
            ? { success: true, challenge_ts: new Date().toISOString(), hostname: 'localhost', score: 0.9 }
            : { success: false, 'error-codes': ['invalid-input-response'] },
        ),
      );
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}/siteverify`, requests, close: () => new Promise((r) => server.close(() => r())) });
    }),
  );
}

describe.each(['turnstile', 'hcaptcha', 'recaptcha'])('%s captcha (siteverify)', (provider) => {
  let t: TestServer;
  let fake: Awaited<ReturnType<typeof fakeSiteverify>>;
  beforeAll(async () => {
    fake = await fakeSiteverify();
    t = await startTestServer({
      env: { CAPTCHA_PROVIDER: provider, CAPTCHA_SECRET: 'test-secret', CAPTCHA_SITE_KEY: 'site-key-1', CAPTCHA_VERIFY_URL: fake.url },
    });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('hands out the site key and accepts a token the provider confirms, sending secret, token and ip', async () => {
    const ch = await gql(t.graphqlUrl, '{ captchaChallenge { provider challenge } }');
    expect(ch.body.data.captchaChallenge).toEqual({ provider, challenge: { siteKey: 'site-key-1' } });
    const res = await gql(t.graphqlUrl, 'mutation R($i: RegisterInput!) { register(input: $i) { user { id } } }', {
      i: { email: uniqueEmail(), password: STRONG_PASSWORD, captcha: 'good-token' },
    });
    expect(res.body.errors).toBeUndefined();
    const last = fake.requests[fake.requests.length - 1];
    expect(last.get('secret')).toBe('test-secret');
    expect(last.get('response')).toBe('good-token');
    expect(last.get('remoteip')).toMatch(/127\.0\.0\.1/);
  });

  it('refuses a token the provider rejects', async () => {
    const res = await login(t.graphqlUrl, uniqueEmail(), STRONG_PASSWORD, 'bad-token');
    expect(res.body.errors[0].extensions.code).toBe('CAPTCHA_INVALID');
  });
});

describe('siteverify fails closed', () => {
  it('refuses every captcha while the provider is unreachable', async () => {
    const t = await startTestServer({ env: { CAPTCHA_PROVIDER: 'turnstile', CAPTCHA_SECRET: 's', CAPTCHA_VERIFY_URL: 'http://127.0.0.1:9/siteverify' } });
    try {
      const res = await login(t.graphqlUrl, uniqueEmail(), STRONG_PASSWORD, 'good-token');
      expect(res.body.errors[0].extensions.code).toBe('CAPTCHA_INVALID');
    } finally {
      await t.close();
    }
  });
});
