import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import pg from 'pg';
import { BACKUP_MAGIC, type BackupHeader } from '../../src/db/backup-format';
import { bearer, login, me, registerUser, type Registered } from '../helpers/auth';
import { authedWs, createConversation, streamReply } from '../helpers/chat';
import { useFakeOpenAIServer } from '../helpers/fake-openai';
import { ROOT, TEST_DATA } from '../helpers/paths';
import { useServerProcesses } from '../helpers/process';
import { createTestDatabase, gql, sql, startTestServer, unseal, type TestServer } from '../helpers/server';
import { until, upload } from '../helpers/uploads';

const CLI = path.join(ROOT, 'dist', 'src', 'backup-cli.js');
const ADMIN = { email: 'backup-admin@example.com', password: 'an admin passphrase for backups' };
// One key for every server here: sessions and the keyed audit chain must verify after a restore.
const ENV = { SECRET_KEY: randomBytes(32).toString('hex'), BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password };
/** Replies come from a fake upstream: its 'held' model streams two words, then waits for `release()`. */
const AI = { AI_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-test-key', AI_MODELS: 'plain,held' };
/** Distinctive strings sent through the API, searched for in the backup file. */
const TEXT = {
  title: 'Quarterly plan Zq7Lw',
  systemPrompt: 'You are Kx9Pd the careful assistant',
  message: 'the vault code is Jr5Tn',
  filename: 'heist-Vb2Qm.txt',
  fileBytes: 'attachment body Wm3Hx with details',
};
const CONVERSATION = `query C($id: ID!) { conversation(id: $id) { id title systemPrompt model
  messages(first: 50) { edges { node { id role content status attachments { id filename mimeType size } } } } } }`;

/** Runs the compiled backup CLI as cron would; resolves with its exit code and output. */
function runCli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', APP_ENV: 'test', ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The decompressed file's frames after the magic line, as [kind, payload] pairs. */
function frames(file: string): [string, Buffer][] {
  const raw = zlib.gunzipSync(fs.readFileSync(file));
  expect(raw.subarray(0, BACKUP_MAGIC.length).equals(BACKUP_MAGIC)).toBe(true);
  const out: [string, Buffer][] = [];
  for (let at = BACKUP_MAGIC.length; at < raw.length;) {
    const length = raw.readUInt32BE(at + 1);
    out.push([raw.toString('latin1', at, at + 1), raw.subarray(at + 5, at + 5 + length)]);
    at += 5 + length;
  }
  return out;
}

function writeFrames(file: string, list: [string, Buffer][]): void {
  const parts = list.flatMap(([kind, payload]) => {
    const head = Buffer.alloc(5);
    head.write(kind, 0, 'latin1');
    head.writeUInt32BE(payload.length, 1);
    return [head, payload];
  });
  fs.writeFileSync(file, zlib.gzipSync(Buffer.concat([BACKUP_MAGIC, ...parts])));
}

function headerOf(file: string): BackupHeader {
  return JSON.parse(frames(file)[0][1].toString('utf8'));
}

/** The public tables of a database and their row counts (empty when it has no schema). */
async function tableCounts(url: string): Promise<Record<string, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query(`select tablename from pg_tables where schemaname = 'public' order by tablename`);
    const counts: Record<string, number> = {};
    for (const { tablename } of rows) counts[tablename] = Number((await c.query(`select count(*) as n from "${tablename}"`)).rows[0].n);
    return counts;
  } finally {
    await c.end();
  }
}

