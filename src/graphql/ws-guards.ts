import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, parse, validate, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import type { Config } from '../config';
import { trustedDocument } from './trusted-documents';
import { MAX_DOCUMENT_BYTES, MAX_TOKENS, VALIDATION_OPTIONS, allRules, assertCost, checkDocumentLimits, documentTooLarge } from './limits';

/** A checked operation ready to execute, with its computed cost (for the cost budget). */
export type PreparedOperation = Omit<ExecutionArgs, 'contextValue'> & { cost: number };

/**
 * Bytes (estimated) of parsed documents kept, so subscription churn does not re-parse. Bounded
 * by size, not count: anyone may connect, and a count bound let 1,000 large documents take
 * hundreds of MB.
 */
export const DOCUMENT_CACHE_BYTES = 4 * 1024 * 1024;

/**
 * The heap an entry holds, estimated: its key text plus twice its AST's JSON length (V8's
 * object headers make a node larger than its JSON). Computed once, when an entry is added.
 */
function entryBytes(query: string, document: DocumentNode): number {
  return 2 * query.length + 2 * JSON.stringify(document).length;
}

/**
 * A least-recently-used map of query text to parsed document, bounded by estimated bytes.
 * A document is admitted on its second sighting only: a flood of unique documents then never
 * enters it, so it neither evicts the documents clients really reuse nor churns long-lived
 * garbage through the heap (a seen document is remembered by a short digest, count-bounded).
 */
export class DocumentCache {
  private readonly entries = new Map<string, { document: DocumentNode; bytes: number }>();
  private readonly seen = new Set<string>();
  private total = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxSeen = 4096,
  ) {}

  get(query: string): DocumentNode | undefined {
    const entry = this.entries.get(query);
    if (!entry) return undefined;
    this.entries.delete(query); // refresh its place in the LRU order
    this.entries.set(query, entry);
    return entry.document;
  }

  set(query: string, document: DocumentNode): void {
    if (this.entries.has(query) || !this.seenBefore(query)) return;
    const bytes = entryBytes(query, document);
    if (bytes > this.maxBytes) return;
    for (const [key, old] of this.entries) {
      if (this.total + bytes <= this.maxBytes) break;
      this.entries.delete(key);
      this.total -= old.bytes;
    }
    this.entries.set(query, { document, bytes });
    this.total += bytes;
  }

  /** True when the text was offered before; otherwise remembers it (oldest digest forgotten first). */
  private seenBefore(query: string): boolean {
    const digest = createHash('sha256').update(query).digest('base64');
    if (this.seen.delete(digest)) return true;
    if (this.seen.size >= this.maxSeen) this.seen.delete(this.seen.values().next().value!);
    this.seen.add(digest);
    return false;
  }
}

