import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { cipherOf } from '../crypto/cipher';
import { PDF_TIMEOUT_MS, extractPdfText } from './pdf-text';
import type { AttachmentPart } from './providers/provider';

/** UTF-8 bytes of one file's text given to the model (text, markdown, a PDF's text); the rest is cut, and the cut marked. */
export const FILE_TEXT_BYTES = 32 * 1024;
/** UTF-8 bytes of attachment text in one message; files past it are named only. */
export const MESSAGE_TEXT_BYTES = 64 * 1024;
/** Below this much room left in the message, a file is named only (a few bytes of it help no one). */
const MIN_TEXT_BYTES = 256;
/** Image bytes sent with one prompt (newest messages first); images past it are named only. */
export const PROMPT_IMAGE_BYTES = 8 * 1024 * 1024;
/** Chunks read per query. */
const CHUNKS_PER_READ = 8;
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp']);
const TEXT_TYPES = new Set(['text/plain', 'text/markdown']);

/** An attachment's columns that decide what the model receives. */
interface FileRow {
  id: string;
  message_id: string;
  filename: string;
  mime_type: string;
  size: number;
  extracted_text: string | null;
  extract_error: string | null;
}

/** What is left to spend on one prompt's attachments. */
export interface AttachmentBudget {
  imageBytes: number;
}

/** A query on `em`'s connection, inside its transaction when it has one (the new message's files are not committed yet). */
function query<T>(em: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  return em.getConnection().execute<T[]>(sql, params, 'all', em.getTransactionContext());
}

const label = (f: FileRow) => `[attached: ${f.filename} (${f.mime_type}, ${f.size} bytes)`;

/** The first `maxBytes` bytes of an attachment, read a few chunks at a time. */
async function readBytes(em: EntityManager, id: string, maxBytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for (let after = -1; total < maxBytes;) {
    // Whole chunks: a sealed chunk opens only whole (its tag covers all of it); one at a time once little is wanted.
    const rows = await query<{ seq: number; data: Buffer }>(
      em,
      'select seq, data from attachment_chunk where attachment_id = ? and seq > ? order by seq limit ?',
      [id, after, maxBytes - total <= FILE_TEXT_BYTES + 4 ? 1 : CHUNKS_PER_READ],
    );
    if (rows.length === 0) break;
    for (const r of rows) {
      const data = await cipherOf(em).openBytes('attachment_chunk.data', `${id}:${r.seq}`, r.data);
      parts.push(data);
      total += data.length;
    }
    after = rows[rows.length - 1].seq;
  }
  return Buffer.concat(parts).subarray(0, maxBytes);
}

/**
 * `text` cut to at most `maxBytes` of UTF-8 on a character boundary, with a marker saying how
 * much of how much is shown; control characters other than tab and newline removed.
 */
export function capText(text: string, maxBytes: number, totalBytes = Buffer.byteLength(text)): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is this pattern's purpose
  const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
  const bytes = Buffer.from(clean);
  if (bytes.length <= maxBytes && totalBytes <= maxBytes) return clean;
  const cut = new TextDecoder().decode(bytes.subarray(0, maxBytes)).replace(/\uFFFD+$/, '');
  return `${cut}\n[cut: the first ${Buffer.byteLength(cut)} of ${totalBytes} bytes are shown]`;
}

/** A text or markdown file's part: its first FILE_TEXT_BYTES (or what the message has left). */
async function textPart(em: EntityManager, f: FileRow, maxBytes: number): Promise<string> {
  const bytes = await readBytes(em, f.id, maxBytes + 4);
  return `${label(f)}]\n${capText(bytes.toString('utf8'), maxBytes, f.size)}`;
}

function pdfPart(f: FileRow, maxBytes: number): string {
  if (f.extract_error || f.extracted_text === null) return `${label(f)}; its text could not be read]`;
  if (f.extracted_text.trim() === '') return `${label(f)}; it has no text]`;
  // The stored text is already cut to FILE_TEXT_BYTES (and marked); only a smaller room cuts again.
  const text = maxBytes >= FILE_TEXT_BYTES ? f.extracted_text : capText(f.extracted_text, maxBytes);
  return `${label(f)}, its text]\n${text}`;
}

