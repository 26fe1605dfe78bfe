import { randomBytes } from 'node:crypto';
import { cipherOf } from '../../src/crypto/cipher';
import { User } from '../../src/auth/user.entity';
import { Conversation } from '../../src/chat/conversation.entity';
import { Message } from '../../src/chat/message.entity';
import { MessageRole } from '../../src/chat/message-enums';
import { ConfigError, loadConfig } from '../../src/config';
import { bearer, registerUser, STRONG_PASSWORD, type Registered } from '../helpers/auth';
import { authedWs, createConversation, streamReply } from '../helpers/chat';
import { gql, sql, startTestServer, useTestServer, type TestServer } from '../helpers/server';
import { upload } from '../helpers/uploads';

// Strings found nowhere else, so a raw dump either holds them (a leak) or not.
const SECRETS = {
  title: 'Zanzibar title 7Q4',
  systemPrompt: 'Kestrel prompt 9W2',
  filename: 'Quokka-file-3X8.txt',
  fileText: 'Narwhal bytes 5V1 ',
  message: 'Ocelot message 2M6',
};

const CONVERSATION = `query C($id: ID!) { conversation(id: $id) { title systemPrompt messages(first: 50) { edges { node { id role content status attachments { id filename } } } } } }`;

/** Every row of every table of the database as PostgreSQL prints it (bytea as hex): what a raw dump holds. */
async function rawDump(t: TestServer): Promise<string> {
  const tables = await sql(t, `select tablename from pg_tables where schemaname = 'public' order by tablename`);
  const parts: string[] = [];
  for (const { tablename } of tables) {
    const rows = await sql(t, `select t::text as r from "${String(tablename)}" t`);
    parts.push(...rows.map((r) => String(r.r)));
  }
  return parts.join('\n');
}

/** The plain text and the hex of its UTF-8 (how a bytea column would show it). */
const leaks = (dump: string) =>
  Object.entries(SECRETS)
    .filter(([, s]) => dump.includes(s.trim()) || dump.includes(Buffer.from(s.trim()).toString('hex')))
    .map(([k]) => k);

/** A conversation with a title, a system prompt, an uploaded file attached to a message, and the reply streamed to the end. */
async function fullConversation(t: TestServer, u: Registered): Promise<{ conv: string; fileId: string; fileBytes: Buffer; replyId: string }> {
  const conv = await createConversation(t.graphqlUrl, u.accessToken, { title: SECRETS.title, systemPrompt: SECRETS.systemPrompt });
  const fileBytes = Buffer.from(SECRETS.fileText.repeat(20_000)); // 360 KB: two chunks
  const up = await upload(t.url, u.accessToken, fileBytes, SECRETS.filename, 'text/plain');
  expect(up.status).toBe(201);
  const sent = await gql(
    t.graphqlUrl,
    'mutation S($i: SendMessageInput!) { sendMessage(input: $i) { assistantMessage { id } } }',
    { i: { conversationId: conv, content: SECRETS.message, attachmentIds: [up.body.id] } },
    bearer(u.accessToken),
  );
  expect(sent.body.errors).toBeUndefined();
  const replyId: string = sent.body.data.sendMessage.assistantMessage.id;
  const ws = authedWs(t.wsUrl, u.accessToken);
  await streamReply(ws, replyId);
  await ws.dispose();
  return { conv, fileId: up.body.id as string, fileBytes, replyId };
}

async function readConversation(t: TestServer, token: string, conv: string) {
  return gql(t.graphqlUrl, CONVERSATION, { id: conv }, bearer(token));
}

/** A sealed text column's envelope bytes, and writing them back (for tampering). */
const envelopeOf = (stored: string) => Buffer.from(stored.slice(1), 'base64');
const textOf = (envelope: Buffer) => `\u0001${envelope.toString('base64')}`;

