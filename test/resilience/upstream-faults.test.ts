import { bearer, registerUser, type Registered } from '../helpers/auth';
import { assemble, authedWs, createConversation, sendMessage, streamReply } from '../helpers/chat';
import { useFakeOpenAIServer } from '../helpers/fake-openai';
import { gql, type TestServer } from '../helpers/server';

// An OpenAI-compatible upstream (test/helpers/fake-openai.ts, its real SSE wire format) that
// misbehaves in each way a real one does, while well-behaved replies stream beside the faulty ones.
const FAULTS = ['stalls', 'silent', 'malformed', 'cut', 'dies', 'flaky', 'limited'];
const FULL = 'Hello from the fake model, streaming nicely.';

/** How each reply must end: status, code, safe error text, and the text kept. */
const EXPECTED: Record<string, { status: string; errorCode: string | null; error: string | null; content: string; requests: number }> = {
  // Goes quiet after three chunks: the idle timeout ends it, keeping what came.
  stalls: { status: 'FAILED', errorCode: 'UPSTREAM_TIMEOUT', error: 'upstream timed out', content: 'Hello from the', requests: 1 },
  // Never sends a byte: the first-token timeout ends it.
  silent: { status: 'FAILED', errorCode: 'UPSTREAM_TIMEOUT', error: 'upstream timed out', content: '', requests: 1 },
  // An event that is not JSON: a clean failure, not retried (asking again will not mend the wire format).
  malformed: { status: 'FAILED', errorCode: 'UPSTREAM_ERROR', error: 'upstream sent a malformed stream', content: 'Hello from', requests: 1 },
  // The connection closes in the middle of an event, or between events: the partial text is kept.
  cut: { status: 'FAILED', errorCode: 'UPSTREAM_ERROR', error: 'upstream stream interrupted', content: 'Hello from the fake', requests: 1 },
  dies: { status: 'FAILED', errorCode: 'UPSTREAM_ERROR', error: 'upstream stream interrupted', content: 'Hello from the fake', requests: 1 },
  // 429 then 200: retried before the first token (nothing was shown yet), so the reply completes.
  flaky: { status: 'COMPLETE', errorCode: null, error: null, content: FULL, requests: 2 },
  // 429 every time: three attempts (200 ms, 400 ms apart), then a coded failure.
  limited: { status: 'FAILED', errorCode: 'UPSTREAM_RATE_LIMITED', error: 'upstream rate limit reached', content: '', requests: 3 },
  paced: { status: 'COMPLETE', errorCode: null, error: null, content: FULL, requests: 1 },
};

async function startReply(t: TestServer, u: Registered, model: string, content: string): Promise<{ conversationId: string; messageId: string }> {
  const conversationId = await createConversation(t.graphqlUrl, u.accessToken, { model });
  const res = await sendMessage(t.graphqlUrl, u.accessToken, conversationId, content);
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return { conversationId, messageId: res.body.data.sendMessage.assistantMessage.id };
}

async function stored(t: TestServer, u: Registered, conversationId: string) {
  const res = await gql(
    t.graphqlUrl,
    'query Q($id: ID!) { conversation(id: $id) { messages(last: 1) { edges { node { status errorCode error content } } } } }',
    { id: conversationId },
    bearer(u.accessToken),
  );
  return res.body.data.conversation.messages.edges[0].node;
}

describe('upstream faults under load', () => {
  const { t, fake } = useFakeOpenAIServer({
    AI_MODELS: ['paced', ...FAULTS].join(','),
    AI_FIRST_TOKEN_TIMEOUT_MS: '2500',
    AI_IDLE_TIMEOUT_MS: '2500',
    CHAT_MAX_CONCURRENT_STREAMS: '30',
  });

  it('each fault ends its own reply with a coded error (or a retried success); healthy replies beside it are untouched and the server stays ready', async () => {
    const consoleSpy = [jest.spyOn(console, 'error'), jest.spyOn(console, 'warn'), jest.spyOn(console, 'log')];
    const u = await registerUser(t.graphqlUrl);
    const client = authedWs(t.wsUrl, u.accessToken);
    // Three healthy replies per fault, all in flight together with the faulty ones.
    const models = [...FAULTS, ...FAULTS.flatMap(() => ['paced', 'paced', 'paced'])];
    const replies = await Promise.all(
      models.map(async (model, i) => {
        const content = `${model} prompt ${i}`;
        const r = await startReply(t, u, model, content);
        return { ...r, model, content, events: await streamReply(client, r.messageId) };
      }),
    );

    for (const r of replies) {
      const want = EXPECTED[r.model];
      const requests = fake.requests.filter((q) => q.json.model === r.model && q.json.messages.at(-1).content === r.content).length;
      expect({ model: r.model, ...(await stored(t, u, r.conversationId)), requests }).toEqual({ model: r.model, ...want });
      // What the client received is exactly what was stored, ending with the final status.
      expect(assemble(r.events)).toBe(want.content);
      expect(r.events.at(-1)).toMatchObject({ done: true, status: want.status, error: want.error });
    }

    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    const next = await startReply(t, u, 'paced', 'after the faults');
    expect(assemble(await streamReply(client, next.messageId))).toBe(FULL);
    await client.dispose();
    // Nothing unexpected was logged, and neither the upstream's text nor its key reached any log or the console.
    expect(t.logs.lines.filter((l) => l.level === 'error')).toEqual([]);
    const printed = consoleSpy.flatMap((s) => s.mock.calls.map((c) => c.map(String).join(' ')));
    for (const text of [...t.logs.raw, ...printed]) expect(text).not.toMatch(/oops|sk-secret-upstream|sk-test-key/);
    for (const s of consoleSpy) s.mockRestore();
  });
});
