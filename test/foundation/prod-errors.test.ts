import { randomBytes } from 'node:crypto';
import { FixtureResolver } from '../helpers/fixture.resolver';
import { gql, startTestServer, type TestServer } from '../helpers/server';

describe('prod mode error masking and hardening', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({
      env: { APP_ENV: 'prod', SECRET_KEY: randomBytes(48).toString('base64url'), CORS_ORIGINS: 'https://app.example.com' },
      extraResolvers: [FixtureResolver],
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('replaces an unexpected error with exactly "Internal server error" and the request id', async () => {
    const res = await gql(t.graphqlUrl, '{ fixtureExplode }');
    expect(res.body.errors).toHaveLength(1);
    const err = res.body.errors![0];
    const requestId = res.headers.get('x-request-id');
    expect(err).toEqual({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR', requestId } });
    const raw = JSON.stringify(res.body);
    expect(raw).not.toMatch(/secret_table|\/srv\/app|db\.ts|stack/);
  });

  it('logs the real error in full under the same request id', async () => {
    const res = await gql(t.graphqlUrl, '{ fixtureExplode }');
    const requestId = res.headers.get('x-request-id');
    const line = await t.logs.waitFor((l) => l.message === 'unexpected error' && l.requestId === requestId);
    expect(JSON.stringify(line)).toContain('secret_table');
  });

  it('sends HSTS', async () => {
    const res = await fetch(`${t.url}/healthz`);
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  });

  it('turns introspection off', async () => {
    const res = await gql(t.graphqlUrl, '{ __schema { types { name } } }');
    expect(res.body.errors![0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.body.data).toBeUndefined();
  });

  it('gives no field suggestions', async () => {
    const res = await gql(t.graphqlUrl, '{ model { id } }');
    expect(res.body.errors![0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(res.body)).not.toMatch(/Did you mean/);
  });

  it('answers malformed JSON without internals', async () => {
    const res = await fetch(t.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(res.status).toBe(400);
    expect(await res.text()).not.toMatch(/SyntaxError|at JSON\.parse|node_modules/);
  });
});
