/** Bytes that make a file binary: NUL and every other control byte but tab, newline, carriage return. */
// eslint-disable-next-line no-control-regex -- matching control characters is this pattern's purpose
const CONTROL_BYTES = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
const HEAD_BYTES = 16;

/** Every type the sniffer accepts (`TypeSniffer.finish` answers one of these or nothing), as `uploadLimits` lists them. */
export const ACCEPTED_UPLOAD_TYPES = ['text/plain', 'text/markdown', 'application/pdf', 'image/png', 'image/jpeg', 'image/webp'] as const;
export type AcceptedUploadType = (typeof ACCEPTED_UPLOAD_TYPES)[number];

/**
 * Decides a file's type from its bytes alone, fed one chunk at a time (so a file is never held
 * whole): PNG, JPEG, WebP and PDF by their signatures in the first bytes; text (markdown by a
 * `.md` name) when every byte so far is valid UTF-8 with no control characters.
 */
export class TypeSniffer {
  private head = Buffer.alloc(0);
  private seen = 0;
  private text = true;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  push(chunk: Buffer): void {
    if (this.head.length < HEAD_BYTES) this.head = Buffer.concat([this.head, chunk.subarray(0, HEAD_BYTES - this.head.length)]);
    this.seen += chunk.length;
    if (!this.text) return;
    if (CONTROL_BYTES.test(chunk.toString('latin1'))) this.text = false;
    else this.validUtf8(chunk);
  }

  /** The sniffed type once every byte was pushed, or undefined (not accepted). */
  finish(filename: string): AcceptedUploadType | undefined {
    const h = this.head;
    const starts = (sig: number[], at = 0) => sig.every((b, i) => h[at + i] === b);
    if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
    if (starts([0xff, 0xd8, 0xff])) return 'image/jpeg';
    if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp';
    if (starts([0x25, 0x50, 0x44, 0x46, 0x2d])) return 'application/pdf';
    if (this.text && this.seen > 0 && this.validUtf8()) return /\.(md|markdown)$/i.test(filename) ? 'text/markdown' : 'text/plain';
    return undefined;
  }

  /** Feeds the streaming decoder (no chunk: the end, where a cut-off sequence is invalid). */
  private validUtf8(chunk?: Buffer): boolean {
    try {
      if (chunk) this.decoder.decode(chunk, { stream: true });
      else this.decoder.decode();
    } catch {
      this.text = false;
    }
    return this.text;
  }
}

/** The types accepted, decided from the bytes alone. */
export function sniffType(bytes: Buffer, filename: string): AcceptedUploadType | undefined {
  const s = new TypeSniffer();
  s.push(bytes);
  return s.finish(filename);
}

/**
 * A safe display name: no path, no control characters, no bidirectional controls (which make
 * `invoice\u202Efdp.exe` display as `invoiceexe.pdf`), at most 200 characters.
 */
export function cleanFilename(raw: string | undefined): string {
  const base = (raw ?? 'file').split(/[\\/]/).pop() ?? 'file';
  const clean = base
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex -- matching control characters is this pattern's purpose
    .replace(/[\u0000-\u001f\u007f-\u009f<>:"|?*]/g, '')
    .replace(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '')
    .trim()
    .slice(0, 200);
  return clean || 'file';
}

/** `Content-Disposition: attachment` with an ASCII fallback name and the exact name as RFC 5987 UTF-8. */
export function attachmentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(filename).replace(/['()*!]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
