import type { EntityManager } from '@mikro-orm/postgresql';
import type { Request, RequestHandler, Response } from 'express';
import { isApiKeyCaller, type RequestAuthenticator } from '../graphql/context';
import { BadUserInputError } from '../graphql/errors';
import { withKeyset } from '../graphql/pagination';
import { Role } from '../graphql/role';
import { sendGraphQLError } from '../http/errors';
import { scopeOf } from '../logging/request-log';
import { AuditEvent, AuditOutcome } from './audit-event.entity';
import { toAuditData } from './audit-data';
import { auditWhere } from './audit-query';
import type { AuditService } from './audit.service';
import type { AuditFilter } from './audit.types';

/** Events read per query: memory per export is one batch, whatever the trail's size. */
export const EXPORT_BATCH = 500;
/** Exports one instance streams at once; more wait their turn (429). Each holds a connection and reads the whole trail. */
const MAX_CONCURRENT_EXPORTS = 2;
/** A reader that takes nothing for this long is dropped, freeing its slot. */
const STALLED_MS = 60_000;
/** The longest value any query parameter may have. */
const MAX_PARAM = 200;

/** Query parameters the export takes, beyond `afterSeq`: the AuditFilter fields of the `auditEvents` query. */
const TEXT_PARAMS = ['actorId', 'action', 'actionPrefix', 'resourceType', 'resourceId', 'ip'] as const;
const KNOWN_PARAMS = new Set<string>(['afterSeq', 'excludeReads', 'outcome', 'from', 'to', ...TEXT_PARAMS]);

function badParam(name: string, why: string): BadUserInputError {
  return new BadUserInputError(`${name} ${why}`, { field: name });
}

/** A time parameter (ISO 8601), undefined when absent; BAD_USER_INPUT otherwise. */
function timeParam(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const t = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t.getTime())) throw badParam(name, 'must be an ISO 8601 time');
  return t;
}

/** The export's `afterSeq` and filter from its query string; unknown, repeated or malformed parameters are BAD_USER_INPUT. */
export function exportParams(query: Request['query']): { afterSeq: number; filter: AuditFilter } {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    if (!KNOWN_PARAMS.has(name)) throw badParam(name, 'is not a parameter of this export');
    if (typeof value !== 'string') throw badParam(name, 'must be given once');
    if (value.length > MAX_PARAM) throw badParam(name, `is at most ${MAX_PARAM} characters`);
    params[name] = value;
  }
  if (!/^\d{1,15}$/.test(params.afterSeq ?? '0')) throw badParam('afterSeq', 'must be a whole number, 0 or more');
  const afterSeq = Number(params.afterSeq ?? '0');
  const filter: AuditFilter = {};
  for (const name of TEXT_PARAMS) if (params[name] !== undefined) filter[name] = params[name];
  if (params.excludeReads !== undefined) {
    if (params.excludeReads !== 'true' && params.excludeReads !== 'false') throw badParam('excludeReads', 'must be true or false');
    filter.excludeReads = params.excludeReads === 'true';
  }
  if (params.outcome !== undefined) {
    if (!Object.values(AuditOutcome).includes(params.outcome as AuditOutcome)) throw badParam('outcome', 'must be SUCCESS, FAILURE or DENIED');
    filter.outcome = params.outcome as AuditOutcome;
  }
  filter.from = timeParam(params.from, 'from');
  filter.to = timeParam(params.to, 'to');
  return { afterSeq, filter };
}

/**
 * Waits until `res` can take more; false when the reader left, or stalled past STALLED_MS (then
 * the connection is destroyed, so neither it nor its buffered lines outlive the export).
 */
