import { registerUser } from '../helpers/auth';
import { assemble, authedWs, createConversation, sendMessage, streamReply } from '../helpers/chat';
import { useFakeOpenAIServer } from '../helpers/fake-openai';

describe('the OpenAI-compatible provider against a local SSE server', () => {
  const { t, fake } = useFakeOpenAIServer({
    AI_MODELS: 'good,unauthorized,broken,dies,silent,stalls',
    // Long enough that a loaded machine never turns a quick upstream failure into a timeout.
    AI_FIRST_TOKEN_TIMEOUT_MS: '2500',
    AI_IDLE_TIMEOUT_MS: '2500',
    AI_MAX_CONTEXT_CHARS: '120',
  });

  async function reply(model: string, content = 'hello model') {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken, { model, systemPrompt: 'You are terse.' });
    const { assistantMessage } = (await sendMessage(t.graphqlUrl, u.accessToken, conv, content)).body.data.sendMessage;
    const client = authedWs(t.wsUrl, u.accessToken);
    const events = await streamReply(client, assistantMessage.id);
    await client.dispose();
    return { events, text: assemble(events), last: events[events.length - 1], conv, u };
  }

  it('streams a reply with the upstream usage, sending the system prompt first with stream_options.include_usage', async () => {
    const { text, last } = await reply('good');
    expect(text).toBe('Hello from the fake model, streaming nicely.');
    expect(last).toMatchObject({ done: true, status: 'COMPLETE', usage: { promptTokens: 11, completionTokens: 8 } });
    const req = fake.requests[fake.requests.length - 1];
    expect(req.json).toMatchObject({ model: 'good', stream: true, stream_options: { include_usage: true } });
    expect(req.json.messages[0]).toEqual({ role: 'system', content: 'You are terse.' });
    expect(req.headers.authorization).toBe('Bearer sk-test-key');
  });

  it('caps the history at AI_MAX_CONTEXT_CHARS, newest kept, system prompt first', async () => {
    const first = await reply('good', 'x'.repeat(60));
    const client = authedWs(t.wsUrl, first.u.accessToken);
    const { assistantMessage } = (await sendMessage(t.graphqlUrl, first.u.accessToken, first.conv, 'the newest question')).body.data.sendMessage;
    await streamReply(client, assistantMessage.id);
    await client.dispose();
    const sent = fake.requests[fake.requests.length - 1].json.messages;
    expect(sent[0].role).toBe('system');
    expect(sent[sent.length - 1]).toEqual({ role: 'user', content: 'the newest question' });
    expect(sent.some((m: any) => m.content === 'x'.repeat(60))).toBe(false);
  });

  it.each([
    ['unauthorized', 'upstream authentication failed'],
    ['broken', 'upstream service error'],
  ])('fails before the stream (%s) with a short safe error and no upstream text', async (model, error) => {
    const { last, text } = await reply(model);
    expect(last).toMatchObject({ done: true, status: 'FAILED', error });
    expect(text).toBe('');
    expect(JSON.stringify(last)).not.toMatch(/sk-|srv|Incorrect/);
  });

  it('fails during the stream on a mid-stream disconnect, keeping the partial text, without retrying', async () => {
    const before = fake.requests.filter((r) => r.json.model === 'dies').length;
    const { last, text } = await reply('dies');
    expect(last).toMatchObject({ done: true, status: 'FAILED', error: 'upstream stream interrupted' });
    expect(text).toBe('Hello from the fake');
    expect(last.usage!.completionTokens).toBeGreaterThan(0); // estimated: the upstream sent none
    expect(fake.requests.filter((r) => r.json.model === 'dies').length - before).toBe(1);
  });

  it('retries a retryable failure before the first token only (500: three attempts; 401: one)', async () => {
    const count = (model: string) => fake.requests.filter((r) => r.json.model === model).length;
    const broken = count('broken');
    const unauthorized = count('unauthorized');
    await reply('broken');
    await reply('unauthorized');
    expect(count('broken') - broken).toBe(3);
    expect(count('unauthorized') - unauthorized).toBe(1);
  });

  it('fails on the first-token timeout and on the idle timeout', async () => {
    const silent = await reply('silent');
    expect(silent.last).toMatchObject({ status: 'FAILED', error: 'upstream timed out' });
    const stalls = await reply('stalls');
    expect(stalls.last).toMatchObject({ status: 'FAILED', error: 'upstream timed out' });
    expect(stalls.text).toBe('Hello from the');
  });
});
