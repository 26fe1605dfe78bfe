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
    const stored = await gql(t.graphqlUrl, `query Q($id: ID!) { conversation(id: $id) { title messages { edges { node { role content status } } } } }`, { id: conv }, bearer(u.accessToken));
    expect(stored.body.data.conversation.title).toBe('hello there, world');
    expect(stored.body.data.conversation.messages.edges.map((e: any) => e.node)).toEqual([
      { role: 'USER', content: 'hello there, world', status: 'COMPLETE' },
      { role: 'ASSISTANT', content: 'Echo: hello there, world', status: 'COMPLETE' },
    ]);
  });
});
