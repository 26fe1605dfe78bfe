import WebSocket from 'ws';
import { bearer, expiredTwin, refresh, registerUser } from '../helpers/auth';
import { authedWs, createConversation, sendMessage, streamReply } from '../helpers/chat';
import { LimitFixtureResolver } from '../helpers/fixture.resolver';
import { gql, sql, useTestServer } from '../helpers/server';
import { upload } from '../helpers/uploads';
import { wsRun } from '../helpers/ws';

/**
 * API.md "Errors an application acts on": RATE_LIMITED and UNAUTHENTICATED carry a stable
 * `extensions.reason`, produced here by real requests over HTTP, WebSocket and the upload
 * endpoint; an HTTP response whose every error is RATE_LIMITED is a 429 with Retry-After.
 */

const SEND = 'mutation S($i: SendMessageInput!) { sendMessage(input: $i) { assistantMessage { id } } }';
const CANCEL = 'mutation C($id: ID!) { cancelGeneration(messageId: $id) { status } }';

/** Opens a raw graphql-transport-ws socket with `authorization`; resolves with the ack, or the close code and reason. */
function connectRaw(url: string, authorization: unknown): Promise<{ acked: boolean; code?: number; reason?: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
    socket.once('message', () => {
      resolve({ acked: true });
      socket.close();
    });
    socket.once('close', (code, reason) => resolve({ acked: false, code, reason: reason.toString() }));
    socket.once('error', reject);
  });
}

const reasonOf = (res: { body: { errors?: any[] } }) => res.body.errors?.map((e: any) => [e.extensions.code, e.extensions.reason]);

