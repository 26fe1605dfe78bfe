import { bearer, registerUser } from '../helpers/auth';
import { MESSAGE_FIELDS, acknowledgedWs, assemble, authedWs, createConversation, sendMessage, streamReply, streamedPast } from '../helpers/chat';
import { REDIS_SERVER, describeWith } from '../helpers/prereq';
import { startTwoInstances } from '../helpers/redis';
import { gql, type TestServer } from '../helpers/server';

const LONG = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');

describeWith([REDIS_SERVER], 'two instances on one PostgreSQL and one Redis', () => {
  let pair: Awaited<ReturnType<typeof startTwoInstances>>;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    pair = await startTwoInstances({ ECHO_TOKEN_DELAY_MS: '20' });
    ({ a, b } = pair);
  });
  afterAll(async () => {
    await pair?.close();
  });

  it('a subscriber on B receives a reply generated on A', async () => {
    const u = await registerUser(a.graphqlUrl);
    const conv = await createConversation(a.graphqlUrl, u.accessToken);
    const { assistantMessage } = (await sendMessage(a.graphqlUrl, u.accessToken, conv, 'across instances')).body.data.sendMessage;
    const onB = authedWs(b.wsUrl, u.accessToken);
    const events = await streamReply(onB, assistantMessage.id);
    await onB.dispose();
    expect(assemble(events)).toBe('Echo: across instances');
    expect(events[events.length - 1]).toMatchObject({ done: true, status: 'COMPLETE' });
    expect(a.server.services.runner.instanceId).not.toBe(b.server.services.runner.instanceId);
  });

  it('a cancel sent to B stops the generation running on A', async () => {
    const u = await registerUser(a.graphqlUrl);
    const conv = await createConversation(a.graphqlUrl, u.accessToken);
    const { assistantMessage } = (await sendMessage(a.graphqlUrl, u.accessToken, conv, LONG)).body.data.sendMessage;
    const watcher = authedWs(a.wsUrl, u.accessToken);
    await streamedPast(watcher, assistantMessage.id); // cancel once some of the reply was generated
    const res = await gql(
      b.graphqlUrl,
      `mutation C($id: ID!) { cancelGeneration(messageId: $id) { ${MESSAGE_FIELDS} } }`,
      { id: assistantMessage.id },
      bearer(u.accessToken),
    );
    expect(res.body.data.cancelGeneration.status).toBe('CANCELLED');
    expect(res.body.data.cancelGeneration.content.length).toBeGreaterThan(0);
    expect(res.body.data.cancelGeneration.content.length).toBeLessThan(`Echo: ${LONG}`.length);
    expect(a.server.services.runner.size).toBe(0);
    await watcher.dispose();
  });

  it('a revocation on A reaches B: its next request fails and its socket is closed', async () => {
    const u = await registerUser(a.graphqlUrl);
    // Warm B's cache with the session as active, then revoke on A.
    expect((await gql(b.graphqlUrl, '{ me { id } }', undefined, bearer(u.accessToken))).body.data.me.id).toBe(u.userId);
    const { client: onB, closed } = await acknowledgedWs(b.wsUrl, u.accessToken);
    await gql(a.graphqlUrl, 'mutation { logout }', undefined, bearer(u.accessToken));
    expect(await closed).toBe(4403);
    expect((await gql(b.graphqlUrl, '{ me { id } }', undefined, bearer(u.accessToken))).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    await onB.dispose();
  });
});
