import { bearer, registerUser } from '../helpers/auth';
import { authedWs, createConversation, streamReply } from '../helpers/chat';
import { useFakeOpenAIServer } from '../helpers/fake-openai';
import { upload } from '../helpers/uploads';
import { gql, sql, unseal } from '../helpers/server';

/** A real one-page PDF (PDF 1.4, Helvetica) whose page shows `text`, built the way a PDF writer lays it out. */
function makePdf(text: string): Buffer {
  const stream = `BT /F1 24 Tf 72 700 Td (${text}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

describe('attachments reach the model (fake OpenAI server)', () => {
  const { t, fake } = useFakeOpenAIServer({ AI_MODELS: 'plain,vision', AI_VISION_MODELS: 'vision' });

  async function attach(token: string, bytes: Buffer, filename: string): Promise<string> {
    const res = await upload(t.url, token, bytes, filename);
    expect(res.status).toBe(201);
    return res.body.id;
  }

  /** Sends `content` with the files, waits for the reply, and returns it with the user turn the fake server received. */
  async function sendWith(token: string, conv: string, content: string, attachmentIds: string[]) {
    const before = fake.requests.length;
    const res = await gql(
      t.graphqlUrl,
      'mutation S($i: SendMessageInput!) { sendMessage(input: $i) { assistantMessage { id } } }',
      { i: { conversationId: conv, content, attachmentIds } },
      bearer(token),
    );
    expect(res.body.errors).toBeUndefined();
    const client = authedWs(t.wsUrl, token);
    const events = await streamReply(client, res.body.data.sendMessage.assistantMessage.id).finally(() => client.dispose());
    expect(fake.requests.length).toBe(before + 1);
    const messages = fake.requests[fake.requests.length - 1].json.messages;
    return { last: events[events.length - 1], messages, turn: messages[messages.length - 1] };
  }

  it('inlines text, markdown and PDF text into the user turn and names an image for a model without vision', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken, { model: 'plain' });
    const pdf = makePdf('Quarterly revenue rose nine percent');
    const ids = [
      await attach(u.accessToken, Buffer.from('plain notes body\n'), 'notes.txt'),
      await attach(u.accessToken, Buffer.from('# Title\n\nsome *markdown*\n'), 'readme.md'),
      await attach(u.accessToken, pdf, 'report.pdf'),
      await attach(u.accessToken, PNG, 'chart.png'),
    ];
    const { turn, last } = await sendWith(u.accessToken, conv, 'Summarise these', ids);
    expect(last).toMatchObject({ done: true, status: 'COMPLETE' });
    expect(turn.role).toBe('user');
    expect(turn.content).toBe(
      [
        'Summarise these',
        '[attached: notes.txt (text/plain, 17 bytes)]\nplain notes body\n',
        '[attached: readme.md (text/markdown, 25 bytes)]\n# Title\n\nsome *markdown*\n',
        `[attached: report.pdf (application/pdf, ${pdf.length} bytes), its text]\nQuarterly revenue rose nine percent\n`,
        `[attached: chart.png (image/png, ${PNG.length} bytes)]`,
      ].join('\n\n'),
    );
    // The PDF was read once and its text stored; a later turn sends it from the history as it is.
    const [stored] = await sql(t, 'select extracted_text, extract_error from attachment where id = ?', [ids[2]]);
    stored.extracted_text = await unseal(t, 'attachment.extracted_text', ids[2], stored.extracted_text);
    expect(stored).toEqual({ extracted_text: 'Quarterly revenue rose nine percent\n', extract_error: null });
    const next = await sendWith(u.accessToken, conv, 'And in one line?', []);
    expect(next.messages.find((m: any) => m.role === 'user').content).toContain('Quarterly revenue rose nine percent');
    expect(next.turn).toEqual({ role: 'user', content: 'And in one line?' });
  });

  it('sends an image as an image_url part (data URL) to a model listed in AI_VISION_MODELS', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken, { model: 'vision' });
    const note = await attach(u.accessToken, Buffer.from('caption: a single pixel'), 'caption.txt');
    const png = await attach(u.accessToken, PNG, 'pixel.png');
    const { turn } = await sendWith(u.accessToken, conv, 'What is in the picture?', [note, png]);
    expect(turn).toEqual({
      role: 'user',
      content: [
        { type: 'text', text: 'What is in the picture?' },
        { type: 'text', text: '[attached: caption.txt (text/plain, 23 bytes)]\ncaption: a single pixel' },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG.toString('base64')}` } },
      ],
    });
  });

  it('cuts a long file at 32 KB and a message at 64 KB of attachment text, marking the cut', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken, { model: 'plain' });
    const big = (letter: string) => Buffer.from(`${letter.repeat(99)}\n`.repeat(400)); // 40,000 bytes
    const ids = [
      await attach(u.accessToken, big('a'), 'a.txt'),
      await attach(u.accessToken, big('b'), 'b.txt'),
      await attach(u.accessToken, big('c'), 'c.txt'),
    ];
    const { turn } = await sendWith(u.accessToken, conv, 'three big files', ids);
    const [, a, b, c] = turn.content.split('\n\n');
    expect(a).toMatch(/^\[attached: a\.txt \(text\/plain, 40000 bytes\)\]\na{99}\n/);
    expect(a).toMatch(/\n\[cut: the first 32768 of 40000 bytes are shown\]$/);
    expect(b).toMatch(/^\[attached: b\.txt \(text\/plain, 40000 bytes\)\]\nb{99}\n[\s\S]*\[cut: the first \d+ of 40000 bytes are shown\]$/);
    expect(c).toBe('[attached: c.txt (text/plain, 40000 bytes)]');
    expect(Buffer.byteLength(turn.content)).toBeLessThan(64 * 1024 + 1024);
  });

  it('tells the model a malformed PDF could not be read; the reply completes and the server goes on', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken, { model: 'plain' });
    const broken = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from('1 0 obj << /Length 999999 >> stream\n\u0000\u0001garbage')]);
    const id = await attach(u.accessToken, broken, 'broken.pdf');
    const { turn, last } = await sendWith(u.accessToken, conv, 'read this', [id]);
    expect(last).toMatchObject({ done: true, status: 'COMPLETE' });
    expect(turn.content).toBe(`read this\n\n[attached: broken.pdf (application/pdf, ${broken.length} bytes); its text could not be read]`);
    expect(await sql(t, 'select extracted_text, extract_error from attachment where id = ?', [id])).toEqual([
      { extracted_text: null, extract_error: 'unreadable' },
    ]);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });
});
