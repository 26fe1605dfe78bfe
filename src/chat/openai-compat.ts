import type { EntityManager } from '@mikro-orm/postgresql';
import express, { Router, type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { GraphQLError } from 'graphql';
import type { Config } from '../config';
import { isApiKeyCaller, type AuthInfo, type RequestAuthenticator, type RequestMeta } from '../graphql/context';
import { INTERNAL_MESSAGE } from '../graphql/errors';
import type { CostBudget, OperationLimit } from '../graphql/rate-limit';
import type { Logger } from '../logging/logger';
import { scopeOf } from '../logging/request-log';
import type { PubSub } from '../pubsub/topics';
import type { ChatService } from './chat.service';
import type { GenerationRunner } from './generation';
import { MessageStatus } from './message-enums';
import { listModels } from './models';
import { InvalidRequest, parseCompletionRequest, sendOpenAiError, usageOf, type CompletionRequestBody } from './openai-wire';
import { messageEvents } from './stream';
import type { StreamEventData } from './stream-topic';
import type { SendMessageInput } from './chat.types';
import { assertReplyRoom } from './token-ledger';

/**
 * What one completion draws from the owner's cost budget: what the equivalent `sendMessage`
 * operation (its payload's two messages and conversation) costs on the GraphQL door.
 */
const COMPLETION_COST = 3;

export interface OpenAiCompatDeps {
  config: Config;
  logger: Logger;
  authenticator: RequestAuthenticator;
  chat: ChatService;
  runner: GenerationRunner;
  pubsub: PubSub;
  em: EntityManager;
  /** `sendMessage`'s per-user limit, counted here too. */
  sendLimit: OperationLimit;
  /** The per-user cost budget (absent only in the no-defense benchmark server). */
  budget?: CostBudget;
}

const STATUS_OF: Record<string, { status: number; type: string }> = {
  BAD_USER_INPUT: { status: 400, type: 'invalid_request_error' },
  NOT_FOUND: { status: 404, type: 'invalid_request_error' },
  RATE_LIMITED: { status: 429, type: 'rate_limit_error' },
  UNAUTHENTICATED: { status: 401, type: 'invalid_request_error' },
  FORBIDDEN: { status: 403, type: 'invalid_request_error' },
};

/** Any failure as OpenAI's error shape: coded errors keep their meaning (429 with Retry-After), the rest is a 500 with no internals. */
function sendFailure(deps: OpenAiCompatDeps, res: Response, err: unknown): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  if (err instanceof InvalidRequest) return sendOpenAiError(res, 400, err.message, 'invalid_request_error', null, err.param);
  const code = err instanceof GraphQLError && typeof err.extensions.code === 'string' ? err.extensions.code : '';
  const known = STATUS_OF[code];
  if (err instanceof GraphQLError && known) {
    const retry = err.extensions.retryAfterSeconds;
    if (typeof retry === 'number') res.set('Retry-After', String(retry));
    return sendOpenAiError(
      res,
      known.status,
      err.message,
      known.type,
      code.toLowerCase(),
      typeof err.extensions.field === 'string' ? err.extensions.field : null,
    );
  }
  deps.logger.error('openai-compatible request failed', { requestId: scopeOf(res)?.requestId, err });
  sendOpenAiError(res, 500, INTERNAL_MESSAGE, 'server_error', null);
}

/** The caller when it came with an API key; otherwise answers 401 (a session's JWT included: this door is for integrations). */
async function keyCaller(deps: OpenAiCompatDeps, req: Request, res: Response): Promise<AuthInfo | undefined> {
  const { auth } = await deps.authenticator.authenticate(req.headers.authorization, { ip: req.ip, requestId: scopeOf(res)?.requestId });
  if (auth && isApiKeyCaller(auth)) return auth;
  res.set('WWW-Authenticate', 'Bearer');
  sendOpenAiError(res, 401, 'A valid API key is required: Authorization: Bearer pk_…', 'invalid_request_error', 'invalid_api_key');
  return undefined;
}

/** OpenAI's `finish_reason` for a reply's final status. */
function finishReason(event: StreamEventData): string {
  if (event.status === MessageStatus.FAILED && event.error === 'quota exceeded') return 'length';
  return 'stop';
}