function coded(message: string, code: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

/**
 * The WebSocket twin of Apollo's request pipeline: size limit, trusted documents (or, like
 * Apollo, a persisted-query hash that must match its document), parse with the token limit (no
 * locations: they keep every token alive), our document limits (directives, aliases, depth)
 * before graphql's rules (at most MAX_VALIDATION_ERRORS errors; introspection refused in prod),
 * then the cost check. Only a document that passed every check is cached (LRU bounded by bytes).
 * graphql-ws calls this only after connection_init (a `subscribe` before it closes the socket
 * with 4401 unparsed).
 */
export class OperationPreparer {
  private readonly cache = new DocumentCache(DOCUMENT_CACHE_BYTES);
  private readonly rules;

  constructor(
    private readonly config: Config,
    private readonly schema: GraphQLSchema,
    private readonly manifest?: Map<string, string>,
  ) {
    this.rules = allRules(config);
  }

  prepare(payload: SubscribePayload): PreparedOperation | GraphQLError[] {
    let query = payload.query;
    if (this.manifest) {
      // graphql-ws requires a query string: an empty one means "by hash only", as no query does over HTTP.
      const known = trustedDocument(this.manifest, payload.extensions, query || undefined);
      if (!known) return [coded('Only trusted (persisted) documents are accepted here', 'PERSISTED_QUERY_NOT_FOUND')];
      query = known;
    }
    if (typeof query !== 'string' || query.length === 0) return [coded('An operation needs a query document', 'BAD_USER_INPUT')];
    const mismatch = hashMismatch(payload.extensions, query);
    if (mismatch) return [coded(mismatch, 'BAD_USER_INPUT')];
    if (documentTooLarge(query)) return [coded(`Query document is larger than ${MAX_DOCUMENT_BYTES / 1024} KB`, 'BAD_USER_INPUT')];

    let document = this.cache.get(query);
    if (!document) {
      try {
        document = parse(query, { maxTokens: MAX_TOKENS, noLocation: true });
      } catch (err) {
        return [coded((err as Error).message, 'GRAPHQL_PARSE_FAILED')];
      }
      const refused = checkDocumentLimits(this.config, this.schema, document);
      if (refused) return [refused];
      const errors = validate(this.schema, document, this.rules, VALIDATION_OPTIONS);
      if (errors.length > 0)
        return errors.map((e) =>
          e.extensions?.code ? e : new GraphQLError(e.message, { nodes: e.nodes, extensions: { ...e.extensions, code: 'GRAPHQL_VALIDATION_FAILED' } }),
        );
    }
    let cost: number;
    try {
      cost = assertCost(this.config, this.schema, document, payload.variables ?? undefined, payload.operationName);
    } catch (err) {
      return [err as GraphQLError];
    }
    this.cache.set(query, document);
    return { schema: this.schema, document, variableValues: payload.variables, operationName: payload.operationName, cost };
  }
}

/** Why a persisted-query hash sent with a document is refused (it must be the document's SHA-256), or undefined. */
export function hashMismatch(extensions: unknown, query: string): string | undefined {
  const hash = (extensions as { persistedQuery?: { sha256Hash?: unknown } } | null | undefined)?.persistedQuery?.sha256Hash;
  if (hash === undefined) return undefined;
  if (typeof hash !== 'string' || createHash('sha256').update(query).digest('hex') !== hash)
    return 'The persisted query hash does not match the SHA-256 of the query sent with it';
  return undefined;
}

/**
 * Decides on each WebSocket upgrade before the handshake: the path, the browser Origin
 * (CORS_ORIGINS, or anything in dev; non-browser clients send none), and the per-IP cap.
 */
export class UpgradeGate {
  private readonly perIp = new Map<string, number>();

  /** `originAllowed`: the HTTP side's CORS decision (http/security.ts), handed in so the kit's layers stay one way. */
  constructor(
    private readonly config: Config,
    private readonly originAllowed: (origin: string) => boolean,
  ) {}

  /** An HTTP status to refuse with, or undefined to accept. */
  check(request: IncomingMessage, ip: string | undefined): { status: number; reason: string } | undefined {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== '/graphql') return { status: 404, reason: 'Not Found' };
    const origin = request.headers.origin;
    if (origin !== undefined && this.config.appEnv !== 'dev' && !this.originAllowed(origin)) return { status: 403, reason: 'Forbidden' };
    if ((this.perIp.get(ip ?? '') ?? 0) >= this.config.ws.maxConnectionsPerIp) return { status: 429, reason: 'Too Many Requests' };
    return undefined;
  }

  opened(ip: string | undefined): void {
    this.perIp.set(ip ?? '', (this.perIp.get(ip ?? '') ?? 0) + 1);
  }

  closed(ip: string | undefined): void {
    const n = (this.perIp.get(ip ?? '') ?? 1) - 1;
    if (n <= 0) this.perIp.delete(ip ?? '');
    else this.perIp.set(ip ?? '', n);
  }
}

/** Answers a refused upgrade with a bare HTTP response and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${reason.length}\r\n\r\n${reason}`);
}

/** A fixed-window counter of subscribe messages for one connection. */
export class SubscribeBudget {
  private windowStart = Date.now();
  private count = 0;

  constructor(
    private readonly limit: number,
    private readonly durationMs: number,
  ) {}

  /** True when one more subscribe fits in the current window. */
  take(now = Date.now()): boolean {
    if (now - this.windowStart >= this.durationMs) {
      this.windowStart = now;
      this.count = 0;
    }
    this.count += 1;
    return this.count <= this.limit;
  }

  retryAfterSeconds(now = Date.now()): number {
    return Math.max(1, Math.ceil((this.windowStart + this.durationMs - now) / 1000));
  }
}
