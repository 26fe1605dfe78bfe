import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TEST_DATA } from '../helpers/paths';
import { gql, useTestServer } from '../helpers/server';
import { wsClient, wsRun } from '../helpers/ws';

const PROD = { APP_ENV: 'prod', SECRET_KEY: randomBytes(48).toString('base64url'), CORS_ORIGINS: 'https://app.example.com' };

/**
 * The twelve checks of the public graphql-cop scanner, written as our own tests against a
 * prod-mode server (HTTP, and WebSocket where the check applies there).
 */
describe('graphql-cop checks in prod', () => {
  const t = useTestServer({ env: PROD });
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(t.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const viaWs = async (query: string) => {
    const client = wsClient(t.wsUrl);
    try {
      return await wsRun<any>(client, query).catch((errors) => [{ errors }]);
    } finally {
      await client.dispose();
    }
  };

  it('1. field suggestions: none, on HTTP or WebSocket', async () => {
    const http = await gql(t.graphqlUrl, '{ modelz { id } }');
    expect(http.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(http.body)).not.toMatch(/Did you mean/);
    expect(JSON.stringify(await viaWs('{ modelz { id } }'))).not.toMatch(/Did you mean/);
  });

  it('2. introspection: refused on HTTP and WebSocket', async () => {
    const q = '{ __schema { queryType { name } } }';
    expect((await gql(t.graphqlUrl, q)).body.data).toBeUndefined();
    const [ws] = await viaWs(q);
    expect(ws.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(ws.data).toBeUndefined();
  });

  it('3. GraphiQL / landing page: none served', async () => {
    const res = await fetch(t.graphqlUrl, { headers: { accept: 'text/html' } });
    const body = await res.text();
    expect(res.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    expect(body).not.toMatch(/graphiql|<html|sandbox/i);
  });

  it('4. GET queries: refused without a preflight-forcing header (no CSRF by GET)', async () => {
    const res = await fetch(`${t.graphqlUrl}?query=${encodeURIComponent('{ __typename }')}`);
    expect(res.status).toBe(400);
  });

  it('5. alias overloading: 101 aliases refused', async () => {
    const q = `{ ${Array.from({ length: 101 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    expect((await gql(t.graphqlUrl, q)).body.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('6. batching: array and operation-name batching refused', async () => {
    const arr = await post([{ query: '{ __typename }' }, { query: '{ __typename }' }]);
    expect(arr.status).toBe(400);
    const multi = await gql(t.graphqlUrl, 'query A { __typename } query B { __typename }');
    expect(multi.body.errors[0].extensions.code).toBe('BAD_USER_INPUT'); // operationName required: one operation per request
  });

  it('7. trace mode: no tracing extensions in responses', async () => {
    const res = await gql(t.graphqlUrl, '{ __typename }', undefined, { 'apollo-federation-include-trace': 'ftv1' });
    // The only extension is the cost budget every response reports (issue 9 item 6): no ftv1, no tracing.
    expect(Object.keys(res.body.extensions ?? {})).toEqual(['cost']);
  });

  it('8. directive overloading: refused with one error, not one per directive', async () => {
    // graphql-cop's own document: it reports "vulnerable" when the ten directives give ten errors.
    const cop = 'query cop { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }';
    const res = await gql(t.graphqlUrl, cop);
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.data).toBeUndefined();
    const q = `{ __typename ${'@aa '.repeat(50)} }`;
    const many = await gql(t.graphqlUrl, q);
    expect(many.status).toBe(400);
    expect(many.body.errors).toHaveLength(1);
    expect(many.body.data).toBeUndefined();
  });

  it('9. circular introspection: refused', async () => {
    const q = '{ __schema { types { fields { type { fields { type { fields { type { name } } } } } } } } }';
    expect((await gql(t.graphqlUrl, q)).body.data).toBeUndefined();
  });

  it('10. GET-based mutation: refused', async () => {
    const q = encodeURIComponent('mutation { logout }');
    const res = await fetch(`${t.graphqlUrl}?query=${q}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(res.status).toBe(405);
  });

  it('11. POST CSRF: form and text/plain bodies refused', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x']) {
      const res = await fetch(t.graphqlUrl, { method: 'POST', headers: { 'content-type': type }, body: 'query=%7B__typename%7D' });
      expect(res.status).toBe(415);
    }
  });

  it('12. unhandled errors: malformed documents answer cleanly, without stack or internals', async () => {
    for (const q of ['{ __typename @}', '{', 'query ($a: ) { x }', '}}}']) {
      const res = await gql(t.graphqlUrl, q);
      expect(res.status).toBe(400);
      expect(res.body.errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
      expect(JSON.stringify(res.body)).not.toMatch(/stacktrace|exception|node_modules|at .+:\d+/i);
    }
  });
});

describe('trusted documents (PERSISTED_QUERIES_ONLY)', () => {
  const query = 'query Models { models { id } }';
  const hash = createHash('sha256').update(query).digest('hex');
  const file = path.join(TEST_DATA, 'manifest.json');
  fs.mkdirSync(TEST_DATA, { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ [hash]: query }));
  const t = useTestServer({ env: { ...PROD, PERSISTED_QUERIES_ONLY: 'true', PERSISTED_QUERIES_FILE: file } });
  const ext = (h: string) => ({ persistedQuery: { version: 1, sha256Hash: h } });

  it('runs a document from the manifest by its hash, over HTTP and WebSocket', async () => {
    const res = await fetch(t.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ extensions: ext(hash) }) });
    expect(((await res.json()) as any).data.models[0].id).toBeDefined();
    const client = wsClient(t.wsUrl);
    const [r] = await wsRun<any>(client, query);
    expect(r.data.models).toBeDefined();
    await client.dispose();
  });

  it('refuses free-form documents and unknown hashes with PERSISTED_QUERY_NOT_FOUND', async () => {
    expect((await gql(t.graphqlUrl, '{ __typename }')).body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const unknown = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ extensions: ext('0'.repeat(64)) }),
    });
    expect(((await unknown.json()) as any).errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const client = wsClient(t.wsUrl);
    await expect(wsRun(client, '{ __typename }')).rejects.toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'PERSISTED_QUERY_NOT_FOUND' }) }),
    ]);
    await client.dispose();
  });
});