/** A reply that ended without text it should have (upstream failure, interrupted): the error OpenAI clients expect. */
function failedReply(event: StreamEventData): { message: string; type: string; param: null; code: string } | null {
  if (event.status === MessageStatus.COMPLETE || event.status === MessageStatus.CANCELLED || finishReason(event) === 'length') return null;
  return { message: event.error ?? 'The reply could not be completed', type: 'server_error', param: null, code: 'upstream_error' };
}

/** Starts the exchange: the owner's conversation (named, or a new one), the last user message stored, the reply generating from the request's prompt. */
async function startExchange(deps: OpenAiCompatDeps, auth: AuthInfo, body: CompletionRequestBody, meta: RequestMeta) {
  const em = deps.em.fork();
  // Refused before the new conversation is written: a loop of refused calls must not fill the owner's list and the audit trail.
  if (!body.conversationId) await assertReplyRoom(em, deps.config, auth.userId);
  const conversation = body.conversationId
    ? await deps.chat.ownedConversation(em, auth, body.conversationId)
    : await deps.chat.createConversation(em, auth, { model: body.model }, meta);
  const input: SendMessageInput = { conversationId: conversation.id, content: body.lastUser, parameters: body.parameters };
  const sent = await deps.chat.sendMessage(em, auth, input, meta, { prompt: body.prompt, model: body.model });
  return { conversationId: conversation.id, messageId: sent.assistantMessage.id, created: Math.floor(sent.assistantMessage.createdAt.getTime() / 1000) };
}

/** The fields every chunk and completion carries. */
type Envelope = { id: string; created: number; model: string; conversation_id: string };

/**
 * Resolves once `res` drained or closed. A client that reads nothing for `stallMs` is cut off
 * (which cancels its reply): it would otherwise hold this handler, its event subscription and
 * the socket forever, since nothing else times a response out.
 */
function drained(res: Response, stallMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      res.off('drain', done).off('close', done);
      resolve();
    };
    const timer = setTimeout(() => {
      res.destroy();
      done();
    }, stallMs);
    res.once('drain', done).once('close', done);
  });
}

/** Streams the reply as OpenAI's SSE: role first, content deltas, finish_reason, usage when asked, `[DONE]`. */
async function streamReply(deps: OpenAiCompatDeps, res: Response, env: Envelope, messageId: string, includeUsage: boolean): Promise<void> {
  res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
  const stallMs = deps.config.chat.streamStallSeconds * 1000;
  const send = async (data: unknown) => {
    // A client that reads slowly holds us here; meanwhile the event queue merges deltas (bounded).
    if (!res.write(`data: ${JSON.stringify(data)}\n\n`) && !res.destroyed) await drained(res, stallMs);
  };
  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
    ...env,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
  });
  await send(chunk({ role: 'assistant', content: '' }, null));
  for await (const event of messageEvents(deps.em.fork(), deps.pubsub, messageId, 0)) {
    if (res.destroyed) continue; // cancelled on close; read on to the final event, which ends this loop
    if (event.delta) await send(chunk({ content: event.delta }, null));
    if (!event.done) continue;
    const failure = failedReply(event);
    if (failure) await send({ error: failure });
    else {
      await send(chunk({}, finishReason(event)));
      if (includeUsage) await send({ ...env, object: 'chat.completion.chunk', choices: [], usage: usageOf(event.usage) });
    }
  }
  if (!res.destroyed) res.end('data: [DONE]\n\n');
}

/** Waits for the whole reply and answers one `chat.completion` with `usage`. */
async function completeReply(deps: OpenAiCompatDeps, res: Response, env: Envelope, messageId: string): Promise<void> {
  let content = '';
  for await (const event of messageEvents(deps.em.fork(), deps.pubsub, messageId, 0)) {
    // Deltas arrive in order; only a replayed overlap needs the cut (appending alone keeps this linear).
    content = (event.offset < content.length ? content.slice(0, event.offset) : content) + event.delta;
    if (!event.done || res.destroyed) continue;
    const failure = failedReply(event);
    if (failure) return sendOpenAiError(res, 502, failure.message, failure.type, failure.code);
    res.json({
      ...env,
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: finishReason(event) }],
      usage: usageOf(event.usage),
    });
  }
  // The events ended with no final one: the message is gone (its conversation deleted meanwhile).
  if (!res.headersSent && !res.destroyed)
    sendOpenAiError(res, 409, 'The conversation was deleted before the reply finished', 'invalid_request_error', 'conversation_deleted');
}

