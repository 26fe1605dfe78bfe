import { createHash } from 'node:crypto';
import { gql, useTestServer } from '../helpers/server';
import { wsClient } from '../helpers/ws';

/**
 * Issue 9 item 16: a persisted query sent with a hash that is not its document's answered
 * INTERNAL_SERVER_ERROR (Apollo's refusal carries no code), and graphql-query-complexity's node
 * cap (10,000 nodes, reached by fragment fan-out) answered a 500. Now: BAD_USER_INPUT with the
 * reason, and our own cost walk (each fragment once) answers QUERY_TOO_COMPLEX.
 */
const sha = (q: string) => createHash('sha256').update(q).digest('hex');
const ext = (hash: string, version = 1) => ({ persistedQuery: { version, sha256Hash: hash } });

function fanOut(levels: number, leaf: string): string {
  const parts = ['query Nodes { ...F0 }'];
  for (let i = 0; i < levels; i++) parts.push(`fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`);
  parts.push(`fragment F${levels} on Query { ${leaf} }`);
  return parts.join(' ');
}

describe('persisted query hash mismatch', () => {
  const t = useTestServer();
  const post = async (body: unknown) => {
    const res = await fetch(t.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { data?: any; errors?: any[] } };
  };

  it("HTTP: a hash that is not the document's is 400 BAD_USER_INPUT with the reason, not INTERNAL_SERVER_ERROR", async () => {
    const query = '{ __typename }';
    const res = await post({ query, extensions: ext(sha('{ models { id } }')) });
    expect(res.status).toBe(400);
    expect(res.body.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0].message).toMatch(/sha does not match/);
    // the honest registration still works, and so does the lookup by hash
    expect((await post({ query, extensions: ext(sha(query)) })).body.data).toEqual({ __typename: 'Query' });
    expect((await post({ extensions: ext(sha(query)) })).body.data).toEqual({ __typename: 'Query' });
  });

  it('HTTP: an unknown hash is PERSISTED_QUERY_NOT_FOUND and an unsupported version BAD_USER_INPUT', async () => {
    const unknown = await post({ extensions: ext('0'.repeat(64)) });
    expect(unknown.body.errors![0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const version = await post({ query: '{ __typename }', extensions: ext(sha('{ __typename }'), 2) });
    expect(version.status).toBe(400);
    expect(version.body.errors![0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('WebSocket: the same mismatch is BAD_USER_INPUT', async () => {
    const client = wsClient(t.wsUrl);
    try {
      const errors = await new Promise<any[]>((resolve, reject) =>
        client.subscribe(
          { query: '{ __typename }', extensions: ext(sha('{ models { id } }')) },
          { next: () => reject(new Error('executed')), error: (e) => resolve(e as any[]), complete: () => reject(new Error('executed')) },
        ),
      );
      expect(errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(errors[0].message).toMatch(/hash does not match/);
    } finally {
      await client.dispose();
    }
  });
});

describe('the old complexity node cap', () => {
  const t = useTestServer();

  it('a fan-out past 10,000 expanded nodes is QUERY_TOO_COMPLEX (was a 500), on HTTP and WebSocket', async () => {
    const query = fanOut(14, 'models { id }'); // 2^14 = 16,384 expanded `models` fields
    const res = await gql(t.graphqlUrl, query);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', cost: 2 ** 14 });
    const client = wsClient(t.wsUrl);
    try {
      const errors = await new Promise<any[]>((resolve, reject) =>
        client.subscribe(
          { query },
          { next: () => reject(new Error('executed')), error: (e) => resolve(e as any[]), complete: () => reject(new Error('executed')) },
        ),
      );
      expect(errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', cost: 2 ** 14 });
    } finally {
      await client.dispose();
    }
  });

  it('the same fan-out of free scalars passes the cost check and is answered once per field', async () => {
    const res = await gql(t.graphqlUrl, fanOut(14, '__typename'));
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ __typename: 'Query' });
  });
});
