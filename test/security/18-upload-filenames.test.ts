import { bearer, registerUser } from '../helpers/auth';
import { createConversation } from '../helpers/chat';
import { gql, useTestServer } from '../helpers/server';
import { rawUpload, upload } from '../helpers/uploads';

const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const SCRIPT = Buffer.from('console.log("hi")\n');

describe('item 18: bidirectional control characters are stripped from upload file names', () => {
  const t = useTestServer();

  it('strips them from a raw UTF-8 name (as browsers send it): "harmless\\u202Egnp.js" is not shown as "harmlessjs.png"', async () => {
    const u = await registerUser(t.graphqlUrl);
    const res = await upload(t.url, u.accessToken, SCRIPT, 'harmless\u202Egnp.js');
    expect(res.status).toBe(201);
    expect(res.body.filename).toBe('harmlessgnp.js');
    const all = await upload(t.url, u.accessToken, SCRIPT, '\u2066a\u2067b\u2068c\u2069\u200Ed\u200Fe\u061Cf\u202A\u202B\u202C\u202D.txt');
    expect(all.body.filename).toBe('abcdef.txt');
    const onlyBidi = await upload(t.url, u.accessToken, SCRIPT, '\u202E\u202E');
    expect(onlyBidi.body.filename).toBe('file');
  });

  it("strips them from an RFC 5987 name (filename*=UTF-8''…), in storage, in the API and in the download header", async () => {
    const u = await registerUser(t.graphqlUrl);
    const raw = rawUpload(t.url, u.accessToken, `name="file"; filename*=UTF-8''invoice%E2%80%AEfdp.exe`);
    const res = await raw.finish(Buffer.from('%PDF-1.7\n'));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ filename: 'invoicefdp.exe', mimeType: 'application/pdf' });
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const sent = await gql(
      t.graphqlUrl,
      'mutation S($i: SendMessageInput!) { sendMessage(input: $i) { userMessage { attachments { filename } } } }',
      { i: { conversationId: conv, content: 'see attached', attachmentIds: [res.body.id] } },
      bearer(u.accessToken),
    );
    expect(sent.body.data.sendMessage.userMessage.attachments).toEqual([{ filename: 'invoicefdp.exe' }]);
    const got = await fetch(`${t.url}/attachments/${res.body.id}`, { headers: bearer(u.accessToken) });
    const disposition = got.headers.get('content-disposition') ?? '';
    expect(decodeURIComponent(disposition.split("UTF-8''")[1])).toBe('invoicefdp.exe');
    expect(BIDI.test(decodeURIComponent(disposition))).toBe(false);
  });
});
