import { cipherOf } from '../../src/crypto/cipher';
import { FinalWrites, type FinalWrite } from '../../src/chat/final-writes';
import { FinishReason, MessageStatus } from '../../src/chat/message-enums';
import { createLogger } from '../../src/logging/logger';
import { bearer, registerUser, type Registered } from '../helpers/auth';
import { assemble, authedWs, createConversation, streamReply, type StreamEvent } from '../helpers/chat';
import { LogCapture, gql, sql, unseal, useTestServer, type TestServer } from '../helpers/server';

/** Sends one message in a fresh conversation and follows its reply to the end; returns its id and events. */
async function replyOf(t: TestServer, u: Registered, content: string): Promise<{ id: string; events: StreamEvent[] }> {
  const conversationId = await createConversation(t.graphqlUrl, u.accessToken);
  const res = await gql(
    t.graphqlUrl,
    'mutation S($i: SendMessageInput!) { sendMessage(input: $i) { assistantMessage { id } } }',
    { i: { conversationId, content } },
    bearer(u.accessToken),
  );
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  const id: string = res.body.data.sendMessage.assistantMessage.id;
  const client = authedWs(t.wsUrl, u.accessToken);
  const events = await streamReply(client, id).finally(() => client.dispose());
  return { id, events };
}

describe('final writes of replies ending together', () => {
  const t = useTestServer({ env: { CHAT_MAX_CONCURRENT_STREAMS: '20', USER_DAILY_TOKEN_QUOTA: '100000', ECHO_TOKEN_DELAY_MS: '5' } });

  it('saves every one of many concurrent replies exactly, with the ledger settled by the time their final events are seen', async () => {
    const users = [await registerUser(t.graphqlUrl), await registerUser(t.graphqlUrl)];
    const replies = await Promise.all(
      users.flatMap((u) => Array.from({ length: 10 }, (_, i) => replyOf(t, u, `reply ${i} of ${u.email} in several words`).then((r) => ({ ...r, u })))),
    );
    // Every final event has been seen: the ledger must already hold what the replies used, and nothing reserved.
    const ledger = await sql(t, 'select user_id, reserved, used, prompt_tokens, completion_tokens from token_usage');
    for (const u of users) {
      const mine = replies.filter((r) => r.u === u).map((r) => r.events[r.events.length - 1].usage!);
      const prompt = mine.reduce((s, x) => s + x.promptTokens, 0);
      const completion = mine.reduce((s, x) => s + x.completionTokens, 0);
      expect(ledger.find((l) => l.user_id === u.userId)).toEqual({
        user_id: u.userId,
        reserved: 0,
        used: prompt + completion,
        prompt_tokens: prompt,
        completion_tokens: completion,
      });
      const since = new Date(Date.now() - 3_600_000).toISOString();
      const usage = await gql(
        t.graphqlUrl,
        'query U($s: DateTime!) { myUsage(since: $s) { promptTokens completionTokens } }',
        { s: since },
        bearer(u.accessToken),
      );
      expect(usage.body.data.myUsage).toEqual({ promptTokens: prompt, completionTokens: completion });
    }
    for (const r of replies) {
      const last = r.events[r.events.length - 1];
      expect(last).toMatchObject({ done: true, status: 'COMPLETE' });
      const [row] = await sql(t, 'select content, status, finish_reason, prompt_tokens, completion_tokens from message where id = ?', [r.id]);
      row.content = await unseal(t, 'message.content', r.id, row.content);
      expect(row.content).toBe(assemble(r.events));
      expect(row.content.startsWith('Echo: reply ')).toBe(true);
      expect(row).toMatchObject({
        status: 'COMPLETE',
        finish_reason: 'STOP',
        prompt_tokens: last.usage!.promptTokens,
        completion_tokens: last.usage!.completionTokens,
      });
    }
  });
});

