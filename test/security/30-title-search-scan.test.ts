import { randomUUID } from 'node:crypto';
import { TITLE_SCAN_MAX } from '../../src/chat/chat-lists';
import { bearer, registerUser } from '../helpers/auth';
import { createConversation } from '../helpers/chat';
import { gql, seal, sql, useTestServer } from '../helpers/server';

// Titles are sealed, so `titleContains` opens titles in the server instead of matching them in
// SQL. A caller who made very many conversations must not make one request open them all.
describe('30: a title search over very many conversations', () => {
  const t = useTestServer();

  it('opens at most TITLE_SCAN_MAX conversations per page, newest first, and finds a match within them', async () => {
    const u = await registerUser(t.graphqlUrl);
    // The oldest conversation has the title searched for; above it, more untitled ones than one page may open.
    const oldest = await createConversation(t.graphqlUrl, u.accessToken, { title: 'needle in the stack' });
    await sql(t, `update conversation set created_at = now() - interval '1 day', updated_at = now() - interval '1 day' where id = ?`, [oldest]);
    await sql(
      t,
      `insert into conversation (id, owner_id, model, archived, created_at, updated_at)
       select gen_random_uuid(), ?, 'echo', false, now() - make_interval(secs => g), now() - make_interval(secs => g) from generate_series(1, ?) g`,
      [u.userId, TITLE_SCAN_MAX + 50],
    );
    const search = (text: string) =>
      gql(
        t.graphqlUrl,
        'query L($f: ConversationFilter) { conversations(first: 5, filter: $f) { edges { node { id } } pageInfo { hasNextPage } } }',
        { f: { titleContains: text } },
        bearer(u.accessToken),
      );
    const far = await search('needle');
    expect(far.body.errors).toBeUndefined();
    expect(far.body.data.conversations.edges).toEqual([]); // beyond what one page opens

    // A match within the newest TITLE_SCAN_MAX is found.
    const recent = randomUUID();
    await sql(t, `insert into conversation (id, owner_id, model, title, archived, created_at, updated_at) values (?, ?, 'echo', ?, false, now(), now())`, [
      recent,
      u.userId,
      await seal(t, u.userId, 'conversation.title', recent, 'a recent needle'),
    ]);
    const near = await search('NEEDLE');
    expect(near.body.data.conversations.edges.map((e: any) => e.node.id)).toEqual([recent]);
    expect((await gql(t.graphqlUrl, '{ __typename }')).body.data.__typename).toBe('Query'); // still answering
  });
});
