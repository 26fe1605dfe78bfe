import { randomBytes } from 'node:crypto';
import { startTestServer, useTestServer, type TestServer } from '../helpers/server';

/** What a browser sends when a person opens the address. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

describe('a browser opening /graphql outside prod', () => {
  const t = useTestServer();

  it('gets a short static page pointing to the docs, with the security headers, instead of an error', async () => {
    const res = await fetch(`${t.url}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const page = await res.text();
    expect(page).toContain('<h1>Parley GraphQL API</h1>');
    expect(page).toContain('README.md');
    expect(page).toContain('<a href="/">/</a>'); // where the built web client is
    expect(page).not.toMatch(/<script/i);
  });

  it('leaves every request that is not a page load to GraphQL', async () => {
    // A GraphQL GET with a query, a client asking for JSON, and one accepting anything: no page.
    const withQuery = await fetch(`${t.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: BROWSER_ACCEPT, 'apollo-require-preflight': 'true' },
    });
    expect(withQuery.headers.get('content-type')).not.toContain('text/html');
    for (const accept of ['application/json', '*/*']) {
      const res = await fetch(`${t.url}/graphql`, { headers: { accept } });
      expect(res.headers.get('content-type')).not.toContain('text/html');
      expect(await res.text()).not.toContain('Parley GraphQL API');
    }
    const post = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: BROWSER_ACCEPT },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(await post.json()).toMatchObject({ data: { __typename: 'Query' } });
  });
});

describe('a browser opening /graphql in prod', () => {
  let t: TestServer | undefined;
  beforeAll(async () => {
    t = await startTestServer({ env: { APP_ENV: 'prod', SECRET_KEY: randomBytes(48).toString('base64url'), CORS_ORIGINS: 'https://app.example.com' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('gets no page: the server serves no HTML in prod', async () => {
    const res = await fetch(`${t!.url}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
    expect(res.headers.get('content-type')).not.toContain('text/html');
    expect(await res.text()).not.toContain('Parley GraphQL API');
  });
});