describe('npm run backup / npm run restore', () => {
  const { t, fake } = useFakeOpenAIServer({ ...ENV, ...AI });
  const dir = path.join(TEST_DATA, `backup-${randomBytes(4).toString('hex')}`);
  const file = path.join(dir, 'parley.backup.gz');
  let user: Registered;
  let conversationId: string;
  let attachmentId: string;
  let answerBefore: unknown;
  let streamingId: string;

  beforeAll(async () => {
    fs.mkdirSync(dir, { recursive: true });
    // A history a fresh migration run does not repeat (ids used by rolled-back runs): the restore must carry it over.
    await sql(t, `select setval('mikro_orm_migrations_id_seq', 500)`);
    user = await registerUser(t.graphqlUrl, { displayName: 'Backed Up' });
    conversationId = await createConversation(t.graphqlUrl, user.accessToken, { title: TEXT.title, systemPrompt: TEXT.systemPrompt });
    const file = await upload(t.url, user.accessToken, Buffer.from(TEXT.fileBytes), TEXT.filename, 'text/plain');
    attachmentId = file.body.id;
    const sent = await gql(
      t.graphqlUrl,
      'mutation S($i: SendMessageInput!) { sendMessage(input: $i) { assistantMessage { id } } }',
      { i: { conversationId, content: TEXT.message, attachmentIds: [attachmentId] } },
      bearer(user.accessToken),
    );
    const ws = authedWs(t.wsUrl, user.accessToken);
    await streamReply(ws, sent.body.data.sendMessage.assistantMessage.id);
    await ws.dispose();
    answerBefore = (await gql(t.graphqlUrl, CONVERSATION, { id: conversationId }, bearer(user.accessToken))).body.data;
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes a snapshot of every table while the server runs and a reply streams: one summary line, mode 600', async () => {
    const other = await createConversation(t.graphqlUrl, user.accessToken, { model: 'held' });
    const sent = await gql(
      t.graphqlUrl,
      'mutation S($i: SendMessageInput!) { sendMessage(input: $i) { assistantMessage { id } } }',
      { i: { conversationId: other, content: 'a reply to back up mid-stream' } },
      bearer(user.accessToken),
    );
    streamingId = sent.body.data.sendMessage.assistantMessage.id;
    // The reply is under way: its first words are stored, the rest waits upstream.
    const savedText = async (server: TestServer) =>
      unseal(server, 'message.content', streamingId, (await sql(server, 'select content from message where id = ?', [streamingId]))[0].content);
    await until(async () => (await savedText(t)) === 'Hello from', 'the first words saved');
    const run = await runCli(['backup', file], { DATABASE_URL: t.config.databaseUrl! });
    fake.release();
    const ws = authedWs(t.wsUrl, user.accessToken);
    const events = await streamReply(ws, streamingId); // the reply goes on to its end
    await ws.dispose();
    expect(events[events.length - 1]).toMatchObject({ done: true, status: 'COMPLETE' });
    // The snapshot caught the reply mid-stream.
    const messageRow = frames(file)
      .filter(([kind]) => kind === 'D')
      .flatMap(([, payload]) => payload.toString('utf8').split('\n'))
      .find((line) => line.startsWith(streamingId));
    expect(messageRow).toContain('\tSTREAMING\t');

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^backup written to .+: \d+ tables, \d+ rows, \d+ bytes, \d+\.\d s\n$/);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(`${file}.tmp`)).toBe(false);
    const header = headerOf(file);
    const dbTables = await sql(t, `select tablename from pg_tables where schemaname = 'public'`);
    expect(header.tables.map((x) => x.name).sort()).toEqual(dbTables.map((r) => r.tablename).sort());
    expect(header.migrations).toEqual((await sql(t, 'select name from mikro_orm_migrations order by id')).map((r) => r.name));
    const rows = Object.fromEntries(header.tables.map((x) => [x.name, x.rows]));
    expect(rows).toMatchObject({ user: 2, conversation: 2, attachment: 1, mikro_orm_migrations: header.migrations.length });
    expect(rows.audit_event).toBeGreaterThan(3);
    // Foreign keys point backwards: a parent table always comes before its children.
    const order = header.tables.map((x) => x.name);
    expect(order.indexOf('user')).toBeLessThan(order.indexOf('conversation'));
    expect(order.indexOf('message')).toBeLessThan(order.indexOf('attachment'));
    expect(order.indexOf('attachment')).toBeLessThan(order.indexOf('attachment_chunk'));
  });

  it('restores into an empty database, and a server on it answers as the original did', async () => {
    const target = await createTestDatabase();
    const run = await runCli(['restore', file], { DATABASE_URL: target.url });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^restored from .+: \d+ tables, \d+ rows, \d+ bytes, \d+\.\d s\n$/);
    const restored: TestServer = await startTestServer({ databaseUrl: target.url, env: { ...ENV, ...AI, OPENAI_BASE_URL: fake.url } });
    try {
      // The session came back too: the access token issued before the backup still works.
      expect((await me(restored.graphqlUrl, user.accessToken)).body.data.me).toEqual({ id: user.userId, email: user.email, role: 'USER' });
      expect((await gql(restored.graphqlUrl, CONVERSATION, { id: conversationId }, bearer(user.accessToken))).body.data).toEqual(answerBefore);
      // The reply caught mid-stream comes back as the snapshot held it: its first words.
      const [row] = await sql(restored, 'select content from message where id = ?', [streamingId]);
      expect(await unseal(restored, 'message.content', streamingId, row.content)).toBe('Hello from');
      const bytes = await fetch(`${restored.url}/attachments/${attachmentId}`, { headers: bearer(user.accessToken) });
      expect(bytes.status).toBe(200);
      expect(await bytes.text()).toBe(TEXT.fileBytes);
      expect((await login(restored.graphqlUrl, user.email, user.password)).body.data.login.user.id).toBe(user.userId);
      const admin = (await login(restored.graphqlUrl, ADMIN.email, ADMIN.password)).body.data.login.accessToken;
      const chain = (await gql(restored.graphqlUrl, '{ verifyAuditChain { valid checked firstBrokenSeq reason } }', undefined, bearer(admin))).body.data;
      expect(chain.verifyAuditChain).toMatchObject({ valid: true, firstBrokenSeq: null });
      expect(chain.verifyAuditChain.checked).toBeGreaterThan(headerOf(file).tables.find((x) => x.name === 'audit_event')!.rows);
      // The migrations' sequence stands where the backup found it, so the next migration gets a fresh id.
      expect(await sql(restored, 'select last_value, is_called from mikro_orm_migrations_id_seq')).toEqual([{ last_value: '500', is_called: true }]);
    } finally {
      await restored.close();
    }

    // Restoring again into what is now a database with data is refused, and changes nothing.
    const before = await tableCounts(target.url);
    const again = await runCli(['restore', file], { DATABASE_URL: target.url });
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toMatch(/^restore failed: the database is not empty \(table \w+ has rows\).*nothing was changed\n$/);
    expect(await tableCounts(target.url)).toEqual(before);
    await target.drop();
  });

  it('refuses a backup whose schema is newer than the code, naming the missing migration, before touching the database', async () => {
    const list = frames(file);
    const header = JSON.parse(list[0][1].toString('utf8'));
    header.migrations.push('Migration29991231000000');
    list[0] = ['H', Buffer.from(JSON.stringify(header))];
    const newer = path.join(dir, 'newer.backup.gz');
    writeFrames(newer, list);
    const target = await createTestDatabase();
    const run = await runCli(['restore', newer], { DATABASE_URL: target.url });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^restore failed: the backup's schema is newer than this version of Parley.*Migration29991231000000/);
    expect(await tableCounts(target.url)).toEqual({});
    await target.drop();
  });

  it('refuses a truncated file and a file whose data was altered, writing nothing', async () => {
    const raw = fs.readFileSync(file);
    const truncated = path.join(dir, 'truncated.backup.gz');
    fs.writeFileSync(truncated, raw.subarray(0, Math.floor(raw.length / 2)));
    // Altered inside a table's data, then recompressed: gzip's checksum passes, the table's does not.
    const list = frames(file);
    const data = list.findIndex(([kind, payload]) => kind === 'D' && payload.includes('Backed Up'));
    list[data] = ['D', Buffer.from(list[data][1].toString('latin1').replace('Backed Up', 'Backed Uq'), 'latin1')];
    const altered = path.join(dir, 'altered.backup.gz');
    writeFrames(altered, list);
    const target = await createTestDatabase();
    const cut = await runCli(['restore', truncated], { DATABASE_URL: target.url });
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(/^restore failed: the backup file is truncated/);
    const changed = await runCli(['restore', altered], { DATABASE_URL: target.url });
    expect(changed.code).toBe(1);
    expect(changed.stderr).toBe('restore failed: the backup file is corrupt (table user does not match its checksum or row count)\n');
    expect(await tableCounts(target.url)).toEqual({});
    await target.drop();
  });

  it('refuses a database whose schema is ahead of the backup, and a file that is no backup; a backup that cannot be written leaves nothing', async () => {
    const list = frames(file);
    const header = JSON.parse(list[0][1].toString('utf8'));
    header.migrations.pop();
    list[0] = ['H', Buffer.from(JSON.stringify(header))];
    const older = path.join(dir, 'older.backup.gz');
    writeFrames(older, list);
    const migrated = await createTestDatabase({ migrated: true });
    const ahead = await runCli(['restore', older], { DATABASE_URL: migrated.url });
    expect(ahead.code).toBe(1);
    expect(ahead.stderr).toMatch(/^restore failed: the database's schema \(\d+ migrations\) is ahead of the backup's/);
    const notBackup = path.join(dir, 'not-a-backup.gz');
    fs.writeFileSync(notBackup, zlib.gzipSync('just some text\n'));
    const other = await runCli(['restore', notBackup], { DATABASE_URL: migrated.url });
    expect(other).toMatchObject({ code: 1, stdout: '', stderr: 'restore failed: not a Parley backup file\n' });
    const counts = await tableCounts(migrated.url);
    expect(Object.entries(counts).filter(([table, n]) => n > 0 && table !== 'mikro_orm_migrations')).toEqual([]);
    await migrated.drop();

    const nowhere = path.join(dir, 'missing-folder', 'x.backup.gz');
    const failed = await runCli(['backup', nowhere], { DATABASE_URL: t.config.databaseUrl! });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^backup failed: ENOENT[^\n]*\n$/);
    expect(fs.existsSync(path.dirname(nowhere))).toBe(false);
  });

  // Enabled: encryption at rest (main, merged here) seals every one of these values.
  it('holds no plain text of messages, titles, system prompts, file names or file bytes', () => {
    const plain = zlib.gunzipSync(fs.readFileSync(file)).toString('latin1');
    // COPY text writes bytea as hex: nothing may be there in that form either.
    const sought = Object.values(TEXT).flatMap((text) => [text, Buffer.from(text).toString('hex')]);
    expect(sought.filter((text) => plain.includes(text))).toEqual([]); // names what leaked, not the whole file
  });
});

