import { useTestServer } from '../helpers/server';

/**
 * Issue 9 item 18: `application/graphql-response+json` (a response media type) passed the
 * content-type check but not the JSON body parser, so Apollo answered 400 "POST body missing".
 * Now every type but application/json is 415, like forms and text/plain.
 */
describe('request content types on /graphql', () => {
  const t = useTestServer();
  const post = async (contentType: string) => {
    const res = await fetch(t.graphqlUrl, { method: 'POST', headers: { 'content-type': contentType }, body: JSON.stringify({ query: '{ __typename }' }) });
    return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: { message: string; extensions: { code: string } }[] } };
  };

  it.each(['application/graphql-response+json', 'application/graphql-response+json; charset=utf-8', 'application/vnd.api+json', 'application/graphql'])(
    '%s is 415 BAD_USER_INPUT',
    async (type) => {
      const res = await post(type);
      expect(res.status).toBe(415);
      expect(res.body.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect(res.body.errors![0].message).not.toMatch(/POST body missing/);
    },
  );

  it.each(['application/json', 'application/json; charset=utf-8'])('%s is served', async (type) => {
    const res = await post(type);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ __typename: 'Query' });
  });
});
