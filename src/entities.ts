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
import { DataKeyRow } from './auth/data-key.entity';
import type { SealedEntities } from './crypto/install';

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
  DataKeyRow,
];

/**
 * The properties stored encrypted (src/crypto): each plain property beside its sealed, persisted
 * twin, the row id its values are bound to, and whose data key seals them.
 */
export const SEALED_ENTITIES: SealedEntities = {
  Message: {
    properties: [{ plain: 'content', sealed: 'contentSealed', column: 'message.content' }],
    rowId: (m) => (m as Message).id,
    owner: (m) => {
      const c = (m as Message).conversation;
      return c.owner ? { userId: c.owner.id } : { conversationId: c.id };
    },
  },
  Conversation: {
    properties: [
      { plain: 'title', sealed: 'titleSealed', column: 'conversation.title' },
      { plain: 'systemPrompt', sealed: 'systemPromptSealed', column: 'conversation.system_prompt' },
    ],
    rowId: (c) => (c as Conversation).id,
    owner: (c) => ({ userId: (c as Conversation).owner.id }),
  },
  AttachmentFile: {
    properties: [
      { plain: 'filename', sealed: 'filenameSealed', column: 'attachment.filename' },
      { plain: 'extractedText', sealed: 'extractedTextSealed', column: 'attachment.extracted_text' },
    ],
    rowId: (a) => (a as AttachmentFile).id,
    owner: (a) => ({ userId: (a as AttachmentFile).owner.id }),
  },
  AttachmentChunk: {
    properties: [{ plain: 'data', sealed: 'dataSealed', column: 'attachment_chunk.data', bytes: true }],
    rowId: (k) => `${(k as AttachmentChunk).attachment.id}:${(k as AttachmentChunk).seq}`,
    owner: (k) => ({ attachmentId: (k as AttachmentChunk).attachment.id }),
  },
};
