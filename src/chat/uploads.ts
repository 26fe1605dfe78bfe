import type { Request, RequestHandler, Response } from 'express';
import busboy from 'busboy';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { AuditOutcome } from '../audit/audit-event.entity';
import type { Services } from '../services';
import { sendGraphQLError } from '../http/errors';
import { scopeOf } from '../logging/request-log';
import { User } from '../auth/user.entity';
import { AttachmentFile } from './attachment.entity';

/** The types accepted, decided from the bytes alone. */
export function sniffType(bytes: Buffer, filename: string): string | undefined {
  const starts = (sig: number[], at = 0) => sig.every((b, i) => bytes[at + i] === b);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts([0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp';
  if (starts([0x25, 0x50, 0x44, 0x46, 0x2d])) return 'application/pdf';
  // Text: valid UTF-8 with no NUL and no other control bytes but tab, newline, carriage return.
  if (bytes.length > 0 && !/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(bytes.toString('latin1'))) {
    const text = bytes.toString('utf8');
    if (!text.includes('\uFFFD') || Buffer.from(text, 'utf8').equals(bytes)) {
      return /\.(md|markdown)$/i.test(filename) ? 'text/markdown' : 'text/plain';
    }
  }
  return undefined;
}

/** A safe display name: no path, no control characters, at most 200 characters. */
function cleanFilename(raw: string | undefined): string {
  const base = (raw ?? 'file').split(/[\\/]/).pop() ?? 'file';
  const clean = base.normalize('NFC').replace(/[\u0000-\u001f\u007f-\u009f<>:"|?*]/g, '').trim().slice(0, 200);
  return clean || 'file';
}

/**
 * `POST /attachments`: Bearer auth, multipart/form-data with one `file` field. The type is
 * sniffed from the bytes (never the name or header): text, markdown, PDF, PNG, JPEG, WebP,
 * else 415; over MAX_UPLOAD_BYTES is 413 (bytes past the limit are discarded, never buffered).
 */
export function uploadsRoute(deps: { config: Config; orm: MikroORM; services: Services }): RequestHandler {
  const { config, services } = deps;
  return async (req: Request, res: Response) => {
    const { auth, problem } = await services.auth.authenticate(deps.orm.em.fork() as never, req.headers.authorization);
    if (!auth) return sendGraphQLError(res, 401, 'UNAUTHENTICATED', problem ?? 'Authentication required');
    if (!req.is('multipart/form-data')) return sendGraphQLError(res, 415, 'BAD_USER_INPUT', 'Content-Type must be multipart/form-data with a `file` field');
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { files: 1, fileSize: config.maxUploadBytes, fields: 5, parts: 6 } });
    } catch {
      return sendGraphQLError(res, 400, 'BAD_USER_INPUT', 'Malformed multipart request');
    }
    let file: { name: string | undefined; chunks: Buffer[]; tooBig: boolean } | undefined;
    let failed = false;
    parser.on('file', (field, stream, info) => {
      if (field !== 'file' || file) {
        stream.resume();
        return;
      }
      const current = { name: info.filename, chunks: [] as Buffer[], tooBig: false };
      file = current;
      stream.on('data', (d: Buffer) => current.chunks.push(d));
      stream.on('limit', () => {
        current.tooBig = true;
      });
    });
    parser.on('error', () => {
      failed = true;
    });
    parser.on('close', async () => {
      if (failed) return sendGraphQLError(res, 400, 'BAD_USER_INPUT', 'Malformed multipart request');
      if (!file) return sendGraphQLError(res, 400, 'BAD_USER_INPUT', 'No `file` field in the upload');
      if (file.tooBig) return sendGraphQLError(res, 413, 'BAD_USER_INPUT', `File is larger than ${config.maxUploadBytes} bytes`);
      const bytes = Buffer.concat(file.chunks);
      const filename = cleanFilename(file.name);
      const mimeType = sniffType(bytes, filename);
      if (!mimeType) return sendGraphQLError(res, 415, 'BAD_USER_INPUT', 'Unsupported file type: text, markdown, PDF, PNG, JPEG or WebP only');
      try {
        const em = deps.orm.em.fork();
        const saved = await em.transactional(async (tx) => {
          const a = tx.create(AttachmentFile, { owner: tx.getReference(User, auth.userId), filename, mimeType, size: bytes.length, data: bytes });
          await tx.flush();
          await services.audit.record(tx as never, { action: 'chat.attachment.create', outcome: AuditOutcome.SUCCESS, actorId: auth.userId, actorRole: auth.role, resourceType: 'attachment', resourceId: a.id, ip: req.ip, requestId: scopeOf(res)?.requestId, metadata: { mimeType, size: bytes.length } });
          return a;
        });
        res.status(201).json({ id: saved.id, filename, mimeType, size: bytes.length });
      } catch {
        sendGraphQLError(res, 500, 'INTERNAL_SERVER_ERROR', config.appEnv === 'prod' ? 'Internal server error' : 'Saving the upload failed');
      }
    });
    req.pipe(parser);
  };
}
