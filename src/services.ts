import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from './config';
import { AdminService } from './admin/admin.service';
import { chainKeys } from './audit/audit-chain';
import { AuditService } from './audit/audit.service';
import { ApiKeyService } from './auth/api-keys';
import { AuthService } from './auth/auth.service';
import { createCaptchaVerifier, type CaptchaVerifier } from './auth/captcha/captcha';
import { LoginGuard } from './auth/login-guard';
import { PasswordHasher } from './auth/passwords';
import { SessionRevocations } from './auth/revocations';
import { SessionStore } from './auth/sessions';
import { TokenService } from './auth/tokens';
import { ChatEvents } from './chat/chat-events';
import { ChatService } from './chat/chat.service';
import { ReplyService } from './chat/replies.service';
import { GenerationRunner } from './chat/generation';
import { EchoProvider } from './chat/providers/echo';
import { OpenAiProvider } from './chat/providers/openai';
import type { LlmProvider } from './chat/providers/provider';
import type { Logger } from './logging/logger';
import type { PubSub } from './pubsub/topics';
import { PrivacyService } from './privacy/privacy.service';

declare module './graphql/context' {
  /** Resolvers reach every service through `ctx.services`. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ContextServices extends Services {}
}

/** Every service, wired once per process; resolvers reach them through the context. */
export interface Services {
  instanceId: string;
  audit: AuditService;
  auth: AuthService;
  apiKeys: ApiKeyService;
  captcha: CaptchaVerifier;
  tokens: TokenService;
  passwords: PasswordHasher;
  revocations: SessionRevocations;
  sessions: SessionStore;
  chat: ChatService;
  /** Publishes chat changes to `chatEvents` subscribers (after the write commits). */
  chatEvents: ChatEvents;
  /** regenerateReply and editMessage. */
  replies: ReplyService;
  runner: GenerationRunner;
  pubsub: PubSub;
  admin: AdminService;
  privacy: PrivacyService;
}

/** The LLM provider AI_PROVIDER names. */
export function createProvider(config: Config): LlmProvider {
  return config.ai.provider === 'echo'
    ? new EchoProvider(config.ai.echoTokenDelayMs)
    : new OpenAiProvider({ baseURL: config.ai.openaiBaseUrl, apiKey: config.ai.openaiApiKey });
}

/** Builds the services for this process (plain classes, no container). */
export function createServices(config: Config, logger: Logger, em: EntityManager, pubsub: PubSub, provider: LlmProvider = createProvider(config)): Services {
  const instanceId = randomUUID();
  const audit = new AuditService(logger, em, pubsub, {
    keys: chainKeys(config.secretKey, config.auth.secretKeyPrevious),
    queueMax: config.audit.queueMax,
    headLogSeconds: config.audit.headLogSeconds,
  });
  const tokens = new TokenService(config);
  const passwords = new PasswordHasher(config);
  const guard = new LoginGuard(config);
  const revocations = new SessionRevocations();
  revocations.setMaxListeners(0);
  revocations.connect(pubsub, instanceId);
  const sessions = new SessionStore(config, tokens, audit, revocations);
  const captcha = createCaptchaVerifier(config, logger, (ip) => guard.recentFailures(ip));
  const auth = new AuthService(config, logger, audit, tokens, passwords, captcha, guard, sessions);
  const apiKeys = new ApiKeyService(audit, revocations);
  const chatEvents = new ChatEvents(pubsub);
  const runner = new GenerationRunner(config, logger, em, pubsub, provider, instanceId, chatEvents);
  const chat = new ChatService(config, audit, runner, chatEvents);
  const replies = new ReplyService(chat, audit, runner, chatEvents);
  const admin = new AdminService(audit, sessions);
  const privacy = new PrivacyService(audit, auth, sessions, runner);
  return { instanceId, audit, auth, apiKeys, captcha, tokens, passwords, revocations, sessions, chat, chatEvents, replies, runner, pubsub, admin, privacy };
}
