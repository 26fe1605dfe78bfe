import { randomBytes } from 'node:crypto';
import { bearer, registerUser } from '../helpers/auth';
import { gql, useTestServer } from '../helpers/server';

/**
 * Found by fuzzing (test/resilience/fuzz.test.ts): a subscription POSTed over HTTP was executed
 * once as if it were a query, running the event resolver with no event (a TypeError, answered
 * INTERNAL_SERVER_ERROR). Subscriptions run over graphql-ws; over HTTP they are BAD_USER_INPUT.
 */
describe('a subscription sent over HTTP', () => {
  const t = useTestServer({ env: { APP_ENV: 'prod', SECRET_KEY: randomBytes(48).toString('base64url'), CORS_ORIGINS: 'https://a.example.com' } });

  it.each([
    'subscription { chatEvents { type conversation { id } } }',
    'subscription S($id: ID!) { messageStream(messageId: $id) { delta } }',
    'query Q { me { id } } subscription S { chatEvents { type } }',
  ])('%s is refused as BAD_USER_INPUT, signed in or not', async (query) => {
    const user = await registerUser(t.graphqlUrl);
    const operationName = query.startsWith('query') ? 'S' : undefined;
    for (const headers of [bearer(user.accessToken), {}]) {
      const res = await fetch(t.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, operationName, variables: { id: user.userId } }),
      });
      const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(res.status).toBe(400);
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(body.errors[0].message).toMatch(/WebSocket/);
    }
  });

  it('a query in the same document still runs over HTTP', async () => {
    const user = await registerUser(t.graphqlUrl);
    const res = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(user.accessToken) },
      body: JSON.stringify({ query: 'query Q { me { id } } subscription S { chatEvents { type } }', operationName: 'Q' }),
    });
    expect(((await res.json()) as { data: { me: { id: string } } }).data.me.id).toBe(user.userId);
    expect((await gql(t.graphqlUrl, '{ me { id } }', undefined, bearer(user.accessToken))).body.data.me.id).toBe(user.userId);
  });
});
