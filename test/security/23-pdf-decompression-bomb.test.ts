import { createDeflate } from 'node:zlib';
import { bearer, registerUser } from '../helpers/auth';
import { createConversation } from '../helpers/chat';
import { upload } from '../helpers/uploads';
import { gql, sql, useTestServer } from '../helpers/server';

// Issue 11 review: PDF text extraction ran in a worker thread with a 256 MB heap limit, but
// pdf.js decodes streams into ArrayBuffers, which that limit does not count. A 400 KB upload
// whose content stream inflates to 400 MB took the process to 930 MB (a 10 MB upload inflates to
// some 10 GB). Now the thread is killed once the process has grown 256 MB during an extraction.

const DECODED_MB = 800;
const MB = 1024 * 1024;

/** `mb` MB of spaces, deflated (about 1 KB a MB), made a chunk at a time so the test holds none of it. */
async function deflatedSpaces(mb: number): Promise<Buffer> {
  const deflate = createDeflate({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (d: Buffer) => out.push(d));
  const ended = new Promise((resolve) => deflate.on('end', resolve));
  const chunk = Buffer.alloc(MB, 0x20);
  for (let i = 0; i < mb; i++) if (!deflate.write(chunk)) await new Promise((resolve) => deflate.once('drain', resolve));
  deflate.end();
  await ended;
  return Buffer.concat(out);
}

/** A valid one-page PDF whose content stream is `deflated` (FlateDecode). */
function pdfWithContent(deflated: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n')];
  const offsets: number[] = [];
  let length = parts[0].length;
  const add = (b: Buffer) => {
    parts.push(b);
    length += b.length;
  };
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>',
  ];
  objects.forEach((o, i) => {
    offsets.push(length);
    add(Buffer.from(`${i + 1} 0 obj\n${o}\nendobj\n`));
  });
  offsets.push(length);
  add(Buffer.from(`4 0 obj\n<< /Length ${deflated.length} /Filter /FlateDecode >>\nstream\n`));
  add(deflated);
  add(Buffer.from('\nendstream\nendobj\n'));
  const xref = length;
  add(Buffer.from(`xref\n0 5\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`));
  add(Buffer.from(`trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`));
  return Buffer.concat(parts);
}

describe('23: a PDF decompression bomb', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '1' } });

  it('an 800 KB PDF inflating to 800 MB is cut off as too_large, the process growing far less', async () => {
    const u = await registerUser(t.graphqlUrl);
    const bomb = pdfWithContent(await deflatedSpaces(DECODED_MB));
    expect(bomb.length).toBeLessThan(DECODED_MB * 1024 * 1.5);
    const uploaded = await upload(t.url, u.accessToken, bomb, 'bomb.pdf');
    expect(uploaded.status).toBe(201);
    expect(uploaded.body.mimeType).toBe('application/pdf');
    const conv = await createConversation(t.graphqlUrl, u.accessToken);

    // The server runs in this process: its resident memory is sampled while the send reads the PDF.
    const before = process.memoryUsage.rss();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
    const sent = await gql(
      t.graphqlUrl,
      'mutation S($i: SendMessageInput!) { sendMessage(input: $i) { assistantMessage { id status } } }',
      { i: { conversationId: conv, content: 'summarise this', attachmentIds: [uploaded.body.id] } },
      bearer(u.accessToken),
    ).finally(() => clearInterval(sampler));

    expect(sent.body.errors).toBeUndefined();
    expect(await sql(t, 'select extracted_text, extract_error from attachment where id = ?', [uploaded.body.id])).toEqual([
      { extracted_text: null, extract_error: 'too_large' }, // was read whole: ok, with the process ~1.7 GB larger
    ]);
    expect((peak - before) / MB).toBeLessThan(512);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });
});
