import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Request, RequestHandler, Response } from 'express';
import busboy from 'busboy';
import type { EntityManager } from '@mikro-orm/postgresql';
import type Redis from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config';
import type { Logger } from '../logging/logger';
import { AuditOutcome } from '../audit/audit-event.entity';
import type { AuditService } from '../audit/audit.service';
import type { AuthInfo, RequestAuthenticator } from '../graphql/context';
import { sendGraphQLError } from '../http/errors';
import { scopeOf } from '../logging/request-log';
import { cipherOf } from '../crypto/cipher';
import { TypeSniffer, attachmentDisposition, cleanFilename } from './upload-files';

export { sniffType } from './upload-files';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Bytes gathered before one chunk row is written: bounds memory per upload and statements per file. */
const PIECE_BYTES = 256 * 1024;
/** Chunks read per query when serving a file. */
const CHUNKS_PER_READ = 8;
/** Uploads never attached to a message are removed after this long. */
export const UNATTACHED_UPLOAD_HOURS = 24;

export interface UploadDeps {
  config: Config;
  logger: Logger;
  em: EntityManager;
  audit: AuditService;
  authenticator: RequestAuthenticator;
  redis?: Redis;
}

type Outcome = { ok: true; id: string; filename: string; mimeType: string; size: number } | { ok: false; status: number; message: string };

/** A 429 in the GraphQL error shape, with `retryAfterSeconds` and a `Retry-After` header. */
function sendRateLimited(res: Response, retryAfterSeconds: number, message: string): void {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  res.set('Retry-After', String(seconds));
  res
    .status(429)
    .json({ errors: [{ message, extensions: { code: 'RATE_LIMITED', reason: 'RATE', retryAfterSeconds: seconds, requestId: scopeOf(res)?.requestId } }] });
}

/** Uploads per user per hour: in Redis when configured (shared by every instance), else in memory. */
function uploadLimiter(config: Config, redis?: Redis): RateLimiterAbstract {
  const points = Math.max(1, Math.floor(config.rateLimits.upload.limit * config.rateLimitScale));
  const opts = { points, duration: config.rateLimits.upload.duration, keyPrefix: 'upload' };
  return redis ? new RateLimiterRedis({ ...opts, storeClient: redis, insuranceLimiter: new RateLimiterMemory(opts) }) : new RateLimiterMemory(opts);
}

/**
 * Writes one uploaded file to storage as it arrives: a pending attachment row first, then the
 * bytes in chunk rows of at most PIECE_BYTES (the file is never held whole), each followed by
 * a check of the owner's stored total against USER_STORAGE_QUOTA_BYTES. Past the quota or
 * MAX_UPLOAD_BYTES the rest is read and discarded. Only a file stored whole with an accepted
 * type is marked complete (and audited); every other outcome deletes what was written.
 */
async function storeUpload(
  deps: UploadDeps,
  auth: AuthInfo,
  req: Request,
  res: Response,
  file: Readable & { truncated?: boolean },
  rawName: string | undefined,
): Promise<Outcome> {
  const { config, audit } = deps;
  const conn = deps.em.fork().getConnection();
  const cipher = cipherOf(deps.em);
  const id = randomUUID();
  const filename = cleanFilename(rawName);
  const sniffer = new TypeSniffer();
  let size = 0;
  let seq = 0;
  let overQuota = false;
  let piece: Buffer[] = [];
  let pieceBytes = 0;
  const writePiece = async () => {
    const data = Buffer.concat(piece, pieceBytes);
    piece = [];
    pieceBytes = 0;
    // Sealed under the owner's data key, bound to (attachment, seq); `size` counts the plain bytes (the quota's measure).
    const at = seq++;
    const sealed = await cipher.sealBytes(auth.userId, 'attachment_chunk.data', `${id}:${at}`, data);
    await conn.execute(
      `with c as (insert into attachment_chunk (attachment_id, seq, data) values (?, ?, ?)) update attachment set size = size + ? where id = ?`,
      [id, at, sealed, data.length, id],
    );
    const [{ total }] = await conn.execute<{ total: string }[]>('select coalesce(sum(size), 0) as total from attachment where owner_id = ?', [auth.userId]);
    overQuota = Number(total) > config.uploads.userStorageQuotaBytes;
  };
  try {
    await conn.execute(
      `insert into attachment (id, owner_id, filename, mime_type, size, complete, created_at) values (?, ?, ?, 'application/octet-stream', 0, false, now())`,
      [id, auth.userId, await cipher.sealText(auth.userId, 'attachment.filename', id, filename)],
    );
    for await (const chunk of file as AsyncIterable<Buffer>) {
      if (overQuota) continue; // drain the rest so the request completes; keep nothing
      sniffer.push(chunk);
      size += chunk.length;
      piece.push(chunk);
      pieceBytes += chunk.length;
      if (pieceBytes >= PIECE_BYTES) await writePiece();
    }
    if (!overQuota && !file.truncated && pieceBytes > 0) await writePiece();
    const mimeType = sniffer.finish(filename);
    const refused: Outcome | undefined = file.truncated
      ? { ok: false, status: 413, message: `File is larger than ${config.maxUploadBytes} bytes` }
      : overQuota
        ? { ok: false, status: 413, message: `Storage quota of ${config.uploads.userStorageQuotaBytes} bytes per user reached` }
        : !mimeType
          ? { ok: false, status: 415, message: 'Unsupported file type: text, markdown, PDF, PNG, JPEG or WebP only' }
          : undefined;
    if (refused || !mimeType) {
      await conn.execute('delete from attachment where id = ?', [id]);
      return refused ?? { ok: false, status: 415, message: 'Unsupported file type' };
    }
    await deps.em.fork().transactional(async (tx) => {
      await tx.getConnection().execute('update attachment set mime_type = ?, complete = true where id = ?', [mimeType, id], 'all', tx.getTransactionContext());
      await audit.record(tx, {
        action: 'chat.attachment.create',
        outcome: AuditOutcome.SUCCESS,
        ...audit.forRequest(auth, { ip: req.ip, requestId: scopeOf(res)?.requestId }),
        resourceType: 'attachment',
        resourceId: id,
        metadata: { mimeType, size },
      });
    });
    return { ok: true, id, filename, mimeType, size };
  } catch (err) {
    // A client that went away is routine; anything else is logged by code only (no SQL, no values).
    if (req.complete) deps.logger.error('saving an upload failed', { attachmentId: id, code: (err as { code?: string }).code });
    await conn.execute('delete from attachment where id = ?', [id]).catch(() => undefined);
    return { ok: false, status: 500, message: config.appEnv === 'prod' ? 'Internal server error' : 'Saving the upload failed' };
  }
}