describe('FinalWrites (group commit on the real database)', () => {
  const t = useTestServer();
  const logs = new LogCapture();
  let finals: FinalWrites;
  let userId: string;
  let conversationId: string;
  beforeAll(async () => {
    finals = new FinalWrites(t.db.orm.em, createLogger({ level: 'info', stream: logs.stream }));
    const u = await registerUser(t.graphqlUrl);
    userId = u.userId;
    conversationId = await createConversation(t.graphqlUrl, u.accessToken);
  });

  /** `n` assistant rows STREAMING as a running reply's are, and a fresh ledger row holding `reserved` tokens per reply. */
  async function streamingReplies(n: number, day: string): Promise<string[]> {
    await sql(t, 'insert into token_usage (user_id, day, reserved, used) values (?, ?::date, ?, 0)', [userId, day, n * 100]);
    const rows = await sql(
      t,
      `insert into message (id, conversation_id, role, content, status, created_at)
       select gen_random_uuid(), ?, 'ASSISTANT', 'partial', 'STREAMING', now() from generate_series(1, ?) returning id`,
      [conversationId, n],
    );
    return rows.map((r) => r.id as string);
  }

  const finalOf = (messageId: string, day: string, content: string, finishReason = FinishReason.STOP): FinalWrite => ({
    settlement: { userId, usageDay: day, reservedTokens: 100, promptTokens: 3, completionTokens: 7 },
    row: {
      messageId,
      ownerId: userId,
      content,
      usage: { promptTokens: 3, completionTokens: 7, estimated: false },
      status: MessageStatus.COMPLETE,
      error: null,
      errorCode: null,
      finishReason,
    },
  });

  // Content as the API would read it: the final writes seal it; the test's own 'partial' rows are plain.
  const rowsOf = async (ids: string[]) => {
    const cipher = cipherOf(t.db.orm.em);
    const rows = await sql(
      t,
      `select id, content, status, prompt_tokens, completion_tokens, xmin::text as tx from message where id in (${ids.map(() => '?').join(', ')})`,
      ids,
    );
    for (const r of rows) if (await cipher.isSealedText(r.content)) r.content = await cipher.openText('message.content', r.id, r.content);
    return rows;
  };
  const ledgerOf = async (day: string) => (await sql(t, 'select reserved, used from token_usage where user_id = ? and day = ?::date', [userId, day]))[0];

  it('commits replies ending together in one transaction, leaving a reply cancelled meanwhile as it is', async () => {
    const day = '2001-01-01';
    const ids = await streamingReplies(5, day);
    await sql(t, `update message set status = 'CANCELLED' where id = ?`, [ids[2]]);
    await Promise.all(ids.map((id, i) => finals.write(finalOf(id, day, `final text ${i}`))));
    const rows = await rowsOf(ids);
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(ids[2])).toMatchObject({ content: 'partial', status: 'CANCELLED', prompt_tokens: null });
    const saved = ids.filter((_, i) => i !== 2).map((id) => byId.get(id));
    saved.forEach((r) => expect(r).toMatchObject({ status: 'COMPLETE', prompt_tokens: 3, completion_tokens: 7 }));
    expect(saved.map((r) => r.content)).toEqual(['final text 0', 'final text 1', 'final text 3', 'final text 4']);
    expect(new Set(saved.map((r) => r.tx)).size).toBe(1); // one transaction wrote them all
    // The cancelled reply's reservation is released and its tokens counted all the same.
    expect(await ledgerOf(day)).toEqual({ reserved: 0, used: 50 });
  });

  it('writes the others one by one when one row fails the batch, failing only that reply', async () => {
    const day = '2001-01-02';
    const ids = await streamingReplies(4, day);
    const results = await Promise.allSettled(
      ids.map((id, i) => finals.write(i === 1 ? finalOf(id, day, 'secret text', 'NOT_A_REASON' as FinishReason) : finalOf(id, day, `final text ${i}`))),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const byId = new Map((await rowsOf(ids)).map((r) => [r.id, r]));
    expect(byId.get(ids[1])).toMatchObject({ content: 'partial', status: 'STREAMING' }); // left for the retry or the sweeper
    expect([0, 2, 3].map((i) => byId.get(ids[i]).content)).toEqual(['final text 0', 'final text 2', 'final text 3']);
    // The refused reply's reservation is handed back all the same (its row stays for the sweeper).
    expect(await ledgerOf(day)).toEqual({ reserved: 0, used: 40 });
    expect(logs.find((l) => l.message === 'a batch of final writes failed; writing them one by one')).toMatchObject({ replies: 4 });
    expect(logs.raw.join('\n')).not.toContain('secret');
  });
});
