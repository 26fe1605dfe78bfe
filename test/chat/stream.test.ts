import { bearer, registerUser } from '../helpers/auth';
import { assemble, authedWs, createConversation, sendMessage, streamReply } from '../helpers/chat';
import { gql, useTestServer } from '../helpers/server';

describe('chat streaming', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '5' } });

  it('sendMessage returns at once with a STREAMING reply whose deltas concatenate to the stored content', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const sent = await sendMessage(t.graphqlUrl, u.accessToken, conv, 'hello there, world');
    expect(sent.body.errors).toBeUndefined();
    const { userMessage, assistantMessage } = sent.body.data.sendMessage;
    expect(userMessage).toMatchObject({ role: 'USER', content: 'hello there, world', status: 'COMPLETE' });
    expect(assistantMessage).toMatchObject({ role: 'ASSISTANT', status: 'STREAMING', model: 'echo' });
    const client = authedWs(t.wsUrl, u.accessToken);
    const events = await streamReply(client, assistantMessage.id);
    await client.dispose();
    expect(assemble(events)).toBe('Echo: hello there, world');
    const last = events[events.length - 1];
    expect(last).toMatchObject({ done: true, status: 'COMPLETE' });
    expect(last.usage!.completionTokens).toBeGreaterThan(0);
    const stored = await gql(
      t.graphqlUrl,
      `query Q($id: ID!) { conversation(id: $id) { title messages { edges { node { role content status } } } } }`,
      { id: conv },
      bearer(u.accessToken),
    );
    expect(stored.body.data.conversation.title).toBe('hello there, world');
    expect(stored.body.data.conversation.messages.edges.map((e: any) => e.node)).toEqual([
      { role: 'USER', content: 'hello there, world', status: 'COMPLETE' },
      { role: 'ASSISTANT', content: 'Echo: hello there, world', status: 'COMPLETE' },
    ]);
  });
});

describe('resuming streams', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '20' } });

  it.each([
    ['short', 'hi'],
    ['unicode', 'héllo wörld ✓ 日本語 テキスト 🎉 emoji 👩‍💻 done'],
    ['long', Array.from({ length: 120 }, (_, i) => `word${i}`).join(' ')],
    ['spaces', '  leading   and   inner   spaces  '],
  ])('delivers exactly the stored content (%s)', async (_name, text) => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const { assistantMessage } = (await sendMessage(t.graphqlUrl, u.accessToken, conv, text)).body.data.sendMessage;
    const client = authedWs(t.wsUrl, u.accessToken);
    const events = await streamReply(client, assistantMessage.id);
    await client.dispose();
    const stored = await gql(
      t.graphqlUrl,
      'query Q($id: ID!) { conversation(id: $id) { messages { edges { node { id content status } } } } }',
      { id: conv },
      bearer(u.accessToken),
    );
    const reply = stored.body.data.conversation.messages.edges.map((e: any) => e.node).find((n: any) => n.id === assistantMessage.id);
    expect(reply.status).toBe('COMPLETE');
    expect(assemble(events)).toBe(reply.content);
    expect(reply.content).toBe(`Echo: ${text.trim()}`);
  });

  it('a late joiner and a resumer with fromOffset mid-stream get exactly the rest', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const text = Array.from({ length: 40 }, (_, i) => `token${i}`).join(' ');
    const { assistantMessage } = (await sendMessage(t.graphqlUrl, u.accessToken, conv, text)).body.data.sendMessage;
    const first = authedWs(t.wsUrl, u.accessToken);
    let received = '';
    let midway!: () => void;
    const pastForty = new Promise<void>((resolve) => (midway = resolve));
    const resumed = new Promise<{ from: number; events: Awaited<ReturnType<typeof streamReply>> }>((resolve, reject) => {
      let started = false;
      void streamReply(first, assistantMessage.id, 0, (e) => {
        received += e.delta;
        if (!started && received.length > 40) {
          started = true;
          midway();
          const from = received.length;
          const second = authedWs(t.wsUrl, u.accessToken);
          streamReply(second, assistantMessage.id, from).then((events) => {
            void second.dispose();
            resolve({ from, events });
          }, reject);
        }
      });
    });
    await pastForty; // the reply is under way
    const late = authedWs(t.wsUrl, u.accessToken);
    const lateEvents = await streamReply(late, assistantMessage.id); // joins mid-stream from 0
    const { from, events } = await resumed;
    await late.dispose();
    await first.dispose();
    const full = `Echo: ${text}`;
    expect(assemble(lateEvents)).toBe(full);
    expect(assemble(events, from)).toBe(full.slice(from));
    expect(events[events.length - 1]).toMatchObject({ done: true, status: 'COMPLETE' });
  });

  it('after completion, fromOffset gives the remainder with done, and a past-the-end offset is BAD_USER_INPUT', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const { assistantMessage } = (await sendMessage(t.graphqlUrl, u.accessToken, conv, 'finished already')).body.data.sendMessage;
    const client = authedWs(t.wsUrl, u.accessToken);
    await streamReply(client, assistantMessage.id);
    const rest = await streamReply(client, assistantMessage.id, 6);
    expect(rest).toEqual([
      expect.objectContaining({ offset: 6, delta: 'finished already', done: false }),
      expect.objectContaining({ offset: 22, delta: '', done: true, status: 'COMPLETE' }),
    ]);
    await expect(streamReply(client, assistantMessage.id, 999)).rejects.toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }),
    ]);
    await expect(streamReply(client, assistantMessage.id, -1)).rejects.toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }),
    ]);
    await client.dispose();
  });
});
