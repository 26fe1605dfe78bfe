import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Config } from '../config';
import type { FormatError } from '../graphql/format-error';
import { MAX_DOCUMENT_BYTES, MAX_TOKENS, checkDocumentLimits, documentTooLarge } from '../graphql/limits';
import { trustedDocument } from '../graphql/trusted-documents';
import { BoundedCache } from '../bounded-cache';
import { scopeOf } from '../logging/request-log';
import { sendGraphQLError } from './errors';

/**
 * Only `application/json` bodies are GraphQL requests: forms and text/plain (the CSRF-able
 * types) never reach Apollo, and neither does any other type the body parser would not read
 * (`application/graphql-response+json` is a response type: it used to pass here and then fail
 * as "POST body missing").
 */
export function requireJsonPost(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'POST' && req.is('application/json') !== 'application/json') {
      sendGraphQLError(res, 415, 'BAD_USER_INPUT', 'Content-Type must be application/json');
      return;
    }
    next();
  };
}

/** Document texts remembered as within the limits: 256 of at most 20 KB each (5 MiB), for 10 minutes. */
const PASSED_MAX = 256;
const PASSED_MAX_AGE_MS = 10 * 60_000;

/** The query text of a GET or POST request, wherever it sits. */
function queryOf(req: Request): unknown {
  return req.method === 'GET' ? req.query.query : (req.body as { query?: unknown } | undefined)?.query;
}

/** Refuses documents over 20 KB before they are parsed. */
export function limitDocumentSize(): RequestHandler {
  return (req, res, next) => {
    if (documentTooLarge(queryOf(req))) {
      sendGraphQLError(res, 413, 'BAD_USER_INPUT', `Query document is larger than ${MAX_DOCUMENT_BYTES / 1024} KB`);
      return;
    }
    next();
  };
}

/**
 * Our document limits (directive count and unknown directives, aliases, depth; linear, each
 * fragment walked once) before Apollo validates, so a hostile document gets one error and never
 * reaches graphql-js's per-node rules. Apollo offers no hook that may refuse before validation
 * (an error thrown there is answered as a 500), so the text is parsed here once more: linear,
 * and at most MAX_TOKENS tokens. A syntax error is left to Apollo to answer. A text that passed
 * is remembered (PASSED_MAX entries of at most 20 KB, for PASSED_MAX_AGE_MS; the verdict depends
 * only on the text, the schema and the configuration), so a client repeating its documents is
 * not parsed here again; refused texts are never remembered.
 */
export function limitDocument(config: Config, schema: GraphQLSchema, formatError: FormatError): RequestHandler {
  const passed = new BoundedCache<string, true>(PASSED_MAX, PASSED_MAX_AGE_MS);
  return (req, res, next) => {
    const query = queryOf(req);
    if (typeof query !== 'string' || query.length === 0 || passed.get(query)) return next();
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: MAX_TOKENS, noLocation: true });
    } catch {
      return next();
    }
    const refused = checkDocumentLimits(config, schema, document);
    if (!refused) {
      passed.set(query, true);
      return next();
    }
    res
      .status(400)
      .type('application/json')
      .json({ errors: [formatError(refused.toJSON(), refused, scopeOf(res)?.requestId)] });
  };
}

/**
 * With PERSISTED_QUERIES_ONLY: only documents from the committed manifest run. A request names
 * one by `extensions.persistedQuery.sha256Hash` (trustedDocument); free-form documents and
 * unknown hashes are PERSISTED_QUERY_NOT_FOUND, and nothing can be registered at run time.
 */
export function trustedDocumentsOnly(manifest: Map<string, string>): RequestHandler {
  return (req, res, next) => {
    const source = (req.method === 'GET' ? req.query : req.body) as Record<string, unknown> | undefined;
    let extensions = source?.extensions;
    if (typeof extensions === 'string') {
      try {
        extensions = JSON.parse(extensions) as unknown;
      } catch {
        extensions = undefined;
      }
    }
    if (!trustedDocument(manifest, extensions, source?.query)) {
      sendGraphQLError(res, 400, 'PERSISTED_QUERY_NOT_FOUND', 'Only trusted (persisted) documents are accepted here');
      return;
    }
    next(); // Apollo resolves the hash from the manifest-backed persisted query cache
  };
}
