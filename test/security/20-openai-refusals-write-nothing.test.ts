import { bearer, registerUser, type Registered } from '../helpers/auth';
import { createConversation, sendMessage } from '../helpers/chat';
import { gql, sql, useTestServer, type TestServer } from '../helpers/server';

// Issue 11 review: `POST /v1/chat/completions` wrote the caller's new conversation (and its
// `chat.conversation.create` audit row) before the send was refused for CONCURRENT_STREAMS or
// DAILY_QUOTA, so every refused call left an empty conversation in the owner's list: a loop
// of refused calls filled it and the audit trail at the send rate limit.

async function apiKeyFor(t: TestServer, user: Registered): Promise<string> {
  const res = await gql(t.graphqlUrl, 'mutation { createApiKey(name: "loop") { secret } }', undefined, bearer(user.accessToken));
  return res.body.data.createApiKey.secret;
}

function complete(t: TestServer, key: string): Promise<Response> {
  return fetch(`${t.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'hello again' }] }),
  });
}

/** The rows a completion would write before its reply: conversations of the owner and their audit events. */
async function rowsOf(t: TestServer, userId: string) {
  const [c] = await sql(t, 'select count(*)::int as n from conversation where owner_id = ?', [userId]);
  const [a] = await sql(t, "select count(*)::int as n from audit_event where action = 'chat.conversation.create' and actor_id = ?", [userId]);
  return { conversations: c.n, created: a.n };
}

/** Five refused completions: each a 429 in OpenAI's shape with Retry-After, for `reason`. */
async function fiveRefused(t: TestServer, key: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const res = await complete(t, key);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited' });
  }
}

describe('20: a refused /v1 completion writes no conversation and no audit row', () => {
  // A slow echo keeps one reply streaming for the whole test; one stream at a time; a quota of 100 tokens.
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '2000', CHAT_MAX_CONCURRENT_STREAMS: '1', USER_DAILY_TOKEN_QUOTA: '100' } });

  it('refused for CONCURRENT_STREAMS: the owner list and the audit trail stay as they were', async () => {
    const user = await registerUser(t.graphqlUrl);
    const key = await apiKeyFor(t, user);
    const conv = await createConversation(t.graphqlUrl, user.accessToken);
    const sent = await sendMessage(t.graphqlUrl, user.accessToken, conv, 'a long reply that keeps streaming for a while');
    const replyId = sent.body.data.sendMessage.assistantMessage.id;
    const before = await rowsOf(t, user.userId);
    expect(before).toEqual({ conversations: 1, created: 1 });

    await fiveRefused(t, key);
    expect(await rowsOf(t, user.userId)).toEqual(before); // was 6 conversations and 6 create rows

    const cancelled = await gql(
      t.graphqlUrl,
      'mutation C($id: ID!) { cancelGeneration(messageId: $id) { status } }',
      { id: replyId },
      bearer(user.accessToken),
    );
    expect(cancelled.body.data.cancelGeneration.status).toBe('CANCELLED');
  });

  it('refused for DAILY_QUOTA: the owner list and the audit trail stay as they were', async () => {
    const user = await registerUser(t.graphqlUrl);
    const key = await apiKeyFor(t, user);
    // The state a day's spent quota leaves in the ledger.
    await sql(t, "insert into token_usage (user_id, day, reserved, used) values (?, (now() at time zone 'utc')::date, 0, 100)", [user.userId]);
    const before = await rowsOf(t, user.userId);

    await fiveRefused(t, key);
    expect(await rowsOf(t, user.userId)).toEqual(before);
  });
});
