import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import type { Client } from 'graphql-ws';
import { bearer, registerUser, type Registered } from '../helpers/auth';
import { assemble, authedWs, createConversation, sendMessage, streamReply, type StreamEvent } from '../helpers/chat';
import { ROOT, TEST_DATA, TEST_DATA_ENCRYPTION_KEYS } from '../helpers/paths';
import { useServerProcesses } from '../helpers/process';
import { createTestDatabase, gql, startTestServer, type TestServer } from '../helpers/server';
import { until, upload } from '../helpers/uploads';

/**
 * `npm run rotate-keys` (src/crypto/rotation.ts) against servers that keep serving: the compiled
 * CLI runs as a child over the servers' database while a reply streams, and every API read stays
 * what it was before, through servers holding the old key list, the new one, and the new key only.
 */
const CLI = path.join(ROOT, 'dist', 'src', 'rotate-keys-cli.js');
const key = (fill: number) => Buffer.alloc(32, fill).toString('base64');
const KEK = { a: `a:${key(0xa1)}`, b: `b:${key(0xb2)}`, c: `c:${key(0xc3)}`, d: `d:${key(0xd4)}` };
const SECRETS = [key(0xa1), key(0xb2), key(0xc3), key(0xd4)];
// Servers and the CLI share these: the CLI's grace before destroying a retired key is the
// servers' DATA_KEY_CACHE_TTL plus their statement timeout plus 5 s.
const SHARED_ENV = { DATA_KEY_CACHE_TTL: '1s', DB_STATEMENT_TIMEOUT_MS: '2000' };
/** One signing key for every server of the file, so a restart keeps the user signed in. */
const SECRET_KEY = randomBytes(32).toString('hex');
const LONG = Array.from({ length: 500 }, (_, i) => `w${i}`).join(' ');

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The last stdout line: the status line. */
  status: string;
}

function rotateKeys(env: Record<string, string>, args: string[] = []): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', APP_ENV: 'test', LOG_LEVEL: 'info', ...SHARED_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      for (const s of SECRETS) expect(stdout + stderr).not.toContain(s); // never prints a key
      resolve({ code, stdout, stderr, status: stdout.trim().split('\n').at(-1) ?? '' });
    });
  });
}

