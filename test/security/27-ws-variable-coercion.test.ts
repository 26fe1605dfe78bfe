import { registerUser } from '../helpers/auth';
import { authedWs } from '../helpers/chat';
import { useTestServer } from '../helpers/server';
import { wsRun } from '../helpers/ws';

/**
 * Found by the resilience suite: a variable graphql-js refuses to coerce (`$from: ""` for an
 * `Int`) arrived over WebSocket as an uncoded error, which read as INTERNAL_SERVER_ERROR (and was
 * logged as a server fault). It is the client's input: BAD_USER_INPUT, as Apollo says over HTTP.
 */
const CASES: [string, Record<string, unknown>][] = [
  ['subscription S($id: ID!, $from: Int) { messageStream(messageId: $id, fromOffset: $from) { delta } }', { id: crypto.randomUUID(), from: '' }],
  ['subscription S($id: ID!) { messageStream(messageId: $id) { delta } }', {}],
  ['query Q($first: Int) { conversations(first: $first) { edges { node { id } } } }', { first: 'many' }],
];

describe('a variable graphql-js cannot coerce, over WebSocket', () => {
  const t = useTestServer();

  it.each(CASES)('%s is BAD_USER_INPUT', async (query, variables) => {
    const user = await registerUser(t.graphqlUrl);
    const ws = authedWs(t.wsUrl, user.accessToken);
    const results = await wsRun<{ errors?: { extensions: { code: string }; message: string }[] }>(ws, query, variables).catch((e: unknown) => [
      { errors: e as { extensions: { code: string }; message: string }[] },
    ]);
    await ws.dispose();
    expect(results[0].errors).toHaveLength(1);
    expect(results[0].errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(results[0].errors?.[0].message).toMatch(/^Variable "\$\w+"/);
  });
});