/**
 * What the model receives for one message's files, in upload order: text and markdown inlined
 * (FILE_TEXT_BYTES each, MESSAGE_TEXT_BYTES in all), a PDF's extracted text, images as data
 * URLs for vision models while `budget` lasts; anything else (or past a limit) by name only.
 */
async function partsFor(em: EntityManager, files: FileRow[], vision: boolean, budget: AttachmentBudget): Promise<AttachmentPart[]> {
  const parts: AttachmentPart[] = [];
  let textLeft = MESSAGE_TEXT_BYTES;
  for (const f of files) {
    const room = Math.min(FILE_TEXT_BYTES, textLeft);
    if (IMAGE_TYPES.has(f.mime_type) && vision && f.size <= budget.imageBytes) {
      budget.imageBytes -= f.size;
      const data = await readBytes(em, f.id, f.size);
      parts.push({ type: 'image_url', image_url: { url: `data:${f.mime_type};base64,${data.toString('base64')}` } });
      continue;
    }
    let text = `${label(f)}]`;
    if (room >= MIN_TEXT_BYTES && TEXT_TYPES.has(f.mime_type)) text = await textPart(em, f, room);
    else if (room >= MIN_TEXT_BYTES && f.mime_type === 'application/pdf') text = pdfPart(f, room);
    textLeft -= Math.min(textLeft, Buffer.byteLength(text));
    parts.push({ type: 'text', text });
  }
  return parts;
}

/**
 * The attachment parts of each given message (by message id), for a prompt to `model`. Call
 * with the newest messages first: images are given while PROMPT_IMAGE_BYTES lasts.
 */
export async function attachmentsForModel(em: EntityManager, config: Config, model: string, messageIds: string[]): Promise<Map<string, AttachmentPart[]>> {
  const out = new Map<string, AttachmentPart[]>();
  if (messageIds.length === 0) return out;
  const rows = await query<FileRow>(
    em,
    `select id, message_id, filename, mime_type, size, extracted_text, extract_error from attachment where message_id in (${messageIds.map(() => '?').join(',')}) and complete order by created_at, id`,
    messageIds,
  );
  const cipher = cipherOf(em);
  for (const r of rows) {
    r.filename = await cipher.openText('attachment.filename', r.id, r.filename);
    r.extracted_text = await cipher.openText('attachment.extracted_text', r.id, r.extracted_text);
  }
  const budget: AttachmentBudget = { imageBytes: PROMPT_IMAGE_BYTES };
  const vision = config.ai.visionModels.includes(model);
  for (const id of messageIds) {
    const files = rows.filter((r) => r.message_id === id);
    if (files.length > 0) out.set(id, await partsFor(em, files, vision, budget));
  }
  return out;
}

/**
 * Extracts the text of the caller's not-yet-attached PDFs among `ids`, once each (the result,
 * or why it failed, is stored and never recomputed); run before the message is stored, outside
 * its transaction. All of them share one PDF_TIMEOUT_MS deadline, so a send waits at most that
 * long (plus a queue for a free extraction slot); files the deadline leaves out are `timeout`.
 * Other ids are left to the caller's own checks.
 */
export async function preparePdfText(em: EntityManager, userId: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const pending = await query<{ id: string; size: number }>(
    em,
    `select id, size from attachment where id in (${ids.map(() => '?').join(',')}) and owner_id = ? and message_id is null and complete
       and mime_type = 'application/pdf' and extracted_text is null and extract_error is null`,
    [...ids, userId],
  );
  const deadline = Date.now() + PDF_TIMEOUT_MS;
  for (const f of pending) {
    const left = deadline - Date.now();
    const result = left > 0 ? await extractPdfText(() => readBytes(em, f.id, f.size), left) : ({ ok: false, error: 'timeout' } as const);
    await query(em, 'update attachment set extracted_text = ?, extract_error = ? where id = ?', [
      result.ok ? await cipherOf(em).sealText(userId, 'attachment.extracted_text', f.id, capText(result.text, FILE_TEXT_BYTES)) : null,
      result.ok ? null : result.error,
      f.id,
    ]);
  }
}