describe('npm run rotate-keys', () => {
  let db: { url: string; drop(): Promise<void> };
  let pool: pg.Pool;
  let server: TestServer | undefined;
  let u: Registered;
  let conv: string;
  let attachmentId: string;
  let before: Awaited<ReturnType<typeof readAll>>;
  const q = async (text: string, params: unknown[] = []) => (await pool.query(text, params)).rows;

  const serve = async (keks: string) => {
    await server?.close();
    server = await startTestServer({ env: { DATA_ENCRYPTION_KEYS: keks, ECHO_TOKEN_DELAY_MS: '40', SECRET_KEY, ...SHARED_ENV }, databaseUrl: db.url });
    return server;
  };

  /** Everything the API reads back of the user's content: the conversation with its messages and attachment names, and the file's bytes. */
  const readAll = async (t: TestServer) => {
    const res = await gql(
      t.graphqlUrl,
      `query R($id: ID!) { conversation(id: $id) { title systemPrompt messages(first: 50) { edges { node { id role content status attachments { id filename size } } } } } }`,
      { id: conv },
      bearer(u.accessToken),
    );
    expect(res.body.errors).toBeUndefined();
    const file = await fetch(`${t.url}/attachments/${attachmentId}`, { headers: bearer(u.accessToken) });
    expect(file.status).toBe(200);
    return { conversation: res.body.data.conversation, file: Buffer.from(await file.arrayBuffer()).toString('base64') };
  };

  /** Starts a long reply on `t` and follows it; resolves once its first words were streamed and saved. */
  const startLongReply = async (t: TestServer) => {
    const send = await sendMessage(t.graphqlUrl, u.accessToken, conv, LONG);
    expect(send.body.errors).toBeUndefined();
    const id: string = send.body.data.sendMessage.assistantMessage.id;
    const ws: Client = authedWs(t.wsUrl, u.accessToken);
    const events: StreamEvent[] = [];
    const done = streamReply(ws, id, 0, (e) => events.push(e));
    await until(async () => (await q(`select 1 from message where id = $1 and left(content, 1) = E'\\x01'`, [id])).length > 0, 'a partial save', 30_000);
    return { id, ws, done, events };
  };

  /** The data key ids named by every sealed value, with how many values name each. */
  const keyIdsInUse = async (): Promise<Record<string, number>> => {
    const text = (col: string, table: string) =>
      `select encode(substring(decode(substring(${col} from 2 for 24), 'base64') from 2 for 16), 'hex')::uuid::text as kid from ${table} where left(${col}, 1) = E'\\x01'`;
    const rows = await q(
      `select kid, count(*)::int as n from (${[
        text('content', 'message'),
        text('title', 'conversation'),
        text('system_prompt', 'conversation'),
        text('filename', 'attachment'),
        text('extracted_text', 'attachment'),
        `select encode(substring(data from 2 for 16), 'hex')::uuid::text from attachment_chunk`,
      ].join(' union all ')}) s group by kid`,
    );
    return Object.fromEntries(rows.map((r) => [r.kid, r.n]));
  };

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
  });
  afterAll(async () => {
    await server?.close();
    await pool?.end();
    await db?.drop();
  });

  it('re-wraps every data key under the new key-encryption key while a reply streams; every read stays correct, also with the new key alone', async () => {
    let t = await serve(KEK.a);
    u = await registerUser(t.graphqlUrl);
    const idle = await registerUser(t.graphqlUrl); // signs up, writes nothing: has no data key, so nothing to rotate
    conv = await createConversation(t.graphqlUrl, u.accessToken, { title: 'Quarterly plan', systemPrompt: 'Answer like a lighthouse keeper' });
    const up = await upload(t.url, u.accessToken, Buffer.from('notes: the harbour opens at dawn\n'), 'harbour-notes.txt', 'text/plain');
    expect(up.status).toBe(201);
    attachmentId = up.body.id;
    const send = await gql(
      t.graphqlUrl,
      'mutation S($i: SendMessageInput!) { sendMessage(input: $i) { assistantMessage { id } } }',
      { i: { conversationId: conv, content: 'read my notes', attachmentIds: [attachmentId] } },
      bearer(u.accessToken),
    );
    const ws = authedWs(t.wsUrl, u.accessToken);
    await streamReply(ws, send.body.data.sendMessage.assistantMessage.id);
    await ws.dispose();
    before = await readAll(t);
    expect(before.conversation.title).toBe('Quarterly plan');
    expect(before.conversation.messages.edges.map((e: any) => e.node.content)).toEqual(['read my notes', 'Echo: read my notes']);
    expect(await q('select distinct kek_id from user_key')).toEqual([{ kek_id: 'a' }]);
    // A key left behind by an account deleted while it was being made (its wrapped bytes would not even unwrap).
    await q(`insert into user_key (id, user_id, kek_id, wrapped, created_at) values (gen_random_uuid(), gen_random_uuid(), 'a', '\\x00', now())`);

    t = await serve(`${KEK.b},${KEK.a}`); // every server restarted with the new key first
    const reply = await startLongReply(t);
    const run = await rotateKeys({ DATABASE_URL: db.url, DATA_ENCRYPTION_KEYS: `${KEK.b},${KEK.a}` });
    expect((await q('select status from message where id = $1', [reply.id]))[0].status).toBe('STREAMING'); // it ran under the stream
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual([run.status]); // one line: the status; the log is on stderr
    expect(run.status).toContain('data keys per key-encryption key: b=1 (current), a=0');
    expect(run.status).toContain('re-wrapped 1 under "b"');
    expect(run.status).toContain('"a" wraps no data key any more and can now be removed from DATA_ENCRYPTION_KEYS');
    expect(run.status).toContain('deleted 1 data keys of deleted users');
    expect(await q('select kek_id, count(*)::int as n from user_key group by kek_id')).toEqual([{ kek_id: 'b', n: 1 }]);
    expect(await q('select 1 from user_key where user_id = $1', [idle.userId])).toHaveLength(0);

    const streamed = assemble(await reply.done);
    await reply.ws.dispose();
    expect(streamed).toBe(`Echo: ${LONG}`);
    const during = await readAll(t);
    expect(during.file).toBe(before.file);
    expect(during.conversation.messages.edges.slice(0, 2)).toEqual(before.conversation.messages.edges);
    expect(during.conversation.messages.edges.at(-1).node).toMatchObject({ id: reply.id, content: streamed, status: 'COMPLETE' });
    before = during;

    t = await serve(KEK.b); // the old key removed everywhere
    expect(await readAll(t)).toEqual(before);
    const later = await createConversation(t.graphqlUrl, idle.accessToken, { title: 'first words' }); // their first key, under "b"
    expect(later).toBeTruthy();
    expect(await q('select kek_id from user_key where user_id = $1', [idle.userId])).toEqual([{ kek_id: 'b' }]);
  }, 120_000);

  it('says so and exits 1 when a data key is under a key-encryption key the configuration does not hold, after re-wrapping the rest', async () => {
    const [{ id }] = await q(
      `insert into user_key (id, user_id, kek_id, wrapped, created_at, retired_at) values (gen_random_uuid(), $1, 'z', '\\x00', now(), now()) returning id`,
      [u.userId],
    );
    const run = await rotateKeys({ DATABASE_URL: db.url, DATA_ENCRYPTION_KEYS: KEK.b });
    expect(run.code).toBe(1);
    expect(run.status).toContain('b=2 (current), z=1');
    expect(run.status).toContain('1 data keys are under "z", which DATA_ENCRYPTION_KEYS does not hold');
    await q('delete from user_key where id = $1', [id]);
  }, 60_000);

  it('--reencrypt under a running stream replaces the data keys, re-seals every value and destroys the retired keys; the reply completes in full', async () => {
    const t = server!;
    const oldKeys = (await q('select id::text from user_key')).map((r) => r.id);
    const reply = await startLongReply(t);
    const run = await rotateKeys({ DATABASE_URL: db.url, DATA_ENCRYPTION_KEYS: KEK.b }, ['--reencrypt']);
    expect((await q('select status from message where id = $1', [reply.id]))[0].status).toBe('STREAMING');
    expect(run.code).toBe(0);
    expect(run.status).toMatch(/reencrypt: 2 data keys retired, 2 destroyed, [1-9]\d* values re-sealed/);
    expect(run.status).not.toContain('wait for');
    expect(await q('select 1 from user_key where retired_at is not null or id = any($1::uuid[])', [oldKeys])).toHaveLength(0);
    const current = (await q('select id::text from user_key')).map((r) => r.id);
    expect(current).toHaveLength(2);
    // While the reply still streams, every stored value (its partial text included) names a current key.
    for (const kid of Object.keys(await keyIdsInUse())) expect(current).toContain(kid);

    const streamed = assemble(await reply.done);
    await reply.ws.dispose();
    expect(streamed).toBe(`Echo: ${LONG}`);
    const after = await readAll(t);
    expect(after.conversation.messages.edges.slice(0, -2)).toEqual(before.conversation.messages.edges);
    expect(after.conversation.messages.edges.at(-1).node).toMatchObject({ id: reply.id, content: streamed, status: 'COMPLETE' });
    expect(after.file).toBe(before.file);
    expect(after.conversation.title).toBe('Quarterly plan');
    // Every sealed value (including the reply's final text, written after the run) names a current key.
    for (const kid of Object.keys(await keyIdsInUse())) expect(current).toContain(kid);
    before = after;
  }, 120_000);

  it('a rerun of either is a no-op that says so', async () => {
    const keys = await q('select id, kek_id, wrapped, retired_at from user_key order by id');
    const values = await keyIdsInUse();
    const snapshot = await q("select md5(string_agg(content, '' order by id)) as m from message");
    const plain = await rotateKeys({ DATABASE_URL: db.url, DATA_ENCRYPTION_KEYS: KEK.b });
    expect(plain.code).toBe(0);
    expect(plain.status).toContain('nothing to re-wrap: every data key is under "b"');
    const again = await rotateKeys({ DATABASE_URL: db.url, DATA_ENCRYPTION_KEYS: KEK.b }, ['--reencrypt']);
    expect(again.code).toBe(0);
    expect(again.status).toContain('reencrypt: nothing to do');
    expect(await q('select id, kek_id, wrapped, retired_at from user_key order by id')).toEqual(keys);
    expect(await keyIdsInUse()).toEqual(values);
    expect(await q("select md5(string_agg(content, '' order by id)) as m from message")).toEqual(snapshot);
  }, 60_000);

  it('--no-wait leaves destruction to a later run, which destroys the retired keys; a new key-encryption key starts a new re-encryption', async () => {
    await server!.close();
    server = undefined;
    const env = { DATABASE_URL: db.url, DATA_ENCRYPTION_KEYS: `${KEK.c},${KEK.b}` };
    const first = await rotateKeys(env, ['--reencrypt', '--no-wait']);
    expect(first.code).toBe(0);
    expect(first.status).toMatch(/reencrypt: 2 data keys retired, 0 destroyed, [1-9]\d* values re-sealed; 2 retired keys wait for servers' caches to expire/);
    const retired = (await q('select id::text from user_key where retired_at is not null')).map((r) => r.id);
    expect(retired).toHaveLength(2);
    for (const kid of Object.keys(await keyIdsInUse())) expect(retired).not.toContain(kid); // old keys still exist, but nothing names them
    const second = await rotateKeys(env, ['--reencrypt']);
    expect(second.code).toBe(0);
    expect(second.status).toContain('reencrypt: 0 data keys retired, 2 destroyed, 0 values re-sealed');
    expect(await q('select 1 from user_key where retired_at is not null')).toHaveLength(0);
    expect(await readAll(await serve(KEK.c))).toEqual(before);
  }, 120_000);

  it('a value that does not open keeps its retired key and exits 1, naming the row; once repaired, a rerun re-seals it and destroys the key', async () => {
    await server?.close();
    server = undefined;
    const env = { DATABASE_URL: db.url, DATA_ENCRYPTION_KEYS: `${KEK.d},${KEK.c}` };
    const [{ title }] = await q('select title from conversation where id = $1', [conv]);
    const flipped = title.slice(0, 40) + (title[40] === 'A' ? 'B' : 'A') + title.slice(41); // inside the ciphertext
    await q('update conversation set title = $1 where id = $2', [flipped, conv]);
    const broken = await rotateKeys(env, ['--reencrypt', '--no-wait']);
    expect(broken.code).toBe(1);
    expect(broken.status).toContain('ERROR: 1 values did not open with their retired key (see the log) and keep it');
    expect(broken.stderr).toContain(conv); // the log names the row, never its text
    expect(broken.stderr).not.toContain('Quarterly plan');
    expect((await q('select 1 from user_key where retired_at is not null')).length).toBeGreaterThan(0);
    await q('update conversation set title = $1 where id = $2', [title, conv]);
    const repaired = await rotateKeys(env, ['--reencrypt']);
    expect(repaired.code).toBe(0);
    expect(repaired.status).toContain('reencrypt: 0 data keys retired, 2 destroyed, 1 values re-sealed');
    expect(await q('select 1 from user_key where retired_at is not null')).toHaveLength(0);
    expect(await readAll(await serve(KEK.d))).toEqual(before);
  }, 120_000);

  it('refuses a missing or malformed DATA_ENCRYPTION_KEYS in prod, naming the setting; a bad argument is a usage error', async () => {
    const prod = { APP_ENV: 'prod', DATABASE_URL: db.url, SECRET_KEY: 'k'.repeat(16) + 'Q7x!vZ2#pL9@mW4$', CORS_ORIGINS: 'https://app.example.org' };
    const missing = await rotateKeys(prod);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('DATA_ENCRYPTION_KEYS is required in prod');
    const malformed = await rotateKeys({ ...prod, DATA_ENCRYPTION_KEYS: 'a:c2hvcnQ=' });
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('DATA_ENCRYPTION_KEYS key "a" must be 32 bytes');
    expect(malformed.stderr).not.toContain('c2hvcnQ=');
    const usage = await rotateKeys({ DATABASE_URL: db.url, DATA_ENCRYPTION_KEYS: KEK.c }, ['--batch', '0']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--batch must be a whole number from 1 to 10000');
  }, 60_000);
});

