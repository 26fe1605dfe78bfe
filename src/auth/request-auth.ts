import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestAuthenticator } from '../graphql/context';
import type { AuthService } from './auth.service';
import type { SessionRevocations } from './revocations';

/** The one authentication HTTP, WebSocket and uploads share: bearer tokens checked against live sessions. */
export function createRequestAuthenticator(auth: AuthService, revocations: SessionRevocations, em: EntityManager): RequestAuthenticator {
  return {
    authenticate: (authorization) => auth.authenticate(em.fork(), authorization),
    sessionLive: (caller) => revocations.isActive(em.fork(), caller.sessionId, caller),
    onRevoked(listener) {
      revocations.on('revoked', listener);
      return () => revocations.off('revoked', listener);
    },
  };
}
