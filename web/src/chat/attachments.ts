import type { AppConfig } from '../config';
import type { Session } from '../auth/session';
import { describeProblem, type Problem } from '../errors';
import { graphql } from '../gql';

export const CHAT_UPLOAD_LIMITS = graphql(`
  query ChatUploadLimits {
    uploadLimits {
      maxBytes
      mimeTypes
    }
  }
`);

export interface UploadLimits {
  maxBytes: number;
  mimeTypes: string[];
}

export interface Uploaded {
  id: string;
  filename: string;
  mimeType: string;
  size: number;
}

const TYPE_NAMES: Record<string, string> = {
  'text/plain': 'text',
  'text/markdown': 'markdown',
  'application/pdf': 'PDF',
  'image/png': 'PNG',
  'image/jpeg': 'JPEG',
  'image/webp': 'WebP',
};

/** 10485760 → "10 MiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}

/** ["text/plain", "image/png", ...] → "text, PNG and …". */
export function describeTypes(mimeTypes: string[]): string {
  const names = mimeTypes.map((t) => TYPE_NAMES[t] ?? t);
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

export function tooLarge(limits: UploadLimits): string {
  return `This file is larger than the ${formatBytes(limits.maxBytes)} limit.`;
}

export function wrongType(limits: UploadLimits | undefined): string {
  return limits ? `This type of file is not accepted: only ${describeTypes(limits.mimeTypes)} files are accepted.` : 'This type of file is not accepted.';
}

interface ErrorBody {
  errors?: { message?: string; extensions?: { code?: unknown; reason?: unknown; retryAfterSeconds?: unknown } }[];
}

/** The GraphQL-shaped error body the upload route answers with, as a Problem. */
function problemOfBody(status: number, body: ErrorBody | null): Problem {
  const first = body?.errors?.[0];
  const ext = first?.extensions;
  return {
    code: typeof ext?.code === 'string' ? ext.code : `HTTP_${status}`,
    message: first?.message ?? `The server answered ${status}`,
    reason: typeof ext?.reason === 'string' ? ext.reason : undefined,
    retryAfterSeconds: typeof ext?.retryAfterSeconds === 'number' ? ext.retryAfterSeconds : undefined,
  };
}

/** Authorized fetch: a fresh bearer token, and one retry after a refresh when the server says 401. */
async function authorizedFetch(session: Session, url: string, init: RequestInit = {}): Promise<Response> {
  const send = async () => {
    const token = await session.freshToken();
    return fetch(url, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  };
  const res = await send();
  if (res.status !== 401 || !(await session.refresh())) return res;
  return send();
}

/**
 * `POST /attachments` with the file as multipart field `file`; resolves to the stored file or
 * throws an Error whose message is a sentence for people (413 and 415 explained in words).
 */
export async function uploadFile(config: AppConfig, session: Session, file: File, limits: UploadLimits | undefined): Promise<Uploaded> {
  if (limits && file.size > limits.maxBytes) throw new Error(tooLarge(limits));
  const body = new FormData();
  body.append('file', file, file.name);
  let res: Response;
  try {
    res = await authorizedFetch(session, config.uploadUrl, { method: 'POST', body });
  } catch {
    throw new Error(describeProblem({ code: 'NETWORK', message: 'network' }));
  }
  if (res.status === 201) return (await res.json()) as Uploaded;
  const parsed = (await res.json().catch(() => null)) as ErrorBody | null;
  const problem = problemOfBody(res.status, parsed);
  if (res.status === 415) throw new Error(wrongType(limits));
  // 413 is either the file size or the per-person storage quota: the server's words say which.
  if (res.status === 413 && limits && file.size >= limits.maxBytes) throw new Error(tooLarge(limits));
  throw new Error(describeProblem(problem));
}

/** `GET /attachments/:id` with the bearer token, saved through a temporary object URL and `<a download>`. */
export async function downloadAttachment(config: AppConfig, session: Session, file: Uploaded): Promise<void> {
  const res = await authorizedFetch(session, `${config.uploadUrl}/${encodeURIComponent(file.id)}`);
  if (!res.ok) {
    const parsed = (await res.json().catch(() => null)) as ErrorBody | null;
    throw new Error(describeProblem(problemOfBody(res.status, parsed)));
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = file.filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