describe('encryption at rest', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '0' } });

  it('stores no message text, title, system prompt, file name or file bytes in the clear, and every API read returns them', async () => {
    const u = await registerUser(t.graphqlUrl);
    const { conv, fileId, fileBytes } = await fullConversation(t, u);

    expect(leaks(await rawDump(t))).toEqual([]);
    const stored = await sql(t, 'select content from message m where m.conversation_id = ? order by created_at', [conv]);
    for (const m of stored) expect(m.content.startsWith('\u0001') && /^[A-Za-z0-9+/=]+$/.test(m.content.slice(1))).toBe(true);

    const read = (await readConversation(t, u.accessToken, conv)).body.data.conversation;
    expect(read).toMatchObject({ title: SECRETS.title, systemPrompt: SECRETS.systemPrompt });
    const [mine, reply] = read.messages.edges.map((e: any) => e.node);
    expect(mine).toMatchObject({ role: 'USER', content: SECRETS.message, attachments: [{ id: fileId, filename: SECRETS.filename }] });
    expect(reply).toMatchObject({ role: 'ASSISTANT', status: 'COMPLETE' });
    expect(reply.content).toContain(SECRETS.message);
    const download = await fetch(`${t.url}/attachments/${fileId}`, { headers: bearer(u.accessToken) });
    expect(download.headers.get('content-disposition')).toContain(SECRETS.filename);
    expect(Buffer.from(await download.arrayBuffer()).equals(fileBytes)).toBe(true);
    const exported = JSON.stringify((await gql(t.graphqlUrl, 'mutation { exportMyData }', undefined, bearer(u.accessToken))).body.data.exportMyData);
    for (const s of [SECRETS.title, SECRETS.systemPrompt, SECRETS.filename, SECRETS.message]) expect(exported).toContain(s);
    // Audit records name what happened, never the content.
    expect(leaks((await sql(t, 'select metadata::text as m from audit_event')).map((r) => String(r.m)).join('\n'))).toEqual([]);
  });

  it('seals through the ORM on every write path: created, changed, and reached only by a relation', async () => {
    const u = await registerUser(t.graphqlUrl);
    const em = t.db.orm.em.fork();
    const owner = em.getReference(User, u.userId);
    const conversation = new Conversation();
    Object.assign(conversation, { owner, model: 'echo', title: SECRETS.title, systemPrompt: SECRETS.systemPrompt });
    const message = new Message();
    Object.assign(message, { role: MessageRole.USER, content: SECRETS.message });
    em.persist(message);
    message.conversation = conversation; // after persist: the flush itself discovers the new conversation
    await em.flush();
    conversation.title = 'changed title';
    await em.flush();
    expect(leaks(await rawDump(t))).toEqual([]);
    const read = await readConversation(t, u.accessToken, conversation.id);
    expect(read.body.data.conversation).toMatchObject({ title: 'changed title', systemPrompt: SECRETS.systemPrompt });
    expect(read.body.data.conversation.messages.edges[0].node.content).toBe(SECRETS.message);
    // Loading and flushing without a change writes nothing (the sealed twin is not rewritten).
    const again = t.db.orm.em.fork();
    const loaded = await again.findOneOrFail(Conversation, { id: conversation.id });
    expect(loaded.title).toBe('changed title');
    const [before] = await sql(t, 'select xmin::text as x from conversation where id = ?', [conversation.id]);
    await again.flush();
    expect((await sql(t, 'select xmin::text as x from conversation where id = ?', [conversation.id]))[0].x).toBe(before.x);
  });

  it('refuses a ciphertext moved to another row, column or user with a clean error, and keeps the other rows readable', async () => {
    const a = await registerUser(t.graphqlUrl);
    const b = await registerUser(t.graphqlUrl);
    const convA = await createConversation(t.graphqlUrl, a.accessToken, { title: 'A one' });
    const convA2 = await createConversation(t.graphqlUrl, a.accessToken, { title: 'A two' });
    const convB = await createConversation(t.graphqlUrl, b.accessToken, { title: 'B one' });
    const untouched = await createConversation(t.graphqlUrl, a.accessToken, { title: 'A three' });
    const [titleA] = await sql(t, 'select title from conversation where id = ?', [convA]);
    // Same user, another row: the binding names the row.
    await sql(t, 'update conversation set title = ? where id = ?', [titleA.title, convA2]);
    // Another user's row.
    await sql(t, 'update conversation set title = ? where id = ?', [titleA.title, convB]);
    // Same row, another column.
    await sql(t, 'update conversation set system_prompt = ? where id = ?', [titleA.title, convA]);

    for (const [token, conv] of [
      [a.accessToken, convA2],
      [b.accessToken, convB],
    ]) {
      const res = await gql(t.graphqlUrl, 'query C($id: ID!) { conversation(id: $id) { title } }', { id: conv }, bearer(token));
      expect(res.status).toBe(200);
      expect(res.body.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
      expect(JSON.stringify(res.body)).not.toMatch(/A one|stack|at .*\.js/);
    }
    const prompt = await gql(t.graphqlUrl, 'query C($id: ID!) { conversation(id: $id) { systemPrompt } }', { id: convA }, bearer(a.accessToken));
    expect(prompt.body.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
    // A value that is not sealed at all (written behind the server's back) is refused too, not shown.
    await sql(t, 'update conversation set title = ? where id = ?', ['planted plain text', convB]);
    const planted = await gql(t.graphqlUrl, 'query C($id: ID!) { conversation(id: $id) { title } }', { id: convB }, bearer(b.accessToken));
    expect(planted.body.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(planted.body)).not.toContain('planted');
    // Untouched rows still read.
    const fine = await gql(t.graphqlUrl, 'query C($id: ID!) { conversation(id: $id) { title } }', { id: untouched }, bearer(a.accessToken));
    expect(fine.body.data.conversation.title).toBe('A three');
    expect(t.logs.raw.join('\n')).not.toContain('A one');
  });

  it('fails a flipped bit in message text or file bytes with a clean error, never altered text or bytes', async () => {
    const u = await registerUser(t.graphqlUrl);
    const { conv, fileId, replyId } = await fullConversation(t, u);
    const [row] = await sql(t, 'select content from message where id = ?', [replyId]);
    const flipped = envelopeOf(row.content);
    flipped[flipped.length - 20] ^= 0x01;
    await sql(t, 'update message set content = ? where id = ?', [textOf(flipped), replyId]);
    const res = await readConversation(t, u.accessToken, conv);
    expect(res.body.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
    expect(res.body.data?.conversation ?? null).toBeNull();
    // The operator sees why in the log (the row's failure, not its content).
    expect(t.logs.find((l) => l.message === 'unexpected error' && JSON.stringify(l.err).includes('failed its integrity check'))).toBeDefined();

    await sql(t, `update attachment_chunk set data = set_byte(data, 100, get_byte(data, 100) # 1) where attachment_id = ? and seq = 1`, [fileId]);
    const download = await fetch(`${t.url}/attachments/${fileId}`, { headers: bearer(u.accessToken) });
    // The first chunk opened and went out; the altered one ends the response short instead of serving altered bytes.
    await expect(download.arrayBuffer()).rejects.toThrow();
  });

  it('deleteMyAccount destroys the data key in its transaction: a copy of the rows taken before cannot be opened with the server keys', async () => {
    const u = await registerUser(t.graphqlUrl);
    const { conv, fileId } = await fullConversation(t, u);
    const before = {
      messages: await sql(t, 'select id, content from message where conversation_id = ?', [conv]),
      conversation: (await sql(t, 'select id, title, system_prompt from conversation where id = ?', [conv]))[0],
      chunks: await sql(t, 'select attachment_id, seq, data from attachment_chunk where attachment_id = ?', [fileId]),
    };
    const keysBefore = await sql(t, 'select id from user_key where user_id = ?', [u.userId]);
    expect(keysBefore).toHaveLength(1);
    const cipher = cipherOf(t.db.orm.em);
    expect(await cipher.openText('conversation.title', conv, before.conversation.title)).toBe(SECRETS.title); // the copy opens today

    const del = await gql(t.graphqlUrl, 'mutation D($p: String!) { deleteMyAccount(password: $p) }', { p: STRONG_PASSWORD }, bearer(u.accessToken));
    expect(del.body.data.deleteMyAccount).toBe(true);
    expect(await sql(t, 'select id from user_key where user_id = ?', [u.userId])).toEqual([]);
    const [audit] = await sql(t, `select metadata from audit_event where action = 'privacy.account_delete' and resource_id = ?`, [u.userId]);
    expect(audit.metadata).toMatchObject({ dataKeysDestroyed: 1 });

    await expect(cipher.openText('conversation.title', conv, before.conversation.title)).rejects.toThrow(/no longer exists/);
    await expect(cipher.openText('conversation.system_prompt', conv, before.conversation.system_prompt)).rejects.toThrow(/no longer exists/);
    for (const m of before.messages) await expect(cipher.openText('message.content', m.id, m.content)).rejects.toThrow(/no longer exists/);
    for (const c of before.chunks) await expect(cipher.openBytes('attachment_chunk.data', `${fileId}:${c.seq}`, c.data)).rejects.toThrow(/no longer exists/);
    // Another server process with the same DATA_ENCRYPTION_KEYS (nothing cached) cannot either.
    const other = await startTestServer({ databaseUrl: t.config.databaseUrl });
    try {
      const otherCipher = cipherOf(other.db.orm.em);
      await expect(otherCipher.openText('message.content', before.messages[0].id, before.messages[0].content)).rejects.toThrow(/no longer exists/);
    } finally {
      await other.close();
    }
  });
});

describe('encryption at rest: rows stored before it and the key settings', () => {
  it('seals plain rows from before encryption on the first start, resumably, and reads them back', async () => {
    const first = await startTestServer({ env: { ECHO_TOKEN_DELAY_MS: '0' } });
    let second: TestServer | undefined;
    try {
      const u = await registerUser(first.graphqlUrl);
      const { conv, fileId, fileBytes, replyId } = await fullConversation(first, u);
      // Put the rows back as a release before encryption stored them: plain text and bytes, no "sealed" mark.
      await sql(first, 'update conversation set title = ?, system_prompt = ? where id = ?', [SECRETS.title, SECRETS.systemPrompt, conv]);
      await sql(first, `update message set content = ? where conversation_id = ? and role = 'USER'`, [SECRETS.message, conv]);
      await sql(first, `update message set content = ? where id = ?`, [`Echo: ${SECRETS.message}`, replyId]);
      await sql(first, 'update attachment set filename = ? where id = ?', [SECRETS.filename, fileId]);
      const chunkSize = Number(
        (await sql(first, 'select octet_length(data) - 45 as n from attachment_chunk where attachment_id = ? and seq = 0', [fileId]))[0].n,
      );
      await sql(first, 'update attachment_chunk set data = ? where attachment_id = ? and seq = 0', [fileBytes.subarray(0, chunkSize), fileId]);
      await sql(first, 'update attachment_chunk set data = ? where attachment_id = ? and seq = 1', [fileBytes.subarray(chunkSize), fileId]);
      await sql(first, `delete from app_meta where key = 'encryption.plain_rows_sealed_at'`);
      expect(leaks(await rawDump(first))).toEqual(['title', 'systemPrompt', 'filename', 'fileText', 'message']);

      second = await startTestServer({ databaseUrl: first.config.databaseUrl, env: { SECRET_KEY: first.config.secretKey } });
      expect(second.logs.find((l) => l.message === 'sealed the rows stored before encryption at rest')).toMatchObject({ rows: 7 });
      expect(leaks(await rawDump(second))).toEqual([]);
      const read = (await readConversation(second, u.accessToken, conv)).body.data.conversation;
      expect(read).toMatchObject({ title: SECRETS.title, systemPrompt: SECRETS.systemPrompt });
      expect(read.messages.edges.map((e: any) => e.node.content)).toEqual([SECRETS.message, `Echo: ${SECRETS.message}`]);
      const download = await fetch(`${second.url}/attachments/${fileId}`, { headers: bearer(u.accessToken) });
      expect(Buffer.from(await download.arrayBuffer()).equals(fileBytes)).toBe(true);
      expect(await sql(second, `select 1 from app_meta where key = 'encryption.plain_rows_sealed_at'`)).toHaveLength(1);
    } finally {
      await second?.close();
      await first.close();
    }
  });

  it('a server with other DATA_ENCRYPTION_KEYS cannot read the content and says which key it lacks, without leaking it', async () => {
    const a = await startTestServer({ env: { ECHO_TOKEN_DELAY_MS: '0' } });
    let b: TestServer | undefined;
    try {
      const u = await registerUser(a.graphqlUrl);
      const conv = await createConversation(a.graphqlUrl, u.accessToken, { title: SECRETS.title });
      b = await startTestServer({
        databaseUrl: a.config.databaseUrl,
        env: { SECRET_KEY: a.config.secretKey, DATA_ENCRYPTION_KEYS: `other:${randomBytes(32).toString('base64')}` },
      });
      const res = await gql(b.graphqlUrl, 'query C($id: ID!) { conversation(id: $id) { title } }', { id: conv }, bearer(u.accessToken));
      expect(res.body.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
      expect(JSON.stringify(res.body)).not.toContain(SECRETS.title);
      expect(b.logs.raw.join('\n')).toContain('key-encryption key \\"test\\"');
    } finally {
      await b?.close();
      await a.close();
    }
  });

  it('prod refuses a missing or malformed DATA_ENCRYPTION_KEYS, naming the setting and never echoing a key', () => {
    const base = {
      APP_ENV: 'prod',
      SECRET_KEY: randomBytes(32).toString('hex'),
      DATABASE_URL: 'postgres://u:p@db.example/parley',
      CORS_ORIGINS: 'https://app.example',
    };
    const problems = (env: Record<string, string>): string[] => {
      try {
        loadConfig({ ...base, ...env });
        return [];
      } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
      }
    };
    expect(problems({}).join('\n')).toMatch(/DATA_ENCRYPTION_KEYS is required in prod/);
    const short = Buffer.alloc(16, 1).toString('base64');
    expect(problems({ DATA_ENCRYPTION_KEYS: `k1:${short}` }).join('\n')).toMatch(/DATA_ENCRYPTION_KEYS key "k1" must be 32 bytes/);
    expect(problems({ DATA_ENCRYPTION_KEYS: `k1:${short}` }).join('\n')).not.toContain(short);
    expect(problems({ DATA_ENCRYPTION_KEYS: 'no-colon-here' }).join('\n')).toMatch(/entry 1 must be id:base64key/);
    const good = randomBytes(32).toString('base64');
    expect(problems({ DATA_ENCRYPTION_KEYS: `k1:${good},k1:${good}` }).join('\n')).toMatch(/names key "k1" twice/);
    expect(problems({ DATA_ENCRYPTION_KEYS: `k2:${good}, k1:${randomBytes(32).toString('base64')}` })).toEqual([]);
    // Outside prod a malformed list is refused all the same (only a missing one falls back to the development key).
    expect(() => loadConfig({ APP_ENV: 'dev', DATA_ENCRYPTION_KEYS: 'k1:abc' })).toThrow(/DATA_ENCRYPTION_KEYS/);
  });
});
