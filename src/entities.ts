import { ApiKey } from './auth/api-key.entity';
import { AuditEvent } from './audit/audit-event.entity';
import { CaptchaUse } from './auth/captcha/captcha-use.entity';
import { LoginThrottle } from './auth/login-throttle.entity';
import { RefreshToken } from './auth/refresh-token.entity';
import { Session } from './auth/session.entity';
import { User } from './auth/user.entity';
import { Conversation } from './chat/conversation.entity';
import { Message } from './chat/message.entity';
import { AttachmentChunk, AttachmentFile } from './chat/attachment.entity';
import { TokenUsage } from './chat/token-usage.entity';
import { AppMeta } from './db/app-meta.entity';

/** Every entity, listed explicitly so discovery never depends on file globs or build layout. */
export const ENTITIES = [
  AppMeta,
  User,
  Session,
  ApiKey,
  RefreshToken,
  LoginThrottle,
  CaptchaUse,
  AuditEvent,
  Conversation,
  Message,
  AttachmentFile,
  AttachmentChunk,
  TokenUsage,
];
