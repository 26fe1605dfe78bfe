import OpenAI from 'openai';
import { bearer, registerUser } from '../helpers/auth';
import { acknowledgedWs, createConversation, sendMessage } from '../helpers/chat';
import { REDIS_SERVER, describeWith } from '../helpers/prereq';
import { startTwoInstances } from '../helpers/redis';
import { gql, type TestServer } from '../helpers/server';

describeWith([REDIS_SERVER], 'API keys on two instances sharing PostgreSQL and Redis', () => {
  let pair: Awaited<ReturnType<typeof startTwoInstances>>;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    pair = await startTwoInstances({ ECHO_TOKEN_DELAY_MS: '0', RATE_LIMIT_SCALE: '1', RATE_LIMIT_SEND_MESSAGE: '3/60' });
    ({ a, b } = pair);
  });
  afterAll(async () => {
    await pair?.close();
  });

  async function keyOn(server: TestServer, token: string): Promise<{ id: string; secret: string }> {
    const res = await gql(server.graphqlUrl, 'mutation { createApiKey(name: "two") { secret apiKey { id } } }', undefined, bearer(token));
    return { id: res.body.data.createApiKey.apiKey.id, secret: res.body.data.createApiKey.secret };
  }

  it('a key revoked on A closes its socket on B at once, and B refuses it', async () => {
    const u = await registerUser(a.graphqlUrl);
    const key = await keyOn(a, u.accessToken);
    const { closed } = await acknowledgedWs(b.wsUrl, key.secret);
    await gql(a.graphqlUrl, 'mutation R($id: ID!) { revokeApiKey(id: $id) }', { id: key.id }, bearer(u.accessToken));
    expect(await closed).toBe(4403);
    const onB = await gql(b.graphqlUrl, '{ conversations { edges { cursor } } }', undefined, bearer(key.secret));
    expect(onB.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('GraphQL sendMessage and /v1/chat/completions draw from one per-user counter across instances', async () => {
    const u = await registerUser(a.graphqlUrl);
    const key = await keyOn(a, u.accessToken);
    const conversationId = await createConversation(a.graphqlUrl, key.secret);
    expect((await sendMessage(a.graphqlUrl, key.secret, conversationId, 'one')).body.errors).toBeUndefined();
    expect((await sendMessage(b.graphqlUrl, u.accessToken, conversationId, 'two')).body.errors).toBeUndefined();
    const openai = new OpenAI({ baseURL: `${b.url}/v1`, apiKey: key.secret, maxRetries: 0 });
    const ask = () => openai.chat.completions.create({ model: b.config.ai.models[0], messages: [{ role: 'user', content: 'three' }] });
    await ask();
    await expect(ask()).rejects.toMatchObject({ status: 429 });
    const fourth = await sendMessage(a.graphqlUrl, key.secret, conversationId, 'four');
    expect(fourth.body.errors[0].extensions.code).toBe('RATE_LIMITED');
  });
});
