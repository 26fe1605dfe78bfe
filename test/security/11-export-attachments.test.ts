import { bearer, registerUser } from '../helpers/auth';
import { gql, sql, useTestServer } from '../helpers/server';
import { upload } from '../helpers/uploads';

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 7)]);
const HTML_AS_TEXT = Buffer.from('<html><script>alert(document.cookie)</script></html>\n');
const EXPORT = 'mutation { exportMyData }';

describe('item 11: exportMyData with uploads, and GET /attachments/:id', () => {
  const t = useTestServer();
  const exportEvents = (userId: string) => sql(t, `select outcome from audit_event where action = 'privacy.export' and actor_id = ? order by seq`, [userId]);

  it('exports the metadata of every upload with the URL that downloads it, audited SUCCESS after the export', async () => {
    const u = await registerUser(t.graphqlUrl);
    const png = (await upload(t.url, u.accessToken, PNG, 'photo.png')).body;
    const page = (await upload(t.url, u.accessToken, HTML_AS_TEXT, 'page.html')).body;
    const res = await gql(t.graphqlUrl, EXPORT, undefined, bearer(u.accessToken));
    expect(res.body.errors).toBeUndefined();
    const files = res.body.data.exportMyData.attachments;
    expect(files).toEqual([
      {
        id: png.id,
        filename: 'photo.png',
        mimeType: 'image/png',
        size: PNG.length,
        messageId: null,
        createdAt: expect.any(String),
        url: `/attachments/${png.id}`,
      },
      {
        id: page.id,
        filename: 'page.html',
        mimeType: 'text/plain',
        size: HTML_AS_TEXT.length,
        messageId: null,
        createdAt: expect.any(String),
        url: `/attachments/${page.id}`,
      },
    ]);
    expect(await exportEvents(u.userId)).toEqual([{ outcome: 'SUCCESS' }]);

    // Each URL gives the owner the exact bytes, as a download that no browser renders or sniffs.
    const got = await fetch(`${t.url}${files[0].url}`, { headers: bearer(u.accessToken) });
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(PNG)).toBe(true);
    expect(got.headers.get('content-type')).toBe('image/png');
    expect(got.headers.get('content-disposition')).toMatch(/^attachment; filename="photo.png"/);
    expect(got.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await fetch(`${t.url}${files[1].url}`, { headers: bearer(u.accessToken) });
    expect(html.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await html.text()).toBe(HTML_AS_TEXT.toString());
  });

  it("answers 404 for another user's file, an unknown or malformed id, and 401 without a token", async () => {
    const owner = await registerUser(t.graphqlUrl);
    const thief = await registerUser(t.graphqlUrl);
    const id = (await upload(t.url, owner.accessToken, PNG, 'private.png')).body.id;
    const stolen = await fetch(`${t.url}/attachments/${id}`, { headers: bearer(thief.accessToken) });
    expect(stolen.status).toBe(404);
    expect(((await stolen.json()) as any).errors[0].extensions.code).toBe('NOT_FOUND');
    expect((await fetch(`${t.url}/attachments/00000000-0000-4000-8000-000000000000`, { headers: bearer(owner.accessToken) })).status).toBe(404);
    expect((await fetch(`${t.url}/attachments/' or 1=1 --`, { headers: bearer(owner.accessToken) })).status).toBe(404);
    expect((await fetch(`${t.url}/attachments/${id}`)).status).toBe(401);
  });

  it('audits an export that fails as FAILURE (never SUCCESS), and the next successful one as SUCCESS', async () => {
    const u = await registerUser(t.graphqlUrl);
    await upload(t.url, u.accessToken, PNG, 'photo.png');
    await sql(t, 'alter table conversation rename to conversation_away'); // the export cannot read conversations
    let failed;
    try {
      failed = await gql(t.graphqlUrl, EXPORT, undefined, bearer(u.accessToken));
    } finally {
      await sql(t, 'alter table conversation_away rename to conversation');
    }
    expect(failed.body.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
    expect(failed.body.data).toBeNull();
    expect(await exportEvents(u.userId)).toEqual([{ outcome: 'FAILURE' }]);
    const ok = await gql(t.graphqlUrl, EXPORT, undefined, bearer(u.accessToken));
    expect(ok.body.data.exportMyData.attachments).toHaveLength(1);
    expect(await exportEvents(u.userId)).toEqual([{ outcome: 'FAILURE' }, { outcome: 'SUCCESS' }]);
  });
});