describe('npm run rotate-keys beside a server on the embedded PostgreSQL', () => {
  const { start, dirs } = useServerProcesses();

  it('joins the cluster the running server started, and leaves it serving', async () => {
    const dataDir = path.join(TEST_DATA, `rotate-embedded-${randomBytes(4).toString('hex')}`);
    dirs.push(dataDir);
    const server = start({ DATA_DIR: dataDir, SECRET_KEY });
    const ready = await server.waitFor((l) => l.message === 'ready');
    const u = await registerUser(`${ready.url}/graphql`);
    const conv = await createConversation(`${ready.url}/graphql`, u.accessToken, { title: 'on the embedded database' });
    const run = await rotateKeys({ DATA_DIR: dataDir, DATA_ENCRYPTION_KEYS: TEST_DATA_ENCRYPTION_KEYS }, ['--reencrypt', '--no-wait']);
    expect(run.code).toBe(0);
    expect(run.status).toContain('data keys per key-encryption key: test=2 (current)');
    expect(run.status).toContain('reencrypt: 1 data keys retired, 0 destroyed, 1 values re-sealed');
    const res = await gql(`${ready.url}/graphql`, 'query C($id: ID!) { conversation(id: $id) { title } }', { id: conv }, bearer(u.accessToken));
    expect(res.body.data.conversation.title).toBe('on the embedded database'); // its database still serves it, re-sealed
  }, 120_000);
});
