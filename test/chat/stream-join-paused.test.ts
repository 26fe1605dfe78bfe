import { registerUser } from '../helpers/auth';
import { assemble, authedWs, createConversation, sendMessage, streamReply, streamedPast, type StreamEvent } from '../helpers/chat';
import { useFakeOpenAIServer } from '../helpers/fake-openai';
import { sql } from '../helpers/server';

describe('a subscriber joining a reply while its upstream is paused', () => {
  // The fake's 'held' model streams "Hello from", then waits for release(); the idle timeout is far away.
  const { t, fake } = useFakeOpenAIServer({ AI_MODELS: 'held', AI_IDLE_TIMEOUT_MS: '60000' });

  it('gets the text generated so far at once, not with the next chunk, and then the rest exactly', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken, { model: 'held' });
    const id: string = (await sendMessage(t.graphqlUrl, u.accessToken, conv, 'hello')).body.data.sendMessage.assistantMessage.id;
    const first = authedWs(t.wsUrl, u.accessToken);
    const before = await streamedPast(first, id, 'Hello from'.length);
    expect((await sql(t, 'select status from message where id = ?', [id]))[0].status).toBe('STREAMING');

    const second = authedWs(t.wsUrl, u.accessToken);
    const events: StreamEvent[] = [];
    let sawSoFar: () => void = () => undefined;
    const soFar = new Promise<void>((r) => (sawSoFar = r));
    const whole = streamReply(second, id, 0, (e) => {
      events.push(e);
      if (assemble(events).length >= before) sawSoFar();
    });
    await soFar; // before release(): with the upstream paused, only the first words exist
    expect(assemble(events)).toBe('Hello from');
    fake.release();
    const all = await whole;
    expect(assemble(all)).toBe('Hello from the fake model, streaming nicely.');
    const [row] = await sql(t, 'select status from message where id = ?', [id]);
    expect(row.status).toBe('COMPLETE');
    await first.dispose();
    await second.dispose();
  });
});
