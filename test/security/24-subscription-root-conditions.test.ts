import { gql, useTestServer } from '../helpers/server';
import { wsClient, wsRun } from '../helpers/ws';

/**
 * Found by fuzzing (test/resilience/fuzz.test.ts): graphql-js 16's single-root-field rule for
 * subscriptions evaluates @skip/@include with no variables and throws on `if: $var`, which
 * Apollo answered as a 500. The spec forbids those directives at a subscription's top level;
 * we refuse them first, as GRAPHQL_VALIDATION_FAILED, on HTTP and WebSocket.
 */
const DOCUMENTS = [
  'subscription S($b: Boolean = true) { __typename @include(if: $b) }',
  'subscription S($b: Boolean!) { chatEvents @skip(if: $b) { messageId } }',
  'subscription S($b: Boolean = false) { ...F } fragment F on Subscription { chatEvents @include(if: $b) { messageId } }',
  'subscription { ... on Subscription @include(if: true) { chatEvents { messageId } } }',
];

describe('@skip/@include at a subscription top level', () => {
  const t = useTestServer();

  it.each(DOCUMENTS)('%s is a validation error over HTTP, not a 500', async (query) => {
    const res = await gql(t.graphqlUrl, query, { b: ['not a boolean'] });
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.body.errors[0].message).toMatch(/must not use @skip or @include/);
  });

  it.each(DOCUMENTS)('%s is a validation error over WebSocket', async (query) => {
    const client = wsClient(t.wsUrl);
    const errors = await wsRun(client, query, { b: true }).then(
      () => [],
      (e: unknown) => e as { extensions: { code: string } }[],
    );
    await client.dispose();
    expect(errors).toHaveLength(1);
    expect(errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('a directive below the top level, and in queries, still works', async () => {
    const res = await gql(t.graphqlUrl, 'query Q($b: Boolean = false) { __typename @include(if: $b) }');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({});
  });
});