/** `POST /v1/chat/completions`: key, limits, validation, then the exchange through the chat service and the generation runner. */
function completionsHandler(deps: OpenAiCompatDeps) {
  return async (req: Request, res: Response) => {
    try {
      const auth = res.locals.apiKeyCaller as AuthInfo;
      const meta: RequestMeta = { ip: req.ip, userAgent: req.headers['user-agent'], requestId: scopeOf(res)?.requestId ?? '' };
      const who = { userId: auth.userId, role: auth.role, ip: req.ip, requestId: meta.requestId };
      await deps.sendLimit.take(who);
      await deps.budget?.draw(who, COMPLETION_COST);
      const body = parseCompletionRequest(req.body, deps.config);
      if (!deps.config.ai.models.includes(body.model))
        return sendOpenAiError(res, 404, `The model '${body.model.slice(0, 200)}' does not exist`, 'invalid_request_error', 'model_not_found', 'model');
      const started = await startExchange(deps, auth, body, meta);
      // A client that goes away before the reply ends cancels it (the text so far is kept, CANCELLED).
      res.once('close', () => {
        if (!res.writableFinished) void deps.runner.stop(started.messageId, 'cancel').catch(() => undefined);
      });
      res.set('X-Conversation-Id', started.conversationId);
      const env: Envelope = { id: `chatcmpl-${started.messageId}`, created: started.created, model: body.model, conversation_id: started.conversationId };
      if (body.stream) await streamReply(deps, res, env, started.messageId, body.includeUsage);
      else await completeReply(deps, res, env, started.messageId);
    } catch (err) {
      sendFailure(deps, res, err);
    }
  };
}

/** Body-parser failures (too large, not JSON) in OpenAI's error shape. */
function bodyErrors(deps: OpenAiCompatDeps): ErrorRequestHandler {
  return (err: { type?: string }, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err.type === 'entity.too.large')
      return sendOpenAiError(
        res,
        413,
        `Request body is larger than the ${deps.config.bodyLimitBytes}-byte limit`,
        'invalid_request_error',
        'request_too_large',
      );
    if (err.type === 'entity.parse.failed') return sendOpenAiError(res, 400, 'Request body is not valid JSON', 'invalid_request_error', null);
    sendFailure(deps, res, err);
  };
}

/**
 * The OpenAI-compatible door for integrations holding an API key: `GET /v1/models` and
 * `POST /v1/chat/completions` (stream or not) in OpenAI's wire format. Each completion goes
 * through the same conversations, quotas, rate limits, cost budget and audit as `sendMessage`.
 */
export function openAiCompatRoutes(deps: OpenAiCompatDeps): Router {
  const router = Router();
  router.get('/v1/models', async (req, res) => {
    try {
      if (!(await keyCaller(deps, req, res))) return;
      res.json({ object: 'list', data: listModels(deps.config).map((m) => ({ id: m.id, object: 'model', created: 0, owned_by: m.provider })) });
    } catch (err) {
      sendFailure(deps, res, err);
    }
  });
  // The key is checked before the body is read: a caller without one costs no JSON parsing.
  const requireKey: RequestHandler = (req, res, next) => {
    keyCaller(deps, req, res).then((auth) => {
      if (!auth) return;
      res.locals.apiKeyCaller = auth;
      next();
    }, next);
  };
  router.post('/v1/chat/completions', requireKey, express.json({ limit: deps.config.bodyLimitBytes, strict: true }), completionsHandler(deps));
  router.use('/v1', (_req, res) => sendOpenAiError(res, 404, 'No such route', 'invalid_request_error', 'unknown_url'));
  router.use(bodyErrors(deps));
  return router;
}
