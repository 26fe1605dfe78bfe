import OpenAI from 'openai';
import { bearer, registerUser, type Registered } from '../helpers/auth';
import { authedWs, createConversation, streamReply } from '../helpers/chat';
import { useFakeOpenAIServer } from '../helpers/fake-openai';
import { gql, sql, useTestServer, type TestServer } from '../helpers/server';

/** An integrator's API key, made from their signed-in session. */
async function apiKeyFor(t: TestServer, user: Registered): Promise<string> {
  const res = await gql(t.graphqlUrl, 'mutation { createApiKey(name: "sdk") { secret } }', undefined, bearer(user.accessToken));
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.createApiKey.secret;
}

/** The official client, pointed at Parley as its base URL. */
function client(t: TestServer, apiKey: string): OpenAI {
  return new OpenAI({ baseURL: `${t.url}/v1`, apiKey, maxRetries: 0 });
}

async function messagesOf(t: TestServer, token: string, conversationId: string) {
  const res = await gql(
    t.graphqlUrl,
    'query C($id: ID!) { conversation(id: $id) { model messages(first: 50) { edges { node { role content status } } } } }',
    { id: conversationId },
    bearer(token),
  );
  return { model: res.body.data.conversation.model, messages: res.body.data.conversation.messages.edges.map((e: any) => e.node) };
}

