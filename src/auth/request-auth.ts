import type { EntityManager } from '@mikro-orm/postgresql';
import { isApiKeyCaller, type RequestAuthenticator } from '../graphql/context';
import { API_KEY_PREFIX, type ApiKeyService } from './api-keys';
import type { AuthService } from './auth.service';
import type { SessionRevocations } from './revocations';

const BEARER = /^Bearer\s+(\S+)$/i;

/** The `pk_…` secret of an `Authorization: Bearer pk_…` value, or undefined for anything else (a JWT, a malformed header). */
export function apiKeySecret(authorization: string | undefined): string | undefined {
  const token = authorization ? BEARER.exec(authorization.trim())?.[1] : undefined;
  return token?.startsWith(API_KEY_PREFIX) ? token : undefined;
}

/** The one authentication HTTP, WebSocket and uploads share: bearer tokens checked against live sessions, or API keys. */
export function createRequestAuthenticator(
  auth: AuthService,
  revocations: SessionRevocations,
  em: EntityManager,
  apiKeys: ApiKeyService,
): RequestAuthenticator {
  return {
    authenticate: (authorization, req) => {
      const secret = apiKeySecret(authorization);
      // The session check is one raw statement on the connection (no entities): no fork needed.
      return secret ? apiKeys.authenticate(em.fork(), secret, req) : auth.authenticate(em, authorization);
    },
    sessionLive: async (caller) => (isApiKeyCaller(caller) ? apiKeys.stillValid(em.fork(), caller) : revocations.isActive(em, caller.sessionId, caller)),
    onRevoked(listener) {
      revocations.on('revoked', listener);
      return () => revocations.off('revoked', listener);
    },
    onResync(listener) {
      revocations.on('resync', listener);
      return () => revocations.off('resync', listener);
    },
  };
}
