import { TypeSniffer, attachmentDisposition, cleanFilename, sniffType } from '../../src/chat/upload-files';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]);
const WEBP = Buffer.concat([Buffer.from('RIFF'), Buffer.from([0x24, 0, 0, 0]), Buffer.from('WEBPVP8 ')]);
const PDF = Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1');

/** Feeds `bytes` to a sniffer in pieces of `size` bytes. */
function sniffInPieces(bytes: Buffer, size: number, filename: string): string | undefined {
  const sniffer = new TypeSniffer();
  for (let i = 0; i < bytes.length; i += size) sniffer.push(bytes.subarray(i, i + size));
  return sniffer.finish(filename);
}

describe('type sniffing', () => {
  it('recognises PNG, JPEG, WebP and PDF by their signatures, whatever the name says', () => {
    expect(sniffType(PNG, 'photo.txt')).toBe('image/png');
    expect(sniffType(JPEG, 'a.png')).toBe('image/jpeg');
    expect(sniffType(WEBP, 'a.pdf')).toBe('image/webp');
    expect(sniffType(PDF, 'a.md')).toBe('application/pdf');
  });

  it('needs the whole signature: RIFF without WEBP, or a cut PNG header, is not an image', () => {
    expect(sniffType(Buffer.concat([Buffer.from('RIFF'), Buffer.from([0, 0, 0, 0]), Buffer.from('AVI LIST')]), 'a.webp')).toBeUndefined();
    expect(sniffType(PNG.subarray(0, 4), 'a.png')).toBeUndefined();
  });

  it('accepts valid UTF-8 text, as markdown only by a .md or .markdown name', () => {
    expect(sniffType(Buffer.from('hello\tworld\r\n'), 'notes.txt')).toBe('text/plain');
    expect(sniffType(Buffer.from('# Title\n'), 'README.md')).toBe('text/markdown');
    expect(sniffType(Buffer.from('# Title\n'), 'README.MARKDOWN')).toBe('text/markdown');
    expect(sniffType(Buffer.from('# Title\n'), 'README.md.txt')).toBe('text/plain');
    expect(sniffType(Buffer.from('grüße, 日本語 🎉'), 'u.txt')).toBe('text/plain');
  });

  it('refuses control bytes, invalid UTF-8 and empty files', () => {
    expect(sniffType(Buffer.from('MZ\x00\x90', 'latin1'), 'a.txt')).toBeUndefined();
    expect(sniffType(Buffer.from('bell\x07', 'latin1'), 'a.txt')).toBeUndefined();
    expect(sniffType(Buffer.from('del\x7f', 'latin1'), 'a.txt')).toBeUndefined();
    expect(sniffType(Buffer.from([0x68, 0xc3, 0x28]), 'a.txt')).toBeUndefined();
    expect(sniffType(Buffer.alloc(0), 'a.txt')).toBeUndefined();
  });

  it('gives the same answer fed one byte at a time, and refuses text cut inside a multi-byte character', () => {
    const text = Buffer.from('naïve 日本語 text\n');
    for (const bytes of [PNG, JPEG, WEBP, PDF, text]) expect(sniffInPieces(bytes, 1, 'a.txt')).toBe(sniffType(bytes, 'a.txt'));
    expect(sniffInPieces(text, 1, 'a.txt')).toBe('text/plain');
    expect(sniffType(Buffer.from('日本').subarray(0, 4), 'a.txt')).toBeUndefined();
    expect(sniffInPieces(Buffer.concat([Buffer.from('a'.repeat(100)), Buffer.from([0])]), 7, 'a.txt')).toBeUndefined();
  });
});

describe('upload file names', () => {
  it('keeps only the base name, without control, reserved or bidirectional characters', () => {
    expect(cleanFilename('../../etc/passwd')).toBe('passwd');
    expect(cleanFilename('C:\\Users\\me\\report.pdf')).toBe('report.pdf');
    expect(cleanFilename('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
    expect(cleanFilename('a\u0000b\u001fc<d>e:"f|g?h*.txt')).toBe('abcdefgh.txt');
    expect(cleanFilename('x'.repeat(300))).toHaveLength(200);
  });

  it('falls back to "file" when nothing is left', () => {
    expect(cleanFilename(undefined)).toBe('file');
    expect(cleanFilename('')).toBe('file');
    expect(cleanFilename('dir/')).toBe('file');
    expect(cleanFilename('\u202E\u0000 ')).toBe('file');
  });

  it('writes an ASCII fallback and the exact name as RFC 5987 UTF-8 in Content-Disposition', () => {
    expect(attachmentDisposition('report.pdf')).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
    expect(attachmentDisposition('résumé "1".pdf')).toBe(`attachment; filename="r_sum_ _1_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%221%22.pdf`);
    expect(attachmentDisposition("it's (100%).txt")).toBe(`attachment; filename="it's (100_).txt"; filename*=UTF-8''it%27s%20%28100%25%29.txt`);
  });
});