describe('the OpenAI-compatible door (/v1) with the official openai package', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '5', AI_MODELS: 'echo-small,echo-large' } });
  let user: Registered;
  let openai: OpenAI;
  beforeAll(async () => {
    user = await registerUser(t.graphqlUrl);
    openai = client(t, await apiKeyFor(t, user));
  });

  it('lists the configured models', async () => {
    const models: OpenAI.Model[] = [];
    for await (const m of openai.models.list()) models.push(m);
    expect(models.map((m) => m.id)).toEqual(['echo-small', 'echo-large']);
    expect(models[0]).toMatchObject({ object: 'model', owned_by: 'echo' });
  });

  it('answers a completion from the request messages and stores the exchange in a new conversation of the owner', async () => {
    const completion = await openai.chat.completions.create({
      model: 'echo-large',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'an earlier question' },
        { role: 'assistant', content: 'an earlier answer' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is the ' },
            { type: 'text', text: 'answer?' },
          ],
        },
      ],
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('echo-large');
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0].message).toMatchObject({ role: 'assistant', content: 'Echo: what is the answer?' });
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);

    // Only the last user message and the reply are stored: the rest was the prompt as sent.
    const conversationId = (completion as unknown as { conversation_id: string }).conversation_id;
    const stored = await messagesOf(t, user.accessToken, conversationId);
    expect(stored.model).toBe('echo-large');
    expect(stored.messages).toEqual([
      { role: 'USER', content: 'what is the answer?', status: 'COMPLETE' },
      { role: 'ASSISTANT', content: 'Echo: what is the answer?', status: 'COMPLETE' },
    ]);
    const listed = await gql(t.graphqlUrl, '{ conversations { edges { node { id } } } }', undefined, bearer(user.accessToken));
    expect(listed.body.data.conversations.edges.map((e: any) => e.node.id)).toContain(conversationId);
    const audited = await sql(t, "select actor_id from audit_event where action = 'chat.message.create' and metadata->>'conversationId' = ?", [conversationId]);
    expect(audited).toEqual([{ actor_id: user.userId }]);
  });

  it('streams chat.completion.chunk events: the role first, deltas concatenating to the reply, finish_reason, usage last when asked', async () => {
    const stream = await openai.chat.completions.create({
      model: 'echo-small',
      messages: [{ role: 'user', content: 'stream these words to me' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id)).toBe(true);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('Echo: stream these words to me');
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(1);
    const finishes = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finishes.map((c) => c.choices[0].finish_reason)).toEqual(['stop']);
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage!.completion_tokens).toBeGreaterThan(0);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);

    const plain = await openai.chat.completions.create({ model: 'echo-small', messages: [{ role: 'user', content: 'no usage please' }], stream: true });
    const plainChunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of plain) plainChunks.push(chunk);
    expect(plainChunks.some((c) => c.usage)).toBe(false);
    expect(plainChunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Echo: no usage please');
  });

  it('continues a conversation named by metadata.conversation_id; another user’s conversation is 404', async () => {
    const first = await openai.chat.completions.create({ model: 'echo-small', messages: [{ role: 'user', content: 'one' }] });
    const conversationId = (first as unknown as { conversation_id: string }).conversation_id;
    await openai.chat.completions.create({
      model: 'echo-small',
      messages: [
        { role: 'user', content: 'one' },
        { role: 'assistant', content: 'Echo: one' },
        { role: 'user', content: 'two' },
      ],
      metadata: { conversation_id: conversationId },
    });
    const stored = await messagesOf(t, user.accessToken, conversationId);
    expect(stored.messages.map((m: { content: string }) => m.content)).toEqual(['one', 'Echo: one', 'two', 'Echo: two']);

    const other = await registerUser(t.graphqlUrl);
    const theirs = await createConversation(t.graphqlUrl, other.accessToken);
    const refused = openai.chat.completions.create({ model: 'echo-small', messages: [{ role: 'user', content: 'x' }], metadata: { conversation_id: theirs } });
    await expect(refused).rejects.toMatchObject({ status: 404 });
    expect((await messagesOf(t, other.accessToken, theirs)).messages).toEqual([]);
  });

  it('refuses an unknown model (404 model_not_found), bad input (400 with param), no key and a session token (401)', async () => {
    await expect(openai.chat.completions.create({ model: 'gpt-nope', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
    await expect(openai.chat.completions.create({ model: 'echo-small', messages: [] })).rejects.toMatchObject({ status: 400, param: 'messages' });
    await expect(openai.chat.completions.create({ model: 'echo-small', messages: [{ role: 'user', content: 'hi' }], temperature: 7 })).rejects.toMatchObject({
      status: 400,
      param: 'temperature',
    });
    await expect(
      openai.chat.completions.create({
        model: 'echo-small',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x/y.png' } }] }],
      }),
    ).rejects.toMatchObject({ status: 400, type: 'invalid_request_error' });
    await expect(client(t, 'pk_not-a-real-key').models.list()).rejects.toMatchObject({ status: 401 });
    await expect(
      client(t, user.accessToken).chat.completions.create({ model: 'echo-small', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });

    const raw = await fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(raw.status).toBe(401);
    const body = await raw.json();
    expect(body).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
    const big = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${openai.apiKey}` },
      body: JSON.stringify({ model: 'echo-small', messages: [{ role: 'user', content: 'x'.repeat(t.config.bodyLimitBytes) }] }),
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  });

  it('cancels the reply when the client goes away mid-stream, keeping what was generated', async () => {
    const words = Array.from({ length: 400 }, (_, i) => `w${i}`).join(' ');
    const abort = new AbortController();
    const stream = await openai.chat.completions.create(
      { model: 'echo-small', messages: [{ role: 'user', content: words }], stream: true },
      { signal: abort.signal },
    );
    let messageId = '';
    let received = '';
    for await (const chunk of stream) {
      messageId = chunk.id.replace(/^chatcmpl-/, '');
      received += chunk.choices[0]?.delta.content ?? '';
      if (received.length > 20) {
        abort.abort(); // the integrator's process gives up: the connection closes
        break;
      }
    }
    expect(received.length).toBeLessThan(`Echo: ${words}`.length);
    const ws = authedWs(t.wsUrl, user.accessToken);
    try {
      const events = await streamReply(ws, messageId);
      const last = events[events.length - 1];
      expect(last.status).toBe('CANCELLED');
      expect(last.offset).toBeGreaterThanOrEqual(received.length);
      expect(last.offset).toBeLessThan(`Echo: ${words}`.length);
    } finally {
      await ws.dispose();
    }
  });
});

describe('the OpenAI-compatible door counts against the owner’s sendMessage limit', () => {
  const t = useTestServer({ env: { RATE_LIMIT_SCALE: '1', RATE_LIMIT_SEND_MESSAGE: '2/60', ECHO_TOKEN_DELAY_MS: '0' } });

  it('answers 429 with Retry-After past the limit, and records the refusal', async () => {
    const user = await registerUser(t.graphqlUrl);
    const openai = client(t, await apiKeyFor(t, user));
    const ask = () => openai.chat.completions.create({ model: t.config.ai.models[0], messages: [{ role: 'user', content: 'hi' }] });
    await ask();
    await ask();
    const refused = await ask().catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    const err = refused as InstanceType<typeof OpenAI.RateLimitError>;
    expect(Number(err.headers?.get('retry-after'))).toBeGreaterThan(0);
    expect(err.type).toBe('rate_limit_error');
    await t.server.services.audit.flush();
    const rows = await sql(t, "select actor_id, resource_id from audit_event where action = 'security.rate_limited'");
    expect(rows).toContainEqual({ actor_id: user.userId, resource_id: 'Mutation.sendMessage' });
  });
});

describe('the OpenAI-compatible door in front of an OpenAI-compatible provider', () => {
  const { t } = useFakeOpenAIServer({ AI_MODELS: 'good,unauthorized,dies' });
  let openai: OpenAI;
  beforeAll(async () => {
    openai = client(t, await apiKeyFor(t, await registerUser(t.graphqlUrl)));
  });

  it("reports the upstream's usage, and its failures as safe errors (502, or an error event mid-stream) with no upstream text", async () => {
    const ok = await openai.chat.completions.create({ model: 'good', messages: [{ role: 'user', content: 'hi' }] });
    expect(ok.choices[0].message.content).toBe('Hello from the fake model, streaming nicely.');
    expect(ok.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 8, total_tokens: 19 });

    const refused = await openai.chat.completions.create({ model: 'unauthorized', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 502, type: 'server_error', code: 'upstream_error' });
    expect(JSON.stringify(refused)).not.toMatch(/sk-|Incorrect/);

    const stream = await openai.chat.completions.create({ model: 'dies', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    const failed = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(OpenAI.APIError);
    expect(text.length).toBeGreaterThan(0);
    expect(JSON.stringify(failed)).not.toMatch(/srv|sk-/);
  });
});
