import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditOutcome } from './audit/audit-event.entity';
import { purgeAuditPrefix } from './audit/audit-retention';
import { pruneTokenLedger } from './chat/usage';
import { sweepUnattachedUploads } from './chat/uploads';
import type { Config } from './config';
import type { Logger } from './logging/logger';
import type { Metrics } from './observability/metrics';
import { sweepConversations } from './privacy/privacy.service';
import type { Services } from './services';

/** Audit actions counted as Prometheus security events (alert rules in docs/prometheus-alerts.yml). */
const SECURITY_COUNTERS: Record<string, string> = {
  'auth.login': 'failed_login',
  'auth.lockout': 'lockout',
  'admin.user.lock': 'lockout',
  'auth.token_reused': 'token_reuse',
  'security.rate_limited': 'rate_limited',
};

/** Counts every written audit event that is a security event (failed logins, lockouts, token reuse, refusals) in `metrics`. */
export function countSecurityEvents(services: Services, metrics: Metrics): void {
  services.audit.onWritten = (e) => {
    const event = SECURITY_COUNTERS[e.action === 'auth.login' && e.outcome !== AuditOutcome.FAILURE ? '' : e.action];
    // An aggregated event (rate-limit refusals) stands for `metadata.count` occurrences.
    if (event) metrics.securityEvents.inc({ event }, typeof e.metadata?.count === 'number' ? e.metadata.count : 1);
  };
}

/** One pass of every periodic sweep; each runs on its own fork, and a failure is logged, never thrown. */
function sweepOnce(deps: { config: Config; logger: Logger; services: Services; em: EntityManager }): void {
  const { config, logger, services, em } = deps;
  void purgeAuditPrefix(services.audit, em.fork(), config.audit.retentionDays)
    .then((n) => n > 0 && logger.info('audit retention: purged an old prefix behind a checkpoint', { events: n }))
    .catch((err: unknown) => logger.error('audit retention failed', { err }));
  if (config.conversationRetentionDays !== undefined) {
    void sweepConversations(services.audit, em.fork(), config.conversationRetentionDays)
      .then((n) => n > 0 && logger.info('conversation retention: deleted old conversations', { conversations: n }))
      .catch((err: unknown) => logger.error('conversation retention failed', { err }));
  }
  void sweepUnattachedUploads(services.audit, em.fork())
    .then((n) => n > 0 && logger.info('upload sweep: removed uploads never attached to a message', { attachments: n }))
    .catch((err: unknown) => logger.error('upload sweep failed', { err }));
  void pruneTokenLedger(em.fork()).catch((err: unknown) => logger.error('token ledger pruning failed', { err }));
}

/**
 * Starts the retention sweeps (audit prefix, old conversations, unattached uploads, the token
 * ledger) every AUDIT_SWEEP_SECONDS; the timer never keeps the process alive. Returns the stop.
 */
export function startRetentionJobs(deps: { config: Config; logger: Logger; services: Services; em: EntityManager }): () => void {
  const timer = setInterval(() => sweepOnce(deps), deps.config.audit.sweepSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
