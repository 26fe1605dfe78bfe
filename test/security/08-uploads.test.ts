import { createHash } from 'node:crypto';
import { bearer, registerUser } from '../helpers/auth';
import { createConversation } from '../helpers/chat';
import { gql, sql, useTestServer } from '../helpers/server';
import { rawUpload, until, upload } from '../helpers/uploads';

const KiB = 1024;
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 1)]);
const text = (n: number, ch = 'a') => Buffer.alloc(n, ch);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('item 8: uploads are streamed, capped and swept', () => {
  const t = useTestServer({ env: { MAX_UPLOAD_BYTES: '2mb', USER_STORAGE_QUOTA_BYTES: '1mb', UPLOAD_MAX_IN_FLIGHT: '2', RETENTION_SWEEP_SECONDS: '1' } });
  const pending = async (userId: string) => Number((await sql(t, 'select count(*) as n from attachment where owner_id = ? and not complete', [userId]))[0].n);

  it('writes an upload to storage as it arrives, in bounded chunks, never the whole file at once', async () => {
    const u = await registerUser(t.graphqlUrl);
    const body = Buffer.concat([text(600 * KiB, 'a'), text(400 * KiB, 'b')]);
    const slow = rawUpload(t.url, u.accessToken);
    slow.send(body.subarray(0, 600 * KiB));
    // The body is not finished, yet its first bytes are already in the database.
    await until(
      async () =>
        (await sql(t, 'select count(*) as n from attachment_chunk c join attachment a on a.id = c.attachment_id where a.owner_id = ?', [u.userId]))[0].n >= 2,
      'chunks stored mid-upload',
    );
    const done = await slow.finish(body.subarray(600 * KiB));
    expect(done.status).toBe(201);
    expect(done.body).toMatchObject({ mimeType: 'text/plain', size: body.length });
    const [chunks] = await sql(t, 'select count(*) as n, max(octet_length(data)) as biggest from attachment_chunk where attachment_id = ?', [done.body.id]);
    expect(Number(chunks.n)).toBeGreaterThanOrEqual(3);
    expect(Number(chunks.biggest)).toBeLessThanOrEqual(320 * KiB); // one piece (256 KiB) plus one network chunk, never the file
    const got = await fetch(`${t.url}/attachments/${done.body.id}`, { headers: bearer(u.accessToken) });
    expect(sha(Buffer.from(await got.arrayBuffer()))).toBe(sha(body));
  });

  it('refuses a third upload in flight for one user with 429 RATE_LIMITED, and takes it once one finished', async () => {
    const u = await registerUser(t.graphqlUrl);
    const a = rawUpload(t.url, u.accessToken);
    const b = rawUpload(t.url, u.accessToken);
    a.send(text(1000));
    b.send(text(1000));
    await until(async () => (await pending(u.userId)) === 2, 'two uploads in flight');
    const third = await upload(t.url, u.accessToken, PNG, 'third.png');
    expect(third.status).toBe(429);
    expect(third.body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
    expect(third.headers.get('retry-after')).toBeTruthy();
    const other = await registerUser(t.graphqlUrl); // another user is not held up
    expect((await upload(t.url, other.accessToken, PNG, 'other.png')).status).toBe(201);
    expect((await a.finish()).status).toBe(201);
    expect((await b.finish()).status).toBe(201);
    expect((await upload(t.url, u.accessToken, PNG, 'later.png')).status).toBe(201);
  });

  it('deletes what a client that goes away mid-upload wrote, and frees its in-flight slot', async () => {
    const u = await registerUser(t.graphqlUrl);
    const gone = rawUpload(t.url, u.accessToken);
    gone.send(text(600 * KiB));
    await until(
      async () =>
        (await sql(t, 'select count(*) as n from attachment_chunk c join attachment a on a.id = c.attachment_id where a.owner_id = ?', [u.userId]))[0].n >= 1,
      'chunks stored mid-upload',
    );
    gone.abort();
    await until(async () => (await sql(t, 'select 1 from attachment where owner_id = ?', [u.userId])).length === 0, 'the partial upload deleted');
    const held = [rawUpload(t.url, u.accessToken), rawUpload(t.url, u.accessToken)];
    for (const h of held) h.send(text(10));
    await until(async () => (await pending(u.userId)) === 2, 'two uploads in flight');
    for (const h of held) expect((await h.finish()).status).toBe(201);
  });

  it('answers 413 past the per-user storage quota and keeps nothing of the refused file', async () => {
    const u = await registerUser(t.graphqlUrl);
    expect((await upload(t.url, u.accessToken, text(600 * KiB), 'one.txt')).status).toBe(201);
    const over = await upload(t.url, u.accessToken, text(600 * KiB), 'two.txt');
    expect(over.status).toBe(413);
    expect(over.body.errors[0].message).toMatch(/quota/);
    const [stored] = await sql(t, 'select count(*) as n, sum(size) as bytes from attachment where owner_id = ?', [u.userId]);
    expect({ n: Number(stored.n), bytes: Number(stored.bytes) }).toEqual({ n: 1, bytes: 600 * KiB });
    expect((await upload(t.url, u.accessToken, text(300 * KiB), 'three.txt')).status).toBe(201); // what is left still fits
    const other = await registerUser(t.graphqlUrl);
    expect((await upload(t.url, other.accessToken, text(600 * KiB), 'theirs.txt')).status).toBe(201); // per user
  });

  it('sweeps uploads never attached within 24 hours (audited), keeping attached and recent ones', async () => {
    const u = await registerUser(t.graphqlUrl);
    const stale = (await upload(t.url, u.accessToken, PNG, 'stale.png')).body.id;
    const used = (await upload(t.url, u.accessToken, PNG, 'used.png')).body.id;
    const recent = (await upload(t.url, u.accessToken, PNG, 'recent.png')).body.id;
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const sent = await gql(
      t.graphqlUrl,
      'mutation S($i: SendMessageInput!) { sendMessage(input: $i) { userMessage { id } } }',
      { i: { conversationId: conv, content: 'see attached', attachmentIds: [used] } },
      bearer(u.accessToken),
    );
    expect(sent.body.errors).toBeUndefined();
    await sql(t, `update attachment set created_at = now() - interval '25 hours' where id in (?, ?)`, [stale, used]);
    await until(async () => (await sql(t, 'select 1 from attachment where id = ?', [stale])).length === 0, 'the sweep');
    const left = (await sql(t, 'select id from attachment where owner_id = ?', [u.userId])).map((r) => r.id).sort();
    expect(left).toEqual([used, recent].sort());
    expect(await sql(t, 'select 1 from attachment_chunk where attachment_id = ?', [stale])).toHaveLength(0);
    const events = await sql(t, `select metadata from audit_event where action = 'chat.attachment.sweep'`);
    expect(events.some((e) => (e.metadata.ids as string[]).includes(stale))).toBe(true);
    expect((await fetch(`${t.url}/attachments/${stale}`, { headers: bearer(u.accessToken) })).status).toBe(404);
  });
});

describe('item 8: uploads per user per hour (RATE_LIMIT_UPLOAD)', () => {
  const t = useTestServer({ env: { RATE_LIMIT_SCALE: '1', RATE_LIMIT_UPLOAD: '3/3600', RATE_LIMIT_REGISTER: '100/3600', RATE_LIMIT_CAPTCHA: '100/60' } });

  it('answers the upload past the hourly limit with 429 RATE_LIMITED and retryAfterSeconds, per user', async () => {
    const u = await registerUser(t.graphqlUrl);
    for (let i = 0; i < 3; i++) expect((await upload(t.url, u.accessToken, PNG, `n${i}.png`)).status).toBe(201);
    const fourth = await upload(t.url, u.accessToken, PNG, 'n3.png');
    expect(fourth.status).toBe(429);
    expect(fourth.body.errors[0].extensions.code).toBe('RATE_LIMITED');
    expect(fourth.body.errors[0].extensions.retryAfterSeconds).toBeGreaterThan(60);
    expect(await sql(t, 'select 1 from attachment where owner_id = ?', [u.userId])).toHaveLength(3);
    const other = await registerUser(t.graphqlUrl);
    expect((await upload(t.url, other.accessToken, PNG, 'other.png')).status).toBe(201);
  });
});
