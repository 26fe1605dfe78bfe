import { gql, useTestServer } from '../helpers/server';
import { wsClient, wsRun } from '../helpers/ws';

/**
 * Issue 9 item 17: graphql-cop's directive-overloading check sends ten unknown directives and
 * counts the errors: each was validated and answered ("Unknown directive" x10). Our limit check
 * runs before graphql-js's rules and answers one error; any error list is capped at 10.
 */
const COP = 'query cop { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }';

describe('directive overloading', () => {
  const t = useTestServer();
  const viaWs = async (query: string): Promise<any[]> => {
    const client = wsClient(t.wsUrl);
    try {
      await wsRun(client, query);
      throw new Error('not refused');
    } catch (errors) {
      return errors as any[];
    } finally {
      await client.dispose();
    }
  };

  it("graphql-cop's document gets one error, on HTTP and WebSocket", async () => {
    const res = await gql(t.graphqlUrl, COP);
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0]).toMatchObject({ message: 'Unknown directive "@aa".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(res.body.data).toBeUndefined();
    const ws = await viaWs(COP);
    expect(ws).toHaveLength(1);
    expect(ws[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('fifty known directives are one QUERY_TOO_COMPLEX, before any other rule runs', async () => {
    const q = `{ __typename ${'@skip(if: false) '.repeat(50)} }`; // also fifty "used more than once" errors for graphql-js
    const res = await gql(t.graphqlUrl, q);
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxDirectives: 10 });
    const ws = await viaWs(q);
    expect(ws).toHaveLength(1);
    expect(ws[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('a document with many independent mistakes answers at most 10 errors', async () => {
    const q = `{ ${Array.from({ length: 60 }, (_, i) => `nope${i}`).join(' ')} }`;
    const res = await gql(t.graphqlUrl, q);
    expect(res.status).toBe(400);
    expect(res.body.errors.length).toBeGreaterThan(1);
    expect(res.body.errors.length).toBeLessThanOrEqual(10);
    const ws = await viaWs(q);
    expect(ws.length).toBeGreaterThan(1);
    expect(ws.length).toBeLessThanOrEqual(10);
  });
});
