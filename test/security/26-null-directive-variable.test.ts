import { bearer, registerUser } from '../helpers/auth';
import { authedWs } from '../helpers/chat';
import { gql, useTestServer } from '../helpers/server';
import { wsRun } from '../helpers/ws';

/**
 * Found by fuzzing (test/resilience/fuzz.test.ts): a nullable variable with a default passes
 * validation in a non-null position (`$b: Boolean = true` in `@include(if: $b)`); sent as an
 * explicit null, graphql-js refuses it at run time with an uncoded error, which read as
 * INTERNAL_SERVER_ERROR. It is the client's input: BAD_USER_INPUT.
 */
const CASES: [string, Record<string, unknown>][] = [
  ['query Q($b: Boolean = true) { __typename @include(if: $b) }', { b: null }],
  ['query Q($b: Boolean = false) { me { id @skip(if: $b) } }', { b: null }],
  ['mutation M($b: Boolean = true) { __typename @include(if: $b) }', { b: null }],
];

describe('an explicit null for a defaulted variable in a non-null position', () => {
  const t = useTestServer();

  it.each(CASES)('%s is BAD_USER_INPUT over HTTP and WebSocket', async (query, variables) => {
    const user = await registerUser(t.graphqlUrl);
    const res = await gql(t.graphqlUrl, query, variables, bearer(user.accessToken));
    expect(res.status).toBeLessThan(500);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(res.body.errors[0].message).toMatch(/^Argument "if" of non-null type "Boolean!" must not be null/);
    const ws = authedWs(t.wsUrl, user.accessToken);
    const results = await wsRun<{ errors?: { extensions: { code: string } }[] }>(ws, query, variables).catch((e: unknown) => [
      { errors: e as { extensions: { code: string } }[] },
    ]);
    await ws.dispose();
    expect(results[0].errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});