/**
 * `POST /attachments`: Bearer auth, multipart/form-data with one `file` field. The type is
 * sniffed from the bytes (never the name or header): text, markdown, PDF, PNG, JPEG, WebP,
 * else 415; over MAX_UPLOAD_BYTES or past the owner's USER_STORAGE_QUOTA_BYTES is 413. At
 * most RATE_LIMIT_UPLOAD uploads per user per hour and UPLOAD_MAX_IN_FLIGHT at once (429).
 */
export function uploadsRoute(deps: UploadDeps): RequestHandler {
  const { config } = deps;
  const limiter = uploadLimiter(config, deps.redis);
  const inFlight = new Map<string, number>();
  return async (req: Request, res: Response) => {
    const { auth, problem, reason } = await deps.authenticator.authenticate(req.headers.authorization, { ip: req.ip });
    if (!auth) return sendGraphQLError(res, 401, 'UNAUTHENTICATED', problem ?? 'Authentication required', reason ? { reason } : {});
    if (!req.is('multipart/form-data')) return sendGraphQLError(res, 415, 'BAD_USER_INPUT', 'Content-Type must be multipart/form-data with a `file` field');
    const running = inFlight.get(auth.userId) ?? 0;
    const refuse = (seconds: number, message: string, limit: string) => {
      deps.logger.warn('security event', {
        security: true,
        event: 'security.rate_limited',
        field: `POST /attachments (${limit})`,
        ip: req.ip,
        userId: auth.userId,
        requestId: scopeOf(res)?.requestId,
      });
      sendRateLimited(res, seconds, message);
    };
    if (running >= config.uploads.maxInFlightPerUser)
      return refuse(1, `At most ${config.uploads.maxInFlightPerUser} uploads at once; wait for one to finish`, 'in flight');
    try {
      await limiter.consume(auth.userId);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      return refuse(err.msBeforeNext / 1000, 'Too many uploads; try again later', 'per hour');
    }
    let parser: busboy.Busboy;
    try {
      // utf8: browsers send the file name as raw UTF-8 (busboy's default would misread it as latin1).
      // fileSize + 1: busboy marks a file truncated once it REACHES the limit, and a file of exactly MAX_UPLOAD_BYTES is allowed.
      parser = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { files: 1, fileSize: config.maxUploadBytes + 1, fields: 5, parts: 6 } });
    } catch {
      return sendGraphQLError(res, 400, 'BAD_USER_INPUT', 'Malformed multipart request');
    }
    inFlight.set(auth.userId, running + 1);
    res.once('close', () => {
      const n = (inFlight.get(auth.userId) ?? 1) - 1;
      if (n > 0) inFlight.set(auth.userId, n);
      else inFlight.delete(auth.userId);
    });
    let job: Promise<Outcome> | undefined;
    let current: Readable | undefined;
    let failed = false;
    parser.on('file', (field, stream, info) => {
      if (field !== 'file' || job) return void stream.resume();
      current = stream;
      job = storeUpload(deps, auth, req, res, stream, info.filename);
    });
    parser.on('error', (err) => {
      failed = true;
      current?.destroy(err instanceof Error ? err : new Error('malformed'));
    });
    // A client that goes away mid-body: end the file stream so its partial rows are deleted.
    req.once('close', () => {
      if (!req.complete) current?.destroy(new Error('upload aborted'));
    });
    parser.on('close', () => void answer());
    const answer = async () => {
      const outcome = await job;
      if (failed) return sendGraphQLError(res, 400, 'BAD_USER_INPUT', 'Malformed multipart request');
      if (!outcome) return sendGraphQLError(res, 400, 'BAD_USER_INPUT', 'No `file` field in the upload');
      if (!outcome.ok) return sendGraphQLError(res, outcome.status, outcome.status === 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_USER_INPUT', outcome.message);
      res.status(201).json({ id: outcome.id, filename: outcome.filename, mimeType: outcome.mimeType, size: outcome.size });
    };
    req.pipe(parser);
  };
}