describe('npm run backup beside a server on the embedded PostgreSQL', () => {
  const { start, dirs } = useServerProcesses();
  // A server process and two embedded clusters started in turn: slow on a loaded 2-core machine (as lifecycle.test.ts).
  jest.setTimeout(180_000);

  it('joins the cluster the running server started (and leaves it running), or starts its own when none runs', async () => {
    const dataDir = path.join(TEST_DATA, `backup-embedded-${randomBytes(4).toString('hex')}`);
    dirs.push(dataDir);
    const server = start({ DATA_DIR: dataDir, SECRET_KEY: ENV.SECRET_KEY });
    const ready = await server.waitFor((l) => l.message === 'ready');
    const u = await registerUser(`${ready.url}/graphql`);
    const file = path.join(dataDir, 'beside.backup.gz');
    const run = await runCli(['backup', file], { DATA_DIR: dataDir });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(headerOf(file).tables.find((x) => x.name === 'user')!.rows).toBe(1);
    expect((await me(`${ready.url}/graphql`, u.accessToken)).body.data.me.id).toBe(u.userId); // its database still serves it
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    const alone = await runCli(['backup', file], { DATA_DIR: dataDir });
    expect(alone).toMatchObject({ code: 0, stderr: '' });
    expect(headerOf(file).tables.find((x) => x.name === 'user')!.rows).toBe(1);
  });
});
