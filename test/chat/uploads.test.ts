import { bearer, registerUser } from '../helpers/auth';
import { createConversation } from '../helpers/chat';
import { gql, sql, useTestServer } from '../helpers/server';
import { sniffType } from '../../src/chat/uploads';

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 1)]);
const EXE = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(64, 0)]);

describe('uploads (POST /attachments)', () => {
  const t = useTestServer({ env: { MAX_UPLOAD_BYTES: '2kb' } });
  const upload = async (token: string | undefined, bytes: Buffer, filename: string, type = 'application/octet-stream') => {
    const form = new FormData();
    form.append('file', new Blob([bytes], { type }), filename);
    const res = await fetch(`${t.url}/attachments`, { method: 'POST', body: form, headers: token ? bearer(token) : {} });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('stores a file under its sniffed type and answers 201 with its description', async () => {
    const u = await registerUser(t.graphqlUrl);
    const png = await upload(u.accessToken, PNG, '../../etc/picture.txt', 'text/plain');
    expect(png.status).toBe(201);
    expect(png.body).toEqual({ id: expect.any(String), filename: 'picture.txt', mimeType: 'image/png', size: PNG.length });
    const md = await upload(u.accessToken, Buffer.from('# Title\n\nsome *markdown* ✓\n'), 'notes.md');
    expect(md.body.mimeType).toBe('text/markdown');
    const pdf = await upload(u.accessToken, Buffer.from('%PDF-1.7\n...'), 'doc.bin');
    expect(pdf.body.mimeType).toBe('application/pdf');
  });

  it('refuses other types with 415 whatever the name or header, oversized files with 413, and anonymous callers with 401', async () => {
    const u = await registerUser(t.graphqlUrl);
    expect((await upload(u.accessToken, EXE, 'innocent.png', 'image/png')).status).toBe(415);
    expect((await upload(u.accessToken, Buffer.alloc(3000, 0x41), 'big.txt')).status).toBe(413);
    expect((await upload(undefined, PNG, 'a.png')).status).toBe(401);
    const notMultipart = await fetch(`${t.url}/attachments`, {
      method: 'POST',
      headers: { ...bearer(u.accessToken), 'content-type': 'application/json' },
      body: '{}',
    });
    expect(notMultipart.status).toBe(415);
    expect(await sql(t, 'select 1 from attachment where owner_id = ?', [u.userId])).toHaveLength(0);
  });

  it("attaches own uploads to a message once; another user's upload is NOT_FOUND", async () => {
    const a = await registerUser(t.graphqlUrl);
    const b = await registerUser(t.graphqlUrl);
    const mine = (await upload(a.accessToken, PNG, 'mine.png')).body;
    const theirs = (await upload(b.accessToken, PNG, 'theirs.png')).body;
    const conv = await createConversation(t.graphqlUrl, a.accessToken);
    const send = (ids: string[]) =>
      gql(
        t.graphqlUrl,
        'mutation S($i: SendMessageInput!) { sendMessage(input: $i) { userMessage { id attachments { id filename mimeType size } } } }',
        { i: { conversationId: conv, content: 'see attached', attachmentIds: ids } },
        bearer(a.accessToken),
      );
    expect((await send([theirs.id])).body.errors[0].extensions.code).toBe('NOT_FOUND');
    const ok = await send([mine.id]);
    expect(ok.body.data.sendMessage.userMessage.attachments).toEqual([{ id: mine.id, filename: 'mine.png', mimeType: 'image/png', size: PNG.length }]);
    expect((await send([mine.id])).body.errors[0].extensions.code).toBe('NOT_FOUND'); // already attached
    const listed = await gql(
      t.graphqlUrl,
      'query Q($id: ID!) { conversation(id: $id) { messages { edges { node { role attachments { id } } } } } }',
      { id: conv },
      bearer(a.accessToken),
    );
    expect(listed.body.data.conversation.messages.edges[0].node.attachments).toEqual([{ id: mine.id }]);
    expect(await sql(t, `select 1 from audit_event where action = 'chat.attachment.create' and resource_id = ?`, [mine.id])).toHaveLength(1);
  });

  it('uploadLimits tells a signed-in caller the size limit and the accepted types, which are exactly what the upload route enforces; anonymous callers are refused', async () => {
    const u = await registerUser(t.graphqlUrl);
    const q = '{ uploadLimits { maxBytes mimeTypes } }';
    const anon = await gql(t.graphqlUrl, q);
    expect(anon.body.data).toBeNull();
    expect(anon.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const { body } = await gql(t.graphqlUrl, q, undefined, bearer(u.accessToken));
    expect(body.errors).toBeUndefined();
    expect(body.data.uploadLimits).toEqual({
      maxBytes: 2048, // MAX_UPLOAD_BYTES=2kb for this server
      mimeTypes: ['text/plain', 'text/markdown', 'application/pdf', 'image/png', 'image/jpeg', 'image/webp'],
    });
    // The numbers are the route's own: exactly maxBytes is stored, one byte more is 413.
    const max = body.data.uploadLimits.maxBytes as number;
    expect((await upload(u.accessToken, Buffer.alloc(max, 0x41), 'fits.txt')).status).toBe(201);
    expect((await upload(u.accessToken, Buffer.alloc(max + 1, 0x41), 'over.txt')).status).toBe(413);
    // Every listed type is one the sniffer can answer.
    const samples: [Buffer, string][] = [
      [Buffer.from('plain'), 'a.txt'],
      [Buffer.from('# md'), 'a.md'],
      [Buffer.from('%PDF-1.7\n'), 'a.pdf'],
      [PNG, 'a.png'],
      [Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), 'a.jpg'],
      [Buffer.concat([Buffer.from('RIFF'), Buffer.from([4, 0, 0, 0]), Buffer.from('WEBPVP8 ')]), 'a.webp'],
    ];
    const sniffed = samples.map(([bytes, name]) => sniffType(bytes, name));
    expect(sniffed).toEqual(body.data.uploadLimits.mimeTypes);
  });
});