describe('extensions.reason on the errors clients act on', () => {
  const t = useTestServer({
    env: {
      RATE_LIMIT_SCALE: '1',
      RATE_LIMIT_REGISTER: '100/3600',
      RATE_LIMIT_CAPTCHA: '1000/60',
      RATE_LIMIT_EXPORT: '1/3600',
      CHAT_MAX_CONCURRENT_STREAMS: '1',
      USER_DAILY_TOKEN_QUOTA: '200',
      ECHO_TOKEN_DELAY_MS: '50',
    },
    extraResolvers: [LimitFixtureResolver],
  });

  it('RATE: a per-operation limit over HTTP is 429 with Retry-After and retryAfterSeconds', async () => {
    const u = await registerUser(t.graphqlUrl);
    expect((await gql(t.graphqlUrl, 'mutation { exportMyData }', undefined, bearer(u.accessToken))).body.errors).toBeUndefined();
    const res = await gql(t.graphqlUrl, 'mutation { exportMyData }', undefined, bearer(u.accessToken));
    expect(reasonOf(res)).toEqual([['RATE_LIMITED', 'RATE']]);
    expect(res.status).toBe(429);
    const retryAfter = res.body.errors[0].extensions.retryAfterSeconds;
    expect(retryAfter).toBeGreaterThan(3500);
    expect(res.headers.get('retry-after')).toBe(String(retryAfter));
  });

  it('429 only when every error is RATE_LIMITED; Retry-After is the longest wait', async () => {
    expect((await gql(t.graphqlUrl, '{ fixtureLimited }')).body.data.fixtureLimited).toBe('ok');
    const all = await gql(t.graphqlUrl, '{ a: fixtureLimited b: fixtureLimited }');
    expect(reasonOf(all)).toEqual([
      ['RATE_LIMITED', 'RATE'],
      ['RATE_LIMITED', 'RATE'],
    ]);
    expect(all.status).toBe(429);
    const longest = Math.max(...all.body.errors.map((e: any) => e.extensions.retryAfterSeconds));
    expect(all.headers.get('retry-after')).toBe(String(longest));

    const mixed = await gql(t.graphqlUrl, '{ fixtureLimited fixtureMissing }');
    expect(
      reasonOf(mixed)
        ?.map(([code]: string[]) => code)
        .sort(),
    ).toEqual(['NOT_FOUND', 'RATE_LIMITED']);
    expect(mixed.status).toBe(200);
    expect(mixed.headers.get('retry-after')).toBeNull();
  });

  it('CONCURRENT_STREAMS over HTTP and WebSocket while a reply streams', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const first = await sendMessage(t.graphqlUrl, u.accessToken, conv, words);
    const running = first.body.data.sendMessage.assistantMessage.id;
    const http = await sendMessage(t.graphqlUrl, u.accessToken, conv, 'one more');
    expect(reasonOf(http)).toEqual([['RATE_LIMITED', 'CONCURRENT_STREAMS']]);
    expect(http.status).toBe(429);
    const client = authedWs(t.wsUrl, u.accessToken);
    try {
      const [overWs] = await wsRun<{ errors?: any[] }>(client, SEND, { i: { conversationId: conv, content: 'and another' } });
      expect(overWs.errors?.map((e) => [e.extensions.code, e.extensions.reason])).toEqual([['RATE_LIMITED', 'CONCURRENT_STREAMS']]);
    } finally {
      await client.dispose();
    }
    expect((await gql(t.graphqlUrl, CANCEL, { id: running }, bearer(u.accessToken))).body.data.cancelGeneration.status).toBe('CANCELLED');
  });

  it('DAILY_QUOTA once the day’s tokens are spent', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    // One long word: about 250 prompt tokens, over the 200-token quota, in a two-chunk echo.
    const first = await sendMessage(t.graphqlUrl, u.accessToken, conv, 'x'.repeat(1000));
    const client = authedWs(t.wsUrl, u.accessToken);
    try {
      const events = await streamReply(client, first.body.data.sendMessage.assistantMessage.id);
      expect(events.at(-1)!.done).toBe(true);
    } finally {
      await client.dispose();
    }
    const res = await sendMessage(t.graphqlUrl, u.accessToken, conv, 'still there?');
    expect(reasonOf(res)).toEqual([['RATE_LIMITED', 'DAILY_QUOTA']]);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBe(res.body.errors[0].extensions.retryAfterSeconds);
  });

  it('TOKEN_EXPIRED, TOKEN_INVALID and SESSION_REVOKED for access tokens over HTTP and the upload endpoint', async () => {
    const u = await registerUser(t.graphqlUrl);
    const expired = expiredTwin(t.config.secretKey, u.accessToken);
    const ME = '{ me { id } }';
    expect(reasonOf(await gql(t.graphqlUrl, ME, undefined, bearer(expired)))).toEqual([['UNAUTHENTICATED', 'TOKEN_EXPIRED']]);
    expect(reasonOf(await gql(t.graphqlUrl, ME, undefined, bearer(`${u.accessToken}x`)))).toEqual([['UNAUTHENTICATED', 'TOKEN_INVALID']]);
    expect(reasonOf(await gql(t.graphqlUrl, ME, undefined, { authorization: 'Basic abc' }))).toEqual([['UNAUTHENTICATED', 'TOKEN_INVALID']]);
    const up = await upload(t.url, expired, Buffer.from('hello'), 'a.txt', 'text/plain');
    expect(up.status).toBe(401);
    expect(up.body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOKEN_EXPIRED' });

    expect((await gql(t.graphqlUrl, 'mutation { logout }', undefined, bearer(u.accessToken))).body.data.logout).toBe(true);
    expect(reasonOf(await gql(t.graphqlUrl, ME, undefined, bearer(u.accessToken)))).toEqual([['UNAUTHENTICATED', 'SESSION_REVOKED']]);
    expect((await upload(t.url, u.accessToken, Buffer.from('hello'), 'a.txt', 'text/plain')).body.errors[0].extensions.reason).toBe('SESSION_REVOKED');
    // No token at all is not a token problem: no reason.
    expect((await gql(t.graphqlUrl, ME)).body.errors[0].extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });

  it('TOKEN_INVALID, TOKEN_EXPIRED and SESSION_REVOKED for refresh tokens', async () => {
    const u = await registerUser(t.graphqlUrl);
    expect(reasonOf(await refresh(t.graphqlUrl, 'not-a-refresh-token'))).toEqual([['UNAUTHENTICATED', 'TOKEN_INVALID']]);
    const idle = await registerUser(t.graphqlUrl);
    // That session went unused past REFRESH_TOKEN_TTL (dated back rather than waited for).
    await sql(t, `update session set idle_expires_at = now() - interval '1 second' where user_id = ?`, [idle.userId]);
    expect(reasonOf(await refresh(t.graphqlUrl, idle.refreshToken))).toEqual([['UNAUTHENTICATED', 'TOKEN_EXPIRED']]);
    await gql(t.graphqlUrl, 'mutation { logout }', undefined, bearer(u.accessToken));
    expect(reasonOf(await refresh(t.graphqlUrl, u.refreshToken))).toEqual([['UNAUTHENTICATED', 'SESSION_REVOKED']]);
  });

  it('a socket presenting a bad token closes 4403 with a stable reason', async () => {
    const u = await registerUser(t.graphqlUrl);
    expect(await connectRaw(t.wsUrl, `Bearer ${expiredTwin(t.config.secretKey, u.accessToken)}`)).toEqual({
      acked: false,
      code: 4403,
      reason: 'token_expired',
    });
    expect(await connectRaw(t.wsUrl, 'Bearer nonsense')).toEqual({ acked: false, code: 4403, reason: 'token_invalid' });
    expect(await connectRaw(t.wsUrl, 42)).toEqual({ acked: false, code: 4403, reason: 'token_invalid' });
    expect((await connectRaw(t.wsUrl, `Bearer ${u.accessToken}`)).acked).toBe(true);
    await gql(t.graphqlUrl, 'mutation { logout }', undefined, bearer(u.accessToken));
    expect(await connectRaw(t.wsUrl, `Bearer ${u.accessToken}`)).toEqual({ acked: false, code: 4403, reason: 'session_revoked' });
  });
});

describe('extensions.reason COST_BUDGET', () => {
  // Anonymous callers get a tenth of the budget per IP: 3 points.
  const t = useTestServer({ env: { RATE_LIMIT_SCALE: '1', RATE_LIMIT_COST: '30/3600' } });

  it('refuses an anonymous caller past its budget: 429, reason COST_BUDGET', async () => {
    let res = await gql(t.graphqlUrl, '{ __typename }');
    for (let i = 0; i < 10 && !res.body.errors; i++) res = await gql(t.graphqlUrl, '{ __typename }');
    expect(reasonOf(res)).toEqual([['RATE_LIMITED', 'COST_BUDGET']]);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe(String(res.body.errors[0].extensions.retryAfterSeconds));
  });
});
