import { bearer, registerUser } from '../helpers/auth';
import { assemble, authedWs, createConversation, streamReply, streamedPast } from '../helpers/chat';
import { useFakeOpenAIServer } from '../helpers/fake-openai';
import { gql, sql, useTestServer, type TestServer } from '../helpers/server';

const REPLY_FIELDS = 'id content status finishReason errorCode error usage { promptTokens completionTokens totalTokens estimated }';

/** sendMessage as a client sends it, with optional model parameters. */
function send(t: TestServer, token: string, conversationId: string, content: string, parameters?: Record<string, unknown>) {
  return gql(
    t.graphqlUrl,
    `mutation S($i: SendMessageInput!) { sendMessage(input: $i) { assistantMessage { id status finishReason } } }`,
    { i: { conversationId, content, ...(parameters && { parameters }) } },
    bearer(token),
  );
}

/** Follows the reply to its end over messageStream, then reads the stored message back through the API. */
async function finished(t: TestServer, token: string, conversationId: string, messageId: string) {
  const client = authedWs(t.wsUrl, token);
  const events = await streamReply(client, messageId).finally(() => client.dispose());
  const res = await gql(
    t.graphqlUrl,
    `query Q($id: ID!) { conversation(id: $id) { messages(first: 100) { edges { node { ${REPLY_FIELDS} } } } } }`,
    { id: conversationId },
    bearer(token),
  );
  const message = res.body.data.conversation.messages.edges.map((e: any) => e.node).find((m: any) => m.id === messageId);
  return { events, text: assemble(events), message };
}

/** Sends and waits for the reply; fails the test when sendMessage is refused. */
async function reply(t: TestServer, token: string, conversationId: string, content: string, parameters?: Record<string, unknown>) {
  const res = await send(t, token, conversationId, content, parameters);
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return finished(t, token, conversationId, res.body.data.sendMessage.assistantMessage.id);
}

const myUsage = (t: TestServer, token: string, since: Date) =>
  gql(
    t.graphqlUrl,
    'query U($s: DateTime!) { myUsage(since: $s) { promptTokens completionTokens totalTokens dailyQuota remainingToday } }',
    { s: since.toISOString() },
    bearer(token),
  );

