import { randomUUID } from 'node:crypto';
import { bearer, registerUser } from '../helpers/auth';
import { assemble, authedWs, createConversation, sendMessage, streamReply } from '../helpers/chat';
import { useFakeOpenAIServer } from '../helpers/fake-openai';
import { DB_ERROR_VALUE, DbErrorFixtureResolver } from '../helpers/fixture.resolver';
import { gql, sql, unseal, useTestServer } from '../helpers/server';

/**
 * Item 15: database errors carry values. A cursor dated year -271821 reached PostgreSQL, whose
 * range error (with the SQL and its values) went to the log and, outside prod, to the client.
 * Model output holding U+0000 made PostgreSQL refuse the batched save of every reply in it.
 */

const cursorOf = (iso: string) => Buffer.from(JSON.stringify([iso, randomUUID()])).toString('base64url');
const SQL_TEXT = /\bselect\b|\bupdate\b|\bwhere\b|\$\d|271821/i;

describe('15 database errors: cursors and logs (APP_ENV=dev, where internals would show)', () => {
  const t = useTestServer({ env: { APP_ENV: 'dev' }, extraResolvers: [DbErrorFixtureResolver] });

  it('a cursor dated year -271821 (or any time never issued) is BAD_USER_INPUT, with no SQL or value in the answer or the log', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const queries = [
      ['query C($a: String) { conversations(first: 5, after: $a) { edges { node { id } } } }', {}],
      ['query M($id: ID!, $a: String) { conversation(id: $id) { messages(first: 5, after: $a) { edges { node { id } } } } }', { id: conv }],
    ] as const;
    for (const iso of ['-271821-04-20T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', '0001-01-01T00:00:00.000Z']) {
      for (const [q, vars] of queries) {
        const res = await gql(t.graphqlUrl, q, { ...vars, a: cursorOf(iso) }, bearer(u.accessToken));
        expect(res.status).toBe(200);
        expect(res.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
        expect(JSON.stringify(res.body)).not.toMatch(SQL_TEXT);
      }
    }
    // Numbers, objects and nonsense where the time goes are refused the same way.
    for (const bad of [Buffer.from(JSON.stringify([-8.64e15, randomUUID()])).toString('base64url'), Buffer.from('{"x":1}').toString('base64url')]) {
      const res = await gql(t.graphqlUrl, queries[0][0], { a: bad }, bearer(u.accessToken));
      expect(res.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    }
    expect(t.logs.raw.filter((l) => SQL_TEXT.test(l))).toEqual([]);
  });

  it('a statement the database refuses is logged and answered without its SQL or parameters', async () => {
    const res = await gql(t.graphqlUrl, '{ fixtureDbError }');
    expect(res.body.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(res.body)).not.toMatch(SQL_TEXT);
    expect(JSON.stringify(res.body)).not.toContain(DB_ERROR_VALUE);
    const line = await t.logs.waitFor((l) => l.message === 'unexpected error' && l.requestId === res.body.errors[0].extensions.requestId);
    // The log keeps what helps (PostgreSQL's code and message), never the statement or its values.
    expect(JSON.stringify(line)).toMatch(/2200[89]|out of range/);
    expect(t.logs.raw.filter((l) => SQL_TEXT.test(l) || l.includes(DB_ERROR_VALUE))).toEqual([]);
  });
});

describe('15 database errors: U+0000 in model output', () => {
  const { t } = useFakeOpenAIServer({ AI_MODELS: 'paced,nul' });

  it('a reply streaming U+0000 and another in the same save batch are both stored whole, the NUL removed', async () => {
    const u = await registerUser(t.graphqlUrl);
    const start = async (model: string) => {
      const conv = await createConversation(t.graphqlUrl, u.accessToken, { model });
      return (await sendMessage(t.graphqlUrl, u.accessToken, conv, 'hello model')).body.data.sendMessage.assistantMessage.id as string;
    };
    const [nul, paced] = await Promise.all([start('nul'), start('paced')]);
    const client = authedWs(t.wsUrl, u.accessToken);
    let stored: any[] = [];
    const [nulEvents, pacedEvents] = await Promise.all([
      streamReply(client, nul),
      // While both stream, the other reply's partial text reaches the database (saved in the batches the NUL one shares).
      streamReply(client, paced, 0, (e) => {
        if (e.offset > 'Hello from the'.length && stored.length === 0)
          void sql(t, 'select content from message where id = ?', [paced]).then((r) => (stored = r));
      }),
    ]);
    await client.dispose();
    expect(assemble(nulEvents)).toBe('Hello world from the fake model.');
    expect(assemble(pacedEvents)).toBe('Hello from the fake model, streaming nicely.');
    const rows = await sql(t, 'select id, content, status from message where id in (?, ?)', [nul, paced]);
    for (const r of rows) r.content = await unseal(t, 'message.content', r.id, r.content);
    expect(Object.fromEntries(rows.map((r) => [r.id, [r.content, r.status]]))).toEqual({
      [nul]: ['Hello world from the fake model.', 'COMPLETE'],
      [paced]: ['Hello from the fake model, streaming nicely.', 'COMPLETE'],
    });
    expect(t.logs.find((l) => /saving .*failed/.test(String(l.message)))).toBeUndefined();
  });
});
