import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditOutcome } from '../audit/audit-event.entity';
import type { AuditService } from '../audit/audit.service';
import type { AuthService } from '../auth/auth.service';
import type { AuthInfo, RequestMeta } from '../graphql/context';
import { accountKey } from '../auth/login-guard';
import type { SessionStore } from '../auth/sessions';
import { Session } from '../auth/session.entity';
import { User } from '../auth/user.entity';
import type { GenerationRunner } from '../chat/generation';
import { Conversation } from '../chat/conversation.entity';
import { Message } from '../chat/message.entity';
import { AttachmentFile } from '../chat/attachment.entity';
import { streamingMessageIds } from '../chat/message-store';
import { destroyDataKeys } from '../crypto/cipher';

/** GDPR: a person's data in one document, and erasure of everything about them. */
export class PrivacyService {
  constructor(
    private readonly audit: AuditService,
    private readonly auth: AuthService,
    private readonly sessions: SessionStore,
    private readonly runner: GenerationRunner,
  ) {}

  /**
   * Everything stored about the caller: profile, sessions, conversations with messages, their
   * audit events, and each uploaded file's metadata with the URL that downloads it. Audited
   * once the document is built: SUCCESS, or FAILURE (and the error goes on) when building it failed.
   */
  async exportMyData(em: EntityManager, auth: AuthInfo, meta: RequestMeta): Promise<Record<string, unknown>> {
    const record = (outcome: AuditOutcome) =>
      this.audit.record(em.fork(), { action: 'privacy.export', outcome, ...this.audit.forRequest(auth, meta), resourceType: 'user', resourceId: auth.userId });
    let document: Record<string, unknown>;
    try {
      document = await this.buildExport(em, auth);
    } catch (err) {
      await record(AuditOutcome.FAILURE).catch(() => undefined); // the export's own error is the one to report
      throw err;
    }
    await record(AuditOutcome.SUCCESS);
    return document;
  }

  private async buildExport(em: EntityManager, auth: AuthInfo): Promise<Record<string, unknown>> {
    const user = await em.findOneOrFail(User, { id: auth.userId });
    const sessions = await em.find(Session, { user: auth.userId }, { orderBy: { createdAt: 'asc' } });
    const conversations = await em.find(Conversation, { owner: auth.userId }, { orderBy: { createdAt: 'asc' } });
    const messages = await em.find(Message, { conversation: { owner: auth.userId } }, { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    const files = await em.find(AttachmentFile, { owner: auth.userId, complete: true }, { orderBy: { createdAt: 'asc' } });
    // The person's own actions only. Failed logins and lockouts are attempts by someone
    // unauthenticated: events written before they were recorded without an actor still name
    // the target as actor, and must not hand the victim an attacker's IPs.
    const events = await em.getConnection().execute<Record<string, unknown>[]>(
      `select seq, at, action, resource_type, resource_id, outcome, ip from audit_event
        where actor_id = ? and not (action = 'auth.lockout' or (action = 'auth.login' and outcome <> 'SUCCESS')) order by seq`,
      [auth.userId],
    );
    return {
      exportedAt: new Date().toISOString(),
      user: { id: user.id, email: user.email, displayName: user.displayName ?? null, role: user.role, createdAt: user.createdAt.toISOString() },
      sessions: sessions.map((s) => ({
        id: s.id,
        createdAt: s.createdAt.toISOString(),
        lastUsedAt: s.lastUsedAt.toISOString(),
        ip: s.ip ?? null,
        userAgent: s.userAgent ?? null,
        revokedAt: s.revokedAt?.toISOString() ?? null,
      })),
      conversations: conversations.map((c) => ({
        id: c.id,
        title: c.title ?? null,
        model: c.model,
        systemPrompt: c.systemPrompt ?? null,
        createdAt: c.createdAt.toISOString(),
        messages: messages
          .filter((m) => m.conversation.id === c.id)
          .map((m) => ({ id: m.id, role: m.role, content: m.content, status: m.status, model: m.model ?? null, createdAt: m.createdAt.toISOString() })),
      })),
      // The bytes are not inlined (up to the storage quota in one JSON value): each file downloads from `url` with the same token.
      attachments: files.map((f) => ({
        id: f.id,
        filename: f.filename,
        mimeType: f.mimeType,
        size: f.size,
        messageId: f.message?.id ?? null,
        createdAt: f.createdAt.toISOString(),
        url: `/attachments/${f.id}`,
      })),
      auditEvents: events.map((e) => ({ ...e, seq: Number(e.seq) })),
    };
  }

  /**
   * Erases the caller after checking their password (rate limited, counted toward the login
   * lockout, audited on failure: see AuthService.recheckPassword): live replies stop, sessions end and
   * sockets close, and the user, sessions, conversations and messages are deleted (cascade),
   * with their login-failure record. Only audit events naming them by id remain.
   */
  async deleteMyAccount(em: EntityManager, auth: AuthInfo, password: string, meta: RequestMeta): Promise<boolean> {
    const user = await this.auth.recheckPassword(em, auth, password, 'privacy.account_delete', meta);
    await Promise.all((await streamingMessageIds(em, { ownerId: auth.userId })).map((id) => this.runner.stop(id, 'delete')));
    const sessionIds = (await em.find(Session, { user: auth.userId })).map((s) => s.id);
    await this.sessions.transaction(em, async (tx, sessions) => {
      sessions.ending(sessionIds);
      await sessions.endApiKeys(auth.userId); // deleted with the user below; their sockets close on commit
      await this.auth.guard.resetAccount(tx, accountKey(user.email));
      // Crypto-shredding: their data keys go first, in this transaction, so any copy of their rows
      // (a backup, a replica, a dump taken before now) can no longer be read with the server's keys.
      const destroyed = await destroyDataKeys(tx, auth.userId);
      await tx.nativeDelete(User, { id: auth.userId }); // sessions, refresh tokens, conversations, messages cascade
      await this.audit.record(tx, {
        action: 'privacy.account_delete',
        outcome: AuditOutcome.SUCCESS,
        ...this.audit.forRequest(auth, meta),
        resourceType: 'user',
        resourceId: auth.userId,
        metadata: { dataKeysDestroyed: destroyed },
      });
    });
    return true;
  }
}

/** Hard-deletes conversations (and their messages) not updated for `days`; records how many, by no one. */
export async function sweepConversations(audit: AuditService, em: EntityManager, days: number): Promise<number> {
  return em.transactional(async (tx) => {
    const rows = await tx
      .getConnection()
      .execute<{ n: string }[]>(
        `with d as (delete from conversation where updated_at < now() - make_interval(days => ?) returning 1) select count(*) as n from d`,
        [days],
        'all',
        tx.getTransactionContext(),
      );
    const n = Number(rows[0].n);
    if (n > 0)
      await audit.record(tx, { action: 'privacy.retention', outcome: AuditOutcome.SUCCESS, resourceType: 'conversation', metadata: { deleted: n, days } });
    return n;
  });
}