describe('model parameters, finish reasons and error codes (fake OpenAI server)', () => {
  const { t, fake } = useFakeOpenAIServer({
    AI_MODELS: 'good,length,nousage,broken,silent,limited',
    AI_FIRST_TOKEN_TIMEOUT_MS: '2500',
    AI_MAX_OUTPUT_TOKENS: '50',
    USER_DAILY_TOKEN_QUOTA: '200',
  });

  const lastRequest = () => fake.requests[fake.requests.length - 1].json;

  it('sends temperature, top_p and max_tokens upstream exactly, and stores them with the reply', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken, { model: 'good' });
    const { message } = await reply(t, u.accessToken, conv, 'hello', { temperature: 0.3, maxOutputTokens: 20, topP: 0.9 });
    expect(lastRequest()).toMatchObject({ model: 'good', temperature: 0.3, top_p: 0.9, max_tokens: 20 });
    const [row] = await sql(t, 'select parameters from message where id = ?', [message.id]);
    expect(row.parameters).toEqual({ temperature: 0.3, maxOutputTokens: 20, topP: 0.9 });

    await reply(t, u.accessToken, conv, 'again, with defaults');
    const plain = lastRequest();
    expect(plain.max_tokens).toBe(50); // AI_MAX_OUTPUT_TOKENS
    expect(plain).not.toHaveProperty('temperature');
    expect(plain).not.toHaveProperty('top_p');
  });

  it('caps maxOutputTokens by AI_MAX_OUTPUT_TOKENS and by what is left of the daily quota', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken, { model: 'good' });
    await reply(t, u.accessToken, conv, 'short', { maxOutputTokens: 500 });
    expect(lastRequest().max_tokens).toBe(50);

    const other = await registerUser(t.graphqlUrl);
    const big = await createConversation(t.graphqlUrl, other.accessToken, { model: 'good' });
    await reply(t, other.accessToken, big, 'x'.repeat(680), { maxOutputTokens: 40 }); // a 170-token prompt: 200 - 170 = 30 left
    expect(lastRequest().max_tokens).toBe(30);
  });

  it.each([
    [{ temperature: 2.5 }, 'temperature'],
    [{ temperature: -0.1 }, 'temperature'],
    [{ topP: 0 }, 'topP'],
    [{ topP: 1.01 }, 'topP'],
    [{ maxOutputTokens: 0 }, 'maxOutputTokens'],
  ])('refuses %j with BAD_USER_INPUT, storing and sending nothing', async (parameters, field) => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken, { model: 'good' });
    const before = fake.requests.length;
    const res = await send(t, u.accessToken, conv, 'hello', parameters);
    expect(res.status).toBe(200);
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: `parameters.${field}` });
    expect(await sql(t, 'select id from message where conversation_id = ?', [conv])).toHaveLength(0);
    expect(fake.requests.length).toBe(before);
  });

  it("maps the provider's finish_reason: stop is STOP, length is LENGTH (still COMPLETE)", async () => {
    const u = await registerUser(t.graphqlUrl);
    const good = await reply(t, u.accessToken, await createConversation(t.graphqlUrl, u.accessToken, { model: 'good' }), 'hi');
    expect(good.message).toMatchObject({ status: 'COMPLETE', finishReason: 'STOP', errorCode: null });
    const cut = await reply(t, u.accessToken, await createConversation(t.graphqlUrl, u.accessToken, { model: 'length' }), 'hi');
    expect(cut.message).toMatchObject({ status: 'COMPLETE', finishReason: 'LENGTH', errorCode: null });
    expect(cut.text).toBe('Hello from the fake model, streaming nicely.');
  });

  it.each([
    ['broken', 'UPSTREAM_ERROR', 'upstream service error'],
    ['silent', 'UPSTREAM_TIMEOUT', 'upstream timed out'],
    ['limited', 'UPSTREAM_RATE_LIMITED', 'upstream rate limit reached'],
  ])('a failing upstream (%s) ends FAILED with errorCode %s and finishReason ERROR', async (model, errorCode, error) => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken, { model });
    const { message, events } = await reply(t, u.accessToken, conv, 'hi');
    expect(message).toMatchObject({ status: 'FAILED', finishReason: 'ERROR', errorCode, error });
    expect(events[events.length - 1]).toMatchObject({ done: true, status: 'FAILED', error });
    expect(JSON.stringify(message)).not.toMatch(/sk-|Rate limit reached/);
  });

  it('reports totalTokens, and estimated only when the provider reported no usage', async () => {
    const u = await registerUser(t.graphqlUrl);
    const reported = await reply(t, u.accessToken, await createConversation(t.graphqlUrl, u.accessToken, { model: 'good' }), 'hi');
    expect(reported.message.usage).toEqual({ promptTokens: 11, completionTokens: 8, totalTokens: 19, estimated: false });
    const counted = await reply(t, u.accessToken, await createConversation(t.graphqlUrl, u.accessToken, { model: 'nousage' }), 'hi');
    const { promptTokens, completionTokens, totalTokens, estimated } = counted.message.usage;
    expect(estimated).toBe(true);
    expect(completionTokens).toBe(Math.ceil('Hello from the fake model, streaming nicely.'.length / 4));
    expect(totalTokens).toBe(promptTokens + completionTokens);
    expect(counted.events[counted.events.length - 1].usage).toMatchObject({ promptTokens, completionTokens });
  });

  it('myUsage sums the ledger after two replies and says what remains of the quota today', async () => {
    const u = await registerUser(t.graphqlUrl);
    const since = new Date(Date.now() - 60_000);
    const empty = await myUsage(t, u.accessToken, since);
    expect(empty.body.data.myUsage).toEqual({ promptTokens: 0, completionTokens: 0, totalTokens: 0, dailyQuota: 200, remainingToday: 200 });
    const conv = await createConversation(t.graphqlUrl, u.accessToken, { model: 'good' });
    await reply(t, u.accessToken, conv, 'first');
    await reply(t, u.accessToken, conv, 'second');
    const res = await myUsage(t, u.accessToken, since);
    expect(res.body.data.myUsage).toEqual({ promptTokens: 22, completionTokens: 16, totalTokens: 38, dailyQuota: 200, remainingToday: 162 });
    // Deleting the history does not lower it (the ledger), and a time far back is clamped, not refused.
    await gql(t.graphqlUrl, 'mutation D($id: ID!) { deleteConversation(id: $id) }', { id: conv }, bearer(u.accessToken));
    const later = await myUsage(t, u.accessToken, new Date('2000-01-01T00:00:00Z'));
    expect(later.body.data.myUsage).toMatchObject({ totalTokens: 38, remainingToday: 162 });
    const anonymous = await gql(t.graphqlUrl, 'query { myUsage(since: "2020-01-01T00:00:00Z") { totalTokens } }');
    expect(anonymous.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});

describe('the echo provider honours maxOutputTokens', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '1' } });

  it('cuts its reply at maxOutputTokens (4 characters a token) with finishReason LENGTH; STOP otherwise', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const cut = await reply(t, u.accessToken, conv, 'one two three four five six', { maxOutputTokens: 3 });
    expect(cut.text).toBe('Echo: one tw');
    expect(cut.message).toMatchObject({ status: 'COMPLETE', finishReason: 'LENGTH', content: 'Echo: one tw' });
    expect(cut.message.usage).toMatchObject({ completionTokens: 3, estimated: true });
    const whole = await reply(t, u.accessToken, conv, 'one two', { temperature: 0 });
    expect(whole.message).toMatchObject({ content: 'Echo: one two', finishReason: 'STOP' });
  });

  it('myUsage has no quota without USER_DAILY_TOKEN_QUOTA', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const { message } = await reply(t, u.accessToken, conv, 'count me');
    const res = await myUsage(t, u.accessToken, new Date(Date.now() - 60_000));
    expect(res.body.data.myUsage).toEqual({
      promptTokens: message.usage.promptTokens,
      completionTokens: message.usage.completionTokens,
      totalTokens: message.usage.totalTokens,
      dailyQuota: null,
      remainingToday: null,
    });
  });
});

describe('a cancelled reply says so in finishReason and errorCode', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '20' } });

  it('cancelGeneration returns finishReason CANCELLED and errorCode CANCELLED', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const words = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');
    const sent = await send(t, u.accessToken, conv, words);
    const id = sent.body.data.sendMessage.assistantMessage.id;
    expect(sent.body.data.sendMessage.assistantMessage).toMatchObject({ status: 'STREAMING', finishReason: null });
    const client = authedWs(t.wsUrl, u.accessToken);
    await streamedPast(client, id, 10);
    const res = await gql(t.graphqlUrl, `mutation C($id: ID!) { cancelGeneration(messageId: $id) { ${REPLY_FIELDS} } }`, { id }, bearer(u.accessToken));
    await client.dispose();
    expect(res.body.data.cancelGeneration).toMatchObject({ status: 'CANCELLED', finishReason: 'CANCELLED', errorCode: 'CANCELLED', error: null });
  });
});
