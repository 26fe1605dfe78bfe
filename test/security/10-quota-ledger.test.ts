import { bearer, registerUser } from '../helpers/auth';
import { authedWs, createConversation, sendMessage, streamReply } from '../helpers/chat';
import { useFakeOpenAIServer } from '../helpers/fake-openai';
import { gql, sql, useTestServer, type TestServer } from '../helpers/server';

/** `n` one-letter words: about n/2 tokens by the 4-characters-a-token estimate. */
const words = (letter: string, n: number) => Array.from({ length: n }, () => letter).join(' ');

async function finish(t: TestServer, token: string, messageId: string) {
  const client = authedWs(t.wsUrl, token);
  try {
    const events = await streamReply(client, messageId);
    return events[events.length - 1];
  } finally {
    await client.dispose();
  }
}

async function ledger(t: TestServer, userId: string): Promise<{ used: number; reserved: number }> {
  const [row] = await sql(t, 'select used, reserved from token_usage where user_id = ?', [userId]);
  return row ?? { used: 0, reserved: 0 };
}

describe('item 10: the daily token quota is a ledger (echo provider, quota 100)', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '1', USER_DAILY_TOKEN_QUOTA: '100' } });

  it('deleting the conversation that spent the quota does not reset it', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const sent = await sendMessage(t.graphqlUrl, u.accessToken, conv, words('a', 150)); // ~75 prompt tokens, a ~77-token reply
    const last = await finish(t, u.accessToken, sent.body.data.sendMessage.assistantMessage.id);
    // The reply is cut at the 25 tokens the quota leaves (max_tokens), as a real model would cut it.
    expect(last).toMatchObject({ done: true, status: 'COMPLETE', usage: { completionTokens: 25 } });
    const spent = await ledger(t, u.userId);
    expect(spent.used).toBeGreaterThanOrEqual(100);

    // The attack: delete the history the old quota was summed from, then send again.
    const deleted = await gql(t.graphqlUrl, 'mutation D($id: ID!) { deleteConversation(id: $id) }', { id: conv }, bearer(u.accessToken));
    expect(deleted.body.data.deleteConversation).toBe(true);
    const fresh = await createConversation(t.graphqlUrl, u.accessToken);
    const again = await sendMessage(t.graphqlUrl, u.accessToken, fresh, 'one more, please');
    expect(again.body.errors[0].extensions.code).toBe('RATE_LIMITED');
    expect(again.body.errors[0].extensions.retryAfterSeconds).toBeGreaterThan(0);
    expect(again.body.errors[0].message).toMatch(/quota/);
    expect(await ledger(t, u.userId)).toEqual({ used: spent.used, reserved: 0 });
  });

  it('three concurrent replies cannot together spend more than the remainder', async () => {
    const u = await registerUser(t.graphqlUrl);
    const convs = await Promise.all([1, 2, 3].map(() => createConversation(t.graphqlUrl, u.accessToken)));
    // Each reply alone fits (~40 prompt + ~41 reply tokens); three together would be ~243.
    const results = await Promise.all(convs.map((c) => sendMessage(t.graphqlUrl, u.accessToken, c, words('b', 80))));
    const accepted = results.filter((r) => r.body.data?.sendMessage);
    const refused = results.filter((r) => r.body.errors);
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    expect(accepted.length + refused.length).toBe(3);
    for (const r of refused) expect(r.body.errors[0].extensions.code).toBe('RATE_LIMITED');
    const finals = await Promise.all(accepted.map((r) => finish(t, u.accessToken, r.body.data.sendMessage.assistantMessage.id)));
    const spent = finals.reduce((n, e) => n + (e.usage ? e.usage.promptTokens + e.usage.completionTokens : 0), 0);
    expect(spent).toBeLessThanOrEqual(100);
    const book = await ledger(t, u.userId);
    expect(book.reserved).toBe(0);
    expect(book.used).toBe(spent);
    expect(book.used).toBeLessThanOrEqual(100);
  });
});

describe('item 10: max_tokens goes upstream (fake OpenAI server)', () => {
  const { t, fake } = useFakeOpenAIServer({ AI_MODELS: 'good', USER_DAILY_TOKEN_QUOTA: '100', AI_MAX_OUTPUT_TOKENS: '60' });

  it('sends the remaining quota after the prompt as max_tokens, capped by AI_MAX_OUTPUT_TOKENS, and settles the real usage', async () => {
    const u = await registerUser(t.graphqlUrl);
    const first = await sendMessage(t.graphqlUrl, u.accessToken, await createConversation(t.graphqlUrl, u.accessToken), 'hi');
    await finish(t, u.accessToken, first.body.data.sendMessage.assistantMessage.id);
    expect(fake.requests[fake.requests.length - 1].json.max_tokens).toBe(60); // 99 left after a 1-token prompt: the cap wins
    expect(await ledger(t, u.userId)).toEqual({ used: 19, reserved: 0 }); // the fake reports 11 + 8

    const long = 'x'.repeat(200); // a 50-token prompt; 100 - 19 - 50 = 31 left
    const second = await sendMessage(t.graphqlUrl, u.accessToken, await createConversation(t.graphqlUrl, u.accessToken), long);
    await finish(t, u.accessToken, second.body.data.sendMessage.assistantMessage.id);
    expect(fake.requests[fake.requests.length - 1].json.max_tokens).toBe(31);
    expect(await ledger(t, u.userId)).toEqual({ used: 38, reserved: 0 });
  });
});
