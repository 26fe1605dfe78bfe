// Smoke test of `npm run bench`'s peers (bench/peers/), so the harness cannot rot unseen: each
// peer starts as its own process against this file's database, and the documents the benchmark
// sends answer the same data on the peer as on Parley (so both do the same work).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { AUDIENCE, ISSUER } from '../../src/auth/tokens';
import { bearer, registerUser } from '../helpers/auth';
import { createConversation } from '../helpers/chat';
import { ROOT, TEST_DATA_ENCRYPTION_KEYS } from '../helpers/paths';
import { gql, seal, sql, useTestServer } from '../helpers/server';
import { wsClient, wsRun } from '../helpers/ws';

const PEERS = path.join(ROOT, 'bench', 'peers');
const DOCUMENTS = JSON.parse(fs.readFileSync(path.join(PEERS, 'documents.json'), 'utf8')) as { me: string; messagePage: string };

const children: ChildProcess[] = [];

/** Starts bench/peers/<file> and resolves the URL it prints once listening. */
function startPeer(file: string, env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [path.join(PEERS, file)], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}: ${err}`)));
    child.stdout.once('data', (d: Buffer) => resolve((JSON.parse(d.toString().split('\n')[0]) as { url: string }).url));
  });
}

/** 51 messages (so the page of 50 has a next one): user questions, assistant replies with usage, one attachment. */
async function seedConversation(t: ReturnType<typeof useTestServer>, userId: string, conversationId: string): Promise<void> {
  const start = Date.now() - 3_600_000;
  let attachedTo = '';
  for (let i = 0; i < 51; i++) {
    const assistant = i % 2 === 1;
    const id = randomUUID();
    if (i === 2) attachedTo = id;
    await sql(
      t,
      `INSERT INTO message (id, conversation_id, role, content, status, model, prompt_tokens, completion_tokens, usage_estimated,
         finish_reason, created_at, sender_id, client_message_id)
       VALUES (?, ?, ?, ?, 'COMPLETE', ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        id,
        conversationId,
        assistant ? 'ASSISTANT' : 'USER',
        await seal(t, userId, 'message.content', id, `message ${i}`),
        assistant ? 'echo' : null,
        assistant ? 10 + i : null,
        assistant ? 5 + i : null,
        assistant ? i % 3 === 0 : null,
        assistant ? 'STOP' : null,
        new Date(start + i * 1000),
        assistant ? null : userId,
        assistant ? null : `c-${i}`,
      ],
    );
  }
  const attachmentId = randomUUID();
  await sql(
    t,
    `INSERT INTO attachment (id, owner_id, message_id, filename, mime_type, size, complete, created_at) VALUES (?, ?, ?, ?, 'text/plain', 5, true, now())`,
    [attachmentId, userId, attachedTo, await seal(t, userId, 'attachment.filename', attachmentId, 'notes.txt')],
  );
}

describe('bench peers', () => {
  const t = useTestServer();
  // Before the test server's afterAll drops the database the peers are connected to.
  afterEach(() => children.splice(0).forEach((c) => c.kill('SIGKILL')));

  it('apollo-me answers Me and the 50-message page with the same data as Parley, and refuses a token Parley did not sign', async () => {
    const user = await registerUser(t.graphqlUrl);
    const conversationId = await createConversation(t.graphqlUrl, user.accessToken);
    await seedConversation(t, user.userId, conversationId);
    const peerUrl = await startPeer('apollo-me.js', {
      DATABASE_URL: t.config.databaseUrl!,
      SECRET_KEY: t.config.secretKey,
      DATA_ENCRYPTION_KEYS: TEST_DATA_ENCRYPTION_KEYS,
    });

    for (const [query, variables] of [[DOCUMENTS.me, {}] as const, [DOCUMENTS.messagePage, { id: conversationId }] as const]) {
      const parley = await gql(t.graphqlUrl, query, variables, bearer(user.accessToken));
      const peer = await gql(`${peerUrl}graphql`, query, variables, bearer(user.accessToken));
      expect(parley.body.errors).toBeUndefined();
      expect(peer.body.errors).toBeUndefined();
      expect(peer.body.data).toEqual(parley.body.data);
    }
    const page = (await gql(`${peerUrl}graphql`, DOCUMENTS.messagePage, { id: conversationId }, bearer(user.accessToken))).body.data.conversation.messages;
    expect(page.edges).toHaveLength(50);
    expect(page.pageInfo.hasNextPage).toBe(true);
    expect(page.edges[2].node.attachments).toEqual([expect.objectContaining({ filename: 'notes.txt', size: 5 })]);
    expect(page.edges[1].node.usage).toEqual({ promptTokens: 11, completionTokens: 6, totalTokens: 17, estimated: false });

    const forged = jwt.sign({ role: 'USER', sid: randomUUID() }, randomBytes(32), {
      algorithm: 'HS256',
      subject: user.userId,
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    const refused = await gql(`${peerUrl}graphql`, DOCUMENTS.me, {}, bearer(forged));
    expect(refused.body.data ?? null).toBeNull();
    expect(refused.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('ws-relay relays every chunk of its timed source, offsets exact, then a final done event', async () => {
    const url = await startPeer('ws-relay.js', { CHUNKS: '5' });
    const client = wsClient(url);
    const results = await wsRun<{ data: { e: { offset: number; delta: string; done: boolean } } }>(
      client,
      'subscription ($id: ID!) { e: relay(id: $id) { offset delta done } }',
      { id: 'x' },
    );
    await client.dispose();
    const events = results.map((r) => r.data.e);
    expect(events).toHaveLength(6);
    let offset = 0;
    for (const e of events.slice(0, 5)) {
      expect(e).toEqual({ offset, delta: expect.stringMatching(/^\d+\.\d{3};$/), done: false });
      offset += e.delta.length;
    }
    expect(events[5]).toEqual({ offset, delta: '', done: true });
  });
});
