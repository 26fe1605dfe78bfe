import { gql, useTestServer } from '../helpers/server';
import { STRONG_PASSWORD, solveCaptcha } from '../helpers/auth';
import { wsClient, wsRun } from '../helpers/ws';

describe('input hygiene', () => {
  const t = useTestServer();
  const register = async (email: string, displayName?: string) =>
    gql(t.graphqlUrl, 'mutation R($i: RegisterInput!) { register(input: $i) { user { email displayName } } }', {
      i: { email, password: STRONG_PASSWORD, displayName, captcha: await solveCaptcha(t.graphqlUrl) },
    });

  it.each(['a\u0000b@example.com', 'a\u001bb@example.com', 'ab@exa\u0085mple.com'])(
    'refuses NUL and control characters (%j) with BAD_USER_INPUT',
    async (email) => {
      const res = await register(email);
      expect(res.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(res.body.errors[0].message).toMatch(/control characters/);
    },
  );

  it('NFC-normalises strings, so lookalike decompositions become one account', async () => {
    const decomposed = `jose\u0301-${Date.now()}@example.com`; // e + combining acute
    const res = await register(decomposed, 'Jose\u0301');
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.register.user.email).toBe(decomposed.normalize('NFC'));
    expect(res.body.data.register.user.displayName).toBe('Jos\u00e9');
    const again = await register(decomposed.normalize('NFC'));
    expect(again.body.errors[0].message).toMatch(/already exists/);
  });

  it('applies on WebSocket too', async () => {
    const client = wsClient(t.wsUrl);
    const [r] = await wsRun<any>(client, 'mutation { login(input: { email: "x\\u0000@example.com", password: "p", captcha: "c" }) { accessToken } }');
    expect(r.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    await client.dispose();
  });
});