/**
 * `GET /attachments/:id`: the caller's own, complete upload as a download (its sniffed type,
 * `Content-Disposition: attachment`, `nosniff`), streamed a few chunks at a time; anything
 * else, another user's file included, is 404 (no existence oracle).
 */
export function downloadRoute(deps: UploadDeps): RequestHandler {
  return async (req: Request, res: Response) => {
    const { auth, problem, reason } = await deps.authenticator.authenticate(req.headers.authorization, { ip: req.ip });
    if (!auth) return sendGraphQLError(res, 401, 'UNAUTHENTICATED', problem ?? 'Authentication required', reason ? { reason } : {});
    const id = String(req.params.id);
    const conn = deps.em.fork().getConnection();
    const [file] = UUID.test(id)
      ? await conn.execute<{ filename: string; mime_type: string; size: number }[]>(
          'select filename, mime_type, size from attachment where id = ? and owner_id = ? and complete',
          [id, auth.userId],
        )
      : [];
    if (!file) return sendGraphQLError(res, 404, 'NOT_FOUND', 'Attachment not found');
    const cipher = cipherOf(deps.em);
    const filename = await cipher.openText('attachment.filename', id, file.filename);
    deps.audit.recordRead({ ...deps.audit.forRequest(auth, { ip: req.ip, requestId: scopeOf(res)?.requestId }), resourceType: 'attachment', resourceId: id });
    res.status(200).set({
      'Content-Type': file.mime_type.startsWith('text/') ? `${file.mime_type}; charset=utf-8` : file.mime_type,
      'Content-Length': String(file.size),
      'Content-Disposition': attachmentDisposition(filename),
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'private, no-store',
    });
    for (let after = -1; ;) {
      const rows = await conn.execute<{ seq: number; data: Buffer }[]>(
        'select seq, data from attachment_chunk where attachment_id = ? and seq > ? order by seq limit ?',
        [id, after, CHUNKS_PER_READ],
      );
      if (rows.length === 0 || res.destroyed) break;
      for (const row of rows) {
        // A chunk that fails its integrity check ends the download short (the headers are sent): never altered bytes.
        const data = await cipher.openBytes('attachment_chunk.data', `${id}:${row.seq}`, row.data).catch((err: unknown) => {
          deps.logger.error('an attachment chunk failed its integrity check', { attachmentId: id, seq: row.seq, err: String(err) });
          return undefined;
        });
        if (!data) return void res.destroy();
        if (!res.write(data)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
      }
      after = rows[rows.length - 1].seq;
    }
    res.end();
  };
}

/**
 * Removes uploads that were never attached to a message (or never finished) within
 * UNATTACHED_UPLOAD_HOURS, at most 1,000 a run, in one audited transaction (`chat.attachment.sweep`).
 */
export async function sweepUnattachedUploads(audit: AuditService, em: EntityManager): Promise<number> {
  return em.transactional(async (tx) => {
    const rows = await tx
      .getConnection()
      .execute<{ id: string }[]>(
        `delete from attachment where id in (select id from attachment where message_id is null and created_at < now() - make_interval(hours => ?) limit 1000) returning id`,
        [UNATTACHED_UPLOAD_HOURS],
        'all',
        tx.getTransactionContext(),
      );
    if (rows.length > 0) {
      await audit.record(tx, {
        action: 'chat.attachment.sweep',
        outcome: AuditOutcome.SUCCESS,
        resourceType: 'attachment',
        metadata: { deleted: rows.length, olderThanHours: UNATTACHED_UPLOAD_HOURS, ids: rows.slice(0, 100).map((r) => r.id) },
      });
    }
    return rows.length;
  });
}
