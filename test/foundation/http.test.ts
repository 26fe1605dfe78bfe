import { FixtureResolver, fixtureCalls } from '../helpers/fixture.resolver';
import { gql, startTestServer, type TestServer } from '../helpers/server';

const ALLOWED = 'https://app.example.com';

describe('HTTP surface', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({ env: { CORS_ORIGINS: `${ALLOWED},https://admin.example.com` }, extraResolvers: [FixtureResolver] });
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('security headers', () => {
    let headers: Headers;
    beforeAll(async () => {
      headers = (await gql(t.graphqlUrl, '{ models { id } }')).headers;
    });

    it('sends a CSP that loads nothing and forbids framing', () => {
      expect(headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
    });
    it('sends nosniff, DENY and no-referrer', () => {
      expect(headers.get('x-content-type-options')).toBe('nosniff');
      expect(headers.get('x-frame-options')).toBe('DENY');
      expect(headers.get('referrer-policy')).toBe('no-referrer');
    });
    it('disables the legacy XSS auditor (X-XSS-Protection: 0)', () => {
      expect(headers.get('x-xss-protection')).toBe('0');
    });
    it('sends no X-Powered-By and no HSTS outside prod', () => {
      expect(headers.get('x-powered-by')).toBeNull();
      expect(headers.get('strict-transport-security')).toBeNull();
    });
    it('sets the same headers on operational routes', async () => {
      const res = await fetch(`${t.url}/healthz`);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    });
  });

  describe('CORS', () => {
    it('allows a listed origin, with credentials', async () => {
      const res = await fetch(t.graphqlUrl, {
        method: 'OPTIONS',
        headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    });
    it('does not allow another origin', async () => {
      const res = await fetch(t.graphqlUrl, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example.net', 'access-control-request-method': 'POST' },
      });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      const post = await gql(t.graphqlUrl, '{ models { id } }', undefined, { origin: 'https://app.example.com.evil.net' });
      expect(post.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe('CSRF and transport rules', () => {
    it('refuses a mutation sent with GET, without running it', async () => {
      const before = fixtureCalls.mutate;
      const q = encodeURIComponent('mutation { fixtureMutate }');
      const res = await fetch(`${t.graphqlUrl}?query=${q}`, { headers: { 'apollo-require-preflight': 'true' } });
      expect(res.status).toBe(405);
      expect(fixtureCalls.mutate).toBe(before);
      // The same mutation over POST does run: the refusal is about the method, not the operation.
      const ok = await gql(t.graphqlUrl, 'mutation { fixtureMutate }');
      expect(ok.body.data.fixtureMutate).toBe(true);
      expect(fixtureCalls.mutate).toBe(before + 1);
    });

    it('refuses a GET query without a preflight-forcing header (CSRF prevention)', async () => {
      const q = encodeURIComponent('{ models { id } }');
      const res = await fetch(`${t.graphqlUrl}?query=${q}`);
      expect(res.status).toBe(400);
      const withHeader = await fetch(`${t.graphqlUrl}?query=${q}`, { headers: { 'apollo-require-preflight': 'true' } });
      expect(withHeader.status).toBe(200);
    });

    it('refuses a text/plain POST (a simple cross-site request) without running it', async () => {
      const before = fixtureCalls.mutate;
      const res = await fetch(t.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ query: 'mutation { fixtureMutate }' }),
      });
      expect(res.status).toBe(415);
      const body = (await res.json()) as any;
      expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(fixtureCalls.mutate).toBe(before);
    });

    it('refuses a form-urlencoded POST', async () => {
      const res = await fetch(t.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'query=mutation%20%7B%20fixtureMutate%20%7D',
      });
      expect(res.status).toBe(415);
    });

    it('refuses a batched (JSON array) request', async () => {
      const res = await fetch(t.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ query: '{ models { id } }' }, { query: '{ models { id } }' }]),
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as any;
      expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    });
  });

  describe('bad input', () => {
    it('answers a 2 MB body with 413 and a JSON error', async () => {
      const big = JSON.stringify({ query: '{ models { id } }', variables: { pad: 'x'.repeat(2 * 1024 * 1024) } });
      const res = await fetch(t.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
      expect(res.status).toBe(413);
      const body = (await res.json()) as any;
      expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(body.errors[0].message).toMatch(/larger than/);
    });

    it('answers malformed JSON with a 400 GraphQL error and no stack', async () => {
      const res = await fetch(t.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": "{ models { id } }",' });
      expect(res.status).toBe(400);
      const text = await res.text();
      const body = JSON.parse(text);
      expect(body.errors[0].message).toBe('Request body is not valid JSON');
      expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(text).not.toMatch(/at .*\.(js|ts):\d+|stack|node_modules/i);
    });

    it('reports a syntax error as GRAPHQL_PARSE_FAILED', async () => {
      const res = await gql(t.graphqlUrl, '{ models { id }');
      expect(res.status).toBe(400);
      expect(res.body.errors![0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    });

    it('reports an unknown field as GRAPHQL_VALIDATION_FAILED', async () => {
      const res = await gql(t.graphqlUrl, '{ nope }');
      expect(res.status).toBe(400);
      expect(res.body.errors![0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    });

    it('reports a missing query as BAD_USER_INPUT', async () => {
      const res = await fetch(t.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    });

    it('answers an unknown route with a JSON 404', async () => {
      const res = await fetch(`${t.url}/nope`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as any).errors[0].extensions.code).toBe('NOT_FOUND');
    });
  });

  describe('unexpected errors outside prod', () => {
    it('keep their code and request id but never a stack trace', async () => {
      const res = await gql(t.graphqlUrl, '{ fixtureExplode }');
      const err = res.body.errors![0];
      expect(err.extensions.code).toBe('INTERNAL_SERVER_ERROR');
      expect(err.extensions.requestId).toBe(res.headers.get('x-request-id'));
      expect(err.extensions.stacktrace).toBeUndefined();
    });
  });

  describe('request ids and the request log', () => {
    it('keeps a well-formed incoming x-request-id and logs the request once with its details', async () => {
      const id = 'trace-1234567890abcdef';
      const res = await gql(t.graphqlUrl, 'query ListModels { models { id } }', undefined, { 'x-request-id': id });
      expect(res.headers.get('x-request-id')).toBe(id);
      const line = await t.logs.waitFor((l) => l.message === 'http request' && l.requestId === id);
      expect(line).toMatchObject({ method: 'POST', path: '/graphql', status: 200, ip: expect.any(String), operationName: 'ListModels' });
      expect(typeof line.durationMs).toBe('number');
    });

    it('replaces a malformed incoming request id with a fresh one', async () => {
      const res = await gql(t.graphqlUrl, '{ models { id } }', undefined, { 'x-request-id': 'bad id\twith<script>' });
      const echoed = res.headers.get('x-request-id')!;
      expect(echoed).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('operations endpoints', () => {
    it('GET /healthz is 200', async () => {
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    });
    it('GET /readyz is 200 while the database answers', async () => {
      expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    });
    it('GET /metrics serves Prometheus text with process, HTTP and WebSocket metrics', async () => {
      await gql(t.graphqlUrl, 'query MetricsProbe { models { id } }');
      const res = await fetch(`${t.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await res.text();
      expect(text).toContain('parley_process_cpu_user_seconds_total');
      expect(text).toMatch(/parley_http_request_duration_seconds_count\{method="POST",route="\/graphql",status="200",operation="MetricsProbe"\} \d+/);
      expect(text).toContain('parley_websocket_connections_open');
    });
  });
});