async function drained(res: Response): Promise<boolean> {
  // A reader that left before we started waiting: its 'close' has already fired and will not again.
  if (res.destroyed || !res.socket || res.socket.destroyed) return false;
  const ok = await new Promise<boolean>((resolve) => {
    const done = (result: boolean) => {
      clearTimeout(timer);
      res.off('drain', onDrain).off('close', onClose);
      resolve(result);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const timer = setTimeout(() => done(false), STALLED_MS);
    res.once('drain', onDrain).once('close', onClose);
  });
  if (!ok) res.destroy();
  return ok && !res.destroyed;
}

/**
 * Streams the events with `afterSeq` < seq ≤ `untilSeq` matching `where`, oldest first, as
 * NDJSON: EXPORT_BATCH rows per query, each batch written before the next is read, waiting
 * while the reader is behind. Returns how many lines were written.
 */
async function streamEvents(em: EntityManager, res: Response, where: Record<string, unknown>, afterSeq: number, untilSeq: string): Promise<number> {
  let after = String(afterSeq);
  let written = 0;
  for (;;) {
    const rows = await em
      .fork()
      .find(AuditEvent, withKeyset(where, { seq: { $gt: after, $lte: untilSeq } }), { orderBy: { seq: 'asc' }, limit: EXPORT_BATCH, disableIdentityMap: true });
    for (const row of rows) {
      written += 1;
      if (!res.write(`${JSON.stringify(toAuditData(row))}\n`) && !(await drained(res))) return written;
    }
    if (rows.length < EXPORT_BATCH || res.destroyed) return written;
    after = String(rows[rows.length - 1].seq);
  }
}

/**
 * `GET /audit/export.ndjson?afterSeq=…&<AuditFilter fields>`: for an ADMIN's or AUDITOR's
 * bearer token, the events after `afterSeq` (0 when absent) as of the request, oldest first,
 * one JSON object per line with the AuditEvent fields, streamed from the database in batches.
 * Recorded once as `audit.export` before the first line is sent. 401 without a valid token,
 * 403 for other roles and for API keys, 400 for bad parameters, 429 while too many exports run.
 */
export function auditExportRoute(deps: { em: EntityManager; audit: AuditService; authenticator: RequestAuthenticator }): RequestHandler {
  let running = 0;
  return async (req: Request, res: Response) => {
    const { auth, problem } = await deps.authenticator.authenticate(req.headers.authorization, { ip: req.ip });
    if (!auth) return sendGraphQLError(res, 401, 'UNAUTHENTICATED', problem ?? 'Authentication required');
    // API keys are for chat, usage and models only, whatever their owner's role.
    if (isApiKeyCaller(auth)) return sendGraphQLError(res, 403, 'FORBIDDEN', 'API keys may only be used for chat, usage and model operations');
    if (auth.role !== Role.ADMIN && auth.role !== Role.AUDITOR) return sendGraphQLError(res, 403, 'FORBIDDEN', 'Not allowed');
    let params: ReturnType<typeof exportParams>;
    let where: Record<string, unknown>;
    try {
      params = exportParams(req.query);
      where = auditWhere(params.filter);
    } catch (err) {
      if (err instanceof BadUserInputError) return sendGraphQLError(res, 400, 'BAD_USER_INPUT', err.message);
      throw err;
    }
    if (running >= MAX_CONCURRENT_EXPORTS) {
      res.set('Retry-After', '5');
      return sendGraphQLError(res, 429, 'RATE_LIMITED', 'Too many audit exports are running; try again shortly');
    }
    running += 1;
    try {
      await exportEvents(deps, req, res, auth, params, where);
    } finally {
      running -= 1;
    }
  };
}

/** Records the export, then streams it (see auditExportRoute). */
async function exportEvents(
  deps: { em: EntityManager; audit: AuditService },
  req: Request,
  res: Response,
  auth: Parameters<AuditService['forRequest']>[0],
  params: ReturnType<typeof exportParams>,
  where: Record<string, unknown>,
): Promise<void> {
  const em = deps.em.fork();
  // The newest event now bounds the export, so a busy trail cannot keep it running forever.
  const [{ head }] = await em.getConnection().execute<{ head: string }[]>('select coalesce(max(seq), 0)::text as head from audit_event');
  await deps.audit.record(em, {
    action: 'audit.export',
    outcome: AuditOutcome.SUCCESS,
    ...deps.audit.forRequest(auth, { ip: req.ip, requestId: scopeOf(res)?.requestId }),
    resourceType: 'audit_event',
    // The names of the filters used, not their values (an actor id or IP stays out of the record).
    metadata: {
      afterSeq: params.afterSeq,
      untilSeq: Number(head),
      filters: Object.keys(params.filter).filter((k) => params.filter[k as keyof AuditFilter] !== undefined),
    },
  });
  res.status(200).set({
    'Content-Type': 'application/x-ndjson; charset=utf-8',
    'Content-Disposition': 'attachment; filename="audit-export.ndjson"',
    'Cache-Control': 'private, no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  await streamEvents(em, res, where, params.afterSeq, head);
  res.end();
}
